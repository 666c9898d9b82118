#include "apps/server/executor_loop.h"

#include <boost/asio/post.hpp>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <tuple>

#include "core/json/json_text.h"

namespace fkemu {

ExecutorLoop::ExecutorLoop(boost::asio::io_context& ioc, LoopOptions options)
    : ioc_(ioc), opt_(std::move(options)), timer_(ioc), start_(std::chrono::steady_clock::now()) {}

ExecutorLoop::~ExecutorLoop() { drop(); }

Status ExecutorLoop::open_state(bool read_only) {
  ASSIGN_OR_RETURN(state_,
                   SqliteState::open(opt_.data_path, read_only ? SqliteState::Mode::ReadOnly
                                                               : SqliteState::Mode::ReadWrite));
  read_only_ = read_only;
  return Status::ok();
}

Status ExecutorLoop::build() {
  std::vector<std::tuple<std::string, std::string, std::string>> rows;
  if (state_) rows = state_->load();
  Time clock = 0;
  for (const auto& [space, key, value] : rows)
    if (space == "meta" && key == "clock") {
      auto saved = parse_cbor(value, opt_.data_path + ": the saved clock");
      if (!saved.is_ok()) return saved.status();
      if (!saved->is_number_integer())
        return Status(Code::BadArguments, opt_.data_path + ": the saved clock is damaged");
      clock = saved->get<Time>();
    }
  start_ = std::chrono::steady_clock::now() - std::chrono::microseconds(clock);
  ex_ = std::make_unique<Executor>(0);
  ex_->start_at(clock);
  RETURN_IF_ERROR(set_latency(opt_.latency_model, opt_.latency_options));
  if (fault_config_) {
    faults_ = std::make_unique<FaultPlan>(*ex_, *fault_config_);
    faults_->install();
  }
  service_ = std::make_unique<LocalService>(*ex_, opt_.config);
  if (state_) {
    if (Status st = service_->make_durable(*state_, rows); !st.is_ok())
      return Status(st.code(), opt_.data_path + ": " + st.message());
    if (read_only_) return Status::ok();
    RETURN_IF_ERROR(state_->commit());
  }
  return Status::ok();
}

void ExecutorLoop::drop() {
  flush();
  service_.reset();
  faults_.reset();
  ex_.reset();
}

void ExecutorLoop::reset() {
  drop();
  fault_config_.reset();
  // A state file that cannot be cleared would bring the old state back at the next start.
  Status st = state_ ? state_->clear() : Status::ok();
  if (st.is_ok()) st = build();
  if (!st.is_ok()) {
    std::cerr << "fkemu serve: " << st.message() << "; stopping" << std::endl;
    std::_Exit(1);
  }
  kick();
}

Time ExecutorLoop::now() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               start_)
      .count();
}

void ExecutorLoop::kick() {
  if (turn_posted_) return;
  turn_posted_ = true;
  boost::asio::post(ioc_, [this] { turn(); });
}

void ExecutorLoop::emit(std::function<void()> f) {
  if (in_turn_) {
    deferred_.push_back(std::move(f));
  } else if (in_flight_ || !next_changes_.empty()) {
    next_out_.push_back(std::move(f));  // it may show what is not on disk yet
  } else {
    f();
  }
}

void ExecutorLoop::catch_up() { ex_->catch_up(now()); }

namespace {
constexpr uint64_t kStepsPerTurn = 10000;
}  // namespace

// Runs the executor up to now, then sleeps until the next thing is due.
void ExecutorLoop::turn() {
  turn_posted_ = false;
  bool finished = true;
  in_turn_ = true;
  try {
    // At most this many steps a turn, then the sockets have theirs: one long operation (a
    // getAllChildrenNumber of a big tree) must not keep every other client, and the pings that
    // keep sessions alive, waiting (100,000 steps held the server seconds under sanitizers).
    finished = ex_->advance_to(now(), kStepsPerTurn);
  } catch (const std::exception& e) {
    if (!opt_.quiet) std::cerr << "fkemu serve: a process failed: " << e.what() << std::endl;
  }
  in_turn_ = false;
  if (state_ && state_->has_pending()) {
    const std::vector<uint8_t> clock = nlohmann::json::to_cbor(nlohmann::json(now()));
    state_->record("meta", "clock", std::string(clock.begin(), clock.end()));
    SqliteState::Batch changes = state_->take_pending();
    if (next_changes_.empty()) {
      next_changes_ = std::move(changes);
    } else {
      std::move(changes.begin(), changes.end(), std::back_inserter(next_changes_));
    }
  }
  std::move(deferred_.begin(), deferred_.end(), std::back_inserter(next_out_));
  deferred_.clear();
  pump();
  if (!finished) {
    kick();  // more to do: let the sockets have a turn first
    return;
  }
  if (auto next = ex_->next_timer()) {
    timer_.expires_at(start_ + std::chrono::microseconds(*next));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) turn();
    });
  }
}

