// Tests of CalibrationTable: the embedded AWS table (emulator/calibration/aws-2024.json) against
// the medians the calibration README reports, the interpolation in u, size and memory, determinism
// of sampling, and the refusal of malformed tables.
#include "emulator/calibration_table.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using fkemu::CalibrationTable;
using fkemu::Duration;
using fkemu::Rng;
using nlohmann::json;

// q[k] = base + k * step: a simple, exactly known distribution.
json linear_q(double base, double step) {
  json q = json::array();
  for (int k = 0; k < CalibrationTable::kQuantiles; ++k) q.push_back(base + k * step);
  return q;
}

json entry(int size, int memory, json q) {
  return {{"size", size}, {"memory", memory}, {"samples", 100}, {"q", std::move(q)}};
}

json small_table() {
  return {{"study", "test"},
          {"unit", "ms"},
          {"quantiles", 101},
          {"components",
           {{"svc.call",
             {entry(100, 512, linear_q(10, 1)), entry(300, 512, linear_q(20, 1)),
              entry(100, 2048, linear_q(1, 0.1))}},
            {"svc.flat", {entry(0, 0, linear_q(5, 0))}}}}};
}

CalibrationTable parsed(const json& j) {
  auto t = CalibrationTable::parse(j);
  REQUIRE(t.is_ok());
  return *t;
}

// The error message of parsing j (which must fail).
std::string parse_error(const json& j) {
  auto t = CalibrationTable::parse(j);
  REQUIRE_FALSE(t.is_ok());
  return t.status().message();
}

double median(const CalibrationTable& t, const char* component, size_t bytes, int memory) {
  auto r = t.quantile_ms(component, bytes, memory, 0.5);
  REQUIRE(r.is_ok());
  return *r;
}

}  // namespace

TEST_CASE("embedded AWS table: q[50] matches the medians the calibration README reports") {
  const CalibrationTable& t = CalibrationTable::aws_2024();
  struct Known {
    const char* component;
    size_t size;
    double median_ms;
  };
  // 4-byte nodes (64-byte messages for the queue and invocation benchmarks), 2048 MB.
  const std::vector<Known> known = {
      {"writer.lock", 4, 8.0},
      {"writer.push", 4, 13.4},
      {"writer.commit", 4, 7.9},
      {"writer.total", 4, 29.8},
      {"distributor.exec_update", 4, 42.7},
      {"distributor.watch_query", 4, 4.5},
      {"distributor.total", 4, 61.4},
      {"queue.sqs_fifo_trigger", 64, 24.2},
      {"function.direct_invoke", 64, 39.0},
      {"client.send", 4, 13.1},
  };
  for (const Known& k : known) {
    INFO(k.component);
    REQUIRE(t.memory_for(k.component, 2048) == 2048);
    bool found = false;
    for (const auto& e : t.entries(k.component)) {
      if (e.size == k.size && e.memory == 2048) {
        found = true;
        CHECK(e.q[50] == Approx(k.median_ms).margin(0.15));
      }
    }
    CHECK(found);
    CHECK(median(t, k.component, k.size, 2048) == Approx(k.median_ms).margin(0.15));
  }
  CHECK_THAT(t.study(), Catch::Contains("Copik") && Catch::Contains("HPDC'24"));
}

