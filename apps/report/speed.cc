#include "apps/report/speed.h"

#include <malloc.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <vector>

#include "core/runtime/block_on.h"
#include "core/runtime/frame_pool.h"
#include "emulator/local_service.h"

#if defined(__SANITIZE_ADDRESS__)
#define FKEMU_SPEED_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FKEMU_SPEED_ASAN 1
#endif
#endif
#ifdef FKEMU_SPEED_ASAN
// The sanitizer runtime's allocator statistics (declared here: Debian's GCC ships the runtime
// but not <sanitizer/allocator_interface.h>).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace fkemu {

namespace {

using json = nlohmann::json;
using WallClock = std::chrono::steady_clock;

double seconds_since(WallClock::time_point t) {
  return std::chrono::duration<double>(WallClock::now() - t).count();
}

double ms_between(WallClock::time_point a, WallClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Each result is named before it is used: with GCC 12, a co_await inside an if condition here
// lost the result (the session never counted as connected).
Task<void> count_ok(Task<OpResult> op, size_t* ok) {
  OpResult r = co_await op;
  if (r.status.is_ok()) ++*ok;
}

Task<void> connect_counted(ClientSession& s, size_t* ok) {
  Status st = co_await s.connect();
  if (st.is_ok()) ++*ok;
}

// Runs `one` (returns false on failure) for warm_up seconds, then for `seconds` measured.
template <class F>
RateResult timed_loop(double seconds, double warm_up, F&& one) {
  const auto warm = WallClock::now();
  while (seconds_since(warm) < warm_up)
    if (!one()) throw std::runtime_error("speed: an operation failed during the warm-up");
  RateResult r;
  const auto start = WallClock::now();
  do {
    if (!one()) throw std::runtime_error("speed: an operation failed");
    ++r.ops;
    r.seconds = seconds_since(start);
  } while (r.seconds < seconds);
  return r;
}

// Opens and connects `n` sessions named prefix0, prefix1, ... (up to 256 connects per run).
std::vector<ClientSession*> open_sessions(LocalService& service, const std::string& prefix,
                                          size_t n) {
  std::vector<ClientSession*> out;
  out.reserve(n);
  size_t ok = 0;
  for (size_t i = 0; i < n; ++i) {
    ClientSession& s = service.open_session(prefix + std::to_string(i));
    out.push_back(&s);
    service.executor().spawn("connect", connect_counted(s, &ok));
    if ((i + 1) % 256 == 0 || i + 1 == n) service.executor().run();
  }
  if (ok != n) throw std::runtime_error("speed: a session did not connect");
  return out;
}

}  // namespace

size_t heap_bytes_in_use() {
  frame_pool::trim();  // free coroutine frames are a cache, not what a workload holds
#ifdef FKEMU_SPEED_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
#endif
}

// --- SpeedDeployment ---------------------------------------------------------------------

struct SpeedDeployment::Impl {
  Executor ex{1};
  LocalService service{ex, DeploymentConfig{}};
  ClientSession* session = nullptr;

