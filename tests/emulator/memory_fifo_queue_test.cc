// Tests of MemoryFifoQueue: the SQS FIFO semantics FaaSKeeper relies on, in particular the ones
// other emulators get wrong (deduplication after delete, blocked groups, batches, redelivery).
#include "emulator/memory_fifo_queue.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using fkemu::Bytes;
using fkemu::Code;
using fkemu::kDeduplicationWindow;
using fkemu::kSecond;
using fkemu::MemoryFifoQueue;
using fkemu::ReceivedMessage;
using fkemu::SequenceNumber;
using fkemu::Time;
using fkemu::Value;
using fkemu::ValueMap;
using nlohmann::json;

constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

struct TestClock final : fkemu::Clock {
  Time t = 1000;
  Time now() const override { return t; }
};

fkemu::SendResult must_send(MemoryFifoQueue& q, const std::string& group, const std::string& dedup,
                            Value body = Value(ValueMap{})) {
  auto r = q.send(group, dedup, std::move(body));
  REQUIRE(r.is_ok());
  return r.value();
}

std::vector<std::string> dedup_ids(const std::vector<ReceivedMessage>& ms) {
  std::vector<std::string> out;
  for (const auto& m : ms) out.push_back(m.dedup_id);
  return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("SequenceNumber::next carries into the high word and to_string prints 128-bit decimal",
          "[fifo][sequence]") {
  CHECK(SequenceNumber{0, 0}.to_string() == "0");
  CHECK(SequenceNumber{0, 1}.to_string() == "1");
  CHECK(SequenceNumber{0, 1234567890123456789u}.to_string() == "1234567890123456789");
  CHECK(SequenceNumber{0, kMax64}.to_string() == "18446744073709551615");
  CHECK(SequenceNumber{1, 0}.to_string() == "18446744073709551616");
  CHECK(SequenceNumber{1, 1}.to_string() == "18446744073709551617");
  // 10^20 = 5 * 2^64 + 7766279631452241920
  CHECK(SequenceNumber{5, 7766279631452241920u}.to_string() == "100000000000000000000");
  CHECK(SequenceNumber{kMax64, kMax64}.to_string() == "340282366920938463463374607431768211455");

  const SequenceNumber top{0, kMax64};
  const SequenceNumber carried = top.next();
  CHECK(carried == SequenceNumber{1, 0});
  CHECK(carried > top);
  CHECK(carried.next() == SequenceNumber{1, 1});
  CHECK(SequenceNumber{7, kMax64}.next() == SequenceNumber{8, 0});
  CHECK(SequenceNumber{1, 0} > SequenceNumber{0, kMax64});
  CHECK(SequenceNumber{0, 5} < SequenceNumber{0, 6});
}

TEST_CASE("send enqueues with deterministic ids and strictly increasing sequence numbers",
          "[fifo]") {
  TestClock clock;
  MemoryFifoQueue q("writer", clock);
  CHECK(q.name() == "writer");
  auto a = must_send(q, "g1", "d1", Value(ValueMap{{"op", "create"}}));
  auto b = must_send(q, "g2", "d2");
  auto c = must_send(q, "g1", "d3");
  CHECK(a.message_id == "m-1");
  CHECK(b.message_id == "m-2");
  CHECK(c.message_id == "m-3");
  CHECK_FALSE(a.duplicate);
  CHECK(a.sequence < b.sequence);
  CHECK(b.sequence < c.sequence);
  CHECK(a.sequence > SequenceNumber{0, 0});  // starts at a non-zero value
  CHECK(q.visible_count() == 3);
  CHECK(q.in_flight_count() == 0);

  auto got = q.receive(1, 30 * kSecond);
  REQUIRE(got.size() == 1);
  CHECK(got[0].message_id == "m-1");
  CHECK(got[0].sequence == a.sequence);
  CHECK(got[0].group == "g1");
  CHECK(got[0].dedup_id == "d1");
  CHECK((*got[0].body == Value(ValueMap{{"op", "create"}})));
  CHECK(got[0].receive_count == 1);
  CHECK(got[0].receipt == "r-1-1");
  CHECK(q.visible_count() == 2);
  CHECK(q.in_flight_count() == 1);
  CHECK(q.remove(got[0].receipt).is_ok());
  CHECK(q.remove(got[0].receipt).code() == Code::NotFound);  // already deleted
  CHECK(q.remove("r-2-1").code() == Code::NotFound);         // never issued
  CHECK(q.visible_count() == 2);
  CHECK(q.in_flight_count() == 0);
}

TEST_CASE("two queues driven identically produce identical ids, receipts and sequences",
          "[fifo][determinism]") {
  auto drive = [](MemoryFifoQueue& q, TestClock& clock) {
    std::vector<std::string> log;
    for (int i = 0; i < 20; ++i) {
      auto r = must_send(q, "g" + std::to_string(i % 3), "d" + std::to_string(i % 15));
      log.push_back(r.message_id + "/" + r.sequence.to_string() + (r.duplicate ? "/dup" : ""));
    }
    for (int round = 0; round < 4; ++round) {
      for (const auto& m : q.receive(4, 10 * kSecond)) {
        log.push_back(m.message_id + "/" + m.receipt);
        if (m.sequence.lo % 2 == 0) CHECK(q.remove(m.receipt).is_ok());
      }
      clock.t += 11 * kSecond;
    }
    return log;
  };
  TestClock c1, c2;
  MemoryFifoQueue q1("q", c1), q2("q", c2);
  auto l1 = drive(q1, c1);
  CHECK(l1 == drive(q2, c2));
  // Sends 15..19 repeat d0..d4: duplicates of m-1..m-5 with their sequence numbers.
  CHECK(std::find(l1.begin(), l1.end(), "m-1/1/dup") != l1.end());
  CHECK(std::find(l1.begin(), l1.end(), "m-5/5/dup") != l1.end());
  CHECK(std::count_if(l1.begin(), l1.end(), [](const std::string& s) {
          return s.find("/dup") != std::string::npos;
        }) == 5);
}

TEST_CASE("empty group or deduplication id is refused with BadArguments and enqueues nothing",
          "[fifo]") {
  TestClock clock;
  MemoryFifoQueue q("q", clock);
  int calls = 0;
  q.set_send_listener([&] { ++calls; });
  auto no_group = q.send("", "d", Value(1));
  REQUIRE_FALSE(no_group.is_ok());
  CHECK(no_group.code() == Code::BadArguments);
  CHECK(no_group.status().message().find("group") != std::string::npos);
  auto no_dedup = q.send("g", "", Value(1));
  REQUIRE_FALSE(no_dedup.is_ok());
  CHECK(no_dedup.code() == Code::BadArguments);
  CHECK(no_dedup.status().message().find("deduplication") != std::string::npos);
  CHECK(q.visible_count() == 0);
  CHECK(q.snapshot().empty());
  CHECK(calls == 0);
  // The refused sends consumed neither an id nor a sequence number.
  auto first = must_send(q, "g", "d");
  CHECK(first.message_id == "m-1");
  CHECK(first.sequence == SequenceNumber{0, 1});
}

TEST_CASE("a duplicate send returns the original id and sequence, also after the delete",
          "[fifo][dedup]") {
  TestClock clock;
  MemoryFifoQueue q("q", clock);
  int calls = 0;
  q.set_send_listener([&] { ++calls; });
  auto original = must_send(q, "g", "tx-1", Value("first"));
  must_send(q, "other", "tx-2");
  CHECK(calls == 2);

  auto dup = must_send(q, "g", "tx-1", Value("second"));
  CHECK(dup.duplicate);
  CHECK(dup.message_id == original.message_id);
  CHECK(dup.sequence == original.sequence);
  CHECK(calls == 2);  // no listener call for a duplicate
  CHECK(q.visible_count() == 2);

  // Deduplication is queue-wide: another group with the same id is a duplicate too.
  auto other_group = must_send(q, "h", "tx-1");
  CHECK(other_group.duplicate);
  CHECK(other_group.message_id == original.message_id);

  auto got = q.receive(10, 30 * kSecond);
  REQUIRE(got.size() == 2);
  CHECK(*got[0].body == Value("first"));
  REQUIRE(q.remove(got[0].receipt).is_ok());
  REQUIRE(q.remove(got[1].receipt).is_ok());
  CHECK(q.snapshot().empty());

  clock.t += 60 * kSecond;
  auto after_delete = must_send(q, "g", "tx-1", Value("retry"));
  CHECK(after_delete.duplicate);
  CHECK(after_delete.message_id == original.message_id);
  CHECK(after_delete.sequence == original.sequence);
  CHECK(q.visible_count() == 0);
  CHECK(q.receive(10, 30 * kSecond).empty());
  CHECK(calls == 2);
}

TEST_CASE("the deduplication window is 5 minutes from the first send and then expires",
          "[fifo][dedup]") {
  TestClock clock;
  MemoryFifoQueue q("q", clock);
  const Time sent_at = clock.t;
  auto original = must_send(q, "g", "tx");
  clock.t = sent_at + 4 * 60 * kSecond;
  CHECK(must_send(q, "g", "tx").duplicate);  // does not extend the window
  clock.t = sent_at + kDeduplicationWindow - 1;
  auto last_dup = must_send(q, "g", "tx");
  CHECK(last_dup.duplicate);
  CHECK(last_dup.sequence == original.sequence);
  CHECK(q.visible_count() == 1);

  clock.t = sent_at + kDeduplicationWindow;
  auto fresh = must_send(q, "g", "tx", Value("again"));
  CHECK_FALSE(fresh.duplicate);
  CHECK(fresh.message_id != original.message_id);
  CHECK(fresh.sequence > original.sequence);
  CHECK(q.visible_count() == 2);
  // The new send opens a new window.
  clock.t += kDeduplicationWindow - 1;
  auto dup_of_fresh = must_send(q, "g", "tx");
  CHECK(dup_of_fresh.duplicate);
  CHECK(dup_of_fresh.message_id == fresh.message_id);
}

namespace {
// The rows a queue writes to its journal, last value per (space, key); none: erased.
struct RowJournal final : fkemu::StateJournal {
  std::map<std::pair<std::string, std::string>, std::optional<std::string>> rows;
  void record(std::string_view space, std::string_view key,
              std::optional<std::string> value) override {
    rows[{std::string(space), std::string(key)}] = std::move(value);
  }
  bool erased(const std::string& space, const std::string& key) const {
    auto it = rows.find({space, key});
    return it != rows.end() && !it->second;
  }
};
}  // namespace

TEST_CASE("a deduplication id is kept once and forgotten at its last window's end",
          "[fifo][dedup]") {
  TestClock clock;
  RowJournal journal;
  // Deduplication off (the fifo.dedup_off mutant): the same id is sent twice a minute apart,
  // both enqueued; the id is forgotten when the later window ends, not the first.
  MemoryFifoQueue q("q", clock);
  q.attach_journal(&journal);
  q.disable_deduplication();
  const Time t0 = clock.t;
  CHECK_FALSE(must_send(q, "g", "tx").duplicate);
  clock.t = t0 + 60 * kSecond;
  CHECK_FALSE(must_send(q, "g", "tx").duplicate);
  CHECK(q.visible_count() == 2);
  clock.t = t0 + kDeduplicationWindow;
  (void)must_send(q, "g", "other");
  CHECK_FALSE(journal.erased("queue/q/d", "tx"));
  clock.t = t0 + 60 * kSecond + kDeduplicationWindow;
  (void)must_send(q, "g", "third");
  CHECK(journal.erased("queue/q/d", "tx"));

  // A window restored from the journal answers duplicates with the original message.
  TestClock later;
  later.t = clock.t;
  MemoryFifoQueue kept("q", later);
  RowJournal copy;
  q.attach_journal(&copy);
  q.record_all();
  for (const auto& [where, value] : copy.rows)
    if (value) kept.restore(where.first, where.second, *value);
  const fkemu::SendResult again = must_send(kept, "g", "third");
  CHECK(again.duplicate);
  CHECK(again.message_id == "m-4");
  CHECK_FALSE(must_send(kept, "g", "tx").duplicate);  // forgotten before it was saved
  // A remembered id whose message id is not m-<number> is refused by name.
  for (const auto& [where, value] : copy.rows)
    if (where.first == "queue/q/d" && value) {
      for (const char* id : {"x-4", "m-", "m-4x", "m-99999999999999999999999"}) {
        auto j = nlohmann::json::from_cbor(*value);
        j["message"] = id;
        const auto bad = nlohmann::json::to_cbor(j);
        MemoryFifoQueue damaged("q", later);
        CHECK_THROWS_WITH(
            damaged.restore(where.first, where.second, std::string(bad.begin(), bad.end())),
            Catch::Contains("is not m-<number>"));
      }
    }
}

TEST_CASE("a group is blocked while its head is in flight; other groups still flow",
          "[fifo][groups]") {
  TestClock clock;
  MemoryFifoQueue q("q", clock);
  must_send(q, "A", "a1");
  must_send(q, "A", "a2");
  must_send(q, "B", "b1");
  must_send(q, "B", "b2");

  auto first = q.receive(1, 30 * kSecond);
  REQUIRE(dedup_ids(first) == Strings{"a1"});
  // A is blocked: a2 is not delivered although it is visible, B flows (b1, b2 in order).
  auto second = q.receive(10, 30 * kSecond);
  CHECK(dedup_ids(second) == Strings{"b1", "b2"});
  CHECK(q.receive(10, 30 * kSecond).empty());
  CHECK(q.visible_count() == 1);  // a2: visible, but its group is blocked
  CHECK(q.in_flight_count() == 3);

  // A message sent to a blocked group waits as well.
  must_send(q, "A", "a3");
  must_send(q, "C", "c1");
  CHECK(dedup_ids(q.receive(10, 30 * kSecond)) == Strings{"c1"});

  REQUIRE(q.remove(first[0].receipt).is_ok());
  CHECK(dedup_ids(q.receive(10, 30 * kSecond)) == Strings{"a2", "a3"});
  // Deleting only one of B's two in-flight messages keeps B blocked.
  must_send(q, "B", "b3");
  REQUIRE(q.remove(second[1].receipt).is_ok());
  CHECK(q.receive(10, 30 * kSecond).empty());
  REQUIRE(q.remove(second[0].receipt).is_ok());
  CHECK(dedup_ids(q.receive(10, 30 * kSecond)) == Strings{"b3"});
}

TEST_CASE("a batch merges groups oldest-first and holds consecutive messages of one group",
          "[fifo][batch]") {
  TestClock clock;
  MemoryFifoQueue q("q", clock);
  for (const char* d : {"a1", "b1", "a2", "a3", "b2", "c1", "a4"}) {
    must_send(q, std::string(1, static_cast<char>(std::toupper(d[0]))), d);
  }
  SECTION("a big batch returns everything in sequence order") {
    auto all = q.receive(10, 30 * kSecond);
    CHECK(dedup_ids(all) == Strings{"a1", "b1", "a2", "a3", "b2", "c1", "a4"});
    for (size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].sequence < all[i].sequence);
    CHECK(q.in_flight_count() == 7);
  }
  SECTION("a cut batch takes the oldest, then every touched group is blocked") {
    auto part = q.receive(4, 30 * kSecond);
    CHECK(dedup_ids(part) == Strings{"a1", "b1", "a2", "a3"});
    // a4 and b2 belong to groups with messages in flight; only C can deliver.
    CHECK(dedup_ids(q.receive(10, 30 * kSecond)) == Strings{"c1"});
    for (const auto& m : part) {
      if (m.group == "A") REQUIRE(q.remove(m.receipt).is_ok());
    }
    CHECK(dedup_ids(q.receive(10, 30 * kSecond)) == Strings{"a4"});
  }
  SECTION("a batch cut at max_messages blocks the groups it touched") {
    auto two = q.receive(2, 30 * kSecond);
    CHECK(dedup_ids(two) == Strings{"a1", "b1"});
    auto next = q.receive(2, 30 * kSecond);
    CHECK(dedup_ids(next) == Strings{"c1"});
  }
  SECTION("max_messages 0 receives nothing and blocks nothing") {
    CHECK(q.receive(0, 30 * kSecond).empty());
    CHECK(q.in_flight_count() == 0);
    CHECK(q.receive(1, 30 * kSecond).size() == 1);
  }
}