std::string ExecutorLoop::run_until(const std::function<bool()>& answered) {
  for (int i = 0; i < 1000 && !answered(); ++i) {
    try {
      ex_->advance_to(now(), 100000);
    } catch (const std::exception& e) {
      return std::string("500 a process failed: ") + e.what();
    }
  }
  return {};
}

void ExecutorLoop::stop() {
  flush();
  timer_.cancel();
}

// --- group commit ---------------------------------------------------------------------------

void ExecutorLoop::pump() {
  if (in_flight_) return;  // the waiting changes go when it is written
  if (next_changes_.empty()) {
    std::vector<std::function<void()>> out;
    out.swap(next_out_);
    run_all(std::move(out));
    return;
  }
  auto written = std::make_shared<std::promise<Status>>();
  auto batch = std::make_shared<SqliteState::Batch>(std::move(next_changes_));
  next_changes_.clear();
  const uint64_t id = ++transactions_;
  changes_committed_ += batch->size();
  in_flight_.emplace();
  in_flight_->id = id;
  in_flight_->written = written->get_future();
  in_flight_->out.swap(next_out_);
  SqliteState* state = state_.get();
  boost::asio::post(committer_, [this, state, written, batch, id] {
    written->set_value(state->write(*batch));
    boost::asio::post(ioc_, [this, id] { committed(id); });
  });
}

void ExecutorLoop::committed(uint64_t id) {
  if (!in_flight_ || in_flight_->id != id) return;  // flush() has seen to it already
  finish_in_flight();
  pump();
}

void ExecutorLoop::finish_in_flight() {
  const Status st = in_flight_->written.get();
  if (!st.is_ok()) cannot_commit(st);
  std::vector<std::function<void()>> out = std::move(in_flight_->out);
  in_flight_.reset();
  run_all(std::move(out));
}

void ExecutorLoop::run_all(std::vector<std::function<void()>> out) {
  for (auto& f : out) {
    try {
      f();
    } catch (const std::exception& e) {
      if (!opt_.quiet) std::cerr << "fkemu serve: an answer failed: " << e.what() << std::endl;
    }
  }
}

void ExecutorLoop::flush() {
  if (in_flight_) finish_in_flight();
  if (!next_changes_.empty()) {
    const SqliteState::Batch batch = std::move(next_changes_);
    next_changes_.clear();
    ++transactions_;
    changes_committed_ += batch.size();
    if (Status st = state_->write(batch); !st.is_ok()) cannot_commit(st);
  }
  std::vector<std::function<void()>> out;
  out.swap(next_out_);
  run_all(std::move(out));
}

// A server that cannot keep its state must not answer.
void ExecutorLoop::cannot_commit(const Status& st) {
  std::cerr << "fkemu serve: " << st.message() << "; stopping" << std::endl;
  std::_Exit(1);
}

Status ExecutorLoop::set_latency(const std::string& name, AwsLatencyOptions options) {
  options.user_store_kv = opt_.config.user_store_kv;
  auto m = make_latency_model(name, options, opt_.calibration.get());
  if (!m.is_ok()) return m.status();
  ex_->set_latency_model(*m);
  opt_.latency_model = name;
  opt_.latency_options = options;
  return Status::ok();
}

const CalibrationTable& ExecutorLoop::calibration() const {
  return opt_.calibration ? *opt_.calibration : CalibrationTable::aws_2024();
}

void ExecutorLoop::set_faults(const FaultConfig& faults) {
  fault_config_ = faults;
  ex_->set_fault_injector(nullptr);
  faults_ = std::make_unique<FaultPlan>(*ex_, *fault_config_);
  faults_->install();
}

size_t ExecutorLoop::faults_injected() const { return faults_ ? faults_->injected().size() : 0; }

}  // namespace fkemu
