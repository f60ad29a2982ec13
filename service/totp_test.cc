#include "service/totp.h"

#include <gtest/gtest.h>
#include <liboath/oath.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>

namespace kura::service {
namespace {

// RFC 6238 appendix B's SHA-1 key.
TotpSecret rfc_secret() {
  TotpSecret s;
  std::memcpy(s.key.data(), "12345678901234567890", 20);
  return s;
}

struct Vector {
  const char* name;
  int64_t time;
  const char* code;  // last 6 of the RFC's 8 digits
};

class RfcVectors : public ::testing::TestWithParam<Vector> {};

TEST_P(RfcVectors, CodeAndVerify) {
  const Vector& v = GetParam();
  EXPECT_EQ(totp_code(rfc_secret(), v.time), v.code);
  auto step = verify_totp(rfc_secret(), v.code, v.time, 0);
  ASSERT_TRUE(step.ok()) << step.status().to_string();
  EXPECT_EQ(*step, v.time / 30);
}

INSTANTIATE_TEST_SUITE_P(Sha1, RfcVectors,
                         ::testing::Values(Vector{"t59", 59, "287082"},
                                           Vector{"t1111111109", 1111111109, "081804"},
                                           Vector{"t1111111111", 1111111111, "050471"},
                                           Vector{"t1234567890", 1234567890, "005924"},
                                           Vector{"t2000000000", 2000000000, "279037"},
                                           Vector{"t20000000000", 20000000000, "353130"}),
                         [](const ::testing::TestParamInfo<Vector>& info) {
                           return std::string(info.param.name);
                         });

constexpr int64_t kNow = 1234567890;  // the first second of step 41152263

TEST(Totp, WindowIsOneStepEachWay) {
  TotpSecret s = rfc_secret();
  const int64_t step = kNow / 30;
  for (int d = -1; d <= 1; ++d) {
    auto r = verify_totp(s, totp_code(s, kNow + d * 30), kNow, 0);
    ASSERT_TRUE(r.ok()) << d;
    EXPECT_EQ(*r, step + d);
  }
  for (int d : {-2, 2}) {
    auto r = verify_totp(s, totp_code(s, kNow + d * 30), kNow, 0);
    EXPECT_EQ(r.status().code(), base::Code::kUnauthenticated) << d;
  }
}

TEST(Totp, CodeIsAcceptedOnce) {
  TotpSecret s = rfc_secret();
  std::string code = totp_code(s, kNow);
  auto first = verify_totp(s, code, kNow, 0);
  ASSERT_TRUE(first.ok());
  auto again = verify_totp(s, code, kNow + 10, *first);
  EXPECT_EQ(again.status().code(), base::Code::kUnauthenticated);
  EXPECT_NE(again.status().message().find("already used"), std::string::npos);
  // The next step's code still works, and after it the current one no longer does.
  auto next = verify_totp(s, totp_code(s, kNow + 30), kNow, *first);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, *first + 1);
  EXPECT_FALSE(verify_totp(s, code, kNow, *next).ok());
}

TEST(Totp, OlderStepThanLastAcceptedIsRefused) {
  TotpSecret s = rfc_secret();
  // The user signed in with the code of the next step (clock ahead); the previous step's code,
  // though inside the window, must not work any more.
  auto ahead = verify_totp(s, totp_code(s, kNow + 30), kNow, 0);
  ASSERT_TRUE(ahead.ok());
  EXPECT_FALSE(verify_totp(s, totp_code(s, kNow), kNow, *ahead).ok());
  EXPECT_FALSE(verify_totp(s, totp_code(s, kNow - 30), kNow, *ahead).ok());
}

TEST(Totp, WrongCodeIsUnauthenticated) {
  TotpSecret s = rfc_secret();
  std::string good = totp_code(s, kNow);
  std::string bad = good;
  bad[5] = bad[5] == '9' ? '0' : static_cast<char>(bad[5] + 1);
  auto r = verify_totp(s, bad, kNow, 0);
  EXPECT_EQ(r.status().code(), base::Code::kUnauthenticated);
  EXPECT_EQ(r.status().message(), "the code is not valid");
  // Another secret's codes do not work either.
  TotpSecret other;
  other.key.fill(0x42);
  for (int d = -1; d <= 1; ++d) ASSERT_NE(totp_code(other, kNow + d * 30), good);
  EXPECT_EQ(verify_totp(other, good, kNow, 0).status().code(), base::Code::kUnauthenticated);
}

TEST(Totp, SpacesAreStripped) {
  TotpSecret s = rfc_secret();
  EXPECT_TRUE(verify_totp(s, "005 924", kNow, 0).ok());
  EXPECT_TRUE(verify_totp(s, " 0 0 5 9 2 4 ", kNow, 0).ok());
}

class TotpGarbage : public ::testing::TestWithParam<std::pair<const char*, std::string>> {};

TEST_P(TotpGarbage, IsInvalidArgument) {
  auto r = verify_totp(rfc_secret(), GetParam().second, kNow, 0);
  EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "the code must be 6 digits");
}

