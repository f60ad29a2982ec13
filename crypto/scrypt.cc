// scrypt per RFC 7914, with PBKDF2-HMAC-SHA256 from OpenSSL and ROMix written here: OpenSSL's
// EVP_KDF "SCRYPT" runs the p lanes one after another in scalar C, and opening a repository
// (N=32768, r=8, p=5) then cost over half a second of one core before every command.
//
// A lane of ROMix is one long chain of dependent 128-bit operations (Salsa20/8 on a row of
// four words), so one lane leaves most of a core idle. Every operation of Salsa20/8 stays
// within its 128-bit row, so lanes are packed side by side in wider registers (2 per ymm with
// AVX2, up to 4 per zmm with AVX-512, whose one-instruction rotate also shortens the chain)
// and a thread computes several lanes in about the time of one; without wide registers the
// lanes of a group run as independent interleaved chains instead. To keep the memory of all
// those lanes small, each keeps only every S-th block of V and recomputes the others when the
// second loop reads them; the lanes of a group do that each at its own pace (one packed
// BlockMix moves every lane one step of its own schedule), so a group waits for its slowest
// lane only once, at the end.
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
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "crypto/openssl_util.h"

// Wide registers through runtime dispatch: GCC or Clang on x86-64.
#if defined(__x86_64__) && defined(__GNUC__)
#define KURA_SCRYPT_WIDE 1
#else
#define KURA_SCRYPT_WIDE 0
#endif

