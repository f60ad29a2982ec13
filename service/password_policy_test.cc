#include "service/password_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace kura::service {
namespace {

using P = PasswordProblem;
using Problems = std::vector<PasswordProblem>;

// Small Argon2 costs keep the tests fast; libargon2's minimum memory is 8 KiB per lane.
const Argon2Params kFast{.t_cost = 1, .m_cost_kib = 8, .parallelism = 1};

Problems check(std::string_view pw, std::string_view user_id = "",
               std::string_view display_name = "", const std::vector<std::string>& previous = {}) {
  return check_password(PasswordPolicy{}, pw, user_id, display_name, previous);
}

bool has(const Problems& problems, PasswordProblem p) {
  return std::find(problems.begin(), problems.end(), p) != problems.end();
}

std::string hash(std::string_view pw) {
  base::StatusOr<std::string> h = hash_password(kFast, pw);
  EXPECT_TRUE(h.ok()) << h.status().to_string();
  return h.ok() ? *h : std::string();
}

TEST(PasswordPolicy, AcceptsAGoodPassword) {
  EXPECT_EQ(check("Kq7#vB2mZp", "clinic-a", "Hanako Yamada"), Problems{});
}

TEST(PasswordPolicy, LengthCountsCodePoints) {
  EXPECT_EQ(check("Kq7#vB2"), Problems{P::kTooShort});
  EXPECT_EQ(check("Kq7#vB2m"), Problems{});
  // 7 code points in 15 bytes: too short although the bytes would be enough.
  EXPECT_EQ(check("Kq7#桜桜桜"), Problems{P::kTooShort});
  EXPECT_EQ(check("Kq7#桜桜桜桜"), Problems{});
}

TEST(PasswordPolicy, NeedsThreeOfFourClasses) {
  EXPECT_EQ(check("kqvbzmpxwt"), Problems{P::kTooFewClasses});
  EXPECT_EQ(check("kqvbzm2345"), Problems{P::kTooFewClasses});
  EXPECT_EQ(check("kqvbzm2345!"), Problems{});                    // lower, digit, symbol
  EXPECT_EQ(check("KQVBzmpxwt#"), Problems{});                    // upper, lower, symbol
  EXPECT_EQ(check("KQVBZM2345!"), Problems{});                    // upper, digit, symbol
  EXPECT_EQ(check("kqvbzmpx桜桜"), Problems{P::kTooFewClasses});  // lower, non-ASCII symbol
  EXPECT_EQ(check("kqvbzmpx桜桜7"), Problems{});
}

TEST(PasswordPolicy, RefusesTheUserId) {
  EXPECT_EQ(check("My!Clinic-A7", "Clinic-A"), Problems{P::kContainsUserId});
  EXPECT_EQ(check("my!clinic-a7", "CLINIC-A"), Problems{P::kContainsUserId});
  EXPECT_EQ(check("My!Clin1c-A7", "Clinic-A"), Problems{});
  EXPECT_EQ(check("Kq7#vB2mab", "ab"), Problems{});  // too short an id to be a rule
}

TEST(PasswordPolicy, RefusesTheDisplayNameAndItsParts) {
  EXPECT_EQ(check("Kq7#Yamada!", "", "Hanako Yamada"), Problems{P::kContainsName});
  EXPECT_EQ(check("kq7#hanakoyamada", "", "Hanako Yamada"), Problems{P::kContainsName});
  EXPECT_EQ(check("Kq7#Li!xyzW", "", "Li Wu"), Problems{});  // parts under 3 characters
}

TEST(PasswordPolicy, RefusesAJapaneseDisplayName) {
  // Two-character family and given names: the whole name, with or without its space, counts.
  EXPECT_EQ(check("山田太郎Kq7#", "", "山田　太郎"), Problems{P::kContainsName});
  EXPECT_EQ(check("山田　太郎Kq7#", "", "山田　太郎"), Problems{P::kContainsName});
  EXPECT_EQ(check("山田Kq7#vB2m", "", "山田　太郎"), Problems{});
  // A part of three characters counts alone.
  EXPECT_EQ(check("たかはしKq7#", "", "たかはし ゆうこ"), Problems{P::kContainsName});
}

TEST(PasswordPolicy, RefusesCommonPasswords) {
  EXPECT_TRUE(has(check("password"), P::kCommon));
  EXPECT_EQ(check("Password1!"), Problems{P::kCommon});
  EXPECT_TRUE(has(check("qwerty123"), P::kCommon));
  EXPECT_EQ(check("Password123!"), Problems{P::kCommon});
  EXPECT_EQ(check("Dragon2024#"), Problems{P::kCommon});
  EXPECT_EQ(check("Kq7#vB2mZp"), Problems{});
}

TEST(PasswordPolicy, StrippedVariantNeedsFourCharacters) {
  ASSERT_TRUE(is_common_password("asdf"));
  EXPECT_EQ(check("Asdf!1234567"), Problems{P::kCommon});  // stripped: "asdf", 4 characters
  EXPECT_EQ(check("asdf!1234567X"), Problems{});  // the suffix ends in a letter: not stripped
  EXPECT_EQ(check("Abc!12345678"), Problems{});   // "abc" is under 4 characters
}

TEST(PasswordPolicy, CommonListIsLargeAndCaseInsensitive) {
  EXPECT_GE(common_password_count(), 10000u);
  EXPECT_TRUE(is_common_password("password"));
  EXPECT_TRUE(is_common_password("PassWord"));
  EXPECT_TRUE(is_common_password("qwerty123"));
  EXPECT_TRUE(is_common_password("123456"));
  EXPECT_FALSE(is_common_password(""));
  EXPECT_FALSE(is_common_password("Kq7#vB2mZp"));
}

TEST(PasswordPolicy, RefusesInvalidUtf8Alone) {
  EXPECT_EQ(check("Kq7#vB2m\xff"), Problems{P::kInvalidUtf8});
  EXPECT_EQ(check("Kq7#vB2m\xc0\xaf"), Problems{P::kInvalidUtf8});      // overlong "/"
  EXPECT_EQ(check("Kq7#vB2m\xed\xa0\x80"), Problems{P::kInvalidUtf8});  // surrogate
  EXPECT_EQ(check("Kq7#vB2m\xe6\xa1"), Problems{P::kInvalidUtf8});      // truncated
  EXPECT_EQ(check("pw\xf4\x90\x80\x80"), Problems{P::kInvalidUtf8});    // past U+10FFFF
}

TEST(PasswordPolicy, RefusesOverlongPasswordsAlone) {
  std::string pw(300, 'a');
  EXPECT_EQ(check(pw), Problems{P::kTooLong});
  std::string at_limit = "Kq7#" + std::string(kMaxPasswordBytes - 4, 'x');
  EXPECT_EQ(check(at_limit), Problems{});
}

TEST(PasswordPolicy, ReportsEveryProblem) {
  EXPECT_EQ(check("asdf", "asdf"),
            (Problems{P::kTooShort, P::kTooFewClasses, P::kContainsUserId, P::kCommon}));
}

TEST(PasswordPolicy, RefusesTheLastFivePasswords) {
  // Newest first: the password used six changes ago may come back.
  std::vector<std::string> previous;
  for (int i = 0; i < 6; ++i) previous.push_back(hash("Kq7#vB2m-" + std::to_string(i)));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(check("Kq7#vB2m-" + std::to_string(i), "", "", previous), Problems{P::kReused}) << i;
  }
  EXPECT_EQ(check("Kq7#vB2m-5", "", "", previous), Problems{});
  EXPECT_EQ(check("Kq7#vB2m-9", "", "", previous), Problems{});
}