INSTANTIATE_TEST_SUITE_P(
    Codes, TotpGarbage,
    ::testing::Values(std::pair<const char*, std::string>{"empty", ""},
                      std::pair<const char*, std::string>{"spaces", "      "},
                      std::pair<const char*, std::string>{"five", "00592"},
                      std::pair<const char*, std::string>{"seven", "0059240"},
                      std::pair<const char*, std::string>{"eight", "89005924"},
                      std::pair<const char*, std::string>{"letters", "abcdef"},
                      std::pair<const char*, std::string>{"mixed", "0059a4"},
                      std::pair<const char*, std::string>{"dash", "005-924"},
                      std::pair<const char*, std::string>{"tab", "005\t924"},
                      std::pair<const char*, std::string>{"sign", "+05924"},
                      std::pair<const char*, std::string>{"nul", std::string("005\0924", 7)},
                      std::pair<const char*, std::string>{"fullwidth", "００５９２４"},
                      std::pair<const char*, std::string>{"arabic", "\xd9\xa0\xd9\xa0\xd9\xa5"}),
    [](const auto& info) { return std::string(info.param.first); });

TEST(Totp, TimeOutOfRangeIsRefused) {
  EXPECT_EQ(verify_totp(rfc_secret(), "123456", -1, 0).status().code(),
            base::Code::kInvalidArgument);
  EXPECT_EQ(totp_code(rfc_secret(), -1), "");
  EXPECT_EQ(verify_totp(rfc_secret(), "123456", INT64_MAX, 0).status().code(),
            base::Code::kInvalidArgument);
  EXPECT_EQ(totp_code(rfc_secret(), INT64_MAX), "");
}

TEST(Totp, NewSecretsDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) seen.insert(base32_secret(new_totp_secret()));
  EXPECT_EQ(seen.size(), 50u);
}

// --- base32 --------------------------------------------------------------------------------

