// scrypt per RFC 7914, with PBKDF2-HMAC-SHA256 from OpenSSL and ROMix written here: OpenSSL's
// EVP_KDF "SCRYPT" runs the p lanes one after another in scalar C, and opening a repository
// (N=32768, r=8, p=5) then cost over half a second of one core before every command.
#include "crypto/scrypt.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sys/mman.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "crypto/openssl_util.h"

namespace kura::crypto {
namespace {

// A row of four 32-bit words of the Salsa20 state.
#if defined(__SSE2__)
using Vec = __m128i;

inline Vec add(Vec a, Vec b) { return _mm_add_epi32(a, b); }
inline Vec bxor(Vec a, Vec b) { return _mm_xor_si128(a, b); }
template <int kBits>
inline Vec rotl(Vec a) {
  return _mm_or_si128(_mm_slli_epi32(a, kBits), _mm_srli_epi32(a, 32 - kBits));
}
// Word i of the result is word (i + kBy) % 4 of `a`.
template <int kBy>
inline Vec rotate_words(Vec a) {
  return _mm_shuffle_epi32(a, kBy == 1 ? 0x39 : kBy == 2 ? 0x4e : 0x93);
}
inline Vec load_words(const uint32_t* w) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(w));
}
inline void store_words(Vec a, uint32_t* w) { _mm_storeu_si128(reinterpret_cast<__m128i*>(w), a); }
inline uint32_t word0(Vec a) { return uint32_t(_mm_cvtsi128_si32(a)); }
inline uint32_t word1(Vec a) { return uint32_t(_mm_cvtsi128_si32(_mm_shuffle_epi32(a, 1))); }
#else
// Portable fallback with the same shape; compilers vectorise most of it.
struct Vec {
  uint32_t w[4];
};

inline Vec add(Vec a, Vec b) {
  for (int i = 0; i < 4; ++i) a.w[i] += b.w[i];
  return a;
}
inline Vec bxor(Vec a, Vec b) {
  for (int i = 0; i < 4; ++i) a.w[i] ^= b.w[i];
  return a;
}
template <int kBits>
inline Vec rotl(Vec a) {
  for (int i = 0; i < 4; ++i) a.w[i] = (a.w[i] << kBits) | (a.w[i] >> (32 - kBits));
  return a;
}
template <int kBy>
inline Vec rotate_words(Vec a) {
  Vec out;
  for (int i = 0; i < 4; ++i) out.w[i] = a.w[(i + kBy) % 4];
  return out;
}
inline Vec load_words(const uint32_t* w) { return Vec{{w[0], w[1], w[2], w[3]}}; }
inline void store_words(Vec a, uint32_t* w) { std::copy_n(a.w, 4, w); }
inline uint32_t word0(Vec a) { return a.w[0]; }
inline uint32_t word1(Vec a) { return a.w[1]; }
#endif

// One 64-byte Salsa20 block with its words in "diagonal" order, so that each quarter-round
// step works on four independent words at once:
//   row[0] = x0 x5 x10 x15   row[1] = x4 x9 x14 x3   row[2] = x8 x13 x2 x7
//   row[3] = x12 x1 x6 x11
// Aligned to a cache line so that no block of V straddles two lines.
struct alignas(64) Cell {
  Vec row[4];
};
constexpr int kDiagonalOrder[16] = {0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11};

// The Salsa20 states of K lanes computed in lockstep, rows in Cell order. One lane is a chain
// of dependent instructions that leaves most of the core idle; K independent chains fill it.
template <size_t K>
using States = Vec[K][4];

// x[dst] ^= (x[a] + x[b]) <<< bits, in every lane.
template <int kBits, int kDst, int kA, int kB, size_t K>
[[gnu::always_inline]] inline void quarter_step(States<K>& x) {
#pragma GCC unroll 4
  for (size_t k = 0; k < K; ++k) {
    x[k][kDst] = bxor(x[k][kDst], rotl<kBits>(add(x[k][kA], x[k][kB])));
  }
}

template <int kBy1, int kBy2, int kBy3, size_t K>
[[gnu::always_inline]] inline void turn_rows(States<K>& x) {
#pragma GCC unroll 4
  for (size_t k = 0; k < K; ++k) {
    x[k][1] = rotate_words<kBy1>(x[k][1]);
    x[k][2] = rotate_words<kBy2>(x[k][2]);
    x[k][3] = rotate_words<kBy3>(x[k][3]);
  }
}

