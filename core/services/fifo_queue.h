// FifoQueue: the interface of an SQS-FIFO-like queue, as the protocol uses it.
//
// Guarantees an implementation must give (emulator/memory_fifo_queue is the reference):
//   * per message group strict order; a group is blocked while any of its received messages is
//     in flight (received, neither deleted nor back to visible);
//   * a deduplication id is remembered for 5 minutes after the send, even after the message is
//     deleted: a duplicate send enqueues nothing and returns the original id and sequence number;
//   * sequence numbers strictly increase over the whole queue (128-bit range);
//   * a received message that is not deleted within its visibility timeout becomes visible
//     again, in its original place in its group, and its receive count grows.
// Calls are applied atomically; the protocol wraps each one in Executor::call.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/runtime/clock.h"
#include "core/services/value.h"
#include "core/status.h"

namespace fkemu {

// A 128-bit sequence number, as SQS FIFO returns them (decimal strings of up to 39 digits).
struct SequenceNumber {
  uint64_t hi = 0;
  uint64_t lo = 0;
  auto operator<=>(const SequenceNumber&) const = default;
  SequenceNumber next() const {
    return lo == UINT64_MAX ? SequenceNumber{hi + 1, 0} : SequenceNumber{hi, lo + 1};
  }
  std::string to_string() const;  // decimal
};

constexpr Duration kDeduplicationWindow = 5 * 60 * kSecond;

struct SendResult {
  std::string message_id;
  SequenceNumber sequence;
  bool duplicate = false;  // true: an earlier send with this deduplication id was returned
};

// What a sender tells the queue besides the message: when its send call began (the FIFO
// trigger's latency is measured from there; -1: now) and the payload size the latency of the
// trigger is keyed by (node data bytes, not the JSON envelope's).
struct SendMeta {
  Time sent_at = -1;
  size_t bytes = 0;
};

struct ReceivedMessage {
  std::string message_id;
  SequenceNumber sequence;
  std::string group;
  std::string dedup_id;
  // Shared with the queue and immutable: a receive, a redelivery and the handler's copy of the
  // message copy no payload.
  std::shared_ptr<const Value> body;
  std::string receipt;  // valid until the message is deleted or becomes visible again
  int receive_count = 0;
  Time sent_at = 0;  // when the send that enqueued it began
  size_t bytes = 0;  // SendMeta::bytes
};

class FifoQueue {
 public:
  virtual ~FifoQueue() = default;
  virtual const std::string& name() const = 0;
  // BadArguments for an empty group or deduplication id.
  virtual Result<SendResult> send(const std::string& group, const std::string& dedup_id, Value body,
                                  SendMeta meta = {}) = 0;
  // Up to max_messages visible messages from unblocked groups, oldest first; several messages
  // of one group come in their order.
  virtual std::vector<ReceivedMessage> receive(size_t max_messages,
                                               Duration visibility_timeout) = 0;
  // Deletes a received message. NotFound if the receipt is unknown or stale (the message was
  // deleted, or became visible again and was received anew).
  virtual Status remove(const std::string& receipt) = 0;
  // Earliest time an in-flight message becomes visible again, if any is in flight.
  virtual std::optional<Time> next_visibility_deadline() const = 0;
  virtual size_t visible_count() const = 0;
  virtual size_t in_flight_count() const = 0;
  // Called after every send that enqueued a message (not after duplicates).
  virtual void set_send_listener(std::function<void()> listener) = 0;
  // Every message still in the queue (visible or in flight), oldest first; side-effect free.
  virtual std::vector<ReceivedMessage> snapshot() const = 0;
};

}  // namespace fkemu
