// Mailbox<T>: an unbounded FIFO of values that coroutines of one executor await.
//
// push() hands the value straight to the oldest waiting receiver (which becomes ready) or
// queues it. A receiver that is killed while waiting unregisters itself, so no value is lost to
// a dead process. Event is a Mailbox without payload whose pending signals coalesce.
//
// Single-threaded, like the executor it belongs to.
#pragma once

#include <coroutine>
#include <deque>
#include <optional>
#include <string_view>
#include <utility>

#include "core/runtime/executor.h"

namespace fkemu {

template <class T>
class Mailbox {
 public:
  explicit Mailbox(Executor& ex, std::string_view label = "mailbox") : ex_(ex), label_(label) {}
  ~Mailbox() {
    for (auto* w : waiters_) w->box = nullptr;
  }
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  struct Receiver {
    Mailbox* box;
    std::coroutine_handle<> handle;
    ProcessId pid = 0;
    std::optional<T> slot;
    bool registered = false;

    bool await_ready() {
      if (!box->items_.empty()) {
        slot.emplace(std::move(box->items_.front()));
        box->items_.pop_front();
        return true;
      }
      return false;
    }
    void await_suspend(std::coroutine_handle<> h) {
      handle = h;
      pid = box->ex_.current();
      registered = true;
      box->waiters_.push_back(this);
    }
    T await_resume() { return std::move(*slot); }
    ~Receiver() {
      if (registered && box) std::erase(box->waiters_, this);
    }
  };

  Receiver receive() { return Receiver{this, {}, 0, std::nullopt, false}; }

  void push(T value) {
    if (!waiters_.empty()) {
      Receiver* w = waiters_.front();
      waiters_.pop_front();
      w->registered = false;
      w->slot.emplace(std::move(value));
      ex_.wake(w->handle, w->pid, label_);
      return;
    }
    items_.push_back(std::move(value));
  }

  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  bool has_waiter() const { return !waiters_.empty(); }

 private:
  Executor& ex_;
  std::string_view label_;
  std::deque<T> items_;
  std::deque<Receiver*> waiters_;
};

// A wake-up signal: set() wakes every waiter, or is remembered (once) if nobody waits.
class Event {
 public:
  explicit Event(Executor& ex, std::string_view label = "event") : ex_(ex), label_(label) {}
  ~Event() {
    for (auto* w : waiters_) w->ev = nullptr;
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  struct Waiter {
    Event* ev;
    Duration timeout = -1;  // < 0: none
    bool keep_alive = true;
    std::coroutine_handle<> handle;
    ProcessId pid = 0;
    uint64_t timer = 0;
    bool registered = false;
    bool await_ready() {
      if (ev->pending_) {
        ev->pending_ = false;
        return true;
      }
      return false;
    }
    void await_suspend(std::coroutine_handle<> h) {
      handle = h;
      pid = ev->ex_.current();
      registered = true;
      ev->waiters_.push_back(this);
      if (timeout >= 0) timer = ev->ex_.schedule_timer(h, timeout, keep_alive, "event.timeout");
    }
    // True when signalled, false when the timeout fired first.
    bool await_resume() {
      if (!registered) return true;
      registered = false;
      std::erase(ev->waiters_, this);
      return false;
    }
    ~Waiter() {
      if (registered && ev) std::erase(ev->waiters_, this);
    }
  };

  Waiter wait() { return Waiter{this, -1, true, {}, 0, 0, false}; }
  // Waits for a signal at most `timeout`; the timer keeps the run alive unless told otherwise.
  Waiter wait_for(Duration timeout, bool keep_alive = true) {
    return Waiter{this, timeout, keep_alive, {}, 0, 0, false};
  }

  void set() {
    if (waiters_.empty()) {
      pending_ = true;
      return;
    }
    auto ws = std::move(waiters_);
    waiters_.clear();
    for (auto* w : ws) {
      w->registered = false;
      if (w->timeout >= 0) ex_.cancel_timer(w->timer);
      ex_.wake(w->handle, w->pid, label_);
    }
  }

 private:
  Executor& ex_;
  std::string_view label_;
  bool pending_ = false;
  std::deque<Waiter*> waiters_;
};

}  // namespace fkemu