TEST(Base32, RfcKeyEncodesAsAppsExpect) {
  // "12345678901234567890" in base32, as every TOTP tutorial shows it.
  EXPECT_EQ(base32_secret(rfc_secret()), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST(Base32, MatchesLiboath) {
  ASSERT_EQ(oath_init(), OATH_OK);
  TotpSecret s = new_totp_secret();
  char* out = nullptr;
  size_t len = 0;
  ASSERT_EQ(
      oath_base32_encode(reinterpret_cast<const char*>(s.key.data()), s.key.size(), &out, &len),
      OATH_OK);
  std::string theirs(out, len);
  std::free(out);
  EXPECT_EQ(base32_secret(s), theirs);
}

TEST(Base32, RoundTrip) {
  for (int i = 0; i < 20; ++i) {
    TotpSecret s = new_totp_secret();
    std::string text = base32_secret(s);
    EXPECT_EQ(text.size(), 32u);
    auto back = parse_base32_secret(text);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->key, s.key);
  }
}

TEST(Base32, AcceptsLowercaseSpacesAndPadding) {
  auto s = parse_base32_secret("gezd gnbv gy3t qojq gezd gnbv gy3t qojq");
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->key, rfc_secret().key);
  EXPECT_TRUE(parse_base32_secret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ===").ok());
}

class Base32Garbage : public ::testing::TestWithParam<std::pair<const char*, std::string>> {};

TEST_P(Base32Garbage, IsInvalidArgument) {
  auto r = parse_base32_secret(GetParam().second);
  EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument);
  // The message never repeats what was typed (it may be a real secret with a typo).
  EXPECT_EQ(r.status().message().find("GEZD"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Secrets, Base32Garbage,
    ::testing::Values(
        std::pair<const char*, std::string>{"empty", ""},
        std::pair<const char*, std::string>{"short", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ"},
        std::pair<const char*, std::string>{"long", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQA"},
        std::pair<const char*, std::string>{"digit1", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1"},
        std::pair<const char*, std::string>{"digit8", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ8"},
        std::pair<const char*, std::string>{"padmiddle", "GEZDGNBVGY3TQOJQ=EZDGNBVGY3TQOJQ"},
        std::pair<const char*, std::string>{"dash", "GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY"},
        std::pair<const char*, std::string>{"nul",
                                            std::string("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ\0", 32)},
        std::pair<const char*, std::string>{"utf8", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQ\xc3\xa9"}),
    [](const auto& info) { return std::string(info.param.first); });

// --- otpauth URI ---------------------------------------------------------------------------

TEST(OtpauthUri, Format) {
  EXPECT_EQ(otpauth_uri(rfc_secret(), "kura", "alice@clinic-a"),
            "otpauth://totp/kura:alice%40clinic-a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            "&issuer=kura&algorithm=SHA1&digits=6&period=30");
}

TEST(OtpauthUri, PercentEncodesIssuerAndAccount) {
  std::string uri = otpauth_uri(rfc_secret(), "さくら内科 backup", "a:b&c=d?e/f");
  EXPECT_EQ(uri.substr(0, uri.find('?')),
            "otpauth://totp/%E3%81%95%E3%81%8F%E3%82%89%E5%86%85%E7%A7%91%20backup:"
            "a%3Ab%26c%3Dd%3Fe%2Ff");
  EXPECT_NE(uri.find("&issuer=%E3%81%95%E3%81%8F%E3%82%89%E5%86%85%E7%A7%91%20backup&"),
            std::string::npos);
}

// --- Recovery codes ------------------------------------------------------------------------

TEST(RecoveryCodes, ShapeAndStoredForm) {
  RecoveryCodes c = new_recovery_codes();
  ASSERT_EQ(c.shown.size(), 10u);
  ASSERT_EQ(c.stored.size(), 10u);
  std::set<std::string> distinct(c.shown.begin(), c.shown.end());
  EXPECT_EQ(distinct.size(), 10u);
  for (size_t i = 0; i < c.shown.size(); ++i) {
    const std::string& s = c.shown[i];
    ASSERT_EQ(s.size(), 19u) << s;
    for (size_t j = 0; j < s.size(); ++j) {
      if (j % 5 == 4) {
        EXPECT_EQ(s[j], '-');
      } else {
        EXPECT_NE(std::strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", s[j]), nullptr) << s;
      }
    }
    EXPECT_EQ(c.stored[i].size(), 64u);
    EXPECT_EQ(c.stored[i].find(s.substr(0, 4)), std::string::npos);  // not the code itself
    EXPECT_EQ(match_recovery_code(c.stored, s), i);
  }
  EXPECT_EQ(new_recovery_codes(3).shown.size(), 3u);
  EXPECT_TRUE(new_recovery_codes(0).stored.empty());
}

TEST(RecoveryCodes, TypedLeniently) {
  RecoveryCodes c = new_recovery_codes(2);
  std::string s = c.shown[1];
  std::string lower;
  for (char ch : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  EXPECT_EQ(match_recovery_code(c.stored, lower), 1u);
  std::string bare;
  for (char ch : s) {
    if (ch != '-') bare += ch;
  }
  EXPECT_EQ(match_recovery_code(c.stored, bare), 1u);
  EXPECT_EQ(match_recovery_code(c.stored, " " + s.substr(0, 9) + " " + s.substr(10) + " "), 1u);
}

TEST(RecoveryCodes, CrockfordLookalikes) {
  // Normalised "0111-0111-0111-0111"; typed with O, I and L in place of 0 and 1.
  std::vector<std::string> stored = {std::string(64, '0'), ""};
  RecoveryCodes c = new_recovery_codes(1);
  stored.push_back(c.stored[0]);
  std::string typed = c.shown[0];
  for (char& ch : typed) {
    if (ch == '0') ch = 'o';
    if (ch == '1') ch = 'l';
  }
  EXPECT_EQ(match_recovery_code(stored, typed), 2u);
  for (char& ch : typed) {
    if (ch == 'l') ch = 'I';
    if (ch == 'o') ch = 'O';
  }
  EXPECT_EQ(match_recovery_code(stored, typed), 2u);
}

TEST(RecoveryCodes, UsedCodeIsGoneOnceDeleted) {
  RecoveryCodes c = new_recovery_codes();
  auto i = match_recovery_code(c.stored, c.shown[4]);
  ASSERT_EQ(i, 4u);
  c.stored.erase(c.stored.begin() + static_cast<std::ptrdiff_t>(*i));
  EXPECT_EQ(match_recovery_code(c.stored, c.shown[4]), std::nullopt);
  EXPECT_EQ(match_recovery_code(c.stored, c.shown[5]), 4u);
}

TEST(RecoveryCodes, Garbage) {
  RecoveryCodes c = new_recovery_codes();
  std::string code = c.shown[0];
  std::string other = code;
  other[0] = other[0] == 'Z' ? 'Y' : 'Z';
  for (const std::string& typed :
       {std::string(), std::string("----"), code.substr(0, 18), code + "A", other,
        code.substr(0, 18) + "U",  // U is not Crockford
        code.substr(0, 18) + "!", code.substr(0, 9) + "\t" + code.substr(10),
        code.substr(0, 18) + std::string(1, '\0'), c.stored[0]}) {
    EXPECT_EQ(match_recovery_code(c.stored, typed), std::nullopt) << typed;
  }
  EXPECT_EQ(match_recovery_code({}, code), std::nullopt);
}

}  // namespace
}  // namespace kura::service
