#include "emulator/memory_fifo_queue.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>
#include <system_error>

#include "core/json/json_text.h"

namespace fkemu {

namespace {
// A message's id names its number: "m-<number>".
std::string message_id(uint64_t number) { return "m-" + std::to_string(number); }
uint64_t message_number(const std::string& id) {
  uint64_t n = 0;
  const char* end = id.data() + id.size();
  bool ok = id.rfind("m-", 0) == 0 && id.size() > 2;
  if (ok) {
    const std::from_chars_result r = std::from_chars(id.data() + 2, end, n);
    ok = r.ec == std::errc() && r.ptr == end;  // out of range too
  }
  if (!ok) throw std::invalid_argument("its message id \"" + id + "\" is not m-<number>");
  return n;
}
}  // namespace

MemoryFifoQueue::MemoryFifoQueue(std::string name, const Clock& clock,
                                 SequenceNumber first_sequence)
    : name_(std::move(name)), clock_(clock), next_sequence_(first_sequence) {}

Result<SendResult> MemoryFifoQueue::send(const std::string& group, const std::string& dedup_id,
                                         Value body, SendMeta meta) {
  if (group.empty()) {
    return Status(Code::BadArguments, "FIFO queue '" + name_ + "': empty message group id");
  }
  if (dedup_id.empty()) {
    return Status(Code::BadArguments, "FIFO queue '" + name_ + "': empty deduplication id");
  }
  const Time now = clock_.now();
  advance(now);
  // One look-up in the window serves the duplicate test and the remembering below.
  auto [remembered, first_time] = dedup_.try_emplace(dedup_id);
  if (!first_time && deduplicate_ && now < remembered->second.expires) {
    return SendResult{message_id(remembered->second.message_number), remembered->second.sequence,
                      /*duplicate=*/true};
  }

  const SequenceNumber sequence = next_sequence_;
  next_sequence_ = next_sequence_.next();
  Message m;
  m.number = next_number_++;
  m.id = message_id(m.number);
  m.sequence = sequence;
  m.group = group;
  m.dedup_id = dedup_id;
  m.body = std::make_shared<const Value>(std::move(body));
  m.sent_at = meta.sent_at < 0 ? now : std::min(meta.sent_at, now);
  m.bytes = meta.bytes;
  Message& stored = enqueue(std::move(m));

  const Time expires = now > std::numeric_limits<Time>::max() - kDeduplicationWindow
                           ? std::numeric_limits<Time>::max()
                           : now + kDeduplicationWindow;
  Remembered& r = remembered->second;
  r.message_number = stored.number;
  r.sequence = sequence;
  r.expires = expires;
  ++r.expiries;  // (more than one only when deduplication is off: the fifo.dedup_off mutant)
  dedup_expiry_.emplace_back(expires, &remembered->first);
  if (journal_) {
    record_message(stored);
    record_dedup(dedup_id, &remembered->second);
    record_next();
  }

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

Status MemoryFifoQueue::remove(const std::string& receipt) {
  advance(clock_.now());
  auto rit = receipts_.find(receipt);
  if (rit == receipts_.end())
    return Status(Code::NotFound,
                  "queue " + name_ + ": receipt " + receipt + " is unknown or stale");
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
  if (journal_) journal_->record("queue/" + name_ + "/m", sequence.to_string(), std::nullopt);
  messages_.erase(mit);
  return Status::ok();
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
    // The entry lives while this names it. The last entry naming an id carries its latest
    // expiry (expiries only grow with the clock), so the id is forgotten exactly then.
    auto it = dedup_.find(*dedup_expiry_.front().second);
    dedup_expiry_.pop_front();
    if (--it->second.expiries == 0) {
      if (journal_) record_dedup(it->first, nullptr);
      dedup_.erase(it);
    }
  }
}

void MemoryFifoQueue::unblock(Group& g) { ready_.emplace(g.messages.begin()->first, &g); }

MemoryFifoQueue::Message& MemoryFifoQueue::enqueue(Message m) {
  const SequenceNumber sequence = m.sequence;
  Message& stored = messages_.emplace(sequence, std::move(m)).first->second;
  Group& g = groups_[stored.group];
  stored.group_state = &g;
  g.messages.emplace(sequence, &stored);
  if (g.messages.size() == 1) {
    ready_.emplace(sequence, &g);  // a new group, nothing in flight
  } else if (g.in_flight == 0 && g.messages.begin()->first == sequence) {
    // restored out of order: this message is the group's new head
    std::erase_if(ready_, [&g](const auto& e) { return e.second == &g; });
    ready_.emplace(sequence, &g);
  }
  return stored;
}

namespace {
std::string cbor_string(const nlohmann::json& j) {
  const std::vector<uint8_t> c = nlohmann::json::to_cbor(j);
  return std::string(c.begin(), c.end());
}
// A body in the binary encoding of values (core/services/value.h).
std::vector<uint8_t> encoded(const Value& body) {
  const std::string e = body.encode();
  return std::vector<uint8_t>(e.begin(), e.end());
}
nlohmann::json from_cbor_string(const std::string& s) {
  return parse_cbor_or_throw(s, "the stored message");
}
}  // namespace

void MemoryFifoQueue::record_message(const Message& m) {
  journal_->record("queue/" + name_ + "/m", m.sequence.to_string(),
                   cbor_string({{"hi", m.sequence.hi},
                                {"lo", m.sequence.lo},
                                {"number", m.number},
                                {"group", m.group},
                                {"dedup", m.dedup_id},
                                {"body", nlohmann::json::binary(encoded(*m.body))},
                                {"receives", m.receive_count}}));
}

void MemoryFifoQueue::record_dedup(const std::string& id, const Remembered* r) {
  const std::string space = "queue/" + name_ + "/d";
  if (!r) return journal_->record(space, id, std::nullopt);
  journal_->record(space, id,
                   cbor_string({{"message", message_id(r->message_number)},
                                {"hi", r->sequence.hi},
                                {"lo", r->sequence.lo},
                                {"expires", r->expires}}));
}

void MemoryFifoQueue::record_next() {
  journal_->record(
      "queue/" + name_ + "/next", "next",
      cbor_string(
          {{"hi", next_sequence_.hi}, {"lo", next_sequence_.lo}, {"number", next_number_}}));
}

void MemoryFifoQueue::record_all() {
  if (!journal_) return;
  for (const auto& [seq, m] : messages_) record_message(m);
  for (const auto& [id, r] : dedup_) record_dedup(id, &r);
  record_next();
}

void MemoryFifoQueue::restore(const std::string& space, const std::string& key,
                              const std::string& value) {
  const std::string prefix = "queue/" + name_ + "/";
  const nlohmann::json j = from_cbor_string(value);
  const std::string kind = space.substr(prefix.size());
  if (kind == "next") {
    next_sequence_ = std::max(
        next_sequence_, SequenceNumber{j.at("hi").get<uint64_t>(), j.at("lo").get<uint64_t>()});
    next_number_ = std::max(next_number_, j.at("number").get<uint64_t>());
  } else if (kind == "m") {
    Message m;
    m.sequence = {j.at("hi").get<uint64_t>(), j.at("lo").get<uint64_t>()};
    m.number = j.at("number").get<uint64_t>();
    m.id = message_id(m.number);
    m.group = j.at("group").get<std::string>();
    m.dedup_id = j.at("dedup").get<std::string>();
    const auto& stored = j.at("body").get_binary();
    auto body = Value::decode(
        std::string_view(reinterpret_cast<const char*>(stored.data()), stored.size()));
    if (!body.is_ok()) throw std::invalid_argument("its body: " + body.status().message());
    m.body = std::make_shared<const Value>(std::move(*body));
    // It may have been received before the state was saved: count that as one delivery.
    m.receive_count = std::max(1, j.at("receives").get<int>());
    next_sequence_ = std::max(next_sequence_, m.sequence.next());
    next_number_ = std::max(next_number_, m.number + 1);
    enqueue(std::move(m));
  } else if (kind == "d") {
    Remembered r;
    r.message_number = message_number(j.at("message").get<std::string>());
    r.sequence = {j.at("hi").get<uint64_t>(), j.at("lo").get<uint64_t>()};
    r.expires = j.at("expires").get<Time>();
    r.expiries = 1;
    auto [entry, added] = dedup_.try_emplace(key, r);
    if (!added) throw std::invalid_argument("a deduplication id restored twice");
    const std::pair<Time, const std::string*> e{r.expires, &entry->first};
    auto pos = std::lower_bound(
        dedup_expiry_.begin(), dedup_expiry_.end(), e, [](const auto& a, const auto& b) {
          return a.first != b.first ? a.first < b.first : *a.second < *b.second;
        });
    dedup_expiry_.insert(pos, e);
  }
}

ReceivedMessage MemoryFifoQueue::describe(const Message& m, Time now) const {
  ReceivedMessage r;
  r.message_id = m.id;
  r.sequence = m.sequence;
  r.group = m.group;
  r.dedup_id = m.dedup_id;
  r.body = m.body;
  if (in_flight_at(m, now)) r.receipt = m.receipt;
  r.receive_count = m.receive_count;
  r.sent_at = m.sent_at;
  r.bytes = m.bytes;
  return r;
}

}  // namespace fkemu
