#include "chunker/chunker.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/bytes.h"

namespace kura::chunker {
namespace {

using Chunks = std::vector<std::pair<uint64_t, uint64_t>>;

constexpr uint64_t kTestPol = 0x3da3358b4dc173;

std::string sha256_hex(base::ByteSpan data) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(data.data(), data.size(), digest);
  return base::hex_encode(digest);
}

std::string chunk_id(base::ByteSpan file, const std::pair<uint64_t, uint64_t>& c) {
  return sha256_hex(file.subspan(c.first, c.second));
}

// RESTIC_FORMAT §10.5: SHA-256(uint64_le(0)) || SHA-256(uint64_le(1)) || ... cut to `size`.
base::Bytes sha_stream(size_t size) {
  base::Bytes out(size);
  for (uint64_t j = 0; j * 32 < size; ++j) {
    uint8_t le[8];
    base::store_le64(le, j);
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(le, sizeof(le), digest);
    std::copy_n(digest, std::min<size_t>(32, size - j * 32), out.data() + j * 32);
  }
  return out;
}

base::Bytes random_bytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  base::Bytes out(size);
  size_t i = 0;
  for (; i + 8 <= size; i += 8) base::store_le64(out.data() + i, rng());
  for (; i < size; ++i) out[i] = uint8_t(rng());
  return out;
}

// A literal transcription of restic/chunker's Next(): ring buffer, restic's out table (removal
// before the shift), pre-skip. Independent of the optimised code paths.
Chunks reference_chunks(base::ByteSpan file, uint64_t pol, const Params& params = Params()) {
  auto tables = Tables::get(pol);
  const uint64_t* out = tables->out();
  const uint64_t* mod = tables->mod();
  const uint64_t mask = (uint64_t{1} << params.mask_bits) - 1;
  const int shift = degree(pol) - 8;
  Chunks chunks;
  uint8_t win[kWindowSize];
  size_t wpos = 0;
  uint64_t digest = 0;
  size_t count = 0;
  size_t pre = 0;
  size_t start = 0;
  auto slide = [&](uint8_t b) {
    const uint8_t o = win[wpos];
    win[wpos] = b;
    digest ^= out[o];
    wpos = (wpos + 1) % kWindowSize;
    const uint64_t index = digest >> shift;
    digest = ((digest << 8) | b) ^ mod[index];
  };
  auto reset = [&]() {
    std::fill(std::begin(win), std::end(win), 0);
    wpos = 0;
    digest = 0;
    count = 0;
    slide(1);
    pre = params.min_size - kWindowSize;
  };
  reset();
  size_t pos = 0;
  while (pos < file.size()) {
    if (pre > 0) {
      const size_t n = std::min(pre, file.size() - pos);
      pre -= n;
      count += n;
      pos += n;
      continue;
    }
    slide(file[pos]);
    ++pos;
    ++count;
    if (count >= params.min_size && ((digest & mask) == 0 || count >= params.max_size)) {
      chunks.emplace_back(start, pos - start);
      start = pos;
      reset();
    }
  }
  if (start < file.size()) chunks.emplace_back(start, file.size() - start);
  return chunks;
}

// Feeds `file` to a Chunker in pieces whose sizes come from `next_piece`.
template <typename NextPiece>
Chunks streamed_chunks(base::ByteSpan file, std::shared_ptr<const Tables> tables,
                       const Params& params, NextPiece next_piece) {
  Chunker chunker(std::move(tables), params);
  Chunks chunks;
  uint64_t start = 0;
  size_t pos = 0;
  while (pos < file.size()) {
    const size_t len = std::min(next_piece(), file.size() - pos);
    base::ByteSpan piece = file.subspan(pos, len);
    while (!piece.empty()) {
      const size_t n = chunker.next_cut(piece);
      if (n == kNoCut) break;
      EXPECT_GE(n, 1u);
      EXPECT_LE(n, piece.size());
      const uint64_t end = pos + n;
      chunks.emplace_back(start, end - start);
      start = end;
      pos += n;
      piece = piece.subspan(n);
    }
    pos += piece.size();
  }
  if (start < file.size()) chunks.emplace_back(start, file.size() - start);
  return chunks;
}

