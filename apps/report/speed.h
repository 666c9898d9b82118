// Speed measurements of the emulator itself (wall clock, one thread), shared by the Google
// Benchmark suites in bench/ and by reports such as a `fkemu bench` command.
//
// Every fkemu measurement builds its own LocalService on its own Executor with the default
// DeploymentConfig, the zero latency model and the oldest-first scheduler, and drives it from
// the calling thread: each operation is spawned as a task and the executor is run until idle.
// Virtual time does not advance (zero latency), so no heartbeat ever runs.
//
// Heap figures are deltas of heap_bytes_in_use() around a phase, taken after the phase's
// executor run finished (transient frames and messages are freed by then, and the free frames
// the coroutine frame pool keeps are given back first: core/runtime/frame_pool.h): glibc's
// mallinfo2() (uordblks + hblkhd: bytes in allocated chunks, chunk headers included, plus
// mmapped blocks); under AddressSanitizer, whose allocator replaces glibc's,
// __sanitizer_get_current_allocated_bytes() (bytes requested, no headers).
//
// The measurements throw std::runtime_error when an operation they rely on fails (an answer
// that is not ok): a figure is never computed from failed operations.
//
// The ZooKeeper baselines (measure_zookeeper_*) are defined in zookeeper_speed.cc, which is
// built into fkemu_zkref (with the ZooKeeper C client) only when FKEMU_ZOOKEEPER is on: only
// code linking fkemu_zkref may call them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/model/bytes.h"

namespace fkemu {

struct RateResult {
  uint64_t ops = 0;    // operations completed (all answered ok) in the measured window
  double seconds = 0;  // wall time of the measured window (the warm-up excluded)
  double ops_per_s() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

// Bytes of heap in use by the process now (see above for what is counted).
size_t heap_bytes_in_use();

// One in-process deployment (LocalService, zero latency) with one connected session, driven
// one synchronous operation at a time: each call spawns the operation, runs the executor until
// idle and returns whether the answer was ok. Not copyable; not thread-safe.
class SpeedDeployment {
 public:
  SpeedDeployment();
  ~SpeedDeployment();
  SpeedDeployment(const SpeedDeployment&) = delete;
  SpeedDeployment& operator=(const SpeedDeployment&) = delete;

  bool create(const std::string& path, Bytes data);
  bool set_data(const std::string& path, Bytes data);
  // *data (if not null) receives the node's data.
  bool get_data(const std::string& path, Bytes* data = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Synchronous set_data through the whole in-process pipeline (client -> writer queue -> writer
// -> distributor queue -> distributor -> user store -> answer), one at a time, on one node of
// `bytes` bytes, for about `seconds` of wall time after `warm_up_seconds` of the same loop
// unmeasured.
RateResult measure_pipeline_set_data(size_t bytes, double seconds, double warm_up_seconds = 0.1);
// Synchronous get_data (straight from the user store) of one node of `bytes` bytes, likewise.
RateResult measure_get_data(size_t bytes, double seconds, double warm_up_seconds = 0.1);

struct FanoutResult {
  size_t watchers = 0;           // sessions asked to register a data watch
  size_t registered = 0;         // get_data(watch) answered ok
  size_t notified = 0;           // NodeDataChanged events on the node delivered to a session
  double wall_ms = 0;            // from the set_data's spawn to the last of those events
  double total_ms = 0;           // from the spawn until the deployment is idle (answer, cleanup)
  double register_ms = 0;        // wall time of the registration phase
  double bytes_per_watcher = 0;  // heap delta of the registration phase / watchers
};

// `watchers` sessions (opened and connected first, outside the measured phases) each register
// a data watch on one node (get_data with watch, up to 256 at a time); then one set_data by
// another session notifies all of them. `notified` counts the events actually delivered (it
// equals `watchers` when the protocol works).
FanoutResult measure_watch_fanout(size_t watchers);

struct MemoryResult {
  size_t nodes = 0;           // nodes created (all answered ok)
  double bytes_per_node = 0;  // heap delta of the creation phase / nodes
  double seconds = 0;         // wall time of the creation phase
};

// Creates `nodes` nodes with empty data through the protocol (create by four sessions, up to
// 4096 creates in flight at a time, the executor run once per such batch) and reports the heap
// delta per node. The nodes form a tree of fan-out 100 under one parent "/m" (created before
// the measured phase), filled breadth-first: 100 children of /m, then 100 children of each of
// those, and so on; so no children list holds more than 100 names (a flat parent of a million
// children would make every create copy a million-name list). The delta includes everything
// the deployment keeps per create: the node in the system store, its record in the user store,
// the parent's children lists, and the queues' deduplication ids (remembered for 5 minutes of
// virtual time, which does not pass here).
MemoryResult measure_memory_per_node(size_t nodes);

// --- ZooKeeper baselines (fkemu_zkref only) ------------------------------------------------
// A synchronous zoo_set / zoo_get loop with the ZooKeeper C client (one session) against the
// server at host_port ("127.0.0.1:PORT", e.g. zkref::ZooKeeperServer::host_port()), on one node
// (/fkemu-speed, created if missing) of `bytes` bytes, for about `seconds` after
// `warm_up_seconds` of the same loop unmeasured (a cold JVM is several times slower).
RateResult measure_zookeeper_set_data(const std::string& host_port, size_t bytes, double seconds,
                                      double warm_up_seconds = 0.5);
RateResult measure_zookeeper_get_data(const std::string& host_port, size_t bytes, double seconds,
                                      double warm_up_seconds = 0.5);

}  // namespace fkemu