TEST_CASE("an undeleted message becomes visible again at its timeout, in its place",
          "[fifo][visibility]") {
  TestClock clock;
  MemoryFifoQueue q("q", clock);
  must_send(q, "A", "a1", Value("one"));
  must_send(q, "A", "a2", Value("two"));
  must_send(q, "B", "b1");
  const Time received_at = clock.t;
  auto got = q.receive(1, 30 * kSecond);
  REQUIRE(dedup_ids(got) == Strings{"a1"});
  const std::string old_receipt = got[0].receipt;
  CHECK(q.next_visibility_deadline() == received_at + 30 * kSecond);

  clock.t = received_at + 30 * kSecond - 1;
  CHECK(q.in_flight_count() == 1);
  CHECK(dedup_ids(q.receive(10, 5 * kSecond)) == Strings{"b1"});  // A still blocked
  CHECK(q.next_visibility_deadline() == received_at + 30 * kSecond);

  clock.t = received_at + 30 * kSecond;  // the consumer crashed: the timeout passes
  // Evaluated lazily, also by the read-only calls.
  CHECK(q.in_flight_count() == 1);  // only b1 (until received_at + 30 s - 1 + 5 s)
  CHECK(q.visible_count() == 2);
  CHECK(q.next_visibility_deadline() == received_at + 30 * kSecond - 1 + 5 * kSecond);

  CHECK(q.remove(old_receipt).code() == Code::NotFound);  // stale once visible again
  auto again = q.receive(10, 30 * kSecond);
  REQUIRE(dedup_ids(again) == Strings{"a1", "a2"});  // original place, before a2
  CHECK(again[0].message_id == got[0].message_id);
  CHECK(again[0].sequence == got[0].sequence);
  CHECK(*again[0].body == Value("one"));
  CHECK(again[0].receive_count == 2);
  CHECK(again[1].receive_count == 1);
  CHECK(again[0].receipt != old_receipt);
  CHECK(again[0].receipt == "r-1-2");
  CHECK(q.remove(old_receipt).code() == Code::NotFound);  // stale after the redelivery too
  CHECK(q.in_flight_count() == 3);  // the failed remove did not touch the new delivery
  CHECK(q.remove(again[0].receipt).is_ok());
  CHECK(q.remove(again[1].receipt).is_ok());
}