// s = Salsa20/8(s) in every lane.
template <size_t K>
[[gnu::always_inline]] inline void salsa20_8(States<K>& s) {
  States<K> x;
#pragma GCC unroll 4
  for (size_t k = 0; k < K; ++k) {
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) x[k][i] = s[k][i];
  }
  for (int round = 0; round < 8; round += 2) {
    // Column round: each row holds one word of every column.
    quarter_step<7, 1, 0, 3>(x);
    quarter_step<9, 2, 1, 0>(x);
    quarter_step<13, 3, 2, 1>(x);
    quarter_step<18, 0, 3, 2>(x);
    // Turned this way, the row round has the column round's shape with rows 1 and 3 swapped.
    turn_rows<3, 2, 1>(x);
    quarter_step<7, 3, 0, 1>(x);
    quarter_step<9, 2, 3, 0>(x);
    quarter_step<13, 1, 2, 3>(x);
    quarter_step<18, 0, 1, 2>(x);
    turn_rows<1, 2, 3>(x);
  }
#pragma GCC unroll 4
  for (size_t k = 0; k < K; ++k) {
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) s[k][i] = add(s[k][i], x[k][i]);
  }
}

inline void prefetch(const Cell* cell) {
#if defined(__SSE2__)
  _mm_prefetch(reinterpret_cast<const char*>(cell), _MM_HINT_T0);
#else
  __builtin_prefetch(cell);
#endif
}

[[gnu::always_inline]] inline void mix_in(Vec (&s)[4], const Cell& cell) {
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) s[i] = bxor(s[i], cell.row[i]);
}

[[gnu::always_inline]] inline void store_cell(Cell& cell, const Vec (&s)[4]) {
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) cell.row[i] = s[i];
}

// For each lane k: out[k] = BlockMix_r(in[k]), or BlockMix_r(in[k] ^ other[k]) if kXor, and
// j[k] = Integerify(out[k]) (words 0 and 1 of its last Cell, little-endian). The 2r-Cell
// buffers must not overlap.
template <bool kXor, size_t K>
inline void block_mix(const Cell* const (&in)[K], const Cell* const (&other)[K],
                      Cell* const (&out)[K], size_t r, uint64_t (&j)[K]) {
  const size_t last = 2 * r - 1;
  States<K> s;
#pragma GCC unroll 4
  for (size_t k = 0; k < K; ++k) {
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) s[k][i] = in[k][last].row[i];
    if constexpr (kXor) {
      // `other` is a block of V at a random index: ask for all its cache lines at once rather
      // than miss on them one by one.
      prefetch(other[k] + last);
      for (size_t c = 0; c < last; ++c) prefetch(other[k] + c);
      mix_in(s[k], other[k][last]);
    }
  }
  for (size_t i = 0; i < 2 * r; ++i) {
#pragma GCC unroll 4
    for (size_t k = 0; k < K; ++k) {
      mix_in(s[k], in[k][i]);
      if constexpr (kXor) mix_in(s[k], other[k][i]);
    }
    salsa20_8<K>(s);
    // Even-numbered results go to the first half of `out`, odd-numbered ones to the second.
    const size_t to = i / 2 + (i % 2) * r;
#pragma GCC unroll 4
    for (size_t k = 0; k < K; ++k) store_cell(out[k][to], s[k]);
  }
#pragma GCC unroll 4
  for (size_t k = 0; k < K; ++k) j[k] = uint64_t{word1(s[k][3])} << 32 | word0(s[k][0]);
}

void load_cells(const uint8_t* bytes, Cell* cells, size_t count) {
  uint32_t w[16];
  for (size_t c = 0; c < count; ++c, bytes += 64) {
    for (int k = 0; k < 16; ++k) w[k] = base::load_le32(bytes + 4 * kDiagonalOrder[k]);
    for (int i = 0; i < 4; ++i) cells[c].row[i] = load_words(w + 4 * i);
  }
  OPENSSL_cleanse(w, sizeof(w));
}

void store_cells(const Cell* cells, uint8_t* bytes, size_t count) {
  uint32_t w[16];
  for (size_t c = 0; c < count; ++c, bytes += 64) {
    for (int i = 0; i < 4; ++i) store_words(cells[c].row[i], w + 4 * i);
    for (int k = 0; k < 16; ++k) base::store_le32(bytes + 4 * kDiagonalOrder[k], w[k]);
  }
  OPENSSL_cleanse(w, sizeof(w));
}

// Cells one lane needs besides its share of B: half of V (the even-numbered blocks, see
// ro_mix) and the X, Y and T blocks.
uint64_t scratch_cells(uint64_t n, uint32_t r) { return ((n + 1) / 2 + 3) * 2 * r; }

