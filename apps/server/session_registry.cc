#include "apps/server/session_registry.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "apps/server/api_types.h"
#include "apps/server/executor_loop.h"
#include "core/json/json_text.h"
#include "core/protocol/deployment.h"
#include "emulator/digest.h"

namespace fkemu {

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    const ssize_t n = getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed");
    }
    got += static_cast<size_t>(n);
  }
  return to_hex(raw);
}

std::string to_hex(std::string_view raw) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string from_hex(std::string_view hex) {
  auto nibble = [](char c) { return c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0'; };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  return out;
}

Result<std::string> session_key(const std::string& state_file) {
  if (state_file.empty() || state_file == ":memory:") return random_hex(32);
  const std::string path = state_file + ".session-key";
  if (std::FILE* f = std::fopen(path.c_str(), "re")) {
    char buf[80] = {};
    const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    std::string key(buf, n);
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    if (key.size() != 64 || key.find_first_not_of("0123456789abcdef") != std::string::npos)
      return Status(Code::BadArguments, path +
                                            " is not a session key (64 hex digits); remove "
                                            "it to make a new one (open sessions are lost)");
    return key;
  }
  const std::string key = random_hex(32);
  const std::string line = key + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return Status(Code::SystemError, "cannot write the session key to " + path + ": " + why);
  }
  ::close(fd);
  return key;
}

SessionRegistry::SessionRegistry(boost::asio::io_context& ioc, ExecutorLoop& loop,
                                 RegistryOptions options)
    : ioc_(ioc), loop_(loop), opt_(options), sweep_timer_(ioc) {}

size_t SessionRegistry::open_count() const {
  size_t open = 0;
  for (const auto& [id, r] : remotes_) open += r->client->closed() ? 0 : 1;
  return open;
}

std::shared_ptr<RemoteSession> SessionRegistry::any_open() const {
  std::shared_ptr<RemoteSession> found;
  for (const auto& [id, r] : remotes_)
    if (!r->client->closed()) found = r;
  return found;
}

namespace {

// RFC 2104.
std::string hmac_sha1(std::string key, std::string_view message) {
  if (key.size() > 64) key = sha1(key);
  key.resize(64, '\0');
  std::string inner(64, '\0'), outer(64, '\0');
  for (size_t i = 0; i < 64; ++i) {
    inner[i] = static_cast<char>(key[i] ^ 0x36);
    outer[i] = static_cast<char>(key[i] ^ 0x5c);
  }
  return sha1(outer + sha1(inner + std::string(message)));
}

}  // namespace

void EventSink::watch(const WatchedEvent& event) { send(watch_message(event)); }

std::string watch_message(const WatchedEvent& event) {
  return json_text(nlohmann::json{{"event", event_name(event.event)},
                                  {"path", event.path},
                                  {"type", "watch"},
                                  {"zxid", event.zxid}});
}

std::shared_ptr<RemoteSession> SessionRegistry::open(Connected connected, bool zookeeper,
                                                     Duration timeout) {
  auto r = std::make_shared<RemoteSession>();
  r->zookeeper = zookeeper;
  if (zookeeper) {
    do {
      r->id = "z" + random_hex(8);  // ZooKeeper's 64-bit session id
    } while (r->id == "z0000000000000000" || remotes_.count(r->id) || closed_ids_.count(r->id));
    r->secret = key_.empty() ? random_hex(16) : secret_for(r->id, 16);  // a 16-byte password
  } else {
    r->id = "s" + random_hex(16);                                       // 128 bits
    r->secret = key_.empty() ? random_hex(32) : secret_for(r->id, 32);  // 256 bits
  }
  r->last_seen = loop_.now();
  ClientSession& c = loop_.service().open_session(r->id);
  if (timeout > 0) c.set_timeout(timeout);
  hold(r, c);
  ++sessions_opened_;
  std::weak_ptr<RemoteSession> weak = r;
  loop_.spawn_then("api.connect", c.connect(),
                   [this, connected, weak, id = r->id, secret = r->secret](Status s) {
                     if (auto live = weak.lock()) live->connected = true;
                     loop_.emit([connected, id, secret, s] { connected(id, secret, s); });
                   });
  return r;
}

std::string SessionRegistry::secret_for(const std::string& id, size_t bytes) const {
  std::string raw;
  for (int block = 1; raw.size() < bytes; ++block)
    raw += hmac_sha1(key_, std::to_string(block) + ":" + id);
  return to_hex(std::string_view(raw).substr(0, bytes));
}

void SessionRegistry::hold(const std::shared_ptr<RemoteSession>& r, ClientSession& c) {
  r->client = &c;
  RemoteSession* rp = r.get();
  c.set_event_listener([this, rp](const WatchedEvent& e) { on_event(*rp, e); });
  c.set_last_seen_source([rp] { return rp->last_seen; });
  remotes_[r->id] = r;
}