TEST_CASE("after a partial delete the rest of a batch is redelivered in order",
          "[fifo][visibility]") {
  TestClock clock;
  MemoryFifoQueue q("q", clock);
  for (const char* d : {"a1", "a2", "a3", "a4"}) must_send(q, "A", d);
  auto batch = q.receive(3, 10 * kSecond);
  REQUIRE(dedup_ids(batch) == Strings{"a1", "a2", "a3"});
  REQUIRE(q.remove(batch[0].receipt).is_ok());  // the consumer handled a1, then crashed
  clock.t += 10 * kSecond;
  CHECK(q.remove(batch[1].receipt).code() == Code::NotFound);
  auto redelivered = q.receive(10, 10 * kSecond);
  REQUIRE(dedup_ids(redelivered) == Strings{"a2", "a3", "a4"});
  CHECK(redelivered[0].receive_count == 2);
  CHECK(redelivered[1].receive_count == 2);
  CHECK(redelivered[2].receive_count == 1);
  // A third delivery after another timeout counts three receives.
  clock.t += 10 * kSecond;
  auto third = q.receive(1, 10 * kSecond);
  REQUIRE(third.size() == 1);
  CHECK(third[0].dedup_id == "a2");
  CHECK(third[0].receive_count == 3);
  CHECK(third[0].receipt == "r-2-3");
}

