// Tests of MemoryKvStore: conditional writes, updates and all-or-nothing transactions, as
// FaaSKeeper uses DynamoDB.
#include "emulator/memory_kv_store.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace fkemu {
// The tests write items as JSON literals: an item equals a literal when its JSON form does.
bool operator==(const Value& a, const nlohmann::json& b) { return a.to_json() == b; }
bool operator==(const std::optional<Value>& a, const nlohmann::json& b) {
  return a.has_value() && a->to_json() == b;
}
}  // namespace fkemu

namespace {

using fkemu::Code;
using fkemu::Condition;
using fkemu::Item;
using fkemu::KvResult;
using fkemu::KvWrite;
using fkemu::MemoryKvStore;
using fkemu::Update;
using fkemu::Value;
using nlohmann::json;

// A JSON literal as a value (the tests' items hold no fractions).
Value V(const json& j) { return Value::from_json(j).value(); }

KvWrite put_value(std::string table, std::string key, Item item) {
  KvWrite w;
  w.table = std::move(table);
  w.key = std::move(key);
  w.kind = KvWrite::Kind::Put;
  w.item = std::move(item);
  return w;
}
KvWrite put(std::string table, std::string key, const json& item) {
  return put_value(std::move(table), std::move(key), V(item));
}

KvWrite update(std::string table, std::string key, std::vector<Update> updates,
               std::vector<Condition> conditions = {}) {
  KvWrite w;
  w.table = std::move(table);
  w.key = std::move(key);
  w.kind = KvWrite::Kind::Update;
  w.updates = std::move(updates);
  w.conditions = std::move(conditions);
  return w;
}

KvWrite erase(std::string table, std::string key, std::vector<Condition> conditions = {}) {
  KvWrite w;
  w.table = std::move(table);
  w.key = std::move(key);
  w.kind = KvWrite::Kind::Delete;
  w.conditions = std::move(conditions);
  return w;
}

KvWrite check(std::string table, std::string key, std::vector<Condition> conditions) {
  KvWrite w;
  w.table = std::move(table);
  w.key = std::move(key);
  w.kind = KvWrite::Kind::ConditionCheck;
  w.conditions = std::move(conditions);
  return w;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Whether a write with the single condition `c` succeeds on the item `item` (absent if null).
bool holds(const Condition& c, const json& item) {
  MemoryKvStore kv;
  if (!item.is_null()) REQUIRE(kv.write(put_value("t", "k", V(item))).ok());
  KvResult r = kv.write(check("t", "k", {c}));
  if (!r.ok()) {
    CHECK(r.status.code() == Code::ConditionFailed);
    CHECK(r.failed_write == 0);
    CHECK(r.failed_condition == 0);
  }
  return r.ok();
}

}  // namespace

TEST_CASE("tables are implicit, reads see the last write, scan is ordered by key", "[kv]") {
  MemoryKvStore kv;
  CHECK_FALSE(kv.get("nodes", "/a").has_value());
  CHECK(kv.scan("nodes").empty());
  REQUIRE(kv.write(put("nodes", "/b", {{"v", 2}})).ok());
  REQUIRE(kv.write(put("nodes", "/a", {{"v", 1}})).ok());
  REQUIRE(kv.write(put("nodes", "/a/c", {{"v", 3}})).ok());
  REQUIRE(kv.write(put("users", "/a", {{"session", "s1"}})).ok());
  CHECK(kv.get("nodes", "/a") == json{{"v", 1}});
  CHECK(kv.get("users", "/a") == json{{"session", "s1"}});
  auto rows = kv.scan("nodes");
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].first == "/a");
  CHECK(rows[1].first == "/a/c");
  CHECK(rows[2].first == "/b");
  CHECK(rows[2].second == json{{"v", 2}});
  CHECK(kv.scan("users").size() == 1);
  CHECK(kv.scan("other").empty());
}