std::shared_ptr<RemoteSession> SessionRegistry::recover(const std::string& id,
                                                        const std::string& secret) {
  if (key_.empty() || id.size() < 2 || remotes_.count(id) || !loop_.built() || full())
    return nullptr;

  const bool zookeeper = id[0] == 'z';
  if (!constant_time_equal(secret, secret_for(id, zookeeper ? 16 : 32))) return nullptr;
  const auto item = loop_.service().system_store().get(kSessionsTable, id);
  if (!item) return nullptr;
  const SessionRecord record = SessionRecord::from_item(*item);
  if (!record.alive) return nullptr;
  auto r = std::make_shared<RemoteSession>();
  r->id = id;
  r->secret = secret;
  r->zookeeper = zookeeper;
  r->connected = true;
  r->last_seen = loop_.now();
  if (closed_ids_.erase(id) > 0) std::erase(closed_order_, id);
  ClientSession& c = loop_.service().open_session(id);
  c.resume(record);
  hold(r, c);
  return r;
}

std::shared_ptr<RemoteSession> SessionRegistry::find(const std::string& id) const {
  auto it = remotes_.find(id);
  return it == remotes_.end() ? nullptr : it->second;
}

bool SessionRegistry::holds(const RemoteSession& r) const {
  auto it = remotes_.find(r.id);
  return it != remotes_.end() && it->second.get() == &r;
}

const std::string* SessionRegistry::forgotten_secret(const std::string& id) const {
  auto it = closed_ids_.find(id);
  if (it == closed_ids_.end() || remotes_.count(id)) return nullptr;
  return &it->second;
}

void SessionRegistry::seen(RemoteSession& r) { r.last_seen = loop_.now(); }

void SessionRegistry::attach(RemoteSession& r, const std::shared_ptr<EventSink>& socket) {
  r.sockets.push_back(socket);
  if (r.dropped) {
    socket->send(json_text(nlohmann::json{{"type", "dropped"}, {"events", r.dropped}}));
    r.dropped = 0;
  }
  while (!r.backlog.empty()) {
    socket->send(std::move(r.backlog.front()));
    r.backlog.pop_front();
  }
}

size_t SessionRegistry::open_sockets(const RemoteSession& r) const {
  size_t open = 0;
  for (const auto& w : r.sockets) open += w.expired() ? 0 : 1;
  return open;
}

void SessionRegistry::on_event(RemoteSession& r, const WatchedEvent& event) {
  ++watches_delivered_;
  loop_.emit([this, id = r.id, event] {
    auto it = remotes_.find(id);
    if (it != remotes_.end()) deliver(*it->second, event);
  });
}

void SessionRegistry::deliver(RemoteSession& r, const WatchedEvent& event) {
  std::erase_if(r.sockets, [](const std::weak_ptr<EventSink>& w) { return w.expired(); });
  bool sent = false;
  for (auto& w : r.sockets)
    if (auto s = w.lock(); s && s->open()) {
      s->watch(event);
      sent = true;
    }
  if (sent || r.zookeeper) return;
  r.backlog.push_back(watch_message(event));
  if (r.backlog.size() > opt_.max_backlog_events) {
    r.backlog.pop_front();
    ++r.dropped;
  }
}

// A session closed (or expired: the service says it is no longer alive) whose operations are all
// answered and whose client runs nothing of its own.
bool SessionRegistry::forgettable(const RemoteSession& r) const {
  if (!r.connected || r.inflight > 0 || r.client->busy()) return false;
  if (r.client->closed()) return true;
  const auto item = loop_.service().system_store().get(kSessionsTable, r.id);
  return !item || !SessionRecord::from_item(*item).alive;
}

void SessionRegistry::sweep() {
  if (!loop_.built()) return;
  for (auto it = remotes_.begin(); it != remotes_.end();) {
    if (!forgettable(*it->second)) {
      ++it;
      continue;
    }
    closed_ids_[it->first] = it->second->secret;
    closed_order_.push_back(it->first);
    while (closed_order_.size() > opt_.remembered_closed_sessions) {
      closed_ids_.erase(closed_order_.front());
      closed_order_.pop_front();
    }
    close_sockets(*it->second);  // a closed session's WebSockets end
    loop_.service().forget_session(it->first);
    it = remotes_.erase(it);
  }
}

// A sweep judges sessions by what is on disk: while a transaction is under way (or changes wait
// for one), it waits for them, as answers do (executor_loop.h), so that it never forgets a
// session whose close or expiry is not written yet, nor closes the sockets its answers go to.
void SessionRegistry::sweep_soon() {
  boost::asio::post(ioc_, [this] { loop_.emit([this] { sweep(); }); });
}

void SessionRegistry::sweep_every_second() {
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    loop_.emit([this] { sweep(); });  // (after what is being written: see sweep_soon)
    sweep_every_second();
  });
}

void SessionRegistry::stop() { sweep_timer_.cancel(); }

void SessionRegistry::clear() {
  for (auto& [id, r] : remotes_) close_sockets(*r);
  remotes_.clear();
  closed_ids_.clear();
  closed_order_.clear();
  sessions_opened_ = 0;
  watches_delivered_ = 0;
}

void SessionRegistry::close_sockets(RemoteSession& r) {
  for (auto& w : r.sockets)
    if (auto s = w.lock()) s->close();
}

}  // namespace fkemu