TEST_CASE("a zero visibility timeout makes a received message visible again at once",
          "[fifo][visibility]") {
  TestClock clock;
  MemoryFifoQueue q("q", clock);
  must_send(q, "A", "a1");
  auto first = q.receive(1, 0);
  REQUIRE(first.size() == 1);
  CHECK(q.in_flight_count() == 0);
  CHECK_FALSE(q.next_visibility_deadline().has_value());
  auto second = q.receive(1, -5);  // negative counts as zero
  REQUIRE(second.size() == 1);
  CHECK(second[0].receive_count == 2);
  CHECK(q.remove(second[0].receipt).code() == Code::NotFound);
}

TEST_CASE("next_visibility_deadline is the earliest in-flight deadline", "[fifo][visibility]") {
  TestClock clock;
  MemoryFifoQueue q("q", clock);
  CHECK_FALSE(q.next_visibility_deadline().has_value());
  must_send(q, "A", "a1");
  must_send(q, "B", "b1");
  const Time t0 = clock.t;
  auto a = q.receive(1, 50 * kSecond);
  clock.t += kSecond;
  auto b = q.receive(1, 20 * kSecond);
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  CHECK(q.next_visibility_deadline() == t0 + kSecond + 20 * kSecond);
  REQUIRE(q.remove(b[0].receipt).is_ok());
  CHECK(q.next_visibility_deadline() == t0 + 50 * kSecond);
  clock.t = t0 + 50 * kSecond;
  CHECK_FALSE(q.next_visibility_deadline().has_value());
}