TEST_CASE("put replaces the whole item and must be an object; delete removes it", "[kv]") {
  MemoryKvStore kv;
  REQUIRE(kv.write(put("t", "k", {{"a", 1}, {"b", 2}})).ok());
  KvResult r = kv.write(put("t", "k", {{"c", 3}}));
  REQUIRE(r.ok());
  CHECK(r.new_item == json{{"c", 3}});
  CHECK(kv.get("t", "k") == json{{"c", 3}});

  KvResult bad = kv.write(put("t", "k", json::array({1, 2})));
  CHECK(bad.status.code() == Code::BadArguments);
  CHECK(contains(bad.status.message(), "not an object"));
  CHECK(kv.get("t", "k") == json{{"c", 3}});

  KvResult del = kv.write(erase("t", "k"));
  REQUIRE(del.ok());
  CHECK_FALSE(del.new_item.has_value());
  CHECK_FALSE(kv.get("t", "k").has_value());
  CHECK(kv.write(erase("t", "k")).ok());  // deleting an absent item is not an error
  CHECK(kv.scan("t").empty());
}

TEST_CASE("empty table names and keys are refused", "[kv]") {
  MemoryKvStore kv;
  KvResult no_key = kv.write(put("t", "", {{"a", 1}}));
  CHECK(no_key.status.code() == Code::BadArguments);
  CHECK(contains(no_key.status.message(), "empty key"));
  KvResult no_table = kv.write(update("", "k", {Update::set("a", 1)}));
  CHECK(no_table.status.code() == Code::BadArguments);
  CHECK(contains(no_table.status.message(), "empty table"));
  CHECK(kv.scan("t").empty());
  CHECK(kv.scan("").empty());
}

TEST_CASE("an update creates an absent item without adding a key attribute", "[kv][update]") {
  MemoryKvStore kv;
  KvResult r = kv.write(update("t", "/node", {Update::set("owner", "s1"), Update::add("n", 5)}));
  REQUIRE(r.ok());
  CHECK(r.new_item == json{{"owner", "s1"}, {"n", 5}});
  CHECK(kv.get("t", "/node") == json{{"owner", "s1"}, {"n", 5}});
  // Set overwrites, Remove drops the attribute (absent ones too), the rest stays.
  r = kv.write(update("t", "/node",
                      {Update::set("owner", "s2"), Update::remove("n"), Update::remove("never")}));
  REQUIRE(r.ok());
  CHECK(r.new_item == json{{"owner", "s2"}});
  CHECK(kv.get("t", "/node") == json{{"owner", "s2"}});
}

TEST_CASE("exists and not-exists see an absent item as having no attributes", "[kv][condition]") {
  const json item = {{"a", 1}, {"nil", nullptr}};
  CHECK(holds(Condition::exists("a"), item));
  CHECK(holds(Condition::exists("nil"), item));  // a null value is present
  CHECK_FALSE(holds(Condition::exists("b"), item));
  CHECK_FALSE(holds(Condition::exists("a"), nullptr));
  CHECK(holds(Condition::not_exists("b"), item));
  CHECK_FALSE(holds(Condition::not_exists("a"), item));
  CHECK(holds(Condition::not_exists("a"), nullptr));
}

TEST_CASE("equals compares whole values and not-equals holds on an absent attribute",
          "[kv][condition]") {
  const json item = {{"n", 3}, {"s", "x"}, {"list", {1, 2}}, {"obj", {{"k", "v"}}}};
  CHECK(holds(Condition::eq("n", 3), item));
  CHECK_FALSE(holds(Condition::eq("n", "3"), item));
  CHECK_FALSE(holds(Condition::eq("n", 4), item));
  CHECK(holds(Condition::eq("list", V(json::array({1, 2}))), item));
  CHECK_FALSE(holds(Condition::eq("list", V(json::array({2, 1}))), item));
  CHECK(holds(Condition::eq("obj", V(json{{"k", "v"}})), item));
  CHECK_FALSE(holds(Condition::eq("missing", nullptr), item));
  CHECK_FALSE(holds(Condition::eq("n", 3), nullptr));

  CHECK(holds(Condition::ne("n", 4), item));
  CHECK(holds(Condition::ne("n", "3"), item));
  CHECK_FALSE(holds(Condition::ne("n", 3), item));
  CHECK(holds(Condition::ne("missing", 3), item));
  CHECK(holds(Condition::ne("n", 3), nullptr));
}

