#include "apps/server/admin.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "apps/server/executor_loop.h"
#include "apps/server/session_registry.h"
#include "core/json/json_text.h"
#include "core/model/stat.h"
#include "core/protocol/records.h"
#include "core/text/base64.h"
#include "emulator/quiescence.h"
#include "harness/fault_plan.h"

namespace fkemu {

using nlohmann::json;
namespace http = boost::beast::http;

namespace {

// The name bytes_json knows a watch queue's body by.
constexpr std::string_view kWatchMessage = "\nwatch message";

// A packed record attribute (decision 41) as its fields, named as the records name them (a
// list's elements by the list's name); other bytes (node data), and a damaged packed attribute,
// as base64.
json bytes_json(const Value& v, std::string_view name) {
  const std::string base64 = base64_encode(std::string(v.as_bytes().view()));
  try {
    if (name == attr::kStat) return stat_to_json(stat_from_value(v));
    if (name == attr::kUpdate) return UpdateTriggers::from_value(v).to_json();
    if (name == attr::kNode) return NodeState::from_value(v).to_json();
    if (name == attr::kRegs) return WatchRegistration::from_value(v).to_json();
    if (name == kWatchMessage) return WatchMessage::from_message(v).to_json();
  } catch (const std::invalid_argument& e) {
    return json{{"damaged", e.what()}, {"base64", base64}};
  }
  return json{{"base64", base64}};
}

// A stored value as plain JSON.
json printable(const Value& v, std::string_view name = {}) {
  switch (v.type()) {
    case Value::Type::Bytes:
      return bytes_json(v, name);
    case Value::Type::Map: {
      json out = json::object();
      for (const auto& [k, e] : v.as_map()) out[k] = printable(e, k);
      // A user-store object: its packed rest read with the object's own tombstone.
      if (const Value* rec = v.as_map().find(attr::kRecord); rec && rec->is_bytes()) {
        try {
          out[attr::kRecord] = UserRecord::from_object(v).to_json();
        } catch (const std::invalid_argument& e) {
          out[attr::kRecord] = json{{"damaged", e.what()},
                                    {"base64", base64_encode(std::string(rec->as_bytes().view()))}};
        }
      }
      return out;
    }
    case Value::Type::List: {
      json out = json::array();
      for (const Value& e : v.as_list()) out.push_back(printable(e, name));  // a list's name
      return out;
    }
    default:
      return v.to_json();
  }
}

json queue_json(const MemoryFifoQueue& q, std::string_view body_name = {}) {
  json out = json::array();
  for (const auto& m : q.snapshot())
    out.push_back({{"group", m.group},
                   {"dedup_id", m.dedup_id},
                   {"receive_count", m.receive_count},
                   {"body", printable(*m.body, body_name)}});
  return out;
}

// The body of a PUT: a JSON object, or answered here.
std::optional<json> body_object(const Request& req, const Respond& respond) {
  auto body = parse_json(req.body(), "the body");
  if (!body.is_ok()) {
    respond(400, error_body("BadRequest", body.status().message()));
    return std::nullopt;
  }
  if (!body->is_object()) {
    respond(400, error_body("BadRequest", "the body must be a JSON object"));
    return std::nullopt;
  }
  return std::move(*body);
}

}  // namespace

json dump_state(LocalService& service) {
  json system = json::object();
  for (const char* t :
       {kNodesTable, kSessionsTable, kWatchesTable, kEpochTable, kProgressTable, kTtlTable}) {
    json table = json::object();
    for (const auto& [key, item] : service.system_store().scan(t)) table[key] = printable(item);
    system[t] = table;
  }
  json user = json::object();
  for (const auto& [key, obj] : service.user_store().list()) user[key] = printable(*obj);
  json queues = json::object();
  queues["writer"] = queue_json(service.writer_queue());
  queues["distributor"] = queue_json(service.distributor_queue());
  queues["watch"] = queue_json(service.watch_queue(), kWatchMessage);
  return json{{"system", system}, {"user", user}, {"queues", queues}};
}

Result<AdminToken> make_admin_token(const std::string& given, const std::string& file,
                                    const std::string& state_file) {
  if (!given.empty()) return AdminToken{given, ""};
  AdminToken made{random_hex(32), file};
  if (made.file.empty() && !state_file.empty()) made.file = state_file + ".admin-token";
  if (made.file.empty()) return made;
  const std::string line = made.token + "\n";
  const int fd =
      ::open(made.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 || ::fchmod(fd, 0600) != 0 ||
      ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return Status(Code::SystemError, "cannot write the admin token to " + made.file + ": " + why);
  }
  ::close(fd);
  return made;
}

Admin::Admin(ExecutorLoop& loop, SessionRegistry& sessions) : loop_(loop), sessions_(sessions) {}

void Admin::set_access(std::string token, bool loopback) {
  token_ = std::move(token);
  loopback_ = loopback;
}

bool Admin::refused(const Request& req, const Respond& respond) const {
  const bool changes = req.method() != http::verb::get && req.method() != http::verb::head;
  if (!changes && loopback_) return false;
  const std::string token = bearer(req);
  if (token.empty()) {
    respond(401, error_body("Unauthorized",
                            std::string(changes ? "this admin request changes state and"
                                                : "beyond loopback, every admin request") +
                                " needs the admin token: Authorization: Bearer TOKEN (fkemu "
                                "serve printed where it is at start)"));
    return true;
  }
  if (!constant_time_equal(token, token_)) {
    respond(403, error_body("Forbidden", "that is not the admin token"));
    return true;
  }
  return false;
}

// The sessions go first: their clients live in the deployment. Answers waiting for a commit
// go before them.
void Admin::reset() {
  loop_.flush();
  sessions_.clear();
  loop_.reset();
  requests_ = 0;
  operations_.clear();
}

json Admin::counters() const {
  json ops = json::object();
  for (const auto& [op, n] : operations_) ops[op] = n;
  LocalService& service = loop_.service();
  json out{{"requests", requests_},
           {"operations", ops},
           {"sessions_opened", sessions_.sessions_opened()},
           {"sessions_open", sessions_.open_count()},
           {"sessions_kept", sessions_.size()},
           {"watches_delivered", sessions_.watches_delivered()},
           {"state_file",
            {{"transactions", loop_.transactions()}, {"changes", loop_.changes_committed()}}},
           {"function_invocations",
            {{"writer", service.writer_invocations()},
             {"distributor", service.distributor_invocations()},
             {"watch", service.watch_invocations()},
             {"heartbeat", service.heartbeat_invocations()},
             {"ttl", service.ttl_invocations()}}}};
  for (const auto& [name, source] : more_counters_) out[name] = source();
  return out;
}

json Admin::latency() const {
  json j{{"model", loop_.latency_model()}};
  if (loop_.latency_model() != "zero") {
    j["memory_mb"] = loop_.latency_options().memory_mb;
    j["extra_steps"] = loop_.latency_options().extra_steps;
    j["calibration"] = loop_.calibration().study();
  }
  return j;
}

void Admin::put_faults(const json& body, const Respond& respond) {
  for (const auto& [site, p] : body.items()) {
    if (!is_fault_site(site))
      return respond(400, error_body("BadArguments", "unknown fault site \"" + site +
                                                         "\" (docs/faults.md lists them)"));
    if (!p.is_number() || p.get<double>() < 0 || p.get<double>() > 1)
      return respond(400, error_body("BadArguments", "fault site \"" + site +
                                                         "\": the probability must be 0 to 1"));
  }
  loop_.set_faults(FaultConfig::from_json(body));
  respond(200, json{{"faults", body}});
}

void Admin::put_latency(const json& body, const Respond& respond) {
  AwsLatencyOptions o = loop_.latency_options();
  for (const auto& [field, value] : body.items()) {
    if (field == "model" && value.is_string()) continue;
    if (field == "memory_mb" && value.is_number_integer()) {
      o.memory_mb = value.get<int>();
    } else if (field == "extra_steps" && value.is_boolean()) {
      o.extra_steps = value.get<bool>();
    } else {
      return respond(400,
                     error_body("BadArguments", "unknown or mistyped field \"" + field +
                                                    "\" (known: model, memory_mb, extra_steps)"));
    }
  }
  if (!body.contains("model") || !body["model"].is_string())
    return respond(400, error_body("BadArguments", "\"model\" (a string) is missing"));
  if (Status st = loop_.set_latency(body["model"].get<std::string>(), o); !st.is_ok())
    return respond(400, error_body("BadArguments", st.message()));
  respond(200, latency());
}

void Admin::handle(const Request& req, const std::string& path, const Respond& respond) {
  if (refused(req, respond)) return;
  const auto method = req.method();
  if (path == "/admin/reset" && method == http::verb::post) {
    reset();
    return respond(200, json{{"reset", true}});
  }
  if (path == "/admin/dump" && method == http::verb::get)
    return respond(200, dump_state(loop_.service()));
  if (path == "/admin/counters" && method == http::verb::get) return respond(200, counters());
  if (path == "/admin/check" && method == http::verb::get) {
    const auto& dead = loop_.service().restored_lock_owners();
    const auto problems = quiescence_problems(
        loop_.service(), [&dead](const std::string& owner) { return dead.count(owner) > 0; });
    return respond(200, json{{"quiescent", problems.empty()}, {"problems", problems}});
  }
  if (path == "/admin/faults") {
    if (method == http::verb::get)
      return respond(200,
                     json{{"faults", loop_.faults() ? json(loop_.faults()->fire) : json::object()},
                          {"injected", loop_.faults_injected()}});
    if (method == http::verb::put) {
      if (auto body = body_object(req, respond)) put_faults(*body, respond);
      return;
    }
  }
  if (path == "/admin/latency") {
    if (method == http::verb::get) return respond(200, latency());
    if (method == http::verb::put) {
      if (auto body = body_object(req, respond)) put_latency(*body, respond);
      return;
    }
  }
  respond(404, error_body("NotFound", "no endpoint " + std::string(req.method_string()) + " " +
                                          path + " (see docs/api.md)"));
}

}  // namespace fkemu
