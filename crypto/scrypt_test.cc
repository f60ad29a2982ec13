#include "crypto/scrypt.h"

#include <gtest/gtest.h>

namespace kura::crypto {
namespace {

std::string derive_hex(std::string_view password, std::string_view salt, uint64_t n, uint32_t r,
                       uint32_t p) {
  auto out = scrypt64(password, base::as_bytes(salt), n, r, p);
  if (!out.ok()) return out.status().to_string();
  return base::hex_encode(*out);
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

TEST(Scrypt, RejectsBadParameters) {
  for (uint64_t n : {0, 1, 3, 1000, 1025}) {
    auto r = scrypt64("pw", base::as_bytes("salt"), n, 8, 1);
    EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument) << n;
  }
  EXPECT_EQ(scrypt64("pw", {}, 1024, 0, 1).status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(scrypt64("pw", {}, 1024, 8, 0).status().code(), base::Code::kInvalidArgument);
  // N must be below 2^(128·r/8): r = 1 allows N < 2^16.
  EXPECT_EQ(scrypt64("pw", {}, 1 << 16, 1, 1).status().code(), base::Code::kInvalidArgument);
}

TEST(Scrypt, RefusesTooMuchMemoryWithoutAllocating) {
  auto r = scrypt64("pw", {}, uint64_t{1} << 21, 8, 1);
  EXPECT_EQ(r.status().code(), base::Code::kResourceExhausted);
  EXPECT_NE(r.status().message().find("N=2097152 r=8 p=1"), std::string::npos);
  EXPECT_EQ(scrypt64("pw", {}, 1024, 0xffffffff, 1).status().code(),
            base::Code::kResourceExhausted);
  EXPECT_EQ(scrypt64("pw", {}, uint64_t{1} << 63, 8, 1).status().code(),
            base::Code::kResourceExhausted);
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
