// MemoryFifoQueue: an in-memory SQS FIFO queue, the reference implementation of FifoQueue.
//
// Guarantees, on top of those FifoQueue states:
//   * deterministic: message ids ("m-<n>" for the n-th enqueued message), receipts
//     ("r-<n>-<receive count>") and sequence numbers (consecutive, from first_sequence) depend
//     only on the order of the calls, never on randomness or wall time;
//   * time is the given Clock's, evaluated lazily inside every call (there are no timers): a
//     message received at t with visibility timeout d is in flight while now < t + d and visible
//     again from t + d on; a deduplication id first sent at t is remembered while
//     now < t + kDeduplicationWindow, also after its message was deleted, and duplicates do not
//     extend the window;
//   * deduplication is queue-wide (the SQS default scope);
//   * receive merges all unblocked groups oldest-first by sequence number, so one batch may hold
//     several consecutive messages of one group, in order; every group the batch touches is
//     blocked until all of its received messages are deleted or visible again;
//   * "visible" (visible_count) means not in flight: it includes messages of blocked groups;
//   * bodies are not size-limited (FaaSKeeper sends node data of up to 1 MiB through queues);
//   * cost: send, remove and the counters O(log n); receive O(k log n) for k messages.
// Not thread-safe; like every service fake it is driven by one thread (Executor::call).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/runtime/clock.h"
#include "core/services/fifo_queue.h"
#include "core/status.h"
#include "emulator/state_journal.h"

namespace fkemu {

class MemoryFifoQueue final : public FifoQueue {
 public:
  // `clock` must outlive the queue. first_sequence is the sequence number of the first message
  // (tests start it near 2^64 to cross the 64-bit boundary).
  MemoryFifoQueue(std::string name, const Clock& clock, SequenceNumber first_sequence = {0, 1});
  MemoryFifoQueue(const MemoryFifoQueue&) = delete;
  MemoryFifoQueue& operator=(const MemoryFifoQueue&) = delete;

  const std::string& name() const override { return name_; }
  Result<SendResult> send(const std::string& group, const std::string& dedup_id, Value body,
                          SendMeta meta = {}) override;
  std::vector<ReceivedMessage> receive(size_t max_messages, Duration visibility_timeout) override;
  Status remove(const std::string& receipt) override;
  std::optional<Time> next_visibility_deadline() const override;
  size_t visible_count() const override;
  size_t in_flight_count() const override;
  void set_send_listener(std::function<void()> listener) override;
  std::vector<ReceivedMessage> snapshot() const override;

  // Durable state: from now on every change is recorded in `j`, spaces "queue/<name>/m"
  // (messages), "queue/<name>/d" (deduplication ids) and "queue/<name>/next".
  void attach_journal(StateJournal* j) { journal_ = j; }
  void record_all();
  // Restoring from a journal, in any order, into an empty queue: messages come back visible
  // (a message in flight when the state was saved is delivered again).
  void restore(const std::string& space, const std::string& key, const std::string& value);
  const std::string& name_for_journal() const { return name_; }

  // Protocol mutant fifo.dedup_off only: the queue forgets deduplication ids.
  void disable_deduplication() { deduplicate_ = false; }

 private:
  struct Group;
  struct Message {
    uint64_t number = 0;  // 1 for the first enqueued message; names the id and the receipts
    std::string id;
    SequenceNumber sequence;
    std::string group;
    std::string dedup_id;
    std::shared_ptr<const Value> body;
    Time sent_at = 0;  // not journaled: a restored message counts as sent long ago
    size_t bytes = 0;
    int receive_count = 0;
    bool in_flight = false;  // received and not yet expired by advance()
    Time deadline = 0;       // when in_flight: visible again from this time on
    std::string receipt;     // when in_flight: the only valid receipt
    Group* group_state = nullptr;
  };
  using GroupMessages = std::map<SequenceNumber, Message*>;
  struct Group {
    GroupMessages messages;  // in sequence order; erased from groups_ when empty
    size_t in_flight = 0;    // how many of `messages` are in flight
  };
  // A deduplication id's entry: 48 bytes beside its id (the message's id is "m-<number>").
  struct Remembered {
    uint64_t message_number = 0;
    SequenceNumber sequence;
    Time expires = 0;       // forgotten from this time on
    uint32_t expiries = 0;  // entries of dedup_expiry_ that name it: it lives while one does
  };

  // Applies everything that became due by `now`: redelivery of expired in-flight messages and
  // forgetting of expired deduplication ids.
  void advance(Time now);
  // Called when a group's in-flight count dropped to zero.
  void unblock(Group& g);
  Message& enqueue(Message m);
  void record_message(const Message& m);
  void record_dedup(const std::string& id, const Remembered* r);
  void record_next();
  bool in_flight_at(const Message& m, Time now) const { return m.in_flight && m.deadline > now; }
  ReceivedMessage describe(const Message& m, Time now) const;

  std::string name_;
  const Clock& clock_;
  SequenceNumber next_sequence_;
  uint64_t next_number_ = 1;
  std::map<SequenceNumber, Message> messages_;  // every message in the queue, oldest first
  std::unordered_map<std::string, Group> groups_;
  // Groups that can deliver: non-empty, nothing in flight; keyed by their head's sequence.
  std::map<SequenceNumber, Group*> ready_;
  std::set<std::pair<Time, SequenceNumber>> in_flight_;  // (deadline, message)
  std::unordered_map<std::string, SequenceNumber> receipts_;
  std::unordered_map<std::string, Remembered> dedup_;
  // (expires, the id), in send order; the id is the key of its dedup_ entry, which lives while
  // an entry here names it (Remembered::expiries), so it is kept once.
  std::deque<std::pair<Time, const std::string*>> dedup_expiry_;
  std::function<void()> listener_;
  bool deduplicate_ = true;
  StateJournal* journal_ = nullptr;
};

}  // namespace fkemu