void expect_well_formed(const Chunks& chunks, size_t file_size, const Params& params) {
  uint64_t pos = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].first, pos);
    EXPECT_LE(chunks[i].second, params.max_size);
    if (i + 1 < chunks.size()) {
      EXPECT_GE(chunks[i].second, params.min_size);
    }
    pos += chunks[i].second;
  }
  EXPECT_EQ(pos, file_size);
}

// ---- Test vectors (RESTIC_FORMAT §10.5) ----

TEST(ChunkerVectors, ShaStream24MiB) {
  const base::Bytes file = sha_stream(25165824);
  ASSERT_EQ(sha256_hex(file), "d8c9e68ed742b54766f596628301cdc9f67b29143b0f1bba2316025c89246f3e");
  const Chunks want = {
      {0, 1015968},        {1015968, 1087132},  {2103100, 693439},   {2796539, 2344058},
      {5140597, 903280},   {6043877, 1709091},  {7752968, 1791277},  {9544245, 1802453},
      {11346698, 1190352}, {12537050, 528291},  {13065341, 868679},  {13934020, 1105126},
      {15039146, 1847403}, {16886549, 1069115}, {17955664, 789535},  {18745199, 691238},
      {19436437, 1662910}, {21099347, 569729},  {21669076, 3496748},
  };
  auto tables = Tables::get(kTestPol);
  const Chunks got = chunk_all(file, tables);
  EXPECT_EQ(got, want);
  EXPECT_EQ(reference_chunks(file, kTestPol), want);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(chunk_id(file, got.front()),
            "f3d509f80ced030c820556a720ed8a395ba468bf124218fde1df63139d2df0ae");
  EXPECT_EQ(chunk_id(file, got.back()),
            "2f9adb04fdf15ecce531c4f59b45a21de91366f377070747b63904dfddd4942b");

  Chunker chunker(tables);
  EXPECT_EQ(chunker.next_cut(file), 1015968u);
  EXPECT_EQ(chunker.last_cut_fingerprint(), 0x1051a055300000u);
}

TEST(ChunkerVectors, Zeros) {
  const base::Bytes file(3 * 1024 * 1024 + 100, 0);
  const Chunks got = chunk_all(file, Tables::get(kTestPol));
  ASSERT_EQ(got.size(), 7u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(got[i], std::make_pair(uint64_t(i * kMinSize), uint64_t(kMinSize)));
    const std::string id = chunk_id(file, got[i]);
    EXPECT_EQ(id.substr(0, 8), "07854d2f");
    EXPECT_EQ(id.substr(60), "1541");
  }
  EXPECT_EQ(got[6], std::make_pair(uint64_t(6 * kMinSize), uint64_t(100)));
}

TEST(ChunkerVectors, RepeatedBlockHitsMaxSize) {
  base::Bytes block(64);
  SHA256(reinterpret_cast<const uint8_t*>("a"), 1, block.data());
  SHA256(reinterpret_cast<const uint8_t*>("b"), 1, block.data() + 32);
  base::Bytes file;
  while (file.size() < 9 * 1024 * 1024) file.insert(file.end(), block.begin(), block.end());
  const Chunks got = chunk_all(file, Tables::get(kTestPol));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(uint64_t(0), uint64_t(kMaxSize)));
  EXPECT_EQ(got[1], std::make_pair(uint64_t(kMaxSize), uint64_t(1048576)));
  const std::string id0 = chunk_id(file, got[0]);
  const std::string id1 = chunk_id(file, got[1]);
  EXPECT_EQ(id0.substr(0, 8), "be95a95e");
  EXPECT_EQ(id0.substr(60), "73da");
  EXPECT_EQ(id1.substr(0, 8), "acdd73db");
  EXPECT_EQ(id1.substr(59), "24be9");
}

// ---- Edge cases ----

TEST(Chunker, EmptyAndSmallFiles) {
  auto tables = Tables::get(kTestPol);
  EXPECT_TRUE(chunk_all({}, tables).empty());
  Chunker chunker(tables);
  EXPECT_EQ(chunker.next_cut({}), kNoCut);
  const base::Bytes small = random_bytes(1000, 1);
  EXPECT_EQ(chunk_all(small, tables), (Chunks{{0, 1000}}));
  const base::Bytes exactly_min = random_bytes(kMinSize, 2);
  EXPECT_EQ(chunk_all(exactly_min, tables), (Chunks{{0, kMinSize}}));
  const base::Bytes zeros(kMinSize, 0);
  EXPECT_EQ(chunk_all(zeros, tables), (Chunks{{0, kMinSize}}));
  const base::Bytes zeros_plus_one(kMinSize + 1, 0);
  EXPECT_EQ(chunk_all(zeros_plus_one, tables), (Chunks{{0, kMinSize}, {kMinSize, 1}}));
}