TEST_CASE("embedded AWS table: every component of the model is there, well formed") {
  const CalibrationTable& t = CalibrationTable::aws_2024();
  const std::vector<std::string> expected = {"writer.lock",
                                             "writer.push",
                                             "writer.commit",
                                             "writer.total",
                                             "distributor.parse",
                                             "distributor.exec_read",
                                             "distributor.exec_update",
                                             "distributor.exec_pop_updates",
                                             "distributor.write",
                                             "distributor.watch_query",
                                             "distributor.notify",
                                             "distributor.watch_notify",
                                             "distributor.total",
                                             "client.send",
                                             "queue.sqs_fifo_trigger",
                                             "network.rtt",
                                             "function.direct_invoke",
                                             "function.direct_invoke_cold",
                                             "client.get_data",
                                             "user.s3_read",
                                             "client.get_data_kv",
                                             "s3.read",
                                             "s3.write",
                                             "dynamodb.read",
                                             "dynamodb.write",
                                             "dynamodb.timelock_acquire",
                                             "dynamodb.timelock_release",
                                             "dynamodb.atomic_counter",
                                             "dynamodb.atomic_list_increase"};
  const auto names = t.components();
  CHECK(names.size() == expected.size());
  for (const auto& name : expected) {
    INFO(name);
    CHECK(t.has(name));
  }
  // The write path was measured at 5 sizes and 3 memories.
  CHECK(t.entries("writer.total").size() == 15);
  CHECK(t.entries("client.get_data").front().memory == 0);
}

TEST_CASE("embedded AWS table equals emulator/calibration/aws-2024.json loaded from the tree") {
  auto loaded =
      CalibrationTable::load(std::string(FKEMU_SOURCE_DIR) + "/emulator/calibration/aws-2024.json");
  REQUIRE(loaded.is_ok());
  const CalibrationTable& embedded = CalibrationTable::aws_2024();
  REQUIRE(loaded->components() == embedded.components());
  for (const auto& name : embedded.components()) {
    const auto& a = embedded.entries(name);
    const auto& b = loaded->entries(name);
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].size == b[i].size);
      CHECK(a[i].memory == b[i].memory);
      CHECK(a[i].samples == b[i].samples);
      CHECK(a[i].q == b[i].q);
    }
  }
}

TEST_CASE("quantile_ms interpolates linearly between the 101 quantiles") {
  const CalibrationTable t = parsed(small_table());
  CHECK(*t.quantile_ms("svc.call", 100, 512, 0.0) == Approx(10.0));
  CHECK(*t.quantile_ms("svc.call", 100, 512, 1.0) == Approx(110.0));
  CHECK(*t.quantile_ms("svc.call", 100, 512, 0.5) == Approx(60.0));
  CHECK(*t.quantile_ms("svc.call", 100, 512, 0.505) == Approx(60.5));
  CHECK(*t.quantile_ms("svc.call", 100, 512, 0.123) == Approx(22.3));
  CHECK(*t.quantile_ms("svc.flat", 0, 0, 0.77) == Approx(5.0));
}

TEST_CASE("quantile_ms interpolates linearly between measured sizes, nearest size outside") {
  const CalibrationTable t = parsed(small_table());
  CHECK(*t.quantile_ms("svc.call", 200, 512, 0.5) == Approx(65.0));  // midway of 60 and 70
  CHECK(*t.quantile_ms("svc.call", 150, 512, 0.0) == Approx(12.5));
  CHECK(*t.quantile_ms("svc.call", 300, 512, 0.5) == Approx(70.0));
  CHECK(*t.quantile_ms("svc.call", 0, 512, 0.5) == Approx(60.0));       // below: smallest size
  CHECK(*t.quantile_ms("svc.call", 100000, 512, 0.5) == Approx(70.0));  // above: largest size

  // On the AWS table: a message between two measured sizes gets a median between theirs.
  const CalibrationTable& aws = CalibrationTable::aws_2024();
  const double m32k = median(aws, "queue.sqs_fifo_trigger", 32768, 2048);
  const double m64k = median(aws, "queue.sqs_fifo_trigger", 65536, 2048);
  const double m48k = median(aws, "queue.sqs_fifo_trigger", 49152, 2048);
  REQUIRE(m32k < m64k);
  CHECK(m48k > m32k);
  CHECK(m48k < m64k);
  CHECK(m48k == Approx((m32k + m64k) / 2));
  CHECK(median(aws, "queue.sqs_fifo_trigger", 1 << 20, 2048) ==
        Approx(median(aws, "queue.sqs_fifo_trigger", 131072, 2048)));
}

