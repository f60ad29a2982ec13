#include "backend/limit_backend.h"

#include <algorithm>
#include <thread>

namespace kura::backend {

RateLimiter::RateLimiter(uint64_t bytes_per_second, Now now, Sleep sleep)
    : rate_(static_cast<double>(bytes_per_second)),
      burst_(static_cast<double>(bytes_per_second)),
      now_(std::move(now)),
      sleep_(std::move(sleep)),
      tokens_(static_cast<double>(bytes_per_second)) {
  if (!now_) {
    now_ = [] { return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()); };
  }
  if (!sleep_) sleep_ = [](std::chrono::nanoseconds d) { std::this_thread::sleep_for(d); };
  last_ = now_();
}

void RateLimiter::refill_locked(std::chrono::nanoseconds now) {
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }
}

std::chrono::nanoseconds RateLimiter::wait_for(uint64_t n) {
  std::lock_guard<std::mutex> l(mu_);
  refill_locked(now_());
  double missing = static_cast<double>(n) - tokens_;
  if (missing <= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<int64_t>(missing / rate_ * 1e9));
}

void RateLimiter::take(uint64_t n) {
  std::chrono::nanoseconds wait{0};
  {
    std::lock_guard<std::mutex> l(mu_);
    refill_locked(now_());
    tokens_ -= static_cast<double>(n);
    if (tokens_ < 0) wait = std::chrono::nanoseconds(static_cast<int64_t>(-tokens_ / rate_ * 1e9));
  }
  if (wait.count() > 0) sleep_(wait);
}

LimitBackend::LimitBackend(std::unique_ptr<Backend> inner, const LimitOptions& o)
    : ForwardingBackend(std::move(inner)) {
  if (o.upload_kib_per_s > 0) up_ = std::make_unique<RateLimiter>(o.upload_kib_per_s * 1024, o.now, o.sleep);
  if (o.download_kib_per_s > 0) down_ = std::make_unique<RateLimiter>(o.download_kib_per_s * 1024, o.now, o.sleep);
}

base::Status LimitBackend::save(const Handle& h, base::ByteSpan data) {
  if (up_) up_->take(data.size());
  return ForwardingBackend::save(h, data);
}

base::Status LimitBackend::save_staged(const Handle& h, StagedFile& file) {
  if (up_) up_->take(file.size());
  return ForwardingBackend::save_staged(h, file);
}

base::StatusOr<base::Bytes> LimitBackend::load(const Handle& h, uint64_t offset, uint64_t length) {
  auto data = ForwardingBackend::load(h, offset, length);
  if (data.ok() && down_) down_->take(data->size());
  return data;
}

base::Status LimitBackend::load_into(const Handle& h, uint64_t offset, base::MutableByteSpan out) {
  base::Status st = ForwardingBackend::load_into(h, offset, out);
  if (st.ok() && down_) down_->take(out.size());
  return st;
}

std::unique_ptr<Backend> limit_backend(std::unique_ptr<Backend> inner, const LimitOptions& options) {
  if (options.upload_kib_per_s == 0 && options.download_kib_per_s == 0) return inner;
  return std::make_unique<LimitBackend>(std::move(inner), options);
}

}  // namespace kura::backend