TEST_CASE("sequence numbers stay strictly increasing across the 64-bit boundary",
          "[fifo][sequence]") {
  TestClock clock;
  MemoryFifoQueue q("q", clock, SequenceNumber{0, kMax64 - 1});
  auto a = must_send(q, "A", "1");
  auto b = must_send(q, "B", "2");
  auto c = must_send(q, "A", "3");
  auto d = must_send(q, "B", "4");
  CHECK(a.sequence == SequenceNumber{0, kMax64 - 1});
  CHECK(b.sequence == SequenceNumber{0, kMax64});
  CHECK(c.sequence == SequenceNumber{1, 0});
  CHECK(d.sequence == SequenceNumber{1, 1});
  CHECK(c.sequence.to_string() == "18446744073709551616");
  // Oldest-first ordering still holds across the boundary.
  auto all = q.receive(10, kSecond);
  CHECK(dedup_ids(all) == Strings{"1", "2", "3", "4"});
  auto snap = q.snapshot();
  REQUIRE(snap.size() == 4);
  CHECK(snap[3].sequence.to_string() == "18446744073709551617");
}

TEST_CASE("the send listener runs once per enqueued message and may call back into the queue",
          "[fifo][listener]") {
  TestClock clock;
  MemoryFifoQueue q("q", clock);
  std::vector<std::string> seen;
  q.set_send_listener([&] {
    // The message is already enqueued when the listener runs.
    for (const auto& m : q.receive(10, kSecond)) {
      seen.push_back(m.dedup_id);
      CHECK(q.remove(m.receipt).is_ok());
    }
  });
  must_send(q, "A", "a1");
  must_send(q, "A", "a1");  // duplicate: no call
  must_send(q, "B", "b1");
  CHECK(seen == Strings{"a1", "b1"});

  int replaced = 0;
  q.set_send_listener([&] {
    ++replaced;
    q.set_send_listener(nullptr);  // a listener may replace itself
  });
  must_send(q, "A", "a2");
  must_send(q, "A", "a3");
  CHECK(replaced == 1);
  CHECK(q.visible_count() == 2);
}

