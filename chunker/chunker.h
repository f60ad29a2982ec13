// restic's content-defined chunker (github.com/restic/chunker), with byte-identical cut points.
// RESTIC_FORMAT.md §10 is the specification; the fingerprint of a position is the 64 bytes
// ending there, read as a GF(2) polynomial, reduced modulo the repository's polynomial.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/random.h"

namespace kura::chunker {

constexpr size_t kMinSize = 512 * 1024;
constexpr size_t kMaxSize = 8 * 1024 * 1024;
constexpr size_t kWindowSize = 64;
constexpr int kSplitMaskBits = 20;
// restic requires chunker polynomials of exactly this degree.
constexpr int kPolynomialDegree = 53;

// Returned by Chunker::next_cut when the data ended without a cut.
constexpr size_t kNoCut = SIZE_MAX;

// Degree of a GF(2) polynomial whose bit i is the coefficient of x^i; -1 for the zero polynomial.
int degree(uint64_t pol);

// Ben-Or's test, as restic runs it: pol is irreducible iff gcd(pol, x^(2^i) - x mod pol) == 1 for
// every i in 1..degree/2. Constants (degree < 1) are not irreducible.
bool is_irreducible(uint64_t pol);

// A fresh chunker polynomial drawn the way restic draws one: 8 random bytes as a little-endian
// uint64, keep the low 54 bits, set bits 53 and 0, repeat until irreducible.
uint64_t random_polynomial(crypto::RandomSource& random);

// Parses the config's "chunker_polynomial" text (hex, either case, no prefix, as Go's
// strconv.ParseUint(s, 16, 64)) and rejects polynomials restic cannot chunk with.
base::StatusOr<uint64_t> parse_polynomial(std::string_view hex);

// Lowercase hex without 0x or leading zeros, as restic writes it into the config.
std::string format_polynomial(uint64_t pol);

// Lookup tables for one polynomial. Immutable, shared by every chunker using that polynomial.
class Tables {
 public:
  // Cached per polynomial; thread-safe. `pol` must have degree 53 (anything that passed
  // parse_polynomial or came from random_polynomial); other degrees abort the process.
  static std::shared_ptr<const Tables> get(uint64_t pol);

  uint64_t polynomial() const { return pol_; }

  // restic's two tables, for a window of 64 bytes and k = 53:
  // out[b] = b * x^(8*63) mod P: what byte b contributes as the oldest byte of the window.
  const uint64_t* out() const { return out_; }
  // mod[b] = (b * x^k mod P) | (b << k): reduces the 8 bits that overflow past x^k after a shift.
  const uint64_t* mod() const { return mod_; }
  // out_shifted[b] = b * x^(8*64) mod P, i.e. out[b] * x^8: lets the byte leaving the window be
  // removed after the shift instead of before, which keeps it off the loop-carried dependency.
  const uint64_t* out_shifted() const { return out_shifted_; }

  // Not for direct use: get() shares one instance per polynomial.
  explicit Tables(uint64_t pol);

 private:
  uint64_t pol_;
  uint64_t out_[256];
  uint64_t mod_[256];
  uint64_t out_shifted_[256];
};

// Chunking parameters. Only the defaults are restic's; other values exist so tests can exercise
// many cuts on little data.
struct Params {
  size_t min_size = kMinSize;  // must be >= kWindowSize
  size_t max_size = kMaxSize;  // must be >= min_size
  int mask_bits = kSplitMaskBits;
};

// Streaming chunker for one file at a time. Feed the file's bytes in pieces of any size; the cut
// points do not depend on how the stream is split.
class Chunker {
 public:
  explicit Chunker(std::shared_ptr<const Tables> tables, const Params& params = Params());

  // Forget the current chunk: the next byte passed in starts a new file.
  void reset();

  // Consumes bytes of the current chunk from `data`. Returns n in 1..data.size() when the chunk
  // ends after data[n-1] (the bytes after it belong to the next chunk, whose state is already
  // initialised), or kNoCut when all of `data` was consumed without reaching a cut. At the end of
  // the file, whatever was consumed since the last cut is the final chunk.
  size_t next_cut(base::ByteSpan data);

  // The fingerprint at the most recent cut (0 before the first cut). Diagnostics and tests only.
  uint64_t last_cut_fingerprint() const { return last_cut_fp_; }

 private:
  // Hashes data[from, to), all of which lie at least 64 bytes into the hashed part of `data`.
  // Returns the index of the first position whose fingerprint matches the mask, or `to`. `d` is
  // the fingerprint at data[from-1] on entry and at the returned position (or to-1) on exit.
  size_t scan(const uint8_t* data, size_t from, size_t to, uint64_t& d) const;
  size_t scan_one_lane(const uint8_t* data, size_t from, size_t to, uint64_t& d) const;
  void start_chunk();

  std::shared_ptr<const Tables> tables_;
  Params params_;
  uint64_t mask_;

  // Bytes of the current chunk still to be consumed without hashing.
  size_t skip_;
  // Bytes of the current chunk consumed so far (skipped ones included).
  size_t count_;
  // Fingerprint of the window (the last 64 hashed bytes, window_[0] oldest).
  uint64_t digest_;
  uint8_t window_[kWindowSize];
  uint64_t last_cut_fp_ = 0;
};

// Cuts a whole in-memory file; returns (offset, length) of each chunk. Empty input, no chunks.
std::vector<std::pair<uint64_t, uint64_t>> chunk_all(base::ByteSpan file,
                                                     std::shared_ptr<const Tables> tables);

}  // namespace kura::chunker
