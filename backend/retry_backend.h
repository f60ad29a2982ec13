// RetryBackend: retries calls that fail as unavailable (network trouble, server errors,
// timeouts) with exponential backoff and jitter. Other errors pass through at once.
//
// A save whose response was lost may have been stored: when a retried save meets
// already_exists, the stored file's size is compared with the data and a match counts as
// success (names are content hashes, RESTIC_FORMAT.md §12.4). list() retries hide the entries
// already passed to fn, so fn sees each name once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <random>

#include "backend/forwarding_backend.h"

namespace kura::backend {

struct RetryOptions {
  int max_attempts = 10;  // calls in total, the first included
  std::chrono::milliseconds initial_delay{500};
  std::chrono::milliseconds max_delay{30000};
  double multiplier = 2.0;
  // Waits between attempts; tests inject a fake. Default: std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Told about each failure that will be retried (for logs or progress output).
  std::function<void(const base::Status& error, int attempt, std::chrono::milliseconds delay)>
      on_retry;
  uint64_t jitter_seed = 0;  // 0: seed from std::random_device
};

class RetryBackend : public ForwardingBackend {
 public:
  explicit RetryBackend(std::unique_ptr<Backend> inner, RetryOptions options = {});
  explicit RetryBackend(Backend* inner, RetryOptions options = {});

  base::Status create() override;
  base::StatusOr<uint64_t> stat(const Handle& h) override;
  base::Status save(const Handle& h, base::ByteSpan data) override;
  base::Status save_staged(const Handle& h, StagedFile& file) override;
  base::StatusOr<base::Bytes> load(const Handle& h, uint64_t offset, uint64_t length) override;
  base::Status load_into(const Handle& h, uint64_t offset, base::MutableByteSpan out) override;
  base::Status remove(const Handle& h) override;
  base::Status list(FileKind kind,
                    const std::function<base::Status(const FileEntry&)>& fn) override;

  // The wait before attempt `attempt + 1` (attempt counts from 1), jitter included: a value in
  // [d/2, d] for d = min(max_delay, initial_delay * multiplier^(attempt-1)).
  std::chrono::milliseconds delay_after(int attempt);

 private:
  // Runs a save (one attempt per call of `attempt`) with the retries above.
  base::Status run_save(const Handle& h, uint64_t size,
                        const std::function<base::Status()>& attempt);
  // Runs fn until it returns something other than unavailable or the attempts run out.
  template <typename Fn>
  auto run(Fn&& fn) -> decltype(fn(1));
  void wait(const base::Status& error, int attempt);

  RetryOptions options_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace kura::backend
