// Task<T>: a lazily started C++20 coroutine that produces a T.
//
// A Task does nothing until it is awaited (or handed to Executor::spawn). Awaiting it runs the
// child on the caller's stack of frames by symmetric transfer and resumes the caller when the
// child finishes. The Task object owns the coroutine frame: destroying a suspended Task destroys
// the frame and, recursively, every child Task it is suspended on. That is how a function
// instance is killed at an await point (Executor::kill).
//
// Single-threaded: a Task is created, awaited and destroyed on the executor's thread.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "core/runtime/frame_pool.h"

namespace fkemu {

template <class T>
class Task;

namespace detail {

struct FinalAwaiter {
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
    auto next = h.promise().continuation;
    return next ? next : std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

struct PromiseBase {
  // Frames come from the frame pool (frame_pool.h).
  static void* operator new(std::size_t bytes) { return frame_pool::allocate(bytes); }
  static void operator delete(void* frame, std::size_t bytes) noexcept {
    frame_pool::release(frame, bytes);
  }
  std::coroutine_handle<> continuation;
  std::exception_ptr error;
  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

template <class T>
struct ValuePromise : PromiseBase {
  std::optional<T> value;
  template <class U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
};

struct VoidPromise : PromiseBase {
  void return_void() noexcept {}
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
 public:
  struct promise_type
      : std::conditional_t<std::is_void_v<T>, detail::VoidPromise, detail::ValuePromise<T>> {
    Task get_return_object() { return Task(Handle::from_promise(*this)); }
  };
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  ~Task() { reset(); }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
    h_.promise().continuation = caller;
    return h_;
  }
  // A value that `co_await` produces must be used (or cast to void with the reason): clang
  // reports one that is not (GCC 12 does not look at await_resume).
  [[nodiscard]] T await_resume() requires(!std::is_void_v<T>) {
    if (h_.promise().error) std::rethrow_exception(h_.promise().error);
    return std::move(*h_.promise().value);
  }
  void await_resume() requires std::is_void_v<T> {
    if (h_.promise().error) std::rethrow_exception(h_.promise().error);
  }

  Handle handle() const { return h_; }
  bool done() const { return !h_ || h_.done(); }
  void rethrow_if_failed() const {
    if (h_ && h_.promise().error) std::rethrow_exception(h_.promise().error);
  }

 private:
  explicit Task(Handle h) : h_(h) {}
  void reset() {
    if (h_) h_.destroy();
    h_ = {};
  }
  Handle h_;
};

}  // namespace fkemu
