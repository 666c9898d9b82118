// Running one task in a process of its own, and collecting its value.
//
// spawn_then(): the process hands the task's value to a callback when the task finishes (fkemu
// serve: the answer of a request goes out from there). The callback is not called if the process
// is killed first.
//
// block_on(): the same, then the executor runs until it is quiet (every process
// it set off, such as the functions an operation triggers, has finished or waits forever).
// Returns the task's value, or nullopt if the task had not finished when the executor went
// quiet (it waits for something that never comes); such a task is killed. For tests, benchmarks and
// reports that drive the protocol one operation at a time; a caller inside the loop awaits the task
// instead.
//
//   std::optional<OpResult> r = block_on(ex, session.create("/a", "x", false, false));
//
// Same thread as the executor; not reentrant (never from inside a running task).
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "core/runtime/executor.h"
#include "core/runtime/task.h"

namespace fkemu {

namespace detail {

template <class T, class F>
Task<void> run_then(Task<T> task, F done) {
  T value = co_await std::move(task);  // named first: GCC 12 loses a co_await's value in a call
  done(std::move(value));
}

template <class F>
Task<void> run_then(Task<void> task, F done) {
  co_await std::move(task);
  done();
}

}  // namespace detail

template <class T, class F>
ProcessId spawn_then(Executor& ex, std::string name, Task<T> task, F done) {
  return ex.spawn(std::move(name), detail::run_then(std::move(task), std::move(done)));
}

// A task that has not finished when the executor goes quiet is killed (its frames destroyed):
// nothing of it outlives the call, which holds where its value would go.
template <class T>
std::optional<T> block_on(Executor& ex, Task<T> task, std::string name = "block_on") {
  std::optional<T> out;
  const ProcessId pid =
      spawn_then(ex, std::move(name), std::move(task), [&out](T value) { out = std::move(value); });
  ex.run();
  if (!out) ex.kill(pid);
  return out;
}

// For a task without a value: whether it finished.
inline bool block_on(Executor& ex, Task<void> task, std::string name = "block_on") {
  bool done = false;
  const ProcessId pid = spawn_then(ex, std::move(name), std::move(task), [&done] { done = true; });
  ex.run();
  if (!done) ex.kill(pid);
  return done;
}

}  // namespace fkemu