TEST_CASE("comparisons are numeric on numbers, lexical on strings, false otherwise",
          "[kv][condition]") {
  const json item = {{"n", 9}, {"s", "9"}, {"big", 10000000000LL}};
  // Numerically 9 < 10 although "9" > "10" as text.
  CHECK(holds(Condition::lt("n", 10), item));
  CHECK_FALSE(holds(Condition::gt("n", 10), item));
  CHECK(holds(Condition::le("n", 9), item));
  CHECK_FALSE(holds(Condition::lt("n", 9), item));
  CHECK(holds(Condition::ge("n", 9), item));
  CHECK_FALSE(holds(Condition::gt("n", 9), item));
  CHECK(holds(Condition::gt("big", 9999999999LL), item));  // beyond 32 bits
  // Strings compare lexically: "9" > "10".
  CHECK(holds(Condition::gt("s", "10"), item));
  CHECK_FALSE(holds(Condition::lt("s", "10"), item));
  CHECK(holds(Condition::le("s", "9"), item));
  CHECK(holds(Condition::ge("s", "9"), item));
  // Mixed types and absent attributes fail every comparison.
  for (const auto& c :
       {Condition::lt("n", "10"), Condition::ge("n", "0"), Condition::gt("s", 1),
        Condition::le("s", 100), Condition::lt("missing", 1), Condition::ge("missing", 0)}) {
    CAPTURE(c.attr);
    CHECK_FALSE(holds(c, item));
  }
  CHECK_FALSE(holds(Condition::ge("n", 0), nullptr));
}

TEST_CASE("absent-or-less holds on an absent attribute or a smaller value (timelocks)",
          "[kv][condition]") {
  const json locked = {{"lock", 100}, {"name", "b"}};
  CHECK(holds(Condition::absent_or_lt("lock", 50), json{{"other", 1}}));  // free
  CHECK(holds(Condition::absent_or_lt("lock", 50), nullptr));
  CHECK(holds(Condition::absent_or_lt("lock", 101), locked));  // expired
  CHECK_FALSE(holds(Condition::absent_or_lt("lock", 100), locked));
  CHECK_FALSE(holds(Condition::absent_or_lt("lock", "200"), locked));  // not comparable
  CHECK(holds(Condition::absent_or_lt("name", "c"), locked));
  MemoryKvStore kv;
  REQUIRE(kv.write(put("t", "k", locked)).ok());
  KvResult r = kv.write(check("t", "k", {Condition::absent_or_lt("lock", 10)}));
  CHECK_FALSE(r.ok());
  CHECK(contains(r.status.message(), "attribute_not_exists('lock') OR 'lock' < 10"));
  CHECK(contains(r.status.message(), "100"));
}

TEST_CASE("a failed condition leaves the item untouched and names what failed", "[kv][condition]") {
  MemoryKvStore kv;
  REQUIRE(kv.write(put("nodes", "/a", {{"version", 4}, {"data", "old"}})).ok());
  KvWrite w = update("nodes", "/a", {Update::set("data", "new"), Update::add("version", 1)},
                     {Condition::exists("data"), Condition::eq("version", 3)});
  KvResult r = kv.write(w);
  CHECK(r.status.code() == Code::ConditionFailed);
  CHECK(r.failed_write == 0);
  CHECK(r.failed_condition == 1);
  CHECK(contains(r.status.message(), "'nodes'"));
  CHECK(contains(r.status.message(), "'/a'"));
  CHECK(contains(r.status.message(), "'version'"));
  CHECK(contains(r.status.message(), "= 3"));  // the condition
  CHECK(contains(r.status.message(), "4"));    // what the attribute was
  CHECK_FALSE(r.old_item.has_value());         // return_old not asked
  CHECK_FALSE(r.new_item.has_value());
  CHECK(kv.get("nodes", "/a") == json{{"version", 4}, {"data", "old"}});

  w.return_old = true;
  r = kv.write(w);
  CHECK_FALSE(r.ok());
  CHECK(r.old_item == json{{"version", 4}, {"data", "old"}});

  // A failed delete deletes nothing; on an absent item return_old has nothing to return.
  KvWrite del = erase("nodes", "/a", {Condition::eq("version", 5)});
  CHECK_FALSE(kv.write(del).ok());
  CHECK(kv.get("nodes", "/a").has_value());
  KvWrite absent = update("nodes", "/zzz", {Update::set("x", 1)}, {Condition::exists("x")});
  absent.return_old = true;
  r = kv.write(absent);
  CHECK_FALSE(r.ok());
  CHECK(contains(r.status.message(), "absent"));
  CHECK_FALSE(r.old_item.has_value());
  CHECK_FALSE(kv.get("nodes", "/zzz").has_value());
}

