#include "core/protocol/client_session.h"

#include <algorithm>

#include "core/model/path.h"

namespace fkemu {

using json = nlohmann::json;

namespace {
OpResult failed(Code c, std::string msg = {}) {
  OpResult r;
  r.status = Status(c, std::move(msg));
  return r;
}

json bytes_json(const std::string& s) {
  return json::binary(std::vector<uint8_t>(s.begin(), s.end()));
}
}  // namespace

ClientSession::ClientSession(Deployment& d, std::string name)
    : d_(d), name_(std::move(name)), turn_(d.ex, "client.turn") {}

Task<Status> ClientSession::connect() {
  KvWrite w;
  w.table = kSessionsTable;
  w.key = name_;
  w.kind = KvWrite::Kind::Put;
  w.item = json{{"alive", true},
                {"last_req", 0},
                {"ephemerals", json::array()},
                {"timeout_ms", d_.config.session_timeout / kMillisecond},
                {"last_seen", d_.ex.now()}};
  co_await d_.ex.call("kv.write", 0, [&] { return d_.system.write(w); });
  co_return Status::ok();
}

std::optional<OpResult> ClientSession::check_path(const std::string& path, bool sequential) const {
  Status s = validate_client_path(path, sequential);
  if (!s.is_ok()) return failed(s.code(), s.message());
  return std::nullopt;
}

Task<void> ClientSession::release_in_order(uint64_t ticket) {
  while (released_ + 1 != ticket) co_await turn_.wait();
  released_ = ticket;
  turn_.set();
}

void ClientSession::deliver(const json& message) {
  const std::string type = message.value("type", std::string());
  if (type == "result") {
    // Answers to requests already released (redelivered duplicates) find no waiter.
    auto it = waiting_.find(message.value("req", int64_t{-1}));
    if (it != waiting_.end()) it->second->push(message);
  }
}

Task<OpResult> ClientSession::write(json request) {
  const uint64_t ticket = next_ticket_++;
  if (closed_) {
    co_await release_in_order(ticket);
    co_return failed(Code::SessionExpired);
  }
  const int64_t req = next_req_++;
  request["session"] = name_;
  request["req"] = req;
  auto& box = waiting_[req];
  box = std::make_unique<Mailbox<json>>(d_.ex, "client.answer");
  Mailbox<json>* inbox = box.get();
  const std::string group = d_.config.writer_group_per_session ? name_ : std::string("writes");
  const std::string dedup = name_ + ":" + std::to_string(req);
  size_t bytes = request.contains("data") ? request["data"].get_binary().size() : 0;
  auto sent = co_await d_.ex.call(
      "client.send", bytes, [&] { return d_.writer_queue.send(group, dedup, std::move(request)); });
  if (!sent.is_ok()) {
    waiting_.erase(req);
    co_await release_in_order(ticket);
    co_return failed(Code::ConnectionLoss, sent.status().message());
  }
  json answer = co_await inbox->receive();
  waiting_.erase(req);
  co_await release_in_order(ticket);
  if (answer.contains("error")) {
    const auto code = code_from_name(answer["error"].get<std::string>());
    co_return failed(code.value_or(Code::SystemError));
  }
  OpResult r;
  r.fields = answer.value("result", json::object());
  r.zxid = answer.value("zxid", int64_t{0});
  co_return r;
}

Task<OpResult> ClientSession::create(std::string path, std::string data, bool ephemeral,
                                     bool sequential) {
  if (auto bad = check_path(path, sequential)) co_return *bad;
  if (data.size() > d_.config.max_data_bytes)
    co_return failed(Code::MarshallingError,
                     "data of " + std::to_string(data.size()) + " bytes is over the 1 MiB limit");
  json request{{"op", "create"},
               {"path", path},
               {"data", bytes_json(data)},
               {"ephemeral", ephemeral},
               {"sequential", sequential}};
  co_return co_await write(std::move(request));
}

Task<OpResult> ClientSession::set_data(std::string path, std::string data, int version) {
  if (auto bad = check_path(path, false)) co_return *bad;
  if (data.size() > d_.config.max_data_bytes)
    co_return failed(Code::MarshallingError,
                     "data of " + std::to_string(data.size()) + " bytes is over the 1 MiB limit");
  json request{
      {"op", "set_data"}, {"path", path}, {"data", bytes_json(data)}, {"version", version}};
  co_return co_await write(std::move(request));
}

Task<OpResult> ClientSession::remove(std::string path, int version) {
  if (auto bad = check_path(path, false)) co_return *bad;
  if (path == "/") co_return failed(Code::BadArguments, "cannot delete the root");
  json request{{"op", "delete"}, {"path", path}, {"version", version}};
  co_return co_await write(std::move(request));
}

Task<OpResult> ClientSession::close() {
  if (closed_) co_return failed(Code::SessionExpired);
  json request{{"op", "close"}};
  OpResult r = co_await write(std::move(request));
  closed_ = true;
  co_return r;
}

Task<OpResult> ClientSession::read(std::string path, const char* op) {
  const uint64_t ticket = next_ticket_++;
  auto finish = [&](OpResult r) -> Task<OpResult> {
    co_await release_in_order(ticket);
    co_return r;
  };
  if (closed_) co_return co_await finish(failed(Code::SessionExpired));
  if (auto bad = check_path(path, false)) co_return co_await finish(*bad);
  auto record = co_await d_.ex.call("user.get", 0, [&] { return d_.user.get(path); });
  const std::string_view which(op);
  OpResult r;
  if (!record) {
    if (which == "exists") {
      r.fields = json{{"stat", nullptr}};
    } else {
      r = failed(Code::NoNode);
    }
    co_return co_await finish(std::move(r));
  }
  r.fields["stat"] = record->at("stat");
  if (which == "get_data") {
    const auto& bin = record->at("data").get_binary();
    r.data.assign(bin.begin(), bin.end());
    r.has_data = true;
  } else if (which == "get_children") {
    std::vector<std::string> children = record->at("children").get<std::vector<std::string>>();
    std::sort(children.begin(), children.end());
    r.fields["children"] = json(children);
  }
  co_return co_await finish(std::move(r));
}

Task<OpResult> ClientSession::get_data(std::string path, bool) {
  return read(std::move(path), "get_data");
}
Task<OpResult> ClientSession::exists(std::string path, bool) {
  return read(std::move(path), "exists");
}
Task<OpResult> ClientSession::get_children(std::string path, bool) {
  return read(std::move(path), "get_children");
}

}  // namespace fkemu
