#include "service/accounts.h"

#include <gtest/gtest.h>

#include <chrono>

#include "meta/sqlite_store.h"
#include "service/totp.h"

namespace kura::service {
namespace {

using std::chrono::seconds;

constexpr int64_t kStart = 1'800'000'000;
constexpr char kInitial[] = "Sakura-Init-2026!";
constexpr char kNew[] = "Momiji#Autumn-77";

class AccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    meta::SqliteOptions opt;
    opt.clock = &clock_;
    auto s = meta::open_sqlite(":memory:", opt);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    meta_ = std::move(*s);
    AccountOptions o;
    o.argon2 = {1, 8, 1};  // fast in tests
    accounts_ = std::make_unique<Accounts>(meta_.get(), &clock_, o);
    meta::Tenant t;
    t.name = "clinic-a";
    t.region = "jp-east";
    tenant_ = meta_->create_tenant(t)->id;
    auto u = accounts_->create_user(tenant_, "hanako", "山田 花子",
                                    meta::UserRole::kInstitutionAdmin, kInitial);
    ASSERT_TRUE(u.ok()) << u.status().to_string();
    user_ = *u;
  }
  int64_t now() { return clock_.now().sec; }
  void advance(int64_t s) { clock_.advance(seconds(s)); }

  // The first sign-in: initial password, forced change, TOTP enrollment. The session ID and
  // the authenticator's secret.
  std::pair<std::string, TotpSecret> first_sign_in() {
    auto step = accounts_->sign_in_password("hanako", kInitial, "192.0.2.1");
    EXPECT_TRUE(step.ok() && step->accepted);
    std::string sid = step->session_id;
    EXPECT_EQ(step->info.stage, SessionStage::kPasswordChangeDue);
    EXPECT_TRUE(accounts_->change_password(sid, kInitial, kNew).ok());
    EXPECT_EQ(accounts_->session(sid)->stage, SessionStage::kEnrollmentDue);
    auto e = accounts_->begin_totp(sid);
    EXPECT_TRUE(e.ok());
    TotpSecret secret = *parse_base32_secret(e->secret);
    auto codes = accounts_->confirm_totp(sid, e->secret, totp_code(secret, now()));
    EXPECT_TRUE(codes.ok()) << codes.status().to_string();
    recovery_ = codes.ok() ? *codes : std::vector<std::string>{};
    EXPECT_EQ(accounts_->session(sid)->stage, SessionStage::kReady);
    return {sid, secret};
  }

  base::FakeClock clock_{base::Timespec{kStart, 0}};
  std::unique_ptr<meta::MetaStore> meta_;
  std::unique_ptr<Accounts> accounts_;
  int64_t tenant_ = 0;
  meta::User user_;
  std::vector<std::string> recovery_;
};

TEST_F(AccountsTest, InitialPasswordMustFollowThePolicy) {
  auto weak = accounts_->create_user(tenant_, "taro", "Taro", meta::UserRole::kViewer, "password");
  EXPECT_EQ(weak.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(weak.status().message().find("pw.common"), std::string::npos) << weak.status().message();
  EXPECT_NE(weak.status().message().find("pw.too_few_classes"), std::string::npos);
}

TEST_F(AccountsTest, FirstSignInForcesPasswordChangeThenEnrollment) {
  auto step = accounts_->sign_in_password("hanako", kInitial, "192.0.2.1");
  ASSERT_TRUE(step.ok());
  ASSERT_TRUE(step->accepted);
  EXPECT_EQ(step->session_id.size(), 64u);
  const std::string sid = step->session_id;
  EXPECT_EQ(step->info.stage, SessionStage::kPasswordChangeDue);
  // Nothing but the change is possible yet.
  EXPECT_EQ(accounts_->begin_totp(sid).status().code(), base::Code::kFailedPrecondition);
  // The new password follows the policy and differs from the initial one.
  EXPECT_EQ(accounts_->change_password(sid, kInitial, kInitial).code(), base::Code::kInvalidArgument);
  EXPECT_EQ(accounts_->change_password(sid, "wrong", kNew).code(), base::Code::kUnauthenticated);
  ASSERT_TRUE(accounts_->change_password(sid, kInitial, kNew).ok());
  EXPECT_EQ(accounts_->session(sid)->stage, SessionStage::kEnrollmentDue);
  auto e = accounts_->begin_totp(sid);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->qr_svg.rfind("<svg", 0), 0u);
  EXPECT_NE(e->otpauth_uri.find("hanako"), std::string::npos);
  TotpSecret secret = *parse_base32_secret(e->secret);
  EXPECT_FALSE(accounts_->confirm_totp(sid, e->secret, "000000").ok());
  auto codes = accounts_->confirm_totp(sid, e->secret, totp_code(secret, now()));
  ASSERT_TRUE(codes.ok()) << codes.status().to_string();
  EXPECT_EQ(codes->size(), 10u);
  EXPECT_EQ(accounts_->session(sid)->stage, SessionStage::kReady);
}

