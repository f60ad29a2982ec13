#include "crypto/scrypt.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <climits>
#include <string>
#include <vector>

#include "crypto/keyfile.h"
#include "crypto/openssl_util.h"
#include "crypto/test_fixture.h"

namespace kura::crypto {
namespace {

std::string derive_hex(std::string_view password, std::string_view salt, uint64_t n, uint32_t r,
                       uint32_t p) {
  auto out = scrypt64(password, base::as_bytes(salt), n, r, p);
  if (!out.ok()) return out.status().to_string();
  return base::hex_encode(*out);
}

// The reference: OpenSSL's own scrypt, which scrypt64() used before it computed ROMix itself.
std::string openssl_hex(std::string_view password, base::ByteSpan salt, uint64_t n, uint32_t r,
                        uint32_t p) {
  internal::KdfCtxPtr ctx(EVP_KDF_CTX_new(internal::scrypt_kdf()));
  uint64_t maxmem = uint64_t{1} << 31;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, const_cast<char*>(password.data()),
                                        password.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end(),
  };
  std::array<uint8_t, 64> out;
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    ERR_clear_error();
    return "OpenSSL refused";
  }
  return base::hex_encode(out);
}

std::string hex_of(const base::StatusOr<std::array<uint8_t, 64>>& out) {
  return out.ok() ? base::hex_encode(*out) : out.status().to_string();
}

internal::ScryptLimits limits(uint64_t memory, uint32_t threads, uint32_t lanes_per_thread) {
  internal::ScryptLimits l;
  l.memory = memory;
  l.threads = threads;
  l.lanes_per_thread = lanes_per_thread;
  return l;
}

// Memory for B plus `lanes` lanes at once, exactly.
uint64_t memory_for(uint64_t n, uint32_t r, uint32_t p, uint64_t lanes) {
  return 128 * uint64_t{r} * p + lanes * 128 * uint64_t{r} * (n + 2);
}