TEST_CASE("return_old on success returns the item before, new_item the item after",
          "[kv][update]") {
  MemoryKvStore kv;
  KvWrite create = update("t", "counter", {Update::add("n", 1)}, {Condition::not_exists("n")});
  create.return_old = true;
  KvResult r = kv.write(create);
  REQUIRE(r.ok());
  CHECK_FALSE(r.old_item.has_value());  // there was no item
  CHECK(r.new_item == json{{"n", 1}});

  KvWrite bump = update("t", "counter", {Update::add("n", 1)}, {Condition::eq("n", 1)});
  bump.return_old = true;
  r = kv.write(bump);
  REQUIRE(r.ok());
  CHECK(r.old_item == json{{"n", 1}});
  CHECK(r.new_item == json{{"n", 2}});

  KvWrite del = erase("t", "counter");
  del.return_old = true;
  r = kv.write(del);
  REQUIRE(r.ok());
  CHECK(r.old_item == json{{"n", 2}});
  CHECK_FALSE(r.new_item.has_value());

  KvWrite plain = update("t", "other", {Update::set("x", 1)});
  r = kv.write(plain);
  REQUIRE(r.ok());
  CHECK_FALSE(r.old_item.has_value());
}

TEST_CASE("atomic add counts an absent attribute as zero and refuses non-numbers", "[kv][update]") {
  MemoryKvStore kv;
  REQUIRE(kv.write(update("t", "k", {Update::add("n", 5)})).ok());
  REQUIRE(kv.write(update("t", "k", {Update::add("n", -2)})).ok());
  CHECK(kv.get("t", "k")->at("n") == Value(3));
  // Several adds in one write apply in order.
  KvResult r = kv.write(update("t", "k", {Update::add("n", 10), Update::add("n", 10)}));
  REQUIRE(r.ok());
  CHECK(r.new_item->at("n") == Value(23));

  REQUIRE(kv.write(update("t", "k", {Update::set("s", "text")})).ok());
  KvWrite w = update("t", "k", {Update::add("n", 1), Update::add("s", 1)});
  w.return_old = true;
  r = kv.write(w);
  CHECK_FALSE(r.ok());
  CHECK(r.failed_write == 0);
  CHECK(r.failed_condition == -1);  // an update failed, not a condition
  CHECK(contains(r.status.message(), "'s'"));
  CHECK(contains(r.status.message(), "not a number"));
  CHECK(r.old_item->at("n") == Value(23));
  CHECK(kv.get("t", "k")->at("n") == Value(23));  // the first add was not applied either

  KvResult overflow =
      kv.write(update("t", "k", {Update::set("big", INT64_MAX), Update::add("big", 1)}));
  CHECK(overflow.status.code() == Code::BadArguments);
  CHECK(contains(overflow.status.message(), "overflow"));
  CHECK_FALSE(kv.get("t", "k")->contains("big"));

  Update non_number_operand{"n", Update::Kind::Add, "1"};
  CHECK_FALSE(kv.write(update("t", "k", {non_number_operand})).ok());
}

