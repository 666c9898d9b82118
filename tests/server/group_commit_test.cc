// The group commit of fkemu serve's loop (apps/server/executor_loop.h): what goes out to a
// client waits for the transaction with the changes it may show, whether it was emitted in a
// turn or outside one; a flush writes everything and lets everything out.
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/server/executor_loop.h"

using namespace fkemu;

TEST_CASE("answers and reads wait for the transaction of the changes they may show",
          "[server][durability]") {
  const std::string dir = std::string(FKEMU_BINARY_DIR) + "/group-commit-loop-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  boost::asio::io_context ioc{1};
  LoopOptions o;
  o.data_path = dir + "/state.db";
  o.quiet = true;
  std::vector<std::string> order;
  {
    ExecutorLoop loop(ioc, o);
    REQUIRE(loop.open_state(false).is_ok());
    REQUIRE(loop.build().is_ok());
    const uint64_t before = loop.transactions();
    // Eight sessions connect (each writes its session item): their answers are emitted in the
    // turns that finish them; a read emitted from outside any turn right after each goes out
    // after them, never before.
    for (int i = 0; i < 8; ++i) {
      ClientSession& s = loop.service().open_session("s" + std::to_string(i));
      loop.spawn_then("connect", s.connect(), [&loop, &order, i](Status st) {
        CHECK(st.is_ok());
        loop.emit([&order, i] { order.push_back("answer " + std::to_string(i)); });
      });
      boost::asio::post(ioc, [&loop, &order, i] {
        loop.emit([&order, i] { order.push_back("read " + std::to_string(i)); });
      });
    }
    for (int round = 0; round < 2000 && order.size() < 16; ++round) {
      ioc.run_for(std::chrono::milliseconds(5));
      ioc.restart();
    }
    REQUIRE(order.size() == 16);
    // The reads were emitted while the connects' changes were being written (or waited to
    // be): each goes out after the answer whose change it may show.
    INFO(Catch::Detail::stringify(order));
    for (int i = 0; i < 8; ++i) {
      const auto answer = std::find(order.begin(), order.end(), "answer " + std::to_string(i));
      const auto read = std::find(order.begin(), order.end(), "read " + std::to_string(i));
      REQUIRE(answer != order.end());
      REQUIRE(read != order.end());
      CHECK(answer < read);
    }
    // The changes were written (in as many transactions as the turns that made them needed).
    CHECK(loop.transactions() > before);
    loop.stop();
  }
  std::filesystem::remove_all(dir);
}