TEST(Scrypt, Rfc7914Vectors) {
  EXPECT_EQ(derive_hex("", "", 16, 1, 1),
            "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
            "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
  EXPECT_EQ(derive_hex("password", "NaCl", 1024, 8, 16),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
  EXPECT_EQ(derive_hex("pleaseletmein", "SodiumChloride", 16384, 8, 1),
            "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
            "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887");
}

// 1 GiB of V, the largest set kScryptMaxMemory admits: about 3.5 s on a 2-core VM, over a third
// of it the kernel handing out that gigabyte. Keep it under 5 s or mark it DISABLED_.
TEST(Scrypt, Rfc7914LargestVector) {
  EXPECT_EQ(derive_hex("pleaseletmein", "SodiumChloride", 1048576, 8, 1),
            "2101cb9b6a511aaeaddbbe09cf70f881ec568d574a2ffd4dabe5ee9820adaa47"
            "8e56fd8f4ba5d09ffa1c6d927c40f4c337304049e8a952fbcbf45c6fa77a41a4");
}

TEST(Scrypt, MatchesOpenSslAcrossParameters) {
  struct Case {
    uint64_t n;
    uint32_t r, p;
    size_t password_size, salt_size;
  };
  const Case cases[] = {
      {2, 1, 1, 0, 0},      {2, 1, 7, 1, 1},      {2, 9, 2, 200, 3},      {4, 2, 3, 8, 5},
      {4, 1, 1, 200, 0},    {8, 3, 4, 0, 7},      {16, 1, 1, 0, 0},       {16, 5, 5, 13, 9},
      {32, 2, 6, 200, 11},  {32, 7, 1, 1, 13},    {64, 4, 2, 8, 15},      {64, 9, 7, 0, 17},
      {128, 1, 3, 200, 19}, {128, 6, 5, 33, 21},  {256, 8, 5, 8, 64},     {256, 3, 7, 0, 23},
      {512, 2, 2, 200, 25}, {512, 9, 3, 5, 1},    {1024, 1, 7, 8, 27},    {1024, 8, 1, 200, 0},
      {1024, 5, 4, 0, 29},  {2048, 4, 6, 1, 31},  {2048, 8, 2, 8, 33},    {4096, 1, 1, 200, 35},
      {4096, 7, 3, 0, 37},  {8192, 2, 5, 13, 39}, {8192, 8, 2, 8, 41},    {16384, 1, 7, 200, 43},
      {16384, 3, 2, 0, 45}, {16384, 8, 3, 8, 3},  {16384, 9, 1, 200, 63},
  };
  // Every way the lanes can be spread: threads and lanes computed at once per thread.
  const internal::ScryptLimits spreads[] = {
      limits(kScryptMaxMemory, 1, 1), limits(kScryptMaxMemory, 1, 2),
      limits(kScryptMaxMemory, 1, 3), limits(kScryptMaxMemory, 2, 2),
      limits(kScryptMaxMemory, 3, 3), limits(kScryptMaxMemory, 4, 1),
      limits(kScryptMaxMemory, 1, 4), limits(kScryptMaxMemory, 2, 4),
  };
  size_t i = 0;
  for (const Case& c : cases) {
    std::string password(c.password_size, '\0');
    base::Bytes salt(c.salt_size);
    for (size_t k = 0; k < password.size(); ++k) password[k] = char(k * 31 + i);
    for (size_t k = 0; k < salt.size(); ++k) salt[k] = uint8_t(k * 7 + 3 * i);
    SCOPED_TRACE("N=" + std::to_string(c.n) + " r=" + std::to_string(c.r) +
                 " p=" + std::to_string(c.p) + " password " + std::to_string(c.password_size) +
                 " B salt " + std::to_string(c.salt_size) + " B");
    const std::string want = openssl_hex(password, salt, c.n, c.r, c.p);
    ASSERT_EQ(want.size(), 128u) << want;
    EXPECT_EQ(hex_of(scrypt64(password, salt, c.n, c.r, c.p)), want);
    // The costly sets are tried with one spread only, each with another.
    const internal::ScryptLimits& spread = spreads[i++ % std::size(spreads)];
    EXPECT_EQ(hex_of(internal::scrypt64_with_limits(password, salt, c.n, c.r, c.p, spread)), want)
        << spread.threads << " threads, " << spread.lanes_per_thread << " lanes per thread";
    if (c.n * c.r * c.p <= 4096) {
      for (const auto& l : spreads) {
        EXPECT_EQ(hex_of(internal::scrypt64_with_limits(password, salt, c.n, c.r, c.p, l)), want)
            << l.threads << " threads, " << l.lanes_per_thread << " lanes per thread";
      }
    }
  }
}

TEST(Scrypt, OpensResticKeyFixture) {
  auto file = parse_key_file(base::as_bytes(testdata::kKeyFile));
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  ASSERT_EQ(file->p, 5u);  // several lanes, so threads take part
  EXPECT_EQ(hex_of(scrypt64(testdata::kPassword, file->salt, file->n, file->r, file->p)),
            openssl_hex(testdata::kPassword, file->salt, file->n, file->r, file->p));
  auto key = open_key_file(*file, testdata::kPassword);
  ASSERT_TRUE(key.ok()) << key.status().to_string();
  EXPECT_EQ(*key, parse_master_key_json(base::as_bytes(testdata::kMasterKeyJson)).value());
}

TEST(Scrypt, RejectsBadParameters) {
  for (uint64_t n : {0, 1, 3, 1000, 1025}) {
    auto r = scrypt64("pw", base::as_bytes("salt"), n, 8, 1);
    EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument) << n;
  }
  EXPECT_EQ(scrypt64("pw", {}, 1024, 0, 1).status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(scrypt64("pw", {}, 1024, 8, 0).status().code(), base::Code::kInvalidArgument);
  // N must be below 2^(128·r/8): r = 1 allows N < 2^16.
  EXPECT_EQ(scrypt64("pw", {}, 1 << 16, 1, 1).status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(scrypt64("pw", {}, 1 << 15, 1, 1).status().code(), base::Code::kOk);
}

TEST(Scrypt, RefusesTooMuchMemoryWithoutAllocating) {
  auto r = scrypt64("pw", {}, uint64_t{1} << 21, 8, 1);
  EXPECT_EQ(r.status().code(), base::Code::kResourceExhausted);
  EXPECT_EQ(r.status().message(), "scrypt: parameters need more than 1040 MiB (N=2097152 r=8 p=1)");
  EXPECT_EQ(scrypt64("pw", {}, 1024, 0xffffffff, 1).status().code(),
            base::Code::kResourceExhausted);
  EXPECT_EQ(scrypt64("pw", {}, uint64_t{1} << 63, 8, 1).status().code(),
            base::Code::kResourceExhausted);
  // Out of scrypt's range too, but memory is checked first, as before.
  EXPECT_EQ(scrypt64("pw", {}, uint64_t{1} << 40, 1, 1).status().code(),
            base::Code::kResourceExhausted);
  EXPECT_EQ(scrypt64("pw", {}, 2, 1 << 15, 1 << 15).status().code(),
            base::Code::kResourceExhausted);
}

// Sets outside scrypt's range are refused even when memory would allow them.
TEST(Scrypt, RangeRulesHoldWithoutMemoryLimit) {
  const auto unlimited = limits(UINT64_MAX, 1, 1);
  auto code = [&](uint64_t n, uint32_t r, uint32_t p) {
    return internal::plan_scrypt(n, r, p, unlimited).status().code();
  };
  EXPECT_EQ(code(uint64_t{1} << 16, 1, 1), base::Code::kInvalidArgument);  // N >= 2^(16·r)
  EXPECT_EQ(code(uint64_t{1} << 32, 2, 1), base::Code::kInvalidArgument);
  EXPECT_EQ(code(uint64_t{1} << 48, 3, 1), base::Code::kInvalidArgument);
  EXPECT_EQ(code(uint64_t{1} << 47, 3, 1), base::Code::kOk);
  EXPECT_EQ(code(uint64_t{1} << 50, 4, 1), base::Code::kOk);           // any N below 2^64
  EXPECT_EQ(code(2, 1 << 15, 1 << 15), base::Code::kInvalidArgument);  // r·p = 2^30
  EXPECT_EQ(code(2, 1, (1 << 30) - 1), base::Code::kInvalidArgument);  // 128·r·p > INT_MAX
  EXPECT_EQ(code(2, 1, (INT_MAX / 128)), base::Code::kOk);
  EXPECT_EQ(code(2, 0xffffffff, 1), base::Code::kInvalidArgument);
  EXPECT_EQ(internal::plan_scrypt(1 << 16, 1, 1, unlimited).status().message(),
            "scrypt: N must be below 2^(16·r) (N=65536 r=1 p=1)");
  EXPECT_EQ(internal::plan_scrypt(2, 1 << 15, 1 << 15, unlimited).status().message(),
            "scrypt: r·p is out of range (N=2 r=32768 p=32768)");
}

TEST(Scrypt, PlanUsesThreadsAndLanesAsAskedAndUseful) {
  auto plan = [](uint32_t p, uint32_t threads, uint32_t lanes) {
    auto pl = internal::plan_scrypt(1024, 8, p, limits(kScryptMaxMemory, threads, lanes));
    EXPECT_TRUE(pl.ok()) << pl.status().to_string();
    EXPECT_EQ(pl->v_stride, 1u);  // memory to spare: all of V
    return std::pair(pl->threads, pl->lanes_per_thread);
  };
  EXPECT_EQ(plan(5, 2, 3), std::pair(2u, 3u));
  EXPECT_EQ(plan(5, 2, 1), std::pair(2u, 1u));
  EXPECT_EQ(plan(5, 8, 3), std::pair(5u, 1u));  // no more threads than lanes
  EXPECT_EQ(plan(4, 2, 3), std::pair(2u, 2u));  // no more lanes at once than a thread has
  EXPECT_EQ(plan(1, 0, 0), std::pair(1u, 1u));  // 0 counts as 1
  EXPECT_EQ(plan(9, 1, 99), std::pair(1u, internal::kScryptMaxLanesPerThread));
}

// What every command pays to open a repository made by restic: all five lanes at once on two
// cores, within kScryptScratchTarget (40 MiB of V), where one lane with all of V takes 32 MiB.
TEST(Scrypt, PlanForResticKeysStaysWithinScratchTarget) {
  internal::ScryptLimits l;
  l.scratch = kScryptScratchTarget;
  l.threads = 2;
  auto plan = internal::plan_scrypt(32768, 8, 5, l);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  EXPECT_EQ(plan->threads, 2u);
  EXPECT_EQ(plan->lanes_per_thread, 3u);
  EXPECT_EQ(plan->v_stride, 4u);
  EXPECT_LE(plan->scratch_bytes, kScryptScratchTarget);
  EXPECT_GE(plan->scratch_bytes, uint64_t{40} << 20);
  // One core: the lanes in two groups.
  l.threads = 1;
  plan = internal::plan_scrypt(32768, 8, 5, l);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  EXPECT_EQ(plan->threads, 1u);
  EXPECT_LE(plan->scratch_bytes, kScryptScratchTarget);
  EXPECT_EQ(plan->v_stride, 4u);
  // Larger N than the target allows: half of V, one lane per thread, as before.
  l.threads = 2;
  plan = internal::plan_scrypt(uint64_t{1} << 20, 8, 1, l);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  EXPECT_EQ(plan->threads, 1u);
  EXPECT_EQ(plan->lanes_per_thread, 1u);
  EXPECT_EQ(plan->v_stride, 2u);
}

std::string isa_name(internal::ScryptIsa isa) {
  switch (isa) {
    case internal::ScryptIsa::kAuto:
      return "Auto";
    case internal::ScryptIsa::kPortable:
      return "Portable";
    case internal::ScryptIsa::kSse2:
      return "Sse2";
    case internal::ScryptIsa::kAvx2:
      return "Avx2";
    case internal::ScryptIsa::kAvx512:
      return "Avx512";
  }
  return "?";
}

// Each ISA, each number of lanes at once and each V stride, forced through ScryptLimits.
class ScryptPath : public testing::TestWithParam<internal::ScryptIsa> {};

TEST_P(ScryptPath, MatchesRfcAndOpenSslForEveryGroupAndStride) {
  const internal::ScryptIsa isa = GetParam();
  if (!internal::scrypt_isa_supported(isa)) {
    GTEST_SKIP() << "this CPU cannot run the " << isa_name(isa) << " path";
  }
  struct Case {
    std::string password, salt;
    uint64_t n;
    uint32_t r, p;
    std::string want;  // empty: OpenSSL's
  };
  std::vector<Case> cases = {
      {"", "", 16, 1, 1,
       "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
       "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"},
      {"password", "NaCl", 1024, 8, 16,
       "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
       "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"},
  };
  // Random sets, p from 1 to 9 so that each group size meets full and partial groups.
  uint64_t seed = 0x9e3779b97f4a7c15u + uint64_t(isa);
  auto next = [&seed](uint64_t bound) {
    seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
    return seed % bound;
  };
  for (int i = 0; i < 6; ++i) {
    Case c;
    c.n = uint64_t{2} << next(9);  // 2 to 512
    c.r = uint32_t(1 + next(9));
    c.p = uint32_t(1 + next(9));
    c.password.resize(next(80));
    c.salt.resize(next(40));
    for (char& ch : c.password) ch = char(next(256));
    for (char& ch : c.salt) ch = char(next(256));
    cases.push_back(c);
  }
  for (uint32_t lanes = 1; lanes <= internal::kScryptMaxLanesPerThread; ++lanes) {
    for (uint32_t stride : {1u, 2u, 3u, 4u, 8u}) {
      internal::ScryptLimits l;
      l.lanes_per_thread = lanes;
      l.v_stride = stride;
      l.isa = isa;
      l.threads = 1;
      for (const Case& c : cases) {
        SCOPED_TRACE(isa_name(isa) + ", " + std::to_string(lanes) + " lanes at once, stride " +
                     std::to_string(stride) + ", N=" + std::to_string(c.n) +
                     " r=" + std::to_string(c.r) + " p=" + std::to_string(c.p));
        auto plan = internal::plan_scrypt(c.n, c.r, c.p, l);
        ASSERT_TRUE(plan.ok()) << plan.status().to_string();
        EXPECT_EQ(plan->isa, isa);
        EXPECT_EQ(plan->v_stride, stride);
        EXPECT_EQ(plan->lanes_per_thread, std::min(lanes, c.p));
        const std::string want =
            c.want.empty() ? openssl_hex(c.password, base::as_bytes(c.salt), c.n, c.r, c.p)
                           : c.want;
        EXPECT_EQ(hex_of(internal::scrypt64_with_limits(c.password, base::as_bytes(c.salt), c.n,
                                                        c.r, c.p, l)),
                  want);
      }
    }
  }
}

// restic's parameters through each path, with the plan scrypt64() picks for them.
TEST_P(ScryptPath, MatchesOpenSslWithResticParameters) {
  const internal::ScryptIsa isa = GetParam();
  if (!internal::scrypt_isa_supported(isa)) {
    GTEST_SKIP() << "this CPU cannot run the " << isa_name(isa) << " path";
  }
  const base::Bytes salt(64, 0x5a);
  internal::ScryptLimits l;
  l.scratch = kScryptScratchTarget;
  l.threads = 2;
  l.isa = isa;
  static const std::string want = openssl_hex("password", salt, 32768, 8, 5);  // once: 0.5 s
  EXPECT_EQ(hex_of(internal::scrypt64_with_limits("password", salt, 32768, 8, 5, l)), want);
}

INSTANTIATE_TEST_SUITE_P(Isa, ScryptPath,
                         testing::Values(internal::ScryptIsa::kPortable, internal::ScryptIsa::kSse2,
                                         internal::ScryptIsa::kAvx2, internal::ScryptIsa::kAvx512),
                         [](const auto& info) { return isa_name(info.param); });

TEST(Scrypt, MemoryLimitRunsFewerLanesAtOnce) {
  const uint64_t n = 1024;
  const uint32_t r = 8, p = 4;
  const uint64_t b_size = 128 * uint64_t{r} * p;
  const std::string want = openssl_hex("pw", base::as_bytes("salt"), n, r, p);
  struct Case {
    uint64_t lanes_that_fit;             // with all of V, as OpenSSL counts
    uint32_t threads, lanes_per_thread;  // asked for
    uint32_t want_threads;
  };
  const Case cases[] = {
      {4, 4, 1, 4}, {3, 4, 1, 3}, {2, 4, 1, 2}, {1, 4, 1, 1}, {3, 1, 3, 1},
      {2, 1, 3, 1}, {1, 1, 3, 1}, {3, 2, 3, 2}, {1, 1, 4, 1}, {2, 2, 4, 2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.lanes_that_fit) + " lanes fit, " + std::to_string(c.threads) +
                 " threads and " + std::to_string(c.lanes_per_thread) + " lanes per thread asked");
    for (uint64_t slack : {0, 127}) {
      const auto l =
          limits(memory_for(n, r, p, c.lanes_that_fit) + slack, c.threads, c.lanes_per_thread);
      auto plan = internal::plan_scrypt(n, r, p, l);
      ASSERT_TRUE(plan.ok()) << plan.status().to_string();
      EXPECT_EQ(plan->threads, c.want_threads);
      EXPECT_LE(plan->lanes_per_thread, c.lanes_per_thread);
      EXPECT_LE(plan->scratch_bytes + b_size, l.memory);
      EXPECT_EQ(hex_of(internal::scrypt64_with_limits("pw", base::as_bytes("salt"), n, r, p, l)),
                want);
    }
  }
  // Room for one lane with all of V runs all four lanes at once with an eighth of it each.
  auto plan = internal::plan_scrypt(n, r, p, limits(memory_for(n, r, p, 1), 1, 4));
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  EXPECT_EQ(plan->lanes_per_thread, 4u);
  EXPECT_EQ(plan->v_stride, 8u);
  // One byte short of a single lane: refused, as before.
  auto refused = internal::scrypt64_with_limits("pw", base::as_bytes("salt"), n, r, p,
                                                limits(memory_for(n, r, p, 1) - 1, 4, 3));
  EXPECT_EQ(refused.status().code(), base::Code::kResourceExhausted);
  EXPECT_EQ(refused.status().message(),
            "scrypt: parameters need more than 1054719 bytes (N=1024 r=8 p=4)");
}

TEST(Scrypt, KeyFromKdfSplitsLikeRestic) {
  std::array<uint8_t, 64> d;
  for (size_t i = 0; i < d.size(); ++i) d[i] = uint8_t(i);
  Key k = key_from_kdf(d);
  EXPECT_EQ(k.encrypt[0], 0);
  EXPECT_EQ(k.encrypt[31], 31);
  EXPECT_EQ(k.mac_k[0], 32);
  EXPECT_EQ(k.mac_k[15], 47);
  EXPECT_EQ(k.mac_r[0], 48);
  EXPECT_EQ(k.mac_r[15], 63);
}

}  // namespace
}  // namespace kura::crypto