TEST_F(AccountsTest, EverySignInNeedsTheSecondFactorAndEachCodeOnce) {
  auto [first, secret] = first_sign_in();
  ASSERT_TRUE(accounts_->sign_out(first).ok());
  EXPECT_EQ(accounts_->session(first).status().code(), base::Code::kUnauthenticated);
  advance(60);
  auto step = accounts_->sign_in_password("hanako", kNew, "192.0.2.1");
  ASSERT_TRUE(step.ok() && step->accepted);
  const std::string sid = step->session_id;
  EXPECT_EQ(step->info.stage, SessionStage::kSecondFactorDue);
  EXPECT_EQ(accounts_->change_password(sid, kNew, "Another#Pass-99").code(),
            base::Code::kFailedPrecondition);
  EXPECT_EQ(accounts_->sign_in_second_factor(sid, "123456").status().code(),
            base::Code::kUnauthenticated);
  const std::string code = totp_code(secret, now());
  auto done = accounts_->sign_in_second_factor(sid, code);
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  EXPECT_EQ(done->stage, SessionStage::kReady);
  // The same code in another session: a replay.
  auto again = accounts_->sign_in_password("hanako", kNew, "192.0.2.1");
  ASSERT_TRUE(again.ok() && again->accepted);
  EXPECT_EQ(accounts_->sign_in_second_factor(again->session_id, code).status().code(),
            base::Code::kUnauthenticated);
  // A recovery code works once.
  ASSERT_FALSE(recovery_.empty());
  EXPECT_TRUE(accounts_->sign_in_second_factor(again->session_id, recovery_[0]).ok());
  auto third = accounts_->sign_in_password("hanako", kNew, "192.0.2.1");
  EXPECT_EQ(accounts_->sign_in_second_factor(third->session_id, recovery_[0]).status().code(),
            base::Code::kUnauthenticated);
}

TEST_F(AccountsTest, ThreeFailuresLockAndUnknownIdsLookTheSame) {
  // An unknown ID and a wrong password: the same answer and the same growing delay.
  std::vector<PasswordStep> known, unknown;
  for (int i = 0; i < 3; ++i) {
    known.push_back(*accounts_->sign_in_password("hanako", "Wrong#Pass-1", "192.0.2.9"));
    unknown.push_back(*accounts_->sign_in_password("nobody", "Wrong#Pass-1", "192.0.2.9"));
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(known[i].accepted);
    EXPECT_FALSE(unknown[i].accepted);
    EXPECT_EQ(known[i].delay_ms, unknown[i].delay_ms) << i;
    EXPECT_EQ(known[i].locked, unknown[i].locked) << i;
  }
  EXPECT_LT(known[0].delay_ms, known[1].delay_ms);
  EXPECT_LT(known[1].delay_ms, known[2].delay_ms);
  EXPECT_TRUE(known[2].locked);
  // Locked: even the right password is refused, for 30 minutes or until an admin unlocks.
  EXPECT_FALSE(accounts_->sign_in_password("hanako", kInitial, "192.0.2.1")->accepted);
  advance(29 * 60);
  EXPECT_FALSE(accounts_->sign_in_password("hanako", kInitial, "192.0.2.1")->accepted);
  ASSERT_TRUE(accounts_->unlock(user_.id).ok());
  EXPECT_TRUE(accounts_->sign_in_password("hanako", kInitial, "192.0.2.1")->accepted);
}