TEST_CASE("quantile_ms uses the memory asked for, else the nearest measured one") {
  const CalibrationTable t = parsed(small_table());
  CHECK(t.memory_for("svc.call", 512) == 512);
  CHECK(t.memory_for("svc.call", 2048) == 2048);
  CHECK(t.memory_for("svc.call", 1024) == 512);   // 512 away from 512, 1024 from 2048
  CHECK(t.memory_for("svc.call", 1280) == 512);   // a tie: the smaller memory
  CHECK(t.memory_for("svc.call", 1300) == 2048);  // nearer to 2048
  CHECK(t.memory_for("svc.call", 10240) == 2048);
  CHECK(t.memory_for("svc.flat", 2048) == 0);  // no function memory: always the one entry
  CHECK(t.memory_for("svc.none", 2048) == -1);
  CHECK(*t.quantile_ms("svc.call", 100, 2048, 0.5) == Approx(6.0));
  CHECK(*t.quantile_ms("svc.call", 100, 1500, 0.5) == Approx(6.0));
  CHECK(*t.quantile_ms("svc.call", 100, 600, 0.5) == Approx(60.0));
  // 2048 MB has only size 100: the size does not change its answer.
  CHECK(*t.quantile_ms("svc.call", 300, 2048, 0.5) == Approx(6.0));

  // On the AWS table, 4-byte writer.lock: 512 MB and 1024 MB were measured apart.
  const CalibrationTable& aws = CalibrationTable::aws_2024();
  const double lock512 = median(aws, "writer.lock", 4, 512);
  const double lock1024 = median(aws, "writer.lock", 4, 1024);
  REQUIRE(lock512 != Approx(lock1024).margin(0.5));
  CHECK(median(aws, "writer.lock", 4, 600) == Approx(lock512));
  CHECK(median(aws, "writer.lock", 4, 1000) == Approx(lock1024));
  CHECK(median(aws, "client.get_data", 4, 2048) == Approx(median(aws, "client.get_data", 4, 0)));
}

TEST_CASE("quantile_ms refuses an unknown component and u outside [0, 1]") {
  const CalibrationTable t = parsed(small_table());
  auto unknown = t.quantile_ms("svc.nope", 100, 512, 0.5);
  REQUIRE_FALSE(unknown.is_ok());
  CHECK(unknown.code() == fkemu::Code::BadArguments);
  CHECK_THAT(unknown.status().message(), Catch::Contains("unknown component \"svc.nope\""));
  auto high = t.quantile_ms("svc.call", 100, 512, 1.5);
  REQUIRE_FALSE(high.is_ok());
  CHECK_THAT(high.status().message(), Catch::Contains("not in [0, 1]"));
  CHECK_FALSE(t.quantile_ms("svc.call", 100, 512, -0.01).is_ok());
  Rng rng(1);
  CHECK_THROWS_AS(t.sample("svc.nope", 100, 512, rng), std::invalid_argument);
}

TEST_CASE("sample: the same seed gives the same draws, in the component's range") {
  const CalibrationTable& aws = CalibrationTable::aws_2024();
  auto draw = [&](uint64_t seed) {
    Rng rng(seed);
    std::vector<Duration> out;
    for (int i = 0; i < 200; ++i) out.push_back(aws.sample("writer.total", 1024, 2048, rng));
    return out;
  };
  const auto a = draw(42);
  CHECK(a == draw(42));
  CHECK(a != draw(43));

  const auto& entries = aws.entries("writer.total");
  const auto it = std::find_if(entries.begin(), entries.end(),
                               [](const auto& e) { return e.size == 1024 && e.memory == 2048; });
  REQUIRE(it != entries.end());
  for (Duration d : a) {
    CHECK(d >= static_cast<Duration>(it->q[0] * 1000) - 1);
    CHECK(d <= static_cast<Duration>(it->q[100] * 1000) + 1);
  }
  // The draws follow the distribution: their median is near q[50] (microseconds).
  std::vector<Duration> many;
  Rng rng(7);
  for (int i = 0; i < 4001; ++i) many.push_back(aws.sample("writer.total", 1024, 2048, rng));
  std::nth_element(many.begin(), many.begin() + 2000, many.end());
  CHECK(static_cast<double>(many[2000]) == Approx(it->q[50] * 1000).margin(1500));
}