// lane[k] = scryptROMix_r(lane[k], N) (RFC 7914 §5) for each of K lanes, each using its own
// scratch[k] of scratch_cells(n, r) Cells.
// V keeps only its even-numbered blocks: V[2i+1] = BlockMix(V[2i]) is recomputed when the
// second loop reads it (half of the reads). That is 25 % more BlockMix calls for half the
// memory: two lanes in parallel need what restic's one lane at a time does (2 x 16 MiB for
// N=32768 r=8), and still finish in well under half its time.
template <size_t K>
void ro_mix(uint8_t* const (&lane)[K], Cell* const (&scratch)[K], uint64_t n, uint32_t r) {
  const size_t cells = 2 * size_t{r};
  const uint64_t stored = (n + 1) / 2;
  Cell* v[K];
  Cell* x[K];
  Cell* y[K];
  Cell* t[K];
  uint64_t j[K];
#pragma GCC unroll 4
  for (size_t k = 0; k < K; ++k) {
    v[k] = scratch[k];
    x[k] = scratch[k] + stored * cells;
    y[k] = x[k] + cells;
    t[k] = y[k] + cells;
    load_cells(lane[k], v[k], cells);
  }
  const Cell* in[K];
  const Cell* other[K] = {};
  Cell* out[K];
  for (uint64_t i = 0; i < n; ++i) {
#pragma GCC unroll 4
    for (size_t k = 0; k < K; ++k) {
      in[k] = i % 2 == 0 ? v[k] + (i / 2) * cells : t[k];
      out[k] = i + 1 == n ? x[k] : (i + 1) % 2 == 0 ? v[k] + ((i + 1) / 2) * cells : t[k];
    }
    block_mix<false>(in, other, out, r, j);
  }
  for (uint64_t i = 0; i < n; ++i) {
#pragma GCC unroll 4
    for (size_t k = 0; k < K; ++k) {
      const uint64_t at = j[k] & (n - 1);
      const Cell* even = v[k] + (at / 2) * cells;
      if (at % 2 == 0) {
        other[k] = even;
      } else {
        const Cell* from[1] = {even};
        const Cell* none[1] = {};
        Cell* to[1] = {t[k]};
        uint64_t unused[1];
        block_mix<false>(from, none, to, r, unused);
        other[k] = t[k];
      }
      in[k] = x[k];
      out[k] = y[k];
    }
    block_mix<true>(in, other, out, r, j);
#pragma GCC unroll 4
    for (size_t k = 0; k < K; ++k) std::swap(x[k], y[k]);
  }
#pragma GCC unroll 4
  for (size_t k = 0; k < K; ++k) store_cells(x[k], lane[k], cells);
}

// Uninitialised Ts (every buffer is written in full before it is read, and zeroing a gigabyte
// is not free), wiped before they are freed since they derive from the password.
template <typename T>
class SecretArray {
 public:
  SecretArray() = default;
  ~SecretArray() {
    if (data_) OPENSSL_cleanse(data_.get(), n_ * sizeof(T));
  }
  SecretArray(const SecretArray&) = delete;
  SecretArray& operator=(const SecretArray&) = delete;

  // Holds n Ts from now on; false if memory ran out. Called at most once.
  bool allocate(size_t n) {
    // Big buffers start on a huge-page boundary and ask for transparent huge pages: ROMix
    // reads V at random, and with 4 KiB pages nearly every block read also misses the TLB
    // (about an eighth of the run time for N=32768, r=8).
    constexpr size_t kHugePage = size_t{2} << 20;
    const size_t bytes = std::max(n * sizeof(T), size_t{1});
    const size_t align = bytes >= kHugePage ? kHugePage : alignof(T) < 64 ? 64 : alignof(T);
    void* mem = nullptr;
    if (posix_memalign(&mem, align, bytes) != 0) return false;
#if defined(MADV_HUGEPAGE)
    // Only a hint: without it (or without THP) the code is just slower.
    if (align == kHugePage) madvise(mem, bytes & ~(kHugePage - 1), MADV_HUGEPAGE);
#endif
    data_.reset(static_cast<T*>(mem));
    n_ = n;
    return true;
  }
  T* get() const { return data_.get(); }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T[], Free> data_;
  size_t n_ = 0;
};

std::string params_text(uint64_t n, uint32_t r, uint32_t p) {
  return "N=" + std::to_string(n) + " r=" + std::to_string(r) + " p=" + std::to_string(p);
}

