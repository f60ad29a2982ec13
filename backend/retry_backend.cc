#include "backend/retry_backend.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <thread>
#include <utility>

namespace kura::backend {
namespace {

bool retryable(const base::Status& s) { return s.code() == base::Code::kUnavailable; }

uint64_t make_seed(uint64_t seed) {
  if (seed != 0) return seed;
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd();
}

}  // namespace

RetryBackend::RetryBackend(std::unique_ptr<Backend> inner, RetryOptions options)
    : ForwardingBackend(std::move(inner)),
      options_(std::move(options)),
      rng_(make_seed(options_.jitter_seed)) {}

RetryBackend::RetryBackend(Backend* inner, RetryOptions options)
    : ForwardingBackend(inner), options_(std::move(options)), rng_(make_seed(options_.jitter_seed)) {}

std::chrono::milliseconds RetryBackend::delay_after(int attempt) {
  double d = static_cast<double>(options_.initial_delay.count()) *
             std::pow(options_.multiplier, std::max(0, attempt - 1));
  d = std::min(d, static_cast<double>(options_.max_delay.count()));
  double factor;
  {
    std::lock_guard lock(rng_mu_);
    factor = std::uniform_real_distribution<double>(0.5, 1.0)(rng_);
  }
  return std::chrono::milliseconds(static_cast<int64_t>(d * factor));
}

void RetryBackend::wait(const base::Status& error, int attempt) {
  std::chrono::milliseconds d = delay_after(attempt);
  if (options_.on_retry) options_.on_retry(error, attempt, d);
  if (options_.sleep) {
    options_.sleep(d);
  } else {
    std::this_thread::sleep_for(d);
  }
}

template <typename Fn>
auto RetryBackend::run(Fn&& fn) -> decltype(fn(1)) {
  int attempts = std::max(1, options_.max_attempts);
  for (int attempt = 1;; ++attempt) {
    auto result = fn(attempt);
    const base::Status& st = base::to_status(result);
    if (st.ok() || !retryable(st) || attempt >= attempts) {
      if (!st.ok() && retryable(st) && attempts > 1) {
        return base::Status(st.code(), st.message() + " (gave up after " +
                                           std::to_string(attempts) + " attempts)");
      }
      return result;
    }
    wait(st, attempt);
  }
}

base::Status RetryBackend::create() {
  return run([&](int) { return inner()->create(); });
}

base::StatusOr<uint64_t> RetryBackend::stat(const Handle& h) {
  return run([&](int) { return inner()->stat(h); });
}

base::Status RetryBackend::save(const Handle& h, base::ByteSpan data) {
  return run_save(h, data.size(), [&] { return inner()->save(h, data); });
}

base::Status RetryBackend::save_staged(const Handle& h, StagedFile& file) {
  return run_save(h, file.size(), [&] { return inner()->save_staged(h, file); });
}

base::Status RetryBackend::run_save(const Handle& h, uint64_t size,
                                    const std::function<base::Status()>& attempt) {
  return run([&](int n) -> base::Status {
    base::Status st = attempt();
    if (st.code() != base::Code::kAlreadyExists || n == 1) return st;
    // An earlier attempt may have stored the file and lost the response.
    auto stored = inner()->stat(h);
    if (!stored.ok()) {
      if (retryable(stored.status())) return stored.status();
      return st;
    }
    if (*stored == size) return base::ok_status();
    return base::data_loss("save " + h.to_string() + ": after a failed attempt the stored file has " +
                           std::to_string(*stored) + " bytes, expected " + std::to_string(size));
  });
}

base::StatusOr<base::Bytes> RetryBackend::load(const Handle& h, uint64_t offset,
                                               uint64_t length) {
  return run([&](int) { return inner()->load(h, offset, length); });
}

base::Status RetryBackend::load_into(const Handle& h, uint64_t offset, base::MutableByteSpan out) {
  return run([&](int) { return inner()->load_into(h, offset, out); });
}

base::Status RetryBackend::remove(const Handle& h) {
  return run([&](int) { return inner()->remove(h); });
}

base::Status RetryBackend::list(FileKind kind,
                                const std::function<base::Status(const FileEntry&)>& fn) {
  std::set<std::string> seen;
  base::Status fn_error;
  base::Status st = run([&](int) -> base::Status {
    base::Status listed = inner()->list(kind, [&](const FileEntry& e) -> base::Status {
      if (!seen.insert(e.name).second) return base::ok_status();
      fn_error = fn(e);
      return fn_error;
    });
    // fn's own errors are the caller's business, even when they look transient.
    return fn_error.ok() ? listed : base::ok_status();
  });
  return fn_error.ok() ? st : fn_error;
}

}  // namespace kura::backend