TEST_CASE("parse refuses malformed tables, naming the problem") {
  CHECK_THAT(parse_error(json::array()), Catch::Contains("not a JSON object"));

  json no_components = small_table();
  no_components.erase("components");
  CHECK_THAT(parse_error(no_components), Catch::Contains("\"components\""));

  json unit = small_table();
  unit["unit"] = "s";
  CHECK_THAT(parse_error(unit), Catch::Contains("\"unit\" must be \"ms\""));

  json short_q = small_table();
  short_q["components"]["svc.call"][1]["q"].erase(100);
  CHECK_THAT(parse_error(short_q),
             Catch::Contains("components[\"svc.call\"][1].q has 100 values, expected 101"));

  json decreasing = small_table();
  decreasing["components"]["svc.call"][0]["q"][37] = 1.0;
  CHECK_THAT(parse_error(decreasing), Catch::Contains("components[\"svc.call\"][0].q is not "
                                                      "non-decreasing: q[37] = 1 < q[36] = 46"));

  json not_number = small_table();
  not_number["components"]["svc.flat"][0]["q"][5] = "fast";
  CHECK_THAT(parse_error(not_number),
             Catch::Contains("components[\"svc.flat\"][0].q[5] is not a number"));

  json no_size = small_table();
  no_size["components"]["svc.call"][2].erase("size");
  CHECK_THAT(parse_error(no_size),
             Catch::Contains("components[\"svc.call\"][2]: missing field \"size\""));

  json negative_memory = small_table();
  negative_memory["components"]["svc.call"][0]["memory"] = -512;
  CHECK_THAT(parse_error(negative_memory), Catch::Contains("\"memory\" out of range"));

  json duplicate = small_table();
  duplicate["components"]["svc.call"][1]["size"] = 100;
  CHECK_THAT(parse_error(duplicate), Catch::Contains("a second entry for size 100 and memory 512"));

  json empty_list = small_table();
  empty_list["components"]["svc.flat"] = json::array();
  CHECK_THAT(parse_error(empty_list),
             Catch::Contains("components[\"svc.flat\"] is not a non-empty"));
}

TEST_CASE("load names the file: missing, not JSON, not a valid table") {
  const std::string missing = std::string(FKEMU_BINARY_DIR) + "/no-such-calibration.json";
  auto none = CalibrationTable::load(missing);
  REQUIRE_FALSE(none.is_ok());
  CHECK_THAT(none.status().message(), Catch::Contains(missing) && Catch::Contains("cannot open"));

  const auto dir = std::filesystem::path(FKEMU_BINARY_DIR) / "calibration_table_test";
  std::filesystem::create_directories(dir);
  const std::string broken = (dir / "broken.json").string();
  std::ofstream(broken) << "{\"unit\": \"ms\", ";
  auto bad_json = CalibrationTable::load(broken);
  REQUIRE_FALSE(bad_json.is_ok());
  CHECK_THAT(bad_json.status().message(),
             Catch::Contains(broken) && Catch::Contains("not valid JSON"));

  const std::string invalid = (dir / "invalid.json").string();
  json table = small_table();
  table["quantiles"] = 11;
  std::ofstream(invalid) << table.dump();
  auto bad_table = CalibrationTable::load(invalid);
  REQUIRE_FALSE(bad_table.is_ok());
  CHECK_THAT(bad_table.status().message(),
             Catch::Contains(invalid) && Catch::Contains("\"quantiles\" must be 101"));

  const std::string good = (dir / "good.json").string();
  std::ofstream(good) << small_table().dump();
  auto ok = CalibrationTable::load(good);
  REQUIRE(ok.is_ok());
  CHECK(ok->components() == std::vector<std::string>{"svc.call", "svc.flat"});
}
