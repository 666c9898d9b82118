// EventSourceMapping: the function runtime's link from a FIFO queue to a function, as AWS
// Lambda's SQS event-source mapping behaves:
//   * a poller receives batches of up to `batch_size` messages with the visibility timeout;
//   * each batch runs in a new function instance (a process named "<function>#<n>"), which
//     handles its messages in order; when the instance returns, the batch is deleted;
//   * an instance that dies (Executor::kill) deletes nothing: its messages become visible again
//     after the visibility timeout and are delivered again (at-least-once);
//   * the queue's group lock gives per-group ordering: a group's next batch is only received
//     once the previous one is deleted or visible again;
//   * an instance starts when the latency model's `trigger_step` says: its delay is measured
//     from the start of the send of the batch's first message (the FIFO-trigger measurements
//     are from the sender's send call to the function's start), and is never before the poll;
//     a message delivered again is timed from the poll. The zero model starts it at once.
// The poller is a daemon process: waiting for new messages does not keep a run alive, waiting
// for an in-flight message to become visible again does.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/runtime/executor.h"
#include "core/runtime/mailbox.h"
#include "core/runtime/task.h"
#include "core/services/fifo_queue.h"

namespace fkemu {

class EventSourceMapping {
 public:
  using Handler = std::function<Task<void>(ReceivedMessage)>;

  EventSourceMapping(Executor& ex, FifoQueue& queue, std::string function, Handler handler,
                     size_t batch_size, Duration visibility_timeout,
                     std::string trigger_step = "queue.trigger");
  ~EventSourceMapping();
  EventSourceMapping(const EventSourceMapping&) = delete;
  EventSourceMapping& operator=(const EventSourceMapping&) = delete;

  void start();
  const std::string& function() const { return function_; }
  uint64_t invocations() const { return invocations_; }

 private:
  Task<void> poll();
  Task<void> instance(std::vector<ReceivedMessage> batch);

  Executor& ex_;
  FifoQueue& queue_;
  std::string function_;
  Handler handler_;
  size_t batch_size_;
  Duration visibility_;
  std::string trigger_step_;
  Event changed_;
  uint64_t invocations_ = 0;
  ProcessId poller_ = 0;
};

}  // namespace fkemu