TEST_CASE("snapshot lists every message oldest first and changes nothing", "[fifo][snapshot]") {
  TestClock clock;
  MemoryFifoQueue q("q", clock);
  must_send(q, "B", "b1", Value(1));
  must_send(q, "A", "a1", Value(2));
  must_send(q, "B", "b2", Value(3));
  auto got = q.receive(1, 10 * kSecond);
  REQUIRE(dedup_ids(got) == Strings{"b1"});

  auto snap = q.snapshot();
  REQUIRE(dedup_ids(snap) == Strings{"b1", "a1", "b2"});
  CHECK(snap[0].receipt == got[0].receipt);  // in flight
  CHECK(snap[0].receive_count == 1);
  CHECK(snap[1].receipt.empty());  // visible
  CHECK(snap[1].receive_count == 0);
  CHECK(*snap[2].body == Value(3));
  CHECK(q.snapshot().size() == 3);
  CHECK(q.in_flight_count() == 1);
  CHECK(dedup_ids(q.receive(10, 10 * kSecond)) == Strings{"a1"});

  clock.t += 10 * kSecond;  // b1 expired: the snapshot shows it visible, without a receipt
  auto later = q.snapshot();
  REQUIRE(later.size() == 3);
  CHECK(later[0].receipt.empty());
  CHECK(later[0].receive_count == 1);
}