TEST(Chunker, ResetStartsANewFile) {
  auto tables = Tables::get(kTestPol);
  const base::Bytes file = sha_stream(3 * 1024 * 1024);
  Chunker chunker(tables);
  // Feed part of an unrelated file, then reset: the result must not depend on it.
  const base::Bytes junk = random_bytes(700000, 3);
  EXPECT_EQ(chunker.next_cut(base::ByteSpan(junk).first(600000)), kNoCut);
  chunker.reset();
  EXPECT_EQ(chunker.next_cut(file), 1015968u);
}

// ---- Split invariance and agreement with the reference ----

TEST(Chunker, SplitInvarianceOnShaStream) {
  const base::Bytes file = sha_stream(25165824);
  auto tables = Tables::get(kTestPol);
  const Chunks want = chunk_all(file, tables);
  ASSERT_EQ(want.size(), 19u);
  std::mt19937_64 rng(42);
  // Piece sizes drawn from several scales, so pieces land around window (64 B), lane and skip
  // boundaries as well as spanning whole chunks.
  const std::vector<size_t> scales = {1, 63, 65, 4096, 70000, 600000, 5000000};
  for (size_t scale : scales) {
    auto next = [&]() { return size_t(1 + rng() % (2 * scale)); };
    EXPECT_EQ(streamed_chunks(file, tables, Params(), next), want) << "scale " << scale;
  }
  auto mixed = [&]() {
    return size_t(1 + rng() % scales[rng() % scales.size()]);
  };
  EXPECT_EQ(streamed_chunks(file, tables, Params(), mixed), want);
}

TEST(Chunker, MatchesReferenceOnRandomData) {
  const base::Bytes file = random_bytes(48 * 1024 * 1024, 7);
  auto tables = Tables::get(kTestPol);
  const Chunks want = reference_chunks(file, kTestPol);
  EXPECT_GT(want.size(), 20u);
  expect_well_formed(want, file.size(), Params());
  EXPECT_EQ(chunk_all(file, tables), want);
  std::mt19937_64 rng(9);
  EXPECT_EQ(streamed_chunks(file, tables, Params(), [&] { return size_t(1 + rng() % 300000); }),
            want);
}

// Small parameters give thousands of cuts, which exercises every path (lane matches in each lane,
// matches right after a lane's start, cuts inside the first 64 bytes of a call, max_size cuts).
TEST(Chunker, MatchesReferenceWithSmallParameters) {
  const base::Bytes random = random_bytes(6 * 1024 * 1024, 11);
  base::Bytes with_runs = random;
  // Long zero runs force max_size cuts; repeated blocks give the same fingerprint again and again.
  std::fill(with_runs.begin() + 100000, with_runs.begin() + 400000, 0);
  for (size_t i = 1000000; i < 1500000; ++i) with_runs[i] = uint8_t(i % 64 * 7);
  std::mt19937_64 rng(5);
  for (uint64_t pol : {kTestPol, uint64_t{0x3f859281e28a35}}) {
    ASSERT_TRUE(is_irreducible(pol));
    auto tables = Tables::get(pol);
    const std::vector<Params> all_params = {
        {64, 1024, 6}, {64, 100000, 12}, {100, 50000, 10}, {8192, 65536, 13}, {64, 64, 5},
        {4096, 1 << 20, 16}};
    for (const Params& params : all_params) {
      for (const base::Bytes* file : {&random, static_cast<const base::Bytes*>(&with_runs)}) {
        const Chunks want = reference_chunks(*file, pol, params);
        expect_well_formed(want, file->size(), params);
        const std::string what = "pol " + format_polynomial(pol) + " min " +
                                 std::to_string(params.min_size) + " max " +
                                 std::to_string(params.max_size) + " bits " +
                                 std::to_string(params.mask_bits);
        EXPECT_EQ(streamed_chunks(*file, tables, params, [&] { return file->size(); }), want)
            << what;
        EXPECT_EQ(streamed_chunks(*file, tables, params, [&] { return size_t(1 + rng() % 200); }),
                  want)
            << what;
        EXPECT_EQ(
            streamed_chunks(*file, tables, params, [&] { return size_t(1 + rng() % 100000); }),
            want)
            << what;
      }
    }
  }
}