TEST_CASE("list append and remove-head", "[kv][update]") {
  MemoryKvStore kv;
  REQUIRE(kv.write(update("t", "k", {Update::append("q", V(json::array({1, 2})))}))
              .ok());  // absent = []
  REQUIRE(kv.write(update("t", "k", {Update::append("q", V(json::array({3})))})).ok());
  REQUIRE(kv.write(update("t", "k", {Update::append("q", V(json::array()))})).ok());
  CHECK(kv.get("t", "k")->at("q") == json::array({1, 2, 3}));
  // An appended array value stays one element.
  REQUIRE(kv.write(update("t", "k", {Update::append("q", V(json::array({{4, 5}})))})).ok());
  CHECK(kv.get("t", "k")->at("q") == json::array({1, 2, 3, json::array({4, 5})}));

  KvResult r = kv.write(update("t", "k", {Update::remove_head("q"), Update::remove_head("q")}));
  REQUIRE(r.ok());
  CHECK(r.new_item->at("q") == json::array({3, json::array({4, 5})}));
  REQUIRE(kv.write(update("t", "k", {Update::remove_head("q"), Update::remove_head("q")})).ok());
  CHECK(kv.get("t", "k")->at("q") == json::array());
  // Empty or absent lists: a no-op, not a failure.
  REQUIRE(kv.write(update("t", "k", {Update::remove_head("q")})).ok());
  CHECK(kv.get("t", "k")->at("q") == json::array());
  r = kv.write(update("t", "k", {Update::remove_head("none")}));
  REQUIRE(r.ok());
  CHECK_FALSE(r.new_item->contains("none"));

  REQUIRE(kv.write(update("t", "k", {Update::set("s", 7)})).ok());
  KvResult on_scalar = kv.write(update("t", "k", {Update::append("s", V(json::array({1})))}));
  CHECK(on_scalar.status.code() == Code::BadArguments);
  CHECK(contains(on_scalar.status.message(), "not a list"));
  CHECK_FALSE(kv.write(update("t", "k", {Update::remove_head("s")})).ok());
  CHECK_FALSE(kv.write(update("t", "k", {Update::append("q", 1)})).ok());  // operand not an array
  CHECK(kv.get("t", "k") == json{{"q", json::array()}, {"s", 7}});
}

TEST_CASE("a transaction applies every kind of write together", "[kv][transaction]") {
  MemoryKvStore kv;
  REQUIRE(kv.write(put("nodes", "/a", {{"children", {"b"}}, {"version", 1}})).ok());
  REQUIRE(kv.write(put("nodes", "/a/b", {{"version", 0}})).ok());
  REQUIRE(kv.write(put("sessions", "s1", {{"alive", true}})).ok());
  KvResult r = kv.transact({
      update("nodes", "/a", {Update::remove_head("children"), Update::add("version", 1)},
             {Condition::eq("version", 1)}),
      erase("nodes", "/a/b", {Condition::exists("version")}),
      put("nodes", "/a/c", {{"version", 0}}),
      check("sessions", "s1", {Condition::eq("alive", true)}),
  });
  REQUIRE(r.ok());
  CHECK(r.failed_write == -1);
  CHECK(r.failed_condition == -1);
  CHECK(kv.get("nodes", "/a") == json{{"children", json::array()}, {"version", 2}});
  CHECK_FALSE(kv.get("nodes", "/a/b").has_value());
  CHECK(kv.get("nodes", "/a/c") == json{{"version", 0}});
  CHECK(kv.get("sessions", "s1") == json{{"alive", true}});
  CHECK(kv.transact({}).ok());
}