std::string size_text(uint64_t bytes) {
  if (bytes % (uint64_t{1} << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

// PBKDF2-HMAC-SHA256 with one iteration; sizes are checked against INT_MAX by the caller.
// PKCS5_PBKDF2_HMAC, unlike EVP_KDF "PBKDF2" by default, takes scrypt's one iteration and
// empty salts without SP 800-132 lower-bound checks.
base::Status pbkdf2_sha256(std::string_view password, base::ByteSpan salt, uint8_t* out,
                           size_t out_size) {
  if (PKCS5_PBKDF2_HMAC(password.data(), int(password.size()), salt.data(), int(salt.size()), 1,
                        internal::sha256_md(), int(out_size), out) != 1) {
    unsigned long err = ERR_get_error();
    ERR_clear_error();
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    return base::internal_error(std::string("scrypt: PBKDF2-HMAC-SHA256 failed: ") + buf);
  }
  return base::ok_status();
}

// Lanes a thread is given under `plan`: k, k + threads, k + 2·threads, ... below p.
uint32_t lanes_of_thread(uint32_t k, uint32_t p, const internal::ScryptPlan& plan) {
  return (p - k + plan.threads - 1) / plan.threads;
}

// Scratch slots (one per lane computed at once) a thread needs under `plan`.
uint32_t slots_of_thread(uint32_t k, uint32_t p, const internal::ScryptPlan& plan) {
  return std::min(lanes_of_thread(k, p, plan), plan.lanes_per_thread);
}

// Runs ROMix on thread k's lanes of B, up to plan.lanes_per_thread of them interleaved. The
// thread allocates, wipes and frees its own scratch, so that the page faults on fresh memory
// (dear: about 1 ms per MiB with 4 KiB pages on a VM), the wipe and the unmapping run in
// parallel too. False if the scratch could not be allocated.
bool ro_mix_thread(uint32_t k, uint8_t* b, uint64_t n, uint32_t r, uint32_t p,
                   const internal::ScryptPlan& plan) {
  const uint64_t slot_cells = scratch_cells(n, r);
  SecretArray<Cell> slots;
  if (!slots.allocate(size_t(slot_cells * slots_of_thread(k, p, plan)))) return false;
  const size_t lane_bytes = 128 * size_t{r};
  auto lane = [&](uint32_t i) { return b + i * lane_bytes; };
  auto slot = [&](uint32_t i) { return slots.get() + i * slot_cells; };
  const uint32_t step = plan.threads;
  uint32_t i = k;
  for (uint32_t left = lanes_of_thread(k, p, plan); left > 0;) {
    const uint32_t group = std::min(left, plan.lanes_per_thread);
    if (group >= 3) {
      ro_mix<3>({lane(i), lane(i + step), lane(i + 2 * step)}, {slot(0), slot(1), slot(2)}, n, r);
    } else if (group == 2) {
      ro_mix<2>({lane(i), lane(i + step)}, {slot(0), slot(1)}, n, r);
    } else {
      ro_mix<1>({lane(i)}, {slot(0)}, n, r);
    }
    i += group * step;
    left -= group;
  }
  return true;
}

}  // namespace

namespace internal {

base::StatusOr<ScryptPlan> plan_scrypt(uint64_t n, uint32_t r, uint32_t p,
                                       const ScryptLimits& limits) {
  if (n < 2 || (n & (n - 1)) != 0) {
    return base::invalid_argument("scrypt: N must be a power of two greater than 1 (" +
                                  params_text(n, r, p) + ")");
  }
  if (r == 0 || p == 0) {
    return base::invalid_argument("scrypt: r and p must be positive (" + params_text(n, r, p) +
                                  ")");
  }
  // Overflow-safe check that one lane fits: 128·r·(N+2) + 128·r·p <= limit (OpenSSL's own
  // accounting). Memory comes before the range rules below so that every set keeps the code
  // it had when OpenSSL did the work.
  const uint64_t limit = limits.memory;
  const uint64_t block = uint64_t{128} * r;
  if (n + 2 > limit / block || p > limit / block || block * p > limit - block * (n + 2)) {
    return base::resource_exhausted("scrypt: parameters need more than " + size_text(limit) + " (" +
                                    params_text(n, r, p) + ")");
  }
  // scrypt's range (RFC 7914 §2 and OpenSSL's kdf_scrypt.c): N < 2^(128·r/8),
  // p <= (2^32-1)·32 / (128·r), r·p < 2^30; and B must fit PKCS5_PBKDF2_HMAC's int length.
  if (16 * uint64_t{r} < 64 && n >= uint64_t{1} << (16 * r)) {
    return base::invalid_argument("scrypt: N must be below 2^(16·r) (" + params_text(n, r, p) +
                                  ")");
  }
  if (p > ((uint64_t{1} << 32) - 1) * 32 / block || uint64_t{r} * p >= uint64_t{1} << 30 ||
      block * p > uint64_t{INT_MAX}) {
    return base::invalid_argument("scrypt: r·p is out of range (" + params_text(n, r, p) + ")");
  }
  const uint64_t lanes_that_fit = (limit - block * p) / (block * (n + 2));  // >= 1, see above
  ScryptPlan plan;
  plan.threads =
      uint32_t(std::min({uint64_t{p}, uint64_t{std::max(limits.threads, 1u)}, lanes_that_fit}));
  plan.lanes_per_thread = uint32_t(
      std::min({uint64_t{std::clamp(limits.lanes_per_thread, 1u, kScryptMaxLanesPerThread)},
                uint64_t{(p + plan.threads - 1) / plan.threads}, lanes_that_fit / plan.threads}));
  return plan;
}

base::StatusOr<std::array<uint8_t, 64>> scrypt64_with_limits(std::string_view password,
                                                             base::ByteSpan salt, uint64_t n,
                                                             uint32_t r, uint32_t p,
                                                             const ScryptLimits& limits) {
  ASSIGN_OR_RETURN(const ScryptPlan plan, plan_scrypt(n, r, p, limits));
  if (password.size() > size_t{INT_MAX} || salt.size() > size_t{INT_MAX}) {
    return base::invalid_argument("scrypt: password or salt longer than 2 GiB (" +
                                  params_text(n, r, p) + ")");
  }
  // plan_scrypt() bounds both sizes by limits.memory; they must also fit a size_t.
  const uint64_t b_size = uint64_t{128} * r * p;
  if (b_size > SIZE_MAX || scratch_cells(n, r) * plan.lanes_per_thread > SIZE_MAX / sizeof(Cell)) {
    return base::resource_exhausted(
        "scrypt: parameters need more memory than this machine "
        "can address (" +
        params_text(n, r, p) + ")");
  }
  SecretArray<uint8_t> b;
  if (!b.allocate(size_t(b_size))) {
    return base::resource_exhausted("scrypt: cannot allocate B (" + params_text(n, r, p) + ")");
  }
  RETURN_IF_ERROR(pbkdf2_sha256(password, salt, b.get(), size_t(b_size)));

  std::vector<char> done(plan.threads, 0);  // char: threads write their own element
  auto work = [&](uint32_t k) { done[k] = ro_mix_thread(k, b.get(), n, r, p, plan); };
  std::vector<uint32_t> left_over;  // threads that could not be started run here afterwards
  {
    std::vector<std::jthread> threads;
    try {
      threads.reserve(plan.threads - 1);
      left_over.reserve(plan.threads - 1);
    } catch (const std::exception&) {
      // emplace_back below then fails or not, one thread at a time.
    }
    for (uint32_t k = 1; k < plan.threads; ++k) {
      try {
        threads.emplace_back(work, k);
      } catch (const std::exception&) {
        left_over.push_back(k);
      }
    }
    work(0);
  }  // joins
  for (uint32_t k : left_over) work(k);
  if (std::find(done.begin(), done.end(), 0) != done.end()) {
    return base::resource_exhausted(
        "scrypt: cannot allocate " + std::to_string(plan.threads * plan.lanes_per_thread) + " x " +
        size_text(scratch_cells(n, r) * sizeof(Cell)) + " (" + params_text(n, r, p) + ")");
  }

  std::array<uint8_t, 64> out;
  RETURN_IF_ERROR(
      pbkdf2_sha256(password, base::ByteSpan(b.get(), size_t(b_size)), out.data(), out.size()));
  return out;
}

}  // namespace internal

base::StatusOr<std::array<uint8_t, 64>> scrypt64(std::string_view password, base::ByteSpan salt,
                                                 uint64_t n, uint32_t r, uint32_t p) {
  internal::ScryptLimits limits;
  limits.memory = kScryptMaxMemory;
  limits.threads = std::thread::hardware_concurrency();
  // One lane at a time per thread: interleaving 3 is faster but needs three times the
  // memory at the start of every command, which would set the peak RSS of short commands
  // (with half of V kept, two threads need 32 MiB for N=32768 r=8, as restic's one lane).
  limits.lanes_per_thread = 1;
  return internal::scrypt64_with_limits(password, salt, n, r, p, limits);
}

Key key_from_kdf(const std::array<uint8_t, 64>& derived) {
  Key k;
  std::copy_n(derived.begin(), 32, k.encrypt.begin());
  std::copy_n(derived.begin() + 32, 16, k.mac_k.begin());
  std::copy_n(derived.begin() + 48, 16, k.mac_r.begin());
  return k;
}

}  // namespace kura::crypto