// ---- Polynomials ----

TEST(Polynomial, Degree) {
  EXPECT_EQ(degree(0), -1);
  EXPECT_EQ(degree(1), 0);
  EXPECT_EQ(degree(2), 1);
  EXPECT_EQ(degree(kTestPol), 53);
  EXPECT_EQ(degree(~uint64_t{0}), 63);
}

TEST(Polynomial, KnownIrreducible) {
  EXPECT_TRUE(is_irreducible(kTestPol));
  EXPECT_TRUE(is_irreducible(0x7));      // x^2+x+1
  EXPECT_TRUE(is_irreducible(0x11b));    // AES: x^8+x^4+x^3+x+1
  EXPECT_TRUE(is_irreducible(0x2));      // x
  EXPECT_TRUE(is_irreducible(0x3));      // x+1
  EXPECT_FALSE(is_irreducible(0));
  EXPECT_FALSE(is_irreducible(1));
}

// GF(2) polynomial product, for building reducible polynomials.
uint64_t clmul(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  for (int i = 0; i < 64; ++i) {
    if ((b >> i) & 1) r ^= a << i;
  }
  return r;
}

TEST(Polynomial, KnownReducible) {
  EXPECT_FALSE(is_irreducible(kTestPol ^ 1));  // divisible by x
  EXPECT_FALSE(is_irreducible(0x5));           // x^2+1 = (x+1)^2
  EXPECT_FALSE(is_irreducible(uint64_t{1} << 53 | 1));
  // Products of irreducible factors of degree 53 in total.
  EXPECT_FALSE(is_irreducible(clmul(0x7, uint64_t{1} << 51 | 0x5b)));  // deg 2 * deg 51
  const uint64_t p26 = 0x4000027;                              // degree 26
  const uint64_t p27 = 0x8000027;                              // degree 27
  EXPECT_EQ(degree(clmul(p26, p27)), 53);
  EXPECT_FALSE(is_irreducible(clmul(p26, p27)));
  EXPECT_FALSE(is_irreducible(clmul(0x11b, 0x200000000000b1)));
}

// Trial division by every polynomial of degree 1..deg/2.
bool irreducible_by_trial_division(uint64_t p) {
  const int dp = degree(p);
  if (dp < 1) return false;
  for (uint64_t q = 2; degree(q) <= dp / 2; ++q) {
    uint64_t r = p;
    const int dq = degree(q);
    for (int dr = degree(r); dr >= dq; dr = degree(r)) r ^= q << (dr - dq);
    if (r == 0) return false;
  }
  return true;
}

TEST(Polynomial, IrreducibleCountsMatchTheory) {
  // Number of irreducible polynomials over GF(2) of degree n (OEIS A001037).
  const int want[] = {0, 2, 1, 2, 3, 6, 9, 18, 30, 56, 99, 186, 335};
  for (int n = 1; n <= 12; ++n) {
    int count = 0;
    for (uint64_t p = uint64_t{1} << n; p < uint64_t{2} << n; ++p) {
      const bool irreducible = is_irreducible(p);
      count += irreducible;
      if (n <= 10) {
        EXPECT_EQ(irreducible, irreducible_by_trial_division(p)) << p;
      }
    }
    EXPECT_EQ(count, want[n]) << "degree " << n;
  }
}

class ScriptedRandom : public crypto::RandomSource {
 public:
  explicit ScriptedRandom(std::deque<uint64_t> values) : values_(std::move(values)) {}
  void fill(base::MutableByteSpan out) override {
    ASSERT_EQ(out.size(), 8u);
    ASSERT_FALSE(values_.empty());
    base::store_le64(out.data(), values_.front());
    values_.pop_front();
  }
  size_t left() const { return values_.size(); }

 private:
  std::deque<uint64_t> values_;
};

TEST(Polynomial, RandomPolynomialFollowsRestic) {
  // Candidates that are reducible after masking (x^53+1 twice) are skipped; kTestPol with junk
  // in bits 54..63 and bit 0 cleared comes back as kTestPol.
  ScriptedRandom random(
      {uint64_t{1} << 53, 0, (kTestPol & ~uint64_t{1}) | 0xffc0000000000000, 0x1234});
  EXPECT_EQ(random_polynomial(random), kTestPol);
  EXPECT_EQ(random.left(), 1u);
}