TEST_CASE("a failed transaction rolls back every write and names the failing one",
          "[kv][transaction]") {
  MemoryKvStore kv;
  REQUIRE(kv.write(put("nodes", "/a", {{"version", 1}})).ok());
  REQUIRE(kv.write(put("nodes", "/a/b", {{"version", 7}})).ok());
  REQUIRE(kv.write(put("sessions", "s1", {{"alive", false}})).ok());
  const auto before_nodes = kv.scan("nodes");
  const auto before_sessions = kv.scan("sessions");

  std::vector<KvWrite> tx = {
      update("nodes", "/a", {Update::add("version", 1)}, {Condition::eq("version", 1)}),
      erase("nodes", "/a/b"),
      put("nodes", "/a/new", {{"version", 0}}),
      check("sessions", "s1", {Condition::exists("alive"), Condition::eq("alive", true)}),
      update("nodes", "/z", {Update::set("x", 1)}),
  };
  tx[0].return_old = true;  // only the failing write's return_old counts
  SECTION("without return_old") {
    KvResult r = kv.transact(tx);
    CHECK_FALSE(r.ok());
    CHECK(r.failed_write == 3);
    CHECK(r.failed_condition == 1);
    CHECK(contains(r.status.message(), "write 3"));
    CHECK(contains(r.status.message(), "'sessions'"));
    CHECK(contains(r.status.message(), "'s1'"));
    CHECK(contains(r.status.message(), "'alive'"));
    CHECK(contains(r.status.message(), "= true"));
    CHECK(contains(r.status.message(), "false"));
    CHECK_FALSE(r.old_item.has_value());
  }
  SECTION("with return_old on the failing write") {
    tx[3].return_old = true;
    KvResult r = kv.transact(tx);
    CHECK_FALSE(r.ok());
    CHECK(r.failed_write == 3);
    CHECK(r.old_item == json{{"alive", false}});
  }
  SECTION("an update that cannot apply also rolls back") {
    tx[3] = update("sessions", "s1", {Update::append("alive", V(json::array({1})))});
    tx[3].return_old = true;
    KvResult r = kv.transact(tx);
    CHECK_FALSE(r.ok());
    CHECK(r.failed_write == 3);
    CHECK(r.failed_condition == -1);
    CHECK(contains(r.status.message(), "not a list"));
    CHECK(r.old_item == json{{"alive", false}});
  }
  CHECK(kv.scan("nodes") == before_nodes);
  CHECK(kv.scan("sessions") == before_sessions);
  CHECK_FALSE(kv.get("nodes", "/z").has_value());
}

TEST_CASE("a transaction reports the first failing write in order", "[kv][transaction]") {
  MemoryKvStore kv;
  REQUIRE(kv.write(put("t", "a", {{"v", 1}})).ok());
  KvResult r = kv.transact({
      check("t", "a", {Condition::eq("v", 1)}),
      check("t", "b", {Condition::exists("v")}),
      check("t", "c", {Condition::exists("v")}),
  });
  CHECK_FALSE(r.ok());
  CHECK(r.failed_write == 1);
  CHECK(r.failed_condition == 0);
  CHECK(contains(r.status.message(), "'b'"));
  CHECK(contains(r.status.message(), "attribute_exists('v')"));
}

TEST_CASE("two writes on the same item in one transaction are refused", "[kv][transaction]") {
  MemoryKvStore kv;
  REQUIRE(kv.write(put("t", "k", {{"v", 1}})).ok());
  KvResult r = kv.transact({
      update("t", "other", {Update::set("x", 1)}),
      update("t", "k", {Update::add("v", 1)}),
      check("t", "k", {Condition::eq("v", 1)}),
  });
  CHECK_FALSE(r.ok());
  CHECK(r.failed_write == 2);
  CHECK(r.failed_condition == -1);
  CHECK(contains(r.status.message(), "'t'"));
  CHECK(contains(r.status.message(), "'k'"));
  CHECK(contains(r.status.message(), "writes 1 and 2"));
  CHECK(kv.get("t", "k") == json{{"v", 1}});
  CHECK_FALSE(kv.get("t", "other").has_value());

  // The same key in two tables is two items.
  KvResult ok = kv.transact({
      update("t", "k", {Update::add("v", 1)}),
      update("u", "k", {Update::add("v", 1)}),
  });
  REQUIRE(ok.ok());
  CHECK(kv.get("t", "k") == json{{"v", 2}});
  CHECK(kv.get("u", "k") == json{{"v", 1}});
}

TEST_CASE("a condition check as a single write changes nothing", "[kv][condition]") {
  MemoryKvStore kv;
  KvResult r = kv.write(check("t", "k", {Condition::not_exists("v")}));
  REQUIRE(r.ok());
  CHECK_FALSE(r.new_item.has_value());
  CHECK_FALSE(kv.get("t", "k").has_value());  // no item created
  CHECK(kv.scan("t").empty());
}

TEST_CASE("returned items are copies, not views into the store", "[kv]") {
  MemoryKvStore kv;
  REQUIRE(kv.write(put("t", "k", {{"v", 1}})).ok());
  auto item = kv.get("t", "k");
  REQUIRE(item.has_value());
  item->as_map().set("v", 2);
  CHECK(kv.get("t", "k") == json{{"v", 1}});
}