TEST_F(AccountsTest, LockRunsOutAfterItsTime) {
  for (int i = 0; i < 3; ++i) (void)accounts_->sign_in_password("hanako", "Wrong#Pass-1", "ip");
  EXPECT_FALSE(accounts_->sign_in_password("hanako", kInitial, "ip")->accepted);
  advance(31 * 60);
  EXPECT_TRUE(accounts_->sign_in_password("hanako", kInitial, "ip")->accepted);
}

TEST_F(AccountsTest, SessionsEndWhenIdleOrOldOrSignedOutEverywhere) {
  auto [sid, secret] = first_sign_in();
  advance(14 * 60);
  auto info = accounts_->session(sid);  // used: the idle limit moves
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->idle_expires_unix, now() + 15 * 60);
  advance(15 * 60);
  EXPECT_EQ(accounts_->session(sid).status().code(), base::Code::kUnauthenticated);

  auto step = accounts_->sign_in_password("hanako", kNew, "ip");
  ASSERT_TRUE(accounts_->sign_in_second_factor(step->session_id, totp_code(secret, now())).ok());
  const std::string busy = step->session_id;
  for (int i = 0; i < 8 * 6; ++i) {  // used every 10 minutes: still ends after 8 hours
    advance(10 * 60);
    if (!accounts_->session(busy).ok()) {
      EXPECT_GE(i, 8 * 6 - 2);
      break;
    }
  }
  EXPECT_FALSE(accounts_->session(busy).ok());

  advance(60);
  auto a = accounts_->sign_in_password("hanako", kNew, "ip");
  auto b = accounts_->sign_in_password("hanako", kNew, "ip");
  ASSERT_TRUE(a->accepted && b->accepted);
  ASSERT_TRUE(accounts_->sign_out_everywhere(a->session_id).ok());
  EXPECT_FALSE(accounts_->session(b->session_id).ok());
}

TEST_F(AccountsTest, CsrfTokenIsTheSessionsOnly) {
  auto step = accounts_->sign_in_password("hanako", kInitial, "ip");
  ASSERT_TRUE(step->accepted);
  auto info = accounts_->session(step->session_id);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(Accounts::csrf_ok(*info, info->session.csrf_token));
  EXPECT_FALSE(Accounts::csrf_ok(*info, ""));
  std::string other = info->session.csrf_token;
  other[0] = other[0] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(Accounts::csrf_ok(*info, other));
}

TEST_F(AccountsTest, GarbageSessionIdsAreNotSignedIn) {
  for (std::string_view id : {std::string_view(""), std::string_view("x"),
                              std::string_view(std::string(64, 'z')), std::string_view(std::string(200, 'a'))}) {
    EXPECT_EQ(accounts_->session(id).status().code(), base::Code::kUnauthenticated);
  }
}

TEST_F(AccountsTest, DisabledAccountsCannotSignIn) {
  auto step = accounts_->sign_in_password("hanako", kInitial, "ip");
  ASSERT_TRUE(step->accepted);
  ASSERT_TRUE(meta_->set_user_disabled(user_.id, true).ok());
  EXPECT_FALSE(accounts_->session(step->session_id).ok());  // its sessions end too
  auto again = accounts_->sign_in_password("hanako", kInitial, "ip");
  EXPECT_FALSE(again->accepted);
}

}  // namespace
}  // namespace kura::service