TEST(PasswordPolicy, IgnoresMalformedPreviousHashes) {
  EXPECT_EQ(check("Kq7#vB2mZp", "", "", {"", "garbage", "$argon2i$v=19$m=8,t=1,p=1$x$y"}),
            Problems{});
}

TEST(PasswordPolicy, EveryProblemHasAKey) {
  for (P p : {P::kTooShort, P::kTooFewClasses, P::kContainsUserId, P::kContainsName, P::kCommon,
              P::kReused, P::kInvalidUtf8, P::kTooLong}) {
    EXPECT_TRUE(problem_key(p).starts_with("pw.")) << problem_key(p);
  }
  EXPECT_EQ(problem_key(P::kTooShort), "pw.too_short");
}

TEST(PasswordHash, RoundTrips) {
  std::string h = hash("Kq7#vB2mZp");
  EXPECT_TRUE(h.starts_with("$argon2id$v=19$m=8,t=1,p=1$")) << h;
  EXPECT_TRUE(verify_password(h, "Kq7#vB2mZp"));
  EXPECT_FALSE(verify_password(h, "Kq7#vB2mZq"));
  EXPECT_FALSE(verify_password(h, ""));
}

TEST(PasswordHash, SaltsEveryHash) { EXPECT_NE(hash("Kq7#vB2mZp"), hash("Kq7#vB2mZp")); }

TEST(PasswordHash, HashesTheEmptyPassword) {
  std::string h = hash("");
  EXPECT_TRUE(verify_password(h, ""));
  EXPECT_FALSE(verify_password(h, "x"));
}

TEST(PasswordHash, DefaultsAreRfc9106) {
  Argon2Params p;
  EXPECT_EQ(p.t_cost, 3u);
  EXPECT_EQ(p.m_cost_kib, 64u * 1024);
  EXPECT_EQ(p.parallelism, 1u);
}

TEST(PasswordHash, RefusesBadParameters) {
  base::StatusOr<std::string> h =
      hash_password({.t_cost = 0, .m_cost_kib = 8, .parallelism = 1}, "Kq7#vB2mZp");
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(h.status().message().find("Kq7#vB2mZp"), std::string::npos);
}

TEST(PasswordHash, VerifyOfGarbageIsFalse) {
  std::string h = hash("Kq7#vB2mZp");
  for (std::string_view bad :
       {std::string_view(""), std::string_view("garbage"), std::string_view("$argon2id$"),
        std::string_view("$argon2id$v=19$m=8,t=1,p=1$$"),
        std::string_view("$argon2id$v=19$m=x,t=1,p=1$c2FsdHNhbHQ$aGFzaA"),
        std::string_view(h).substr(0, h.size() - 5)}) {
    EXPECT_FALSE(verify_password(bad, "Kq7#vB2mZp")) << bad;
  }
  // The same hash as argon2i, and with trailing bytes after a NUL, does not pass.
  std::string as_i = "$argon2i$" + h.substr(10);
  EXPECT_FALSE(verify_password(as_i, "Kq7#vB2mZp"));
  EXPECT_FALSE(verify_password(h + std::string(1, '\0') + "x", "Kq7#vB2mZp"));
}

}  // namespace
}  // namespace kura::service