TEST(Polynomial, RandomPolynomialsAreValid) {
  std::mt19937_64 rng(1);
  class MtRandom : public crypto::RandomSource {
   public:
    explicit MtRandom(std::mt19937_64& rng) : rng_(rng) {}
    void fill(base::MutableByteSpan out) override {
      for (auto& b : out) b = uint8_t(rng_());
    }

   private:
    std::mt19937_64& rng_;
  };
  MtRandom random(rng);
  for (int i = 0; i < 5; ++i) {
    const uint64_t pol = random_polynomial(random);
    EXPECT_EQ(degree(pol), 53);
    EXPECT_TRUE(is_irreducible(pol));
    EXPECT_EQ(pol & 1, 1u);
    auto parsed = parse_polynomial(format_polynomial(pol));
    ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
    EXPECT_EQ(*parsed, pol);
  }
  const uint64_t pol = random_polynomial(*crypto::system_random());
  EXPECT_EQ(degree(pol), 53);
  EXPECT_TRUE(is_irreducible(pol));
}

TEST(Polynomial, ParseAndFormat) {
  EXPECT_EQ(format_polynomial(kTestPol), "3da3358b4dc173");
  EXPECT_EQ(format_polynomial(0), "0");
  EXPECT_EQ(format_polynomial(0xabc), "abc");
  for (std::string_view text : {"3da3358b4dc173", "3DA3358B4DC173", "003da3358b4dc173"}) {
    auto pol = parse_polynomial(text);
    ASSERT_TRUE(pol.ok()) << text << ": " << pol.status().to_string();
    EXPECT_EQ(*pol, kTestPol);
  }
}

TEST(Polynomial, ParseRejectsGarbage) {
  struct Case {
    std::string_view text;
    std::string_view message_part;
  };
  const Case cases[] = {
      {"", "empty"},
      {"0x3da3358b4dc173", "not a hexadecimal"},
      {"3da3358b4dc17g", "not a hexadecimal"},
      {" 3da3358b4dc173", "not a hexadecimal"},
      {"3da3358b4dc173\n", "not a hexadecimal"},
      {"-3da3358b4dc173", "not a hexadecimal"},
      {"\"3da3358b4dc173\"", "not a hexadecimal"},
      {"3da3358b4dc172", "reducible"},
      {"20000000000001", "reducible"},
      {"0", "degree is -1"},
      {"3", "degree is 1"},
      {"7da3358b4dc173", "degree is 54"},
      {"1da3358b4dc173", "degree is 52"},
      {"ffffffffffffffff", "degree is 63"},
      {"10000000000000000", "64 bits"},
      {"00000000000000003da3358b4dc173x", "not a hexadecimal"},
  };
  for (const Case& c : cases) {
    auto pol = parse_polynomial(c.text);
    ASSERT_FALSE(pol.ok()) << c.text;
    EXPECT_EQ(pol.status().code(), base::Code::kInvalidArgument);
    EXPECT_NE(pol.status().message().find(c.message_part), std::string::npos)
        << c.text << ": " << pol.status().message();
    EXPECT_NE(pol.status().message().find("chunker polynomial"), std::string::npos);
  }
  // Random junk: never crashes, and whatever is accepted is a usable polynomial.
  std::mt19937_64 rng(3);
  std::string alphabet = "0123456789abcdefABCDEFxX -+\"\ng";
  alphabet.push_back('\0');
  for (int i = 0; i < 20000; ++i) {
    std::string text(rng() % 20, ' ');
    for (char& ch : text) ch = alphabet[rng() % alphabet.size()];
    auto pol = parse_polynomial(text);
    if (pol.ok()) {
      EXPECT_EQ(degree(*pol), 53);
      EXPECT_TRUE(is_irreducible(*pol));
    }
  }
}

// ---- Tables ----