TEST_CASE("big bodies are not size-limited", "[fifo]") {
  TestClock clock;
  MemoryFifoQueue q("q", clock);
  const Value body(ValueMap{{"data", Bytes(std::string(1 << 20, 'x'))}});
  auto r = q.send("A", "big", body);
  REQUIRE(r.is_ok());
  auto got = q.receive(1, kSecond);
  REQUIRE(got.size() == 1);
  CHECK(*got[0].body == body);
}

TEST_CASE("a large queue drains in per-group order with many groups", "[fifo][scale]") {
  TestClock clock;
  MemoryFifoQueue q("q", clock);
  constexpr int kGroups = 500;
  constexpr int kPerGroup = 100;
  for (int i = 0; i < kPerGroup; ++i) {
    for (int g = 0; g < kGroups; ++g) {
      must_send(q, "g" + std::to_string(g), std::to_string(i) + "/" + std::to_string(g), Value(i));
    }
  }
  CHECK(q.visible_count() == static_cast<size_t>(kGroups * kPerGroup));
  std::vector<int> next(kGroups, 0);
  size_t received = 0;
  SequenceNumber last{0, 0};
  while (true) {
    auto batch = q.receive(10, 30 * kSecond);
    if (batch.empty()) break;
    for (const auto& m : batch) {
      const int g = std::stoi(m.group.substr(1));
      REQUIRE(m.body->as_number() == next[g]);
      ++next[g];
      REQUIRE(m.sequence > last);  // with every batch deleted, delivery is globally ordered
      last = m.sequence;
      REQUIRE(q.remove(m.receipt).is_ok());
    }
    received += batch.size();
  }
  CHECK(received == static_cast<size_t>(kGroups * kPerGroup));
  CHECK(q.visible_count() == 0);
  CHECK(q.in_flight_count() == 0);
}

namespace {

// A deliberately naive model of the same semantics, to compare against on random operations.
class ReferenceQueue {
 public:
  struct Msg {
    uint64_t number = 0;
    std::string group, dedup;
    int receive_count = 0;
    bool in_flight = false;
    Time deadline = 0;
    std::string receipt;
  };

  std::string send(const std::string& group, const std::string& dedup, Time now) {
    expire(now);
    auto d = dedup_.find(dedup);
    if (d != dedup_.end() && now < d->second.second) return "m-" + std::to_string(d->second.first);
    const uint64_t n = next_++;
    Msg m;
    m.number = n;
    m.group = group;
    m.dedup = dedup;
    msgs_.push_back(std::move(m));
    dedup_[dedup] = {n, now + kDeduplicationWindow};
    return "m-" + std::to_string(n);
  }