namespace kura::crypto {
namespace {

using internal::ScryptIsa;

// One 64-byte Salsa20 block of one lane, its words in "diagonal" order so that each
// quarter-round step works on the four words of a row at once:
//   row 0 = x0 x5 x10 x15   row 1 = x4 x9 x14 x3   row 2 = x8 x13 x2 x7   row 3 = x12 x1 x6 x11
// Aligned to a cache line so that no block of V straddles two lines.
struct alignas(64) Cell {
  uint32_t w[16];
};
constexpr int kDiagonalOrder[16] = {0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11};

#define KURA_INLINE [[gnu::always_inline]] inline

// A register type V holds one row of sizeof(V) / 16 lanes. Each has the same small set of
// operations below; `cells` points to one Cell array per lane of the register, and
// load_row/store_row move row t of Cell c of each of them.

// Plain C++ (compilers vectorise some of it).
struct Words4 {
  uint32_t w[4];
};

KURA_INLINE void load_row(Words4& v, const Cell* const* cells, size_t c, int t) {
  std::memcpy(v.w, cells[0][c].w + 4 * t, 16);
}
KURA_INLINE void store_row(const Words4& v, Cell* const* cells, size_t /*lanes*/, size_t c, int t) {
  std::memcpy(cells[0][c].w + 4 * t, v.w, 16);
}
KURA_INLINE void xor_into(Words4& a, const Words4& b) {
  for (int i = 0; i < 4; ++i) a.w[i] ^= b.w[i];
}
KURA_INLINE void add_into(Words4& a, const Words4& b) {
  for (int i = 0; i < 4; ++i) a.w[i] += b.w[i];
}
// d ^= (a + b) <<< kBits
template <int kBits>
KURA_INLINE void add_rotl_xor(Words4& d, const Words4& a, const Words4& b) {
  for (int i = 0; i < 4; ++i) {
    const uint32_t s = a.w[i] + b.w[i];
    d.w[i] ^= (s << kBits) | (s >> (32 - kBits));
  }
}
// Word i of each lane becomes its word (i + kBy) % 4.
template <int kBy>
KURA_INLINE void turn(Words4& a) {
  const Words4 in = a;
  for (int i = 0; i < 4; ++i) a.w[i] = in.w[(i + kBy) % 4];
}
// Integerify: words x0 (row 0) and x1 (row 3) of lane k, little-endian.
KURA_INLINE uint64_t first_words(const Words4& row0, const Words4& row3, size_t /*k*/) {
  return uint64_t{row3.w[1]} << 32 | row0.w[0];
}

#if defined(__SSE2__)
KURA_INLINE void load_row(__m128i& v, const Cell* const* cells, size_t c, int t) {
  v = _mm_load_si128(reinterpret_cast<const __m128i*>(cells[0][c].w + 4 * t));
}
KURA_INLINE void store_row(const __m128i& v, Cell* const* cells, size_t /*lanes*/, size_t c,
                           int t) {
  _mm_store_si128(reinterpret_cast<__m128i*>(cells[0][c].w + 4 * t), v);
}
KURA_INLINE void xor_into(__m128i& a, const __m128i& b) { a = _mm_xor_si128(a, b); }
KURA_INLINE void add_into(__m128i& a, const __m128i& b) { a = _mm_add_epi32(a, b); }
template <int kBits>
KURA_INLINE void add_rotl_xor(__m128i& d, const __m128i& a, const __m128i& b) {
  const __m128i s = _mm_add_epi32(a, b);
  d = _mm_xor_si128(d, _mm_or_si128(_mm_slli_epi32(s, kBits), _mm_srli_epi32(s, 32 - kBits)));
}
template <int kBy>
KURA_INLINE void turn(__m128i& a) {
  a = _mm_shuffle_epi32(a, kBy == 1 ? 0x39 : kBy == 2 ? 0x4e : 0x93);
}
KURA_INLINE uint64_t first_words(const __m128i& row0, const __m128i& row3, size_t /*k*/) {
  return uint64_t{uint32_t(_mm_cvtsi128_si32(_mm_shuffle_epi32(row3, 1)))} << 32 |
         uint32_t(_mm_cvtsi128_si32(row0));
}
#endif

#if KURA_SCRYPT_WIDE
// GCC/Clang vector types: the code below is target-neutral and becomes SSE, AVX2 or AVX-512
// instructions (vprold for the rotate) in whichever dispatch function it is inlined into.
// Vectors are passed by reference only: by value they would change the ABI between targets.
typedef uint32_t U32x4 __attribute__((vector_size(16)));
typedef uint32_t U32x8 __attribute__((vector_size(32)));
typedef uint32_t U32x16 __attribute__((vector_size(64)));

template <class V>
concept Packed = std::is_same_v<V, U32x4> || std::is_same_v<V, U32x8> || std::is_same_v<V, U32x16>;

template <Packed V>
KURA_INLINE void load_row(V& v, const Cell* const* cells, size_t c, int t) {
  U32x4 part[sizeof(V) / 16];
  for (size_t k = 0; k < sizeof(V) / 16; ++k) std::memcpy(&part[k], cells[k][c].w + 4 * t, 16);
  if constexpr (sizeof(V) == 16) {
    v = part[0];
  } else if constexpr (sizeof(V) == 32) {
    v = __builtin_shufflevector(part[0], part[1], 0, 1, 2, 3, 4, 5, 6, 7);
  } else {
    const U32x8 lo = __builtin_shufflevector(part[0], part[1], 0, 1, 2, 3, 4, 5, 6, 7);
    const U32x8 hi = __builtin_shufflevector(part[2], part[3], 0, 1, 2, 3, 4, 5, 6, 7);
    v = __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  }
}

template <size_t kLane, class V>
KURA_INLINE void store_lane(const V& v, Cell* cell, int t) {
  const U32x4 part =
      __builtin_shufflevector(v, v, 4 * kLane, 4 * kLane + 1, 4 * kLane + 2, 4 * kLane + 3);
  std::memcpy(cell->w + 4 * t, &part, 16);
}

// Stores the first `lanes` lanes of the register (the others are padding).
template <Packed V>
KURA_INLINE void store_row(const V& v, Cell* const* cells, size_t lanes, size_t c, int t) {
  store_lane<0>(v, cells[0] + c, t);
  if constexpr (sizeof(V) >= 32) {
    if (lanes > 1) store_lane<1>(v, cells[1] + c, t);
  }
  if constexpr (sizeof(V) == 64) {
    if (lanes > 2) store_lane<2>(v, cells[2] + c, t);
    if (lanes > 3) store_lane<3>(v, cells[3] + c, t);
  }
}

template <Packed V>
KURA_INLINE void xor_into(V& a, const V& b) {
  a ^= b;
}
template <Packed V>
KURA_INLINE void add_into(V& a, const V& b) {
  a += b;
}
template <int kBits, Packed V>
KURA_INLINE void add_rotl_xor(V& d, const V& a, const V& b) {
  const V s = a + b;
  d ^= (s << kBits) | (s >> (32 - kBits));
}

// Index i of a word rotation by kBy within each 128-bit row.
constexpr int turned(int i, int by) { return (i & ~3) | ((i + by) & 3); }

template <int kBy, Packed V>
KURA_INLINE void turn(V& a) {
  if constexpr (sizeof(V) == 16) {
    a = __builtin_shufflevector(a, a, turned(0, kBy), turned(1, kBy), turned(2, kBy),
                                turned(3, kBy));
  } else if constexpr (sizeof(V) == 32) {
    a = __builtin_shufflevector(a, a, turned(0, kBy), turned(1, kBy), turned(2, kBy),
                                turned(3, kBy), turned(4, kBy), turned(5, kBy), turned(6, kBy),
                                turned(7, kBy));
  } else {
    a = __builtin_shufflevector(a, a, turned(0, kBy), turned(1, kBy), turned(2, kBy),
                                turned(3, kBy), turned(4, kBy), turned(5, kBy), turned(6, kBy),
                                turned(7, kBy), turned(8, kBy), turned(9, kBy), turned(10, kBy),
                                turned(11, kBy), turned(12, kBy), turned(13, kBy), turned(14, kBy),
                                turned(15, kBy));
  }
}

template <Packed V>
KURA_INLINE uint64_t first_words(const V& row0, const V& row3, size_t k) {
  return uint64_t{row3[4 * k + 1]} << 32 | row0[4 * k];
}
#endif  // KURA_SCRYPT_WIDE

// How a group of G lanes fills registers of type V: kRegs registers per row, side by side in
// each (kWidth lanes) and interleaved across them; the kSlots - G spare places compute copies
// of lane 0 that are never stored.
template <class V, size_t G>
struct Pack {
  static constexpr size_t kWidth = sizeof(V) / 16;
  static constexpr size_t kRegs = (G + kWidth - 1) / kWidth;
  static constexpr size_t kSlots = kRegs * kWidth;
};

template <class V, size_t R>
using States = V[R][4];

template <int kBits, int kDst, int kA, int kB, class V, size_t R>
KURA_INLINE void quarter_step(States<V, R>& x) {
#pragma GCC unroll 4
  for (size_t q = 0; q < R; ++q) add_rotl_xor<kBits>(x[q][kDst], x[q][kA], x[q][kB]);
}

template <int kBy1, int kBy2, int kBy3, class V, size_t R>
KURA_INLINE void turn_rows(States<V, R>& x) {
#pragma GCC unroll 4
  for (size_t q = 0; q < R; ++q) {
    turn<kBy1>(x[q][1]);
    turn<kBy2>(x[q][2]);
    turn<kBy3>(x[q][3]);
  }
}

// s = Salsa20/8(s) in every lane.
template <class V, size_t R>
KURA_INLINE void salsa20_8(States<V, R>& s) {
  States<V, R> x;
#pragma GCC unroll 4
  for (size_t q = 0; q < R; ++q) {
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) x[q][i] = s[q][i];
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
  for (size_t q = 0; q < R; ++q) {
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) add_into(s[q][i], x[q][i]);
  }
}

// For each lane k of the group: out[k] = BlockMix_r(in[k]), or BlockMix_r(in[k] ^ other[k])
// if kXor, and j[k] = Integerify(out[k]). The pointer arrays have Pack::kSlots entries (the
// spare ones copies of entry 0); the 2r-Cell buffers of a lane must not overlap.
template <class V, size_t G, bool kXor>
KURA_INLINE void block_mix(const Cell* const* in, const Cell* const* other, Cell* const* out,
                           size_t r, uint64_t (&j)[G]) {
  using P = Pack<V, G>;
  constexpr size_t R = P::kRegs;
  constexpr size_t W = P::kWidth;
  const size_t last = 2 * r - 1;
  States<V, R> s;
#pragma GCC unroll 4
  for (size_t q = 0; q < R; ++q) {
#pragma GCC unroll 4
    for (int t = 0; t < 4; ++t) {
      load_row(s[q][t], in + q * W, last, t);
      if constexpr (kXor) {
        V o;
        load_row(o, other + q * W, last, t);
        xor_into(s[q][t], o);
      }
    }
  }
  for (size_t i = 0; i < 2 * r; ++i) {
#pragma GCC unroll 4
    for (size_t q = 0; q < R; ++q) {
#pragma GCC unroll 4
      for (int t = 0; t < 4; ++t) {
        V m;
        load_row(m, in + q * W, i, t);
        if constexpr (kXor) {
          V o;
          load_row(o, other + q * W, i, t);
          xor_into(m, o);  // off the chain: one xor into the state, not two
        }
        xor_into(s[q][t], m);
      }
    }
    salsa20_8<V, R>(s);
    // Even-numbered results go to the first half of `out`, odd-numbered ones to the second.
    const size_t to = i / 2 + (i % 2) * r;
#pragma GCC unroll 4
    for (size_t q = 0; q < R; ++q) {
#pragma GCC unroll 4
      for (int t = 0; t < 4; ++t) store_row(s[q][t], out + q * W, G - q * W, to, t);
    }
  }
#pragma GCC unroll 4
  for (size_t k = 0; k < G; ++k) j[k] = first_words(s[k / W][0], s[k / W][3], k % W);
}

void load_cells(const uint8_t* bytes, Cell* cells, size_t count) {
  for (size_t c = 0; c < count; ++c, bytes += 64) {
    for (int k = 0; k < 16; ++k) cells[c].w[k] = base::load_le32(bytes + 4 * kDiagonalOrder[k]);
  }
}

void store_cells(const Cell* cells, uint8_t* bytes, size_t count) {
  for (size_t c = 0; c < count; ++c, bytes += 64) {
    for (int k = 0; k < 16; ++k) base::store_le32(bytes + 4 * kDiagonalOrder[k], cells[c].w[k]);
  }
}

// Blocks of 2r Cells one lane keeps: every stride-th block of V (see ro_mix) and the X, Y and
// two recomputation blocks.
uint64_t slot_blocks(uint64_t n, uint64_t stride) { return (n + stride - 1) / stride + 4; }

// A group of lanes one thread computes at once: lanes[k] = scryptROMix_r(lanes[k], N) (RFC
// 7914 §5) for k < G, in `scratch`: one block of zeros, then slot_blocks() blocks per lane.
struct GroupJob {
  uint8_t* lanes[internal::kScryptMaxLanesPerThread];
  Cell* scratch;
  uint64_t n;
  uint32_t r;
  uint64_t stride;
};

// Where a lane of the second loop stands: it owes `recompute` more BlockMix steps from `src`
// before its next real step X = BlockMix(X ^ V[j]), which uses `src`.
struct LaneState {
  const Cell* src;
  uint64_t recompute;
  uint64_t done;  // real steps
};

// V keeps only its blocks V[i] with i % stride == 0: the second loop rebuilds V[j] from the
// kept block below it with j % stride more BlockMix steps, (stride - 1) / 2 on average. With
// stride 4 that is 75 % more BlockMix calls for a quarter of the memory.
template <class V, size_t G>
KURA_INLINE void ro_mix(const GroupJob& job) {
  using P = Pack<V, G>;
  const uint64_t n = job.n;
  const uint64_t stride = job.stride;
  const size_t cells = 2 * size_t{job.r};
  const Cell* const zero = job.scratch;
  Cell* v[G];
  Cell* x[G];
  Cell* y[G];
  Cell* t[G][2];
  for (size_t k = 0; k < G; ++k) {
    v[k] = job.scratch + cells + k * slot_blocks(n, stride) * cells;
    x[k] = v[k] + (n + stride - 1) / stride * cells;
    y[k] = x[k] + cells;
    t[k][0] = y[k] + cells;
    t[k][1] = t[k][0] + cells;
    load_cells(job.lanes[k], v[k], cells);
  }
  const Cell* in[P::kSlots];
  const Cell* other[P::kSlots];
  Cell* out[P::kSlots];
  auto pad = [&] {
    for (size_t k = G; k < P::kSlots; ++k) {
      in[k] = in[0];
      other[k] = other[0];
      out[k] = out[0];
    }
  };
  uint64_t j[G] = {};  // set by the first loop (N >= 2)

  // First loop: X = BlockMix^i(B) for i < N, the kept ones stored in V, the others
  // alternating between X and Y.
  for (size_t k = 0; k < G; ++k) {
    out[k] = v[k];
    other[k] = zero;
  }
  for (uint64_t i = 1; i <= n; ++i) {
    const bool keep = i < n && i % stride == 0;
    for (size_t k = 0; k < G; ++k) {
      in[k] = out[k];
      out[k] = keep ? v[k] + i / stride * cells : in[k] == x[k] ? y[k] : x[k];
    }
    pad();
    block_mix<V, G, false>(in, other, out, job.r, j);
  }

  // Second loop: each lane at its own pace; lanes that are done mark time on a spare block.
  LaneState lane[G];
  auto next_block = [&](size_t k) {
    const uint64_t at = j[k] & (n - 1);
    lane[k].src = v[k] + at / stride * cells;
    lane[k].recompute = at % stride;
    // A block of V at a random index, read by the next step: ask for all its cache lines at
    // once rather than miss on them one by one (the last one is read first).
    __builtin_prefetch(lane[k].src + cells - 1);
    for (size_t c = 0; c + 1 < cells; ++c) __builtin_prefetch(lane[k].src + c);
  };
  for (size_t k = 0; k < G; ++k) {
    if (out[k] == y[k]) std::swap(x[k], y[k]);
    lane[k].done = 0;
    next_block(k);
  }
  uint64_t j_out[G];
  for (size_t busy = G; busy > 0;) {
    for (size_t k = 0; k < G; ++k) {
      const LaneState& l = lane[k];
      if (l.done == n) {
        in[k] = x[k], other[k] = zero, out[k] = t[k][0];
      } else if (l.recompute > 0) {
        in[k] = l.src, other[k] = zero, out[k] = l.src == t[k][0] ? t[k][1] : t[k][0];
      } else {
        in[k] = x[k], other[k] = l.src, out[k] = y[k];
      }
    }
    pad();
    block_mix<V, G, true>(in, other, out, job.r, j_out);
    for (size_t k = 0; k < G; ++k) {
      LaneState& l = lane[k];
      if (l.done == n) continue;
      if (l.recompute > 0) {
        l.src = out[k];
        --l.recompute;
        continue;
      }
      std::swap(x[k], y[k]);
      j[k] = j_out[k];
      if (++l.done == n) {
        --busy;
      } else {
        next_block(k);
      }
    }
  }
  for (size_t k = 0; k < G; ++k) store_cells(x[k], job.lanes[k], cells);
}

using GroupFn = void (*)(const GroupJob&);

template <size_t G>
void group_portable(const GroupJob& job) {
  ro_mix<Words4, G>(job);
}
#if defined(__SSE2__)
template <size_t G>
void group_sse2(const GroupJob& job) {
  ro_mix<__m128i, G>(job);
}
#endif
#if KURA_SCRYPT_WIDE
template <size_t G>
[[gnu::target("avx2")]] void group_avx2(const GroupJob& job) {
  ro_mix<std::conditional_t<G == 1, U32x4, U32x8>, G>(job);
}
template <size_t G>
[[gnu::target("avx512f,avx512vl")]] void group_avx512(const GroupJob& job) {
  using V = std::conditional_t<G == 1, U32x4, std::conditional_t<G == 2, U32x8, U32x16>>;
  ro_mix<V, G>(job);
}
#endif

// The ROMix of `g` lanes at once (1 to kScryptMaxLanesPerThread) with `isa`, which the CPU
// supports.
GroupFn group_fn(ScryptIsa isa, uint32_t g) {
  static_assert(internal::kScryptMaxLanesPerThread == 4);
  switch (isa) {
#if defined(__SSE2__)
    case ScryptIsa::kSse2: {
      static constexpr GroupFn fns[] = {group_sse2<1>, group_sse2<2>, group_sse2<3>, group_sse2<4>};
      return fns[g - 1];
    }
#endif
#if KURA_SCRYPT_WIDE
    case ScryptIsa::kAvx2: {
      static constexpr GroupFn fns[] = {group_avx2<1>, group_avx2<2>, group_avx2<3>, group_avx2<4>};
      return fns[g - 1];
    }
    case ScryptIsa::kAvx512: {
      static constexpr GroupFn fns[] = {group_avx512<1>, group_avx512<2>, group_avx512<3>,
                                        group_avx512<4>};
      return fns[g - 1];
    }
#endif
    default: {
      static constexpr GroupFn fns[] = {group_portable<1>, group_portable<2>, group_portable<3>,
                                        group_portable<4>};
      return fns[g - 1];
    }
  }
}

ScryptIsa best_isa() {
#if KURA_SCRYPT_WIDE
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) {
    return ScryptIsa::kAvx512;
  }
  if (__builtin_cpu_supports("avx2")) return ScryptIsa::kAvx2;
#endif
#if defined(__SSE2__)
  return ScryptIsa::kSse2;
#else
  return ScryptIsa::kPortable;
#endif
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
uint32_t lanes_of_thread(uint32_t k, uint32_t p, uint32_t threads) {
  return (p - k + threads - 1) / threads;
}

// Lanes a thread computes at once under `plan`.
uint32_t slots_of_thread(uint32_t k, uint32_t p, const internal::ScryptPlan& plan) {
  return std::min(lanes_of_thread(k, p, plan.threads), plan.lanes_per_thread);
}

uint64_t saturating_mul(uint64_t a, uint64_t b) {
  return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

uint64_t saturating_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

// Cells one thread allocates: the block of zeros and its lanes' slots.
uint64_t thread_cells(uint64_t n, uint32_t r, uint64_t stride, uint32_t slots) {
  return saturating_mul(2 * uint64_t{r},
                        saturating_add(1, saturating_mul(slots, slot_blocks(n, stride))));
}

uint64_t plan_scratch_bytes(uint64_t n, uint32_t r, uint32_t p, const internal::ScryptPlan& plan) {
  uint64_t bytes = 0;
  for (uint32_t k = 0; k < plan.threads; ++k) {
    bytes = saturating_add(
        bytes, saturating_mul(sizeof(Cell),
                              thread_cells(n, r, plan.v_stride, slots_of_thread(k, p, plan))));
  }
  return bytes;
}

// Runs ROMix on thread k's lanes of B, up to plan.lanes_per_thread of them at once. The thread
// allocates, wipes and frees its own scratch, so that the page faults on fresh memory (dear:
// about 1 ms per MiB with 4 KiB pages on a VM), the wipe and the unmapping run in parallel
// too. False if the scratch could not be allocated.
bool ro_mix_thread(uint32_t k, uint8_t* b, uint64_t n, uint32_t r, uint32_t p,
                   const internal::ScryptPlan& plan) {
  const uint32_t slots = slots_of_thread(k, p, plan);
  SecretArray<Cell> scratch;
  if (!scratch.allocate(size_t(thread_cells(n, r, plan.v_stride, slots)))) return false;
  std::memset(static_cast<void*>(scratch.get()), 0, 2 * size_t{r} * sizeof(Cell));
  GroupJob job{};
  job.scratch = scratch.get();
  job.n = n;
  job.r = r;
  job.stride = plan.v_stride;
  const size_t lane_bytes = 128 * size_t{r};
  const uint32_t step = plan.threads;
  uint32_t i = k;
  for (uint32_t left = lanes_of_thread(k, p, plan.threads); left > 0;) {
    const uint32_t group = std::min(left, plan.lanes_per_thread);
    for (uint32_t g = 0; g < group; ++g) job.lanes[g] = b + size_t{i + g * step} * lane_bytes;
    group_fn(plan.isa, group)(job);
    i += group * step;
    left -= group;
  }
  return true;
}

// Time of a plan in BlockMix latencies of one lane, taking lanes computed at once as free:
// that is nearly so for lanes packed in one register, and an interleaved chain costs far less
// than its own run.
double plan_cost(uint32_t lanes_of_thread0, uint32_t group, uint64_t stride) {
  const uint32_t groups = (lanes_of_thread0 + group - 1) / group;
  return groups * (2.0 + (double(stride) - 1) / 2);
}

}  // namespace

namespace internal {

bool scrypt_isa_supported(ScryptIsa isa) {
  switch (isa) {
    case ScryptIsa::kAuto:
    case ScryptIsa::kPortable:
      return true;
    case ScryptIsa::kSse2:
#if defined(__SSE2__)
      return true;
#else
      return false;
#endif
    case ScryptIsa::kAvx2:
#if KURA_SCRYPT_WIDE
      return __builtin_cpu_supports("avx2");
#else
      return false;
#endif
    case ScryptIsa::kAvx512:
      return best_isa() == ScryptIsa::kAvx512;
  }
  return false;
}

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
  plan.isa = limits.isa == ScryptIsa::kAuto ? best_isa() : limits.isa;
  plan.threads =
      uint32_t(std::min({uint64_t{p}, uint64_t{std::max(limits.threads, 1u)}, lanes_that_fit}));
  const uint32_t lanes0 = lanes_of_thread(0, p, plan.threads);
  const uint32_t most_at_once =
      std::min(std::clamp(limits.lanes_per_thread, 1u, kScryptMaxLanesPerThread), lanes0);