TEST(Tables, MatchTheirDefinitions) {
  auto tables = Tables::get(kTestPol);
  EXPECT_EQ(tables->polynomial(), kTestPol);
  // out[b] = b * x^504 mod P, out_shifted[b] = b * x^512 mod P, computed independently by
  // multiplying the residue by x one bit at a time.
  for (int b = 0; b < 256; ++b) {
    uint64_t r = uint64_t(b);
    for (int i = 0; i < 504; ++i) {
      r <<= 1;
      if (r >> 53) r ^= kTestPol;
    }
    EXPECT_EQ(tables->out()[b], r) << b;
    for (int i = 0; i < 8; ++i) {
      r <<= 1;
      if (r >> 53) r ^= kTestPol;
    }
    EXPECT_EQ(tables->out_shifted()[b], r) << b;
    EXPECT_EQ(tables->mod()[b] >> 53, uint64_t(b));
  }
  EXPECT_EQ(tables->out()[0], 0u);
  EXPECT_EQ(tables->mod()[0], 0u);
}

TEST(Tables, CachedAndThreadSafe) {
  auto a = Tables::get(kTestPol);
  EXPECT_EQ(a.get(), Tables::get(kTestPol).get());
  std::vector<std::thread> threads;
  std::vector<const Tables*> seen(8);
  const uint64_t other = 0x3f859281e28a35;
  for (size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&, i] { seen[i] = Tables::get(i % 2 ? kTestPol : other).get(); });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i], seen[i % 2]);
  }
  EXPECT_EQ(seen[1], a.get());
  EXPECT_NE(seen[0], seen[1]);
}

// ---- End to end against the real restic ----

struct CommandResult {
  int status;
  std::string out;
};

CommandResult run(const std::string& command) {
  CommandResult result{-1, ""};
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.out.append(buf.data(), n);
  result.status = pclose(pipe);
  return result;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kura-chunker-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ChunkerRestic, SameBlobsAsRestic) {
  if (access("/usr/bin/restic", X_OK) != 0) GTEST_SKIP() << "/usr/bin/restic not installed";
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  // Random data with a zero run (forcing min-size cuts) and a repeated 64-byte pattern (a
  // max-size cut) in the middle.
  base::Bytes file = random_bytes(20 * 1024 * 1024 + 12345, 2024);
  std::fill(file.begin() + 3000000, file.begin() + 4200000, 0);
  for (size_t i = 6000000; i < 6000000 + 9 * 1024 * 1024; ++i) file[i] = uint8_t(i * 13 % 64);
  const std::string file_path = dir.path() + "/data.bin";
  {
    std::ofstream f(file_path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(file.data()), std::streamsize(file.size()));
    ASSERT_TRUE(f.good());
  }
  const std::string restic = "cd '" + dir.path() +
                             "' && TZ=UTC RESTIC_PASSWORD=pw /usr/bin/restic --no-cache -q -r repo ";
  ASSERT_EQ(run(restic + "init >/dev/null 2>&1").status, 0);
  ASSERT_EQ(run(restic + "backup data.bin >/dev/null 2>&1").status, 0);

  const CommandResult config = run(restic + "cat config");
  ASSERT_EQ(config.status, 0);
  const auto config_json = nlohmann::json::parse(config.out, nullptr, false);
  ASSERT_FALSE(config_json.is_discarded()) << config.out;
  auto pol = parse_polynomial(config_json.at("chunker_polynomial").get<std::string>());
  ASSERT_TRUE(pol.ok()) << pol.status().to_string();

  const CommandResult snapshots = run(restic + "snapshots --json");
  ASSERT_EQ(snapshots.status, 0);
  const auto snapshots_json = nlohmann::json::parse(snapshots.out, nullptr, false);
  ASSERT_TRUE(snapshots_json.is_array() && snapshots_json.size() == 1) << snapshots.out;
  const std::string tree_id = snapshots_json[0].at("tree").get<std::string>();

  const CommandResult tree = run(restic + "cat blob " + tree_id);
  ASSERT_EQ(tree.status, 0);
  const auto tree_json = nlohmann::json::parse(tree.out, nullptr, false);
  ASSERT_FALSE(tree_json.is_discarded()) << tree.out;
  std::vector<std::string> restic_ids;
  for (const auto& node : tree_json.at("nodes")) {
    if (node.at("name") == "data.bin") {
      for (const auto& id : node.at("content")) restic_ids.push_back(id.get<std::string>());
    }
  }

  const Chunks chunks = chunk_all(file, Tables::get(*pol));
  std::vector<std::string> ids;
  for (const auto& c : chunks) ids.push_back(chunk_id(file, c));
  EXPECT_GE(ids.size(), 8u);
  EXPECT_EQ(ids, restic_ids) << "polynomial " << format_polynomial(*pol);
}

}  // namespace
}  // namespace kura::chunker
