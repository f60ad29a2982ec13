// LimitBackend: restic's --limit-upload / --limit-download. Bytes saved and bytes loaded each
// pass a token bucket (rate = the limit, burst = one second's worth, as restic's limiter).
//
// A call that would overdraw the bucket first waits for the bytes it needs: an upload pays
// before it is sent, a download after it arrived (the bytes are known only then). Concurrent
// calls queue behind each other's debt, so the average rate over any stretch longer than a
// second stays at the limit however many connections run.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

#include "backend/forwarding_backend.h"

namespace kura::backend {

// A token bucket over an injectable clock, so tests count bytes and time without sleeping.
class RateLimiter {
 public:
  using Now = std::function<std::chrono::nanoseconds()>;
  using Sleep = std::function<void(std::chrono::nanoseconds)>;

  // bytes_per_second > 0. Defaults: std::chrono::steady_clock and std::this_thread::sleep_for.
  explicit RateLimiter(uint64_t bytes_per_second, Now now = {}, Sleep sleep = {});

  // Takes n bytes from the bucket, sleeping as long as the bucket needs to refill first.
  void take(uint64_t n);
  // The wait take(n) would cause now, without taking anything.
  std::chrono::nanoseconds wait_for(uint64_t n);

 private:
  // Adds what the bucket gained since the last call (up to the burst).
  void refill_locked(std::chrono::nanoseconds now);

  const double rate_;   // bytes per second
  const double burst_;  // bytes
  Now now_;
  Sleep sleep_;
  std::mutex mu_;
  double tokens_;  // may go negative: bytes promised to callers still waiting
  std::chrono::nanoseconds last_{0};
};

struct LimitOptions {
  uint64_t upload_kib_per_s = 0;    // 0: unlimited
  uint64_t download_kib_per_s = 0;  // 0: unlimited
  RateLimiter::Now now;             // for tests; default steady_clock
  RateLimiter::Sleep sleep;
};

class LimitBackend : public ForwardingBackend {
 public:
  LimitBackend(std::unique_ptr<Backend> inner, const LimitOptions& options);

  base::Status save(const Handle& h, base::ByteSpan data) override;
  base::Status save_staged(const Handle& h, StagedFile& file) override;
  base::StatusOr<base::Bytes> load(const Handle& h, uint64_t offset, uint64_t length) override;
  base::Status load_into(const Handle& h, uint64_t offset, base::MutableByteSpan out) override;

 private:
  std::unique_ptr<RateLimiter> up_, down_;
};

// inner wrapped in a LimitBackend when either limit is set, else inner itself.
std::unique_ptr<Backend> limit_backend(std::unique_ptr<Backend> inner, const LimitOptions& options);

}  // namespace kura::backend