  OpResult run(Task<OpResult> op) {
    return block_on(ex, std::move(op), "op")
        .value_or(OpResult::failure(Status(Code::SystemError, "the operation did not finish")));
  }
};

SpeedDeployment::SpeedDeployment() : impl_(std::make_unique<Impl>()) {
  impl_->session = open_sessions(impl_->service, "speed", 1).front();
}

SpeedDeployment::~SpeedDeployment() = default;

bool SpeedDeployment::create(const std::string& path, Bytes data) {
  return impl_->run(impl_->session->create(path, std::move(data), false, false)).status.is_ok();
}

bool SpeedDeployment::set_data(const std::string& path, Bytes data) {
  return impl_->run(impl_->session->set_data(path, std::move(data), -1)).status.is_ok();
}

bool SpeedDeployment::get_data(const std::string& path, Bytes* data) {
  OpResult r = impl_->run(impl_->session->get_data(path, false));
  if (data) *data = std::move(r.data);
  return r.status.is_ok();
}

// --- rates --------------------------------------------------------------------------------

RateResult measure_pipeline_set_data(size_t bytes, double seconds, double warm_up_seconds) {
  SpeedDeployment d;
  const Bytes data(std::string(bytes, 'x'));  // the client's buffer, shared on, not copied
  if (!d.create("/speed", "")) throw std::runtime_error("speed: create /speed failed");
  return timed_loop(seconds, warm_up_seconds, [&] { return d.set_data("/speed", data); });
}

RateResult measure_get_data(size_t bytes, double seconds, double warm_up_seconds) {
  SpeedDeployment d;
  if (!d.create("/speed", std::string(bytes, 'x')))
    throw std::runtime_error("speed: create /speed failed");
  Bytes got;
  return timed_loop(seconds, warm_up_seconds,
                    [&] { return d.get_data("/speed", &got) && got.size() == bytes; });
}

// --- watch fan-out --------------------------------------------------------------------------

FanoutResult measure_watch_fanout(size_t watchers) {
  FanoutResult r;
  r.watchers = watchers;
  Executor ex{1};
  LocalService service{ex, DeploymentConfig{}};
  ClientSession* writer = open_sessions(service, "writer", 1).front();
  size_t created = 0;
  ex.spawn("create", count_ok(writer->create("/fanout", "v0", false, false), &created));
  ex.run();
  if (created != 1) throw std::runtime_error("speed: create /fanout failed");

  std::vector<ClientSession*> sessions = open_sessions(service, "w", watchers);
  bool counting = false;
  WallClock::time_point last_event;
  for (ClientSession* s : sessions)
    s->set_event_listener([&](const WatchedEvent& e) {
      if (!counting || e.event != EventType::NodeDataChanged || e.path != "/fanout") return;
      ++r.notified;
      last_event = WallClock::now();
    });

  // Registration: get_data with watch from every session, up to 256 in flight per run.
  const size_t heap_before = heap_bytes_in_use();
  const auto reg_start = WallClock::now();
  for (size_t i = 0; i < watchers; ++i) {
    ex.spawn("watch", count_ok(sessions[i]->get_data("/fanout", true), &r.registered));
    if ((i + 1) % 256 == 0 || i + 1 == watchers) ex.run();
  }
  r.register_ms = ms_between(reg_start, WallClock::now());
  const size_t heap_after = heap_bytes_in_use();
  if (watchers > 0)
    r.bytes_per_watcher = (static_cast<double>(heap_after) - static_cast<double>(heap_before)) /
                          static_cast<double>(watchers);
  if (r.registered != watchers) throw std::runtime_error("speed: a watch registration failed");

  // One write notifies them all.
  counting = true;
  size_t written = 0;
  const auto start = WallClock::now();
  last_event = start;
  ex.spawn("write", count_ok(writer->set_data("/fanout", "v1", -1), &written));
  ex.run();
  const auto end = WallClock::now();
  if (written != 1) throw std::runtime_error("speed: set_data /fanout failed");
  r.total_ms = ms_between(start, end);
  r.wall_ms = r.notified == watchers ? ms_between(start, last_event) : r.total_ms;
  return r;
}

// --- memory per node ------------------------------------------------------------------------

namespace {

constexpr size_t kFanout = 100;
constexpr size_t kInFlight = 4096;
constexpr size_t kCreators = 4;

// Node i of the breadth-first tree of fan-out kFanout under /m: nodes 0..99 are children of
// /m, node j's children are nodes 100 (j + 1) .. 100 (j + 1) + 99. paths[j] is known for
// every j < i when node i is named.
std::string tree_path(const std::vector<std::string>& paths, size_t i) {
  const std::string& parent = i < kFanout ? std::string("/m") : paths[i / kFanout - 1];
  return parent + "/" + std::to_string(i % kFanout);
}

}  // namespace

MemoryResult measure_memory_per_node(size_t nodes) {
  MemoryResult r;
  Executor ex{1};
  LocalService service{ex, DeploymentConfig{}};
  std::vector<ClientSession*> sessions = open_sessions(service, "creator", kCreators);
  size_t ok = 0;
  ex.spawn("create", count_ok(sessions[0]->create("/m", "", false, false), &ok));
  ex.run();
  if (ok != 1) throw std::runtime_error("speed: create /m failed");

  // The paths are the measurement's bookkeeping: the vector is allocated before the heap is
  // read, and a path stays within the small-string buffer (15 characters: depth 4 below /m,
  // that is up to 10^8 nodes); longer ones are subtracted.
  std::vector<std::string> paths(nodes);
  ok = 0;
  const size_t heap_before = heap_bytes_in_use();
  const auto start = WallClock::now();
  size_t next = 0;
  while (next < nodes) {
    // Every parent of the batch was created by an earlier batch.
    size_t end = std::min(nodes, next + kInFlight);
    if (next >= kFanout) end = std::min(end, kFanout * (next + 1));
    if (next < kFanout) end = std::min(end, kFanout);
    for (size_t i = next; i < end; ++i) {
      paths[i] = tree_path(paths, i);
      ClientSession* s = sessions[i % kCreators];
      ex.spawn("create", count_ok(s->create(paths[i], "", false, false), &ok));
    }
    ex.run();
    next = end;
  }
  r.seconds = seconds_since(start);
  size_t still_held = 0;
  for (const std::string& p : paths)
    if (p.capacity() > 15) still_held += p.capacity() + 1;  // beyond the small-string buffer
  const size_t heap_after = heap_bytes_in_use();
  if (ok != nodes) throw std::runtime_error("speed: a create failed");
  r.nodes = nodes;
  if (nodes > 0)
    r.bytes_per_node = (static_cast<double>(heap_after) - static_cast<double>(heap_before) -
                        static_cast<double>(still_held)) /
                       static_cast<double>(nodes);
  return r;
}

}  // namespace fkemu
