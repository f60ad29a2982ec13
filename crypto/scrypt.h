// scrypt key derivation for restic key files (RESTIC_FORMAT.md §2.2).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/crypto.h"

namespace kura::crypto {

// Largest working memory scrypt64() agrees to use (128·r·(N+2) bytes per lane computed at once,
// plus 128·r·p): enough for N = 2^20, r = 8, any sane p, and a bound on what an untrusted key
// file can make us allocate.
constexpr uint64_t kScryptMaxMemory = (uint64_t{1} << 30) + (uint64_t{1} << 24);

// scrypt(password, salt, N, r, p) with a 64-byte output. invalid_argument if N is not a power
// of two greater than 1, or r or p is 0 (or the set is out of scrypt's range);
// resource_exhausted if it would need more than kScryptMaxMemory even with one lane at a
// time. The p lanes run on up to one thread per core, as many at once as kScryptMaxMemory
// allows (when memory is short: fewer at once, not a failure). Thread-safe.
base::StatusOr<std::array<uint8_t, 64>> scrypt64(std::string_view password, base::ByteSpan salt,
                                                 uint64_t n, uint32_t r, uint32_t p);

namespace internal {

// Most lanes one thread computes at once, interleaved: a lane is one long chain of dependent
// instructions that leaves most of a core idle, and three chains fill it.
constexpr uint32_t kScryptMaxLanesPerThread = 3;

struct ScryptLimits {
  uint64_t memory = kScryptMaxMemory;
  uint32_t threads = 1;                                  // 0 counts as 1
  uint32_t lanes_per_thread = kScryptMaxLanesPerThread;  // 1 to kScryptMaxLanesPerThread
};

// How the p lanes are spread: lane i runs on thread i % threads (thread 0 is the caller), and
// each thread computes up to lanes_per_thread of its lanes at once.
struct ScryptPlan {
  uint32_t threads = 1;
  uint32_t lanes_per_thread = 1;
};

// The plan within `limits`, where each lane computed at once holds 128·r·(N+2) bytes beside
// the shared 128·r·p bytes of B: as many threads and lanes per thread as asked for and useful,
// fewer threads rather than failure when memory is short. Fails exactly as scrypt64() does:
// invalid_argument for an invalid N/r/p set, resource_exhausted if even one lane does not fit.
base::StatusOr<ScryptPlan> plan_scrypt(uint64_t n, uint32_t r, uint32_t p,
                                       const ScryptLimits& limits);

// scrypt64() within `limits`; scrypt64() itself uses kScryptMaxMemory, one thread per core and
// kScryptMaxLanesPerThread. For tests and benchmarks.
base::StatusOr<std::array<uint8_t, 64>> scrypt64_with_limits(std::string_view password,
                                                             base::ByteSpan salt, uint64_t n,
                                                             uint32_t r, uint32_t p,
                                                             const ScryptLimits& limits);

}  // namespace internal

// Splits the scrypt output as restic does: bytes 0-31 encrypt, 32-47 mac_k, 48-63 mac_r.
Key key_from_kdf(const std::array<uint8_t, 64>& derived);

}  // namespace kura::crypto
