#include "emulator/function_runtime.h"

namespace fkemu {

EventSourceMapping::EventSourceMapping(Executor& ex, FifoQueue& queue, std::string function,
                                       Handler handler, size_t batch_size,
                                       Duration visibility_timeout, std::string trigger_step)
    : ex_(ex),
      queue_(queue),
      function_(std::move(function)),
      handler_(std::move(handler)),
      batch_size_(batch_size),
      visibility_(visibility_timeout),
      trigger_step_(std::move(trigger_step)),
      changed_(ex, "esm.wake") {}

EventSourceMapping::~EventSourceMapping() {
  queue_.set_send_listener(nullptr);
  ex_.kill(poller_);
}

void EventSourceMapping::start() {
  queue_.set_send_listener([this] { changed_.set(); });
  poller_ = ex_.spawn(function_ + ".poller", poll(), /*daemon=*/true);
}

Task<void> EventSourceMapping::poll() {
  for (;;) {
    auto batch = co_await ex_.call("queue.receive", "esm.poll", 0,
                                   [&] { return queue_.receive(batch_size_, visibility_); });
    if (!batch.empty()) {
      // At-least-once: the runtime may hand the same batch to a second instance.
      const int copies = ex_.fault("deliver.duplicate") ? 2 : 1;
      for (int c = 0; c < copies; ++c) {
        ++invocations_;
        const ProcessId pid =
            ex_.spawn(function_ + "#" + std::to_string(invocations_), instance(batch));
        if (ex_.fault("clock.skew"))
          ex_.set_clock_offset(pid, ex_.fault_amount("clock.skew", kSecond));
      }
      continue;
    }
    if (auto deadline = queue_.next_visibility_deadline()) {
      co_await changed_.wait_for(*deadline - ex_.now() + 1, /*keep_alive=*/true);
    } else {
      co_await changed_.wait();
    }
  }
}

Task<void> EventSourceMapping::instance(std::vector<ReceivedMessage> batch) {
  const ReceivedMessage& first = batch.front();
  const Time from = first.receive_count > 1 ? ex_.now() : first.sent_at;
  const Duration trigger = ex_.latency_model().delay(trigger_step_, first.bytes, ex_.latency_rng());
  if (from + trigger > ex_.now()) co_await ex_.sleep(from + trigger - ex_.now(), "esm.trigger");
  for (const auto& m : batch) co_await handler_(m);
  // A lost delete leaves the batch to reappear after the visibility timeout.
  // A stale receipt (the message became visible again and was received anew) deletes nothing: the
  // message is delivered again, as SQS does; the protocol tolerates redelivery.
  if (!ex_.fault("deliver.lost_delete"))
    for (const auto& m : batch)
      (void)co_await ex_.call("queue.delete", "esm.delete", 0,
                              [&] { return queue_.remove(m.receipt); });
  changed_.set();
}

}  // namespace fkemu
