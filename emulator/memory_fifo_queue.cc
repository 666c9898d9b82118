#include "emulator/memory_fifo_queue.h"

#include <algorithm>
#include <limits>

namespace fkemu {

MemoryFifoQueue::MemoryFifoQueue(std::string name, const Clock& clock,
                                 SequenceNumber first_sequence)
    : name_(std::move(name)), clock_(clock), next_sequence_(first_sequence) {}

Result<SendResult> MemoryFifoQueue::send(const std::string& group, const std::string& dedup_id,
                                         nlohmann::json body) {
  if (group.empty()) {
    return Status(Code::BadArguments, "FIFO queue '" + name_ + "': empty message group id");
  }
  if (dedup_id.empty()) {
    return Status(Code::BadArguments, "FIFO queue '" + name_ + "': empty deduplication id");
  }
  const Time now = clock_.now();
  advance(now);
  if (auto it = dedup_.find(dedup_id);
      deduplicate_ && it != dedup_.end() && now < it->second.expires) {
    return SendResult{it->second.message_id, it->second.sequence, /*duplicate=*/true};
  }

  const SequenceNumber sequence = next_sequence_;
  next_sequence_ = next_sequence_.next();
  Message m;
  m.number = next_number_++;
  m.id = "m-" + std::to_string(m.number);
  m.sequence = sequence;
  m.group = group;
  m.dedup_id = dedup_id;
  m.body = std::move(body);
  Message& stored = messages_.emplace(sequence, std::move(m)).first->second;
  Group& g = groups_[group];
  stored.group_state = &g;
  g.messages.emplace(sequence, &stored);
  if (g.messages.size() == 1) ready_.emplace(sequence, &g);  // a new group, nothing in flight

  const Time expires = now > std::numeric_limits<Time>::max() - kDeduplicationWindow
                           ? std::numeric_limits<Time>::max()
                           : now + kDeduplicationWindow;
  dedup_[dedup_id] = Remembered{stored.id, sequence, expires};
  dedup_expiry_.emplace_back(expires, dedup_id);

  SendResult result{stored.id, sequence, /*duplicate=*/false};
  if (listener_) {
    auto listener = listener_;  // the listener may replace itself or call back into the queue
    listener();
  }
  return result;
}

std::vector<ReceivedMessage> MemoryFifoQueue::receive(size_t max_messages,
                                                      Duration visibility_timeout) {
  const Time now = clock_.now();
  advance(now);
  std::vector<ReceivedMessage> out;
  if (max_messages == 0) return out;
  visibility_timeout = std::max<Duration>(visibility_timeout, 0);
  const Time deadline = now > std::numeric_limits<Time>::max() - visibility_timeout
                            ? std::numeric_limits<Time>::max()
                            : now + visibility_timeout;

  // A k-way merge by sequence number: ready_ holds the heads of the groups not yet touched,
  // `frontier` the next message of each group this batch already took from.
  struct Cursor {
    Group* group;
    GroupMessages::iterator next;
  };
  std::map<SequenceNumber, Cursor> frontier;
  while (out.size() < max_messages) {
    Cursor c;
    if (!ready_.empty() && (frontier.empty() || ready_.begin()->first < frontier.begin()->first)) {
      Group* g = ready_.begin()->second;
      ready_.erase(ready_.begin());  // the group is blocked from now on
      c = Cursor{g, g->messages.begin()};
    } else if (!frontier.empty()) {
      c = frontier.begin()->second;
      frontier.erase(frontier.begin());
    } else {
      break;
    }
    Message& m = *c.next->second;
    ++m.receive_count;
    m.in_flight = true;
    m.deadline = deadline;
    m.receipt = "r-" + std::to_string(m.number) + "-" + std::to_string(m.receive_count);
    receipts_.emplace(m.receipt, m.sequence);
    in_flight_.emplace(deadline, m.sequence);
    ++c.group->in_flight;
    out.push_back(describe(m, now));
    out.back().receipt = m.receipt;  // also with a zero timeout, where it is stale at once
    if (++c.next != c.group->messages.end()) frontier.emplace(c.next->first, c);
  }
  return out;
}

bool MemoryFifoQueue::remove(const std::string& receipt) {
  advance(clock_.now());
  auto rit = receipts_.find(receipt);
  if (rit == receipts_.end()) return false;
  const SequenceNumber sequence = rit->second;
  receipts_.erase(rit);
  auto mit = messages_.find(sequence);
  Message& m = mit->second;
  in_flight_.erase({m.deadline, sequence});
  Group& g = *m.group_state;
  g.messages.erase(sequence);
  --g.in_flight;
  if (g.messages.empty()) {
    groups_.erase(m.group);
  } else if (g.in_flight == 0) {
    unblock(g);
  }
  messages_.erase(mit);
  return true;
}

std::optional<Time> MemoryFifoQueue::next_visibility_deadline() const {
  // Entries due by now are visible already, even if advance() has not run since.
  const SequenceNumber max_sequence{std::numeric_limits<uint64_t>::max(),
                                    std::numeric_limits<uint64_t>::max()};
  auto it = in_flight_.upper_bound({clock_.now(), max_sequence});
  if (it == in_flight_.end()) return std::nullopt;
  return it->first;
}

size_t MemoryFifoQueue::in_flight_count() const {
  const Time now = clock_.now();
  size_t due = 0;
  for (auto it = in_flight_.begin(); it != in_flight_.end() && it->first <= now; ++it) ++due;
  return in_flight_.size() - due;
}

size_t MemoryFifoQueue::visible_count() const { return messages_.size() - in_flight_count(); }

void MemoryFifoQueue::set_send_listener(std::function<void()> listener) {
  listener_ = std::move(listener);
}

std::vector<ReceivedMessage> MemoryFifoQueue::snapshot() const {
  const Time now = clock_.now();
  std::vector<ReceivedMessage> out;
  out.reserve(messages_.size());
  for (const auto& [sequence, m] : messages_) out.push_back(describe(m, now));
  return out;
}

void MemoryFifoQueue::advance(Time now) {
  while (!in_flight_.empty() && in_flight_.begin()->first <= now) {
    Message& m = messages_.find(in_flight_.begin()->second)->second;
    in_flight_.erase(in_flight_.begin());
    receipts_.erase(m.receipt);
    m.receipt.clear();
    m.in_flight = false;
    m.deadline = 0;
    if (--m.group_state->in_flight == 0) unblock(*m.group_state);
  }
  while (!dedup_expiry_.empty() && dedup_expiry_.front().first <= now) {
    auto it = dedup_.find(dedup_expiry_.front().second);
    if (it != dedup_.end() && it->second.expires <= now) dedup_.erase(it);
    dedup_expiry_.pop_front();
  }
}

void MemoryFifoQueue::unblock(Group& g) { ready_.emplace(g.messages.begin()->first, &g); }

ReceivedMessage MemoryFifoQueue::describe(const Message& m, Time now) const {
  ReceivedMessage r;
  r.message_id = m.id;
  r.sequence = m.sequence;
  r.group = m.group;
  r.dedup_id = m.dedup_id;
  r.body = m.body;
  if (in_flight_at(m, now)) r.receipt = m.receipt;
  r.receive_count = m.receive_count;
  return r;
}

}  // namespace fkemu