  // The fastest plan within both limits by plan_cost(), the most lanes at once on a tie; else
  // one lane at a time with half of V (or the stride asked for), as before, which the budget
  // always admits unless the hard limit is very tight.
  ScryptPlan fallback = plan;
  fallback.lanes_per_thread = 1;
  fallback.v_stride = limits.v_stride != 0 ? limits.v_stride : 2;
  fallback.scratch_bytes = plan_scratch_bytes(n, r, p, fallback);
  const uint64_t budget =
      std::min(std::max(limits.scratch, fallback.scratch_bytes), limit - block * p);
  ScryptPlan best = fallback;
  double best_cost = -1;
  for (uint32_t group = most_at_once; group >= 1; --group) {
    for (uint32_t stride = 1; stride <= 16; stride *= 2) {
      ScryptPlan candidate = plan;
      candidate.lanes_per_thread = group;
      candidate.v_stride = limits.v_stride != 0 ? limits.v_stride : stride;
      candidate.scratch_bytes = plan_scratch_bytes(n, r, p, candidate);
      const double cost = plan_cost(lanes0, group, candidate.v_stride);
      if (candidate.scratch_bytes <= budget && (best_cost < 0 || cost < best_cost)) {
        best = candidate;
        best_cost = cost;
      }
    }
  }
  return best;
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
  // plan_scrypt() bounds B by limits.memory; it and the scratch must also fit a size_t.
  const uint64_t b_size = uint64_t{128} * r * p;
  if (b_size > SIZE_MAX || plan.scratch_bytes >= SIZE_MAX) {
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
    return base::resource_exhausted("scrypt: cannot allocate " + size_text(plan.scratch_bytes) +
                                    " in " + std::to_string(plan.threads) + " threads (" +
                                    params_text(n, r, p) + ")");
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
  limits.scratch = kScryptScratchTarget;
  limits.threads = std::thread::hardware_concurrency();
  limits.lanes_per_thread = internal::kScryptMaxLanesPerThread;
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
