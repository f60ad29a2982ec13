#include "crypto/crypto.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <thread>

#include "crypto/keyfile.h"
#include "crypto/test_fixture.h"

namespace kura::crypto {
namespace {

constexpr std::string_view kVerifyFailed =
    "ciphertext verification failed (wrong key or corrupted data)";

// Hands out queued byte strings, then zeros: lets a test choose the IV.
class ScriptedRandom : public RandomSource {
 public:
  void push(base::Bytes b) { queue_.push_back(std::move(b)); }
  void fill(base::MutableByteSpan out) override {
    std::fill(out.begin(), out.end(), 0);
    if (queue_.empty()) return;
    std::copy_n(queue_.front().begin(), std::min(out.size(), queue_.front().size()), out.begin());
    queue_.pop_front();
  }

 private:
  std::deque<base::Bytes> queue_;
};

Key restic_master_key() {
  return parse_master_key_json(base::as_bytes(testdata::kMasterKeyJson)).value();
}

base::Bytes restic_config() { return base::hex_decode(testdata::kConfigHex).value(); }

base::Bytes pattern(size_t n) {
  base::Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(i * 131 + (i >> 8));
  return b;
}

TEST(Crypto, OpensResticConfig) {
  auto plain = open(restic_master_key(), restic_config());
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  EXPECT_EQ(base::as_chars(*plain), testdata::kConfigPlain);
}

TEST(Crypto, SealReproducesResticBytesForTheSameIv) {
  base::Bytes config = restic_config();
  ScriptedRandom iv;
  iv.push(base::Bytes(config.begin(), config.begin() + kIvSize));
  base::Bytes sealed = seal(restic_master_key(), base::as_bytes(testdata::kConfigPlain), iv);
  EXPECT_EQ(sealed, config);
}

TEST(Crypto, MacUsesClampedR) {
  // restic 0.14 stores r clamped, newer versions raw: both must give the same tag.
  Key raw = restic_master_key();
  for (int i : {3, 7, 11, 15}) raw.mac_r[i] |= 0xf0;
  for (int i : {4, 8, 12}) raw.mac_r[i] |= 0x03;
  ASSERT_NE(raw.mac_r, restic_master_key().mac_r);
  EXPECT_EQ(clamp_mac_r(raw.mac_r), restic_master_key().mac_r);
  EXPECT_TRUE(open(raw, restic_config()).ok());
}

TEST(Crypto, RoundTripManySizes) {
  auto random = seeded_random(1);
  Key key = random_key(*random);
  for (size_t n : {0, 1, 15, 16, 17, 31, 32, 33, 1000, 32767, 32768, 32769, 65536 * 3 + 5,
                   1 << 20}) {
    base::Bytes plain = pattern(n);
    base::Bytes sealed = seal(key, plain, *random);
    ASSERT_EQ(sealed.size(), n + kCiphertextOverhead);
    if (n >= 16) {
      EXPECT_NE(base::Bytes(sealed.begin() + kIvSize, sealed.begin() + kIvSize + 16),
                base::Bytes(plain.begin(), plain.begin() + 16));
    }
    auto opened = open(key, sealed);
    ASSERT_TRUE(opened.ok()) << n << ": " << opened.status().to_string();
    EXPECT_EQ(*opened, plain) << n;
  }
}

TEST(Crypto, FreshIvEachTime) {
  Key key = random_key(*system_random());
  base::Bytes a = seal(key, base::as_bytes("same"), *system_random());
  base::Bytes b = seal(key, base::as_bytes("same"), *system_random());
  EXPECT_NE(a, b);
}

TEST(Crypto, NeverUsesAllZeroIv) {
  ScriptedRandom random;
  random.push(base::Bytes(16, 0));
  random.push(base::Bytes(16, 0));
  base::Bytes iv(16, 0);
  iv[9] = 1;
  random.push(iv);
  Key key = random_key(*seeded_random(3));
  base::Bytes sealed = seal(key, base::as_bytes("x"), random);
  EXPECT_EQ(base::Bytes(sealed.begin(), sealed.begin() + 16), iv);
  EXPECT_TRUE(open(key, sealed).ok());
}

TEST(Crypto, InPlace) {
  auto random = seeded_random(4);
  Key key = random_key(*random);
  base::Bytes plain = pattern(100000);
  base::Bytes buf(plain.size() + kCiphertextOverhead);
  std::copy(plain.begin(), plain.end(), buf.begin() + kIvSize);
  seal(key, base::ByteSpan(buf).subspan(kIvSize, plain.size()), buf, *random);
  base::Bytes sealed = buf;
  ASSERT_EQ(open(key, sealed).value(), plain);

  ASSERT_TRUE(open_into(key, buf, base::MutableByteSpan(buf).subspan(kIvSize, plain.size())).ok());
  EXPECT_TRUE(std::equal(plain.begin(), plain.end(), buf.begin() + kIvSize));
}

TEST(Crypto, EveryFlippedByteIsDetected) {
  auto random = seeded_random(5);
  Key key = random_key(*random);
  base::Bytes sealed = seal(key, base::as_bytes("a short secret message"), *random);
  for (size_t i = 0; i < sealed.size(); ++i) {
    for (uint8_t bit : {0x01, 0x80}) {
      base::Bytes bad = sealed;
      bad[i] ^= bit;
      auto r = open(key, bad);
      ASSERT_FALSE(r.ok()) << "byte " << i;
      EXPECT_EQ(r.status().code(), base::Code::kDataLoss);
      EXPECT_EQ(r.status().message(), kVerifyFailed);
    }
  }
}

TEST(Crypto, TamperedResticConfigIsDetected) {
  base::Bytes config = restic_config();
  for (size_t i : {size_t{0}, size_t{15}, size_t{16}, config.size() / 2, config.size() - 17,
                   config.size() - 16, config.size() - 1}) {
    base::Bytes bad = config;
    bad[i] ^= 0x40;
    EXPECT_EQ(open(restic_master_key(), bad).status().code(), base::Code::kDataLoss) << i;
  }
}

TEST(Crypto, TruncatedOrExtendedIsDetected) {
  base::Bytes config = restic_config();
  for (size_t n = 0; n < config.size(); ++n) {
    auto r = open(restic_master_key(), base::ByteSpan(config).first(n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().code(), base::Code::kDataLoss);
  }
  config.push_back(0);
  EXPECT_FALSE(open(restic_master_key(), config).ok());
}

TEST(Crypto, WrongMacKeyIsDetected) {
  Key bad_k = restic_master_key();
  bad_k.mac_k[0] ^= 1;
  EXPECT_EQ(open(bad_k, restic_config()).status().code(), base::Code::kDataLoss);
  Key bad_r = restic_master_key();
  bad_r.mac_r[0] ^= 1;
  EXPECT_EQ(open(bad_r, restic_config()).status().code(), base::Code::kDataLoss);
}

TEST(Crypto, WrongEncryptionKeyDecryptsToGarbage) {
  // The MAC does not involve the encryption key (as in restic): it verifies, the text is wrong.
  Key bad = restic_master_key();
  bad.encrypt[0] ^= 1;
  auto r = open(bad, restic_config());
  ASSERT_TRUE(r.ok());
  EXPECT_NE(base::as_chars(*r), testdata::kConfigPlain);
}

TEST(Crypto, AlternatingKeysUseTheRightKey) {
  // Contexts cache the last key per thread; keys differing in one part must not be confused.
  Key a = random_key(*seeded_random(20));
  Key enc_differs = a, mac_k_differs = a;
  enc_differs.encrypt[31] ^= 1;
  mac_k_differs.mac_k[15] ^= 1;
  auto random = seeded_random(21);
  base::Bytes plain = pattern(100);
  for (int round = 0; round < 3; ++round) {
    base::Bytes sa = seal(a, plain, *random);
    base::Bytes se = seal(enc_differs, plain, *random);
    base::Bytes sm = seal(mac_k_differs, plain, *random);
    EXPECT_EQ(open(a, sa).value(), plain);
    EXPECT_NE(open(a, se).value(), plain);  // same MAC key: verifies, wrong keystream
    EXPECT_EQ(open(enc_differs, se).value(), plain);
    EXPECT_FALSE(open(a, sm).ok());
    EXPECT_EQ(open(mac_k_differs, sm).value(), plain);
    EXPECT_FALSE(open(mac_k_differs, sa).ok());
    EXPECT_EQ(base::as_chars(open(restic_master_key(), restic_config()).value()),
              testdata::kConfigPlain);
  }
}

TEST(Crypto, ConcurrentUse) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &failures] {
      auto random = seeded_random(100 + t);
      Key key = random_key(*random);
      for (int i = 0; i < 200; ++i) {
        base::Bytes plain = pattern(size_t(i * 37 + t));
        auto opened = open(key, seal(key, plain, *random));
        if (!opened.ok() || *opened != plain) ++failures;
        if (open(restic_master_key(), restic_config()).value() !=
            base::to_bytes(testdata::kConfigPlain)) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(Crypto, GarbageNeverOpens) {
  auto random = seeded_random(6);
  Key key = random_key(*random);
  for (size_t n = 0; n < 200; ++n) {
    base::Bytes junk(n);
    random->fill(junk);
    EXPECT_EQ(open(key, junk).status().code(), base::Code::kDataLoss);
  }
}

TEST(Crypto, OpenIntoChecksSizeAndLeavesOutputAloneOnFailure) {
  base::Bytes config = restic_config();
  base::Bytes out(config.size() - kCiphertextOverhead + 1, 0xaa);
  EXPECT_EQ(open_into(restic_master_key(), config, out).code(), base::Code::kInvalidArgument);
  out.pop_back();
  config[20] ^= 1;
  EXPECT_EQ(open_into(restic_master_key(), config, out).code(), base::Code::kDataLoss);
  EXPECT_EQ(out, base::Bytes(out.size(), 0xaa));
  config[20] ^= 1;
  ASSERT_TRUE(open_into(restic_master_key(), config, out).ok());
  EXPECT_EQ(base::as_chars(out), testdata::kConfigPlain);
}

TEST(Crypto, KeyValidity) {
  Key k = random_key(*seeded_random(8));
  EXPECT_TRUE(k.valid());
  EXPECT_EQ(k.mac_r, clamp_mac_r(k.mac_r));
  EXPECT_FALSE(Key().valid());
  for (int part = 0; part < 3; ++part) {
    Key z = k;
    if (part == 0) z.encrypt.fill(0);
    if (part == 1) z.mac_k.fill(0);
    if (part == 2) z.mac_r.fill(0);
    EXPECT_FALSE(z.valid()) << part;
  }
  EXPECT_NE(random_key(*system_random()), random_key(*system_random()));
}

TEST(Crypto, CtEqual) {
  EXPECT_TRUE(ct_equal({}, {}));
  EXPECT_TRUE(ct_equal(base::as_bytes("abc"), base::as_bytes("abc")));
  EXPECT_FALSE(ct_equal(base::as_bytes("abc"), base::as_bytes("abd")));
  EXPECT_FALSE(ct_equal(base::as_bytes("abc"), base::as_bytes("ab")));
}

}  // namespace
}  // namespace kura::crypto
