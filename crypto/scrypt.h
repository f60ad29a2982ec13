// scrypt key derivation for restic key files (RESTIC_FORMAT.md §2.2).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/crypto.h"

namespace kura::crypto {

// Largest working memory scrypt64() agrees to use, counted as OpenSSL does (128·r·(N+2) bytes
// per lane computed at once, plus 128·r·p): enough for N = 2^20, r = 8, any sane p, and a bound
// on what an untrusted key file can make us allocate.
constexpr uint64_t kScryptMaxMemory = (uint64_t{1} << 30) + (uint64_t{1} << 24);

// The scratch scrypt64() aims to stay within when it picks how many lanes to run at once and
// how much of V to keep: 40 MiB of V for restic's parameters (N=32768, r=8, p=5 keeps every
// 4th block of V in all five lanes) plus their few working blocks. Every command opens the
// repository, so this sets the peak memory of the short ones; restic's one lane needs 32 MiB.
// Parameters for which one lane per thread with half of V (the plan before lanes were packed)
// needs more get that much instead.
constexpr uint64_t kScryptScratchTarget = (uint64_t{41} << 20);

// scrypt(password, salt, N, r, p) with a 64-byte output. invalid_argument if N is not a power
// of two greater than 1, or r or p is 0 (or the set is out of scrypt's range);
// resource_exhausted if it would need more than kScryptMaxMemory even with one lane at a
// time. The p lanes run on up to one thread per core, several lanes at once per thread in
// the SIMD registers the CPU has, keeping as much of V as kScryptScratchTarget allows (when
// memory is short: less of V, fewer lanes at once, not a failure). Thread-safe.
base::StatusOr<std::array<uint8_t, 64>> scrypt64(std::string_view password, base::ByteSpan salt,
                                                 uint64_t n, uint32_t r, uint32_t p);

namespace internal {

// Most lanes one thread computes at once: a lane is one long chain of dependent instructions
// within 128-bit rows, so lanes are packed side by side in wider registers (4 in a zmm) or,
// without them, interleaved as independent chains.
constexpr uint32_t kScryptMaxLanesPerThread = 4;

// The ROMix code a thread runs. kAuto is the widest the CPU has; the others are for tests and
// benchmarks (scrypt_isa_supported() says whether this CPU can run one).
enum class ScryptIsa : uint32_t {
  kAuto,
  kPortable,  // plain C++ on four-word rows; what a CPU without SSE2 gets
  kSse2,      // 128-bit rows, one lane per register
  kAvx2,      // two lanes per ymm
  kAvx512,    // up to four lanes per zmm, rotates in one instruction (AVX-512F/VL)
};
bool scrypt_isa_supported(ScryptIsa isa);

struct ScryptLimits {
  uint64_t memory = kScryptMaxMemory;   // hard limit, counted as kScryptMaxMemory is
  uint64_t scratch = kScryptMaxMemory;  // what the plan aims at, see kScryptScratchTarget
  uint32_t threads = 1;                 // 0 counts as 1
  uint32_t lanes_per_thread = kScryptMaxLanesPerThread;  // 1 to kScryptMaxLanesPerThread
  uint32_t v_stride = 0;             // keep every v_stride-th block of V; 0: the plan picks
  ScryptIsa isa = ScryptIsa::kAuto;  // must be supported (plan_scrypt() does not check)
};

// How the p lanes are spread: lane i runs on thread i % threads (thread 0 is the caller), and
// each thread computes up to lanes_per_thread of its lanes at once with `isa`, keeping every
// v_stride-th block of V; scratch_bytes is what all threads allocate together.
struct ScryptPlan {
  uint32_t threads = 1;
  uint32_t lanes_per_thread = 1;
  uint32_t v_stride = 1;
  ScryptIsa isa = ScryptIsa::kPortable;
  uint64_t scratch_bytes = 0;
};

// The plan within `limits`: as many threads as asked for and useful (fewer rather than failure
// when memory is short, each counted at 128·r·(N+2) bytes like OpenSSL's one lane), then the
// lanes at once and V stride that an estimate says finish first within limits.scratch, or one
// lane at a time with half of V if nothing fits it. Fails exactly as scrypt64() does:
// invalid_argument for an invalid N/r/p set, resource_exhausted if even one lane does not fit.
base::StatusOr<ScryptPlan> plan_scrypt(uint64_t n, uint32_t r, uint32_t p,
                                       const ScryptLimits& limits);

// scrypt64() within `limits`; scrypt64() itself uses kScryptMaxMemory, kScryptScratchTarget,
// one thread per core, up to kScryptMaxLanesPerThread and the widest ISA. For tests and
// benchmarks.
base::StatusOr<std::array<uint8_t, 64>> scrypt64_with_limits(std::string_view password,
                                                             base::ByteSpan salt, uint64_t n,
                                                             uint32_t r, uint32_t p,
                                                             const ScryptLimits& limits);

}  // namespace internal

// Splits the scrypt output as restic does: bytes 0-31 encrypt, 32-47 mac_k, 48-63 mac_r.
Key key_from_kdf(const std::array<uint8_t, 64>& derived);

}  // namespace kura::crypto
