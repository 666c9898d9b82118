#include "core/runtime/executor.h"

#include <algorithm>

namespace fkemu {

std::unique_ptr<Scheduler> make_scheduler(std::string_view name) {
  if (name == "oldest-first" || name == "oldest") return std::make_unique<OldestFirstScheduler>();
  if (name == "random") return std::make_unique<RandomScheduler>();
  return nullptr;
}

Executor::Executor(uint64_t seed, std::unique_ptr<Scheduler> scheduler)
    : rng_(seed),
      latency_rng_(seed ^ 0x1a7e3c5d9b2f4e61ULL),
      scheduler_(scheduler ? std::move(scheduler) : std::make_unique<OldestFirstScheduler>()),
      latency_(std::make_shared<ZeroLatency>()) {}

Executor::~Executor() {
  // Frames may hold awaiters registered with objects owned by other frames; destroying them in
  // pid order is deterministic and each awaiter unregisters itself.
  ready_.clear();
  timers_.clear();
  while (!processes_.empty()) {
    auto node = processes_.extract(processes_.begin());
    node.mapped().root = Task<void>();
  }
}

ProcessId Executor::spawn(std::string name, Task<void> task, bool daemon) {
  const ProcessId pid = next_pid_++;
  auto h = task.handle();
  processes_.emplace(pid, Process{std::move(name), std::move(task), daemon});
  ready_.push_back(ReadyEntry{h, pid, next_seq_++, "start"});
  return pid;
}

std::string_view Executor::process_name(ProcessId pid) const {
  auto it = processes_.find(pid);
  return it == processes_.end() ? std::string_view{} : std::string_view{it->second.name};
}

bool Executor::current_is_daemon() const {
  auto it = processes_.find(current_);
  return it != processes_.end() && it->second.daemon;
}

void Executor::add_timer(std::coroutine_handle<> h, Duration d, bool keep_alive,
                         std::string_view label) {
  if (d <= 0) {
    ready_.push_back(ReadyEntry{h, current_, next_seq_++, label});
    return;
  }
  timers_.emplace(std::make_pair(now_ + d, next_seq_++), Timer{h, current_, keep_alive, label});
  if (keep_alive) ++keep_alive_timers_;
}

uint64_t Executor::schedule_timer(std::coroutine_handle<> h, Duration d, bool keep_alive,
                                  std::string_view label) {
  const uint64_t id = next_seq_++;
  timers_.emplace(std::make_pair(now_ + std::max<Duration>(d, 0), id),
                  Timer{h, current_, keep_alive, label});
  if (keep_alive) ++keep_alive_timers_;
  return id;
}

bool Executor::cancel_timer(uint64_t id) {
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    if (it->first.second != id) continue;
    if (it->second.keep_alive) --keep_alive_timers_;
    timers_.erase(it);
    return true;
  }
  return false;
}

void Executor::wake(std::coroutine_handle<> h, ProcessId pid, std::string_view label) {
  if (!alive(pid)) return;
  ready_.push_back(ReadyEntry{h, pid, next_seq_++, label});
}

Time Executor::local_now() const {
  auto it = clock_offsets_.find(current_);
  return it == clock_offsets_.end() ? now_ : now_ + it->second;
}

void Executor::kill(ProcessId pid) {
  if (!alive(pid)) return;
  killed_.insert(pid);
  if (pid == current_) {
    kill_current_ = true;
    return;
  }
  destroy_process(pid);
}

void Executor::destroy_process(ProcessId pid) {
  std::erase_if(ready_, [pid](const ReadyEntry& e) { return e.pid == pid; });
  for (auto it = timers_.begin(); it != timers_.end();) {
    if (it->second.pid == pid) {
      if (it->second.keep_alive) --keep_alive_timers_;
      it = timers_.erase(it);
    } else {
      ++it;
    }
  }
  clock_offsets_.erase(pid);
  auto node = processes_.extract(pid);
  // Destroying the root destroys every frame of the process; awaiter destructors may run here.
  node.mapped().root = Task<void>();
}

void Executor::finish_process(ProcessId pid) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return;
  if (!it->second.root.done()) return;
  try {
    it->second.root.rethrow_if_failed();
  } catch (...) {
    if (!escaped_) escaped_ = std::current_exception();
  }
  destroy_process(pid);
}

bool Executor::step(Time until) {
  if (ready_.empty()) {
    if (keep_alive_timers_ == 0 || timers_.empty()) return false;
    if (timers_.begin()->first.first > until) return false;
    release_earliest_timers();
  }
  // The scheduler sees every step, also those with one ready entry, so that recorded choices
  // line up step by step on replay.
  const size_t idx = scheduler_->pick(ready_, rng_);
  const ReadyEntry entry = ready_[idx];
  ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(idx));
  trace_.record(Decision{static_cast<uint32_t>(idx), static_cast<uint32_t>(ready_.size() + 1), now_,
                         entry.pid, entry.label});
  if (resume_hook_ && resume_hook_(entry)) {
    killed_.insert(entry.pid);
    destroy_process(entry.pid);
    return true;
  }
  if (delay_hook_) {
    if (const Duration d = delay_hook_(entry); d > 0) {
      timers_.emplace(std::make_pair(now_ + d, next_seq_++),
                      Timer{entry.handle, entry.pid, true, entry.label});
      ++keep_alive_timers_;
      return true;
    }
  }
  current_ = entry.pid;
  entry.handle.resume();
  current_ = 0;
  if (kill_current_) {
    kill_current_ = false;
    destroy_process(entry.pid);
  } else {
    finish_process(entry.pid);
  }
  return true;
}

void Executor::release_earliest_timers() {
  const Time t = timers_.begin()->first.first;
  now_ = std::max(now_, t);
  while (!timers_.empty() && timers_.begin()->first.first == t) {
    auto node = timers_.extract(timers_.begin());
    if (node.mapped().keep_alive) --keep_alive_timers_;
    ready_.push_back(
        ReadyEntry{node.mapped().handle, node.mapped().pid, next_seq_++, node.mapped().label});
  }
}

bool Executor::advance_to(Time t, uint64_t max_steps) {
  for (uint64_t n = 0; n < max_steps; ++n) {
    if (ready_.empty()) {
      if (timers_.empty() || timers_.begin()->first.first > t) {
        now_ = std::max(now_, t);
        return true;
      }
      release_earliest_timers();  // daemon timers too: in service mode time passes anyway
    }
    step(t);
    if (escaped_) std::rethrow_exception(std::exchange(escaped_, nullptr));
  }
  return false;
}

std::optional<Time> Executor::next_timer() const {
  if (!ready_.empty()) return now_;
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first.first;
}

void Executor::run(Time until) {
  while (step(until)) {
    if (escaped_) std::rethrow_exception(std::exchange(escaped_, nullptr));
  }
  if (escaped_) std::rethrow_exception(std::exchange(escaped_, nullptr));
}

bool Executor::run_bounded(Time until, uint64_t max_steps) {
  for (uint64_t n = 0; step(until); ++n) {
    if (escaped_) std::rethrow_exception(std::exchange(escaped_, nullptr));
    if (n >= max_steps) return false;
  }
  if (escaped_) std::rethrow_exception(std::exchange(escaped_, nullptr));
  return true;
}

bool Executor::run_until(const std::function<bool()>& pred, Time until) {
  while (!pred()) {
    if (!step(until)) break;
    if (escaped_) std::rethrow_exception(std::exchange(escaped_, nullptr));
  }
  return pred();
}

}  // namespace fkemu