  std::vector<std::string> receive(size_t max, Time now, fkemu::Duration timeout) {
    expire(now);
    std::set<std::string> blocked;
    for (const auto& m : msgs_) {
      if (m.in_flight) blocked.insert(m.group);
    }
    std::vector<std::string> out;
    for (auto& m : msgs_) {
      if (out.size() == max) break;
      if (blocked.count(m.group) != 0) continue;
      ++m.receive_count;
      m.in_flight = true;
      m.deadline = now + timeout;
      m.receipt = "r-" + std::to_string(m.number) + "-" + std::to_string(m.receive_count);
      out.push_back(m.receipt);
    }
    return out;
  }

  bool remove(const std::string& receipt, Time now) {
    expire(now);
    for (auto it = msgs_.begin(); it != msgs_.end(); ++it) {
      if (it->in_flight && it->receipt == receipt) {
        msgs_.erase(it);
        return true;
      }
    }
    return false;
  }

  size_t in_flight(Time now) const {
    return std::count_if(msgs_.begin(), msgs_.end(),
                         [&](const Msg& m) { return m.in_flight && m.deadline > now; });
  }
  size_t size() const { return msgs_.size(); }

 private:
  void expire(Time now) {
    for (auto& m : msgs_) {
      if (m.in_flight && m.deadline <= now) m.in_flight = false;
    }
  }
  uint64_t next_ = 1;
  std::vector<Msg> msgs_;
  std::map<std::string, std::pair<uint64_t, Time>> dedup_;
};

}  // namespace

TEST_CASE("random operations agree with a naive reference model", "[fifo][model]") {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
    TestClock clock;
    MemoryFifoQueue q("q", clock);
    ReferenceQueue ref;
    std::vector<std::string> receipts;  // every receipt ever issued, stale ones included
    for (int step = 0; step < 400; ++step) {
      const int op = pick(10);
      if (op < 4) {
        const std::string group = "g" + std::to_string(pick(4));
        const std::string dedup = "d" + std::to_string(pick(60));
        auto r = must_send(q, group, dedup);
        REQUIRE(r.message_id == ref.send(group, dedup, clock.t));
      } else if (op < 6) {
        const size_t max = static_cast<size_t>(pick(5));
        const fkemu::Duration timeout = pick(3) * 10 * kSecond;
        auto got = q.receive(max, timeout);
        auto expected = ref.receive(max, clock.t, timeout);
        std::vector<std::string> got_receipts;
        for (const auto& m : got) got_receipts.push_back(m.receipt);
        REQUIRE(got_receipts == expected);
        receipts.insert(receipts.end(), expected.begin(), expected.end());
      } else if (op < 8) {
        if (receipts.empty()) continue;
        const std::string& receipt =
            receipts[static_cast<size_t>(pick(static_cast<int>(receipts.size())))];
        REQUIRE(q.remove(receipt).is_ok() == ref.remove(receipt, clock.t));
      } else {
        clock.t += pick(2) == 0 ? pick(15) * kSecond : pick(4) * 60 * kSecond;
      }
      REQUIRE(q.in_flight_count() == ref.in_flight(clock.t));
      REQUIRE(q.visible_count() + q.in_flight_count() == ref.size());
      REQUIRE(q.snapshot().size() == ref.size());
    }
  }
}

TEST_CASE("a body is shared by the queue and every receive of it, never copied", "[fifo]") {
  TestClock clock;
  MemoryFifoQueue q("q", clock);
  REQUIRE(q.send("A", "d", Value(ValueMap{{"data", Bytes(std::string(64 * 1024, 'x'))}})).is_ok());
  const auto first = q.receive(1, kSecond);
  REQUIRE(first.size() == 1);
  clock.t += 2 * kSecond;  // visible again: a redelivery
  const auto again = q.receive(1, kSecond);
  REQUIRE(again.size() == 1);
  CHECK(again[0].receive_count == 2);
  CHECK(again[0].body.get() == first[0].body.get());
  CHECK(q.snapshot().at(0).body.get() == first[0].body.get());
}
