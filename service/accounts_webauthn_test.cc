// Accounts with WebAuthn keys, the factor list, recovery codes and factor resets, driven by
// real WebAuthn messages from a software authenticator.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "meta/sqlite_store.h"
#include "service/accounts.h"
#include "service/totp.h"
#include "service/webauthn_testing.h"

namespace kura::service {
namespace {

using namespace webauthn_testing;  // NOLINT: the helpers are this test's vocabulary
using Json = nlohmann::json;
using std::chrono::seconds;

constexpr int64_t kStart = 1'800'000'000;
constexpr char kInitial[] = "Sakura-Init-2026!";
constexpr char kNew[] = "Momiji#Autumn-77";

void expect_refused(const base::Status& s, base::Code code, std::string_view text) {
  EXPECT_EQ(s.code(), code) << s.to_string();
  EXPECT_NE(s.message().find(text), std::string::npos) << s.to_string();
}

// What the browser sends back from navigator.credentials.get().
struct Assertion {
  std::string id;
  Bytes client_data_json, authenticator_data, signature;
};

class AccountsWebAuthnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    meta::SqliteOptions opt;
    opt.clock = &clock_;
    auto s = meta::open_sqlite(":memory:", opt);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    meta_ = std::move(*s);
    accounts_ = make_accounts(10000);
    meta::Tenant t;
    t.name = "clinic-a";
    t.region = "jp-east";
    tenant_ = meta_->create_tenant(t)->id;
    user_ = new_user("hanako", "山田 花子");
  }

  std::unique_ptr<Accounts> make_accounts(size_t max_pending) {
    AccountOptions o;
    o.argon2 = {1, 8, 1};  // fast in tests
    o.rp_id = kTestConfig.rp_id;
    o.origin = kTestConfig.origin;
    o.rp_name = "kura test";
    o.max_pending_challenges = max_pending;
    return std::make_unique<Accounts>(meta_.get(), &clock_, o);
  }

  meta::User new_user(std::string_view login, std::string_view name) {
    auto u =
        accounts_->create_user(tenant_, login, name, meta::UserRole::kInstitutionAdmin, kInitial);
    EXPECT_TRUE(u.ok()) << u.status().to_string();
    return u.ok() ? *u : meta::User{};
  }

  int64_t now() { return clock_.now().sec; }
  void advance(int64_t s) { clock_.advance(seconds(s)); }

  // The first sign-in up to the enrollment of a factor: initial password, forced change.
  std::string to_enrollment(std::string_view login) {
    auto step = accounts_->sign_in_password(login, kInitial, "192.0.2.1");
    EXPECT_TRUE(step.ok() && step->accepted);
    const std::string sid = step->session_id;
    EXPECT_TRUE(accounts_->change_password(sid, kInitial, kNew).ok());
    EXPECT_EQ(accounts_->session(sid)->stage, SessionStage::kEnrollmentDue);
    return sid;
  }

  // The password step of a later sign-in.
  std::string password_step(std::string_view login) {
    auto step = accounts_->sign_in_password(login, kNew, "192.0.2.1");
    EXPECT_TRUE(step.ok() && step->accepted);
    return step.ok() ? step->session_id : "";
  }

  base::StatusOr<WebAuthnRegistration> register_key(const std::string& sid,
                                                    const FakeAuthenticator& key,
                                                    std::string_view name, uint32_t count = 1) {
    auto options = accounts_->begin_webauthn_registration(sid, name);
    if (!options.ok()) return options.status();
    const std::string challenge = Json::parse(*options)["challenge"];
    Bytes cdj = client_data("webauthn.create", challenge);
    Bytes att = key.attestation("none", key.auth_data(kUp | kUv | kAt, count), cdj);
    return accounts_->finish_webauthn_registration(sid, name, cdj, att);
  }

  // A signed answer to the pending sign-in challenge (begun here unless `challenge` is
  // given), with what the test wants to spoil.
  Assertion answer(const std::string& sid, const FakeAuthenticator& key, uint32_t count,
                   std::string challenge = "", std::string_view origin = kTestConfig.origin) {
    if (challenge.empty()) {
      auto options = accounts_->begin_webauthn_sign_in(sid);
      EXPECT_TRUE(options.ok()) << options.status().to_string();
      if (options.ok()) challenge = Json::parse(*options)["challenge"];
    }
    Assertion a;
    a.id = key.credential_id_b64url();
    a.client_data_json = client_data("webauthn.get", challenge, origin);
    a.authenticator_data = key.auth_data(kUp, count);
    a.signature = key.assertion_sig(a.authenticator_data, a.client_data_json);
    return a;
  }

  base::StatusOr<SessionInfo> finish(const std::string& sid, const Assertion& a) {
    return accounts_->finish_webauthn_sign_in(sid, a.id, a.client_data_json, a.authenticator_data,
                                              a.signature);
  }

  // hanako with one key ("YubiKey", count 1) as her only factor; signed out.
  void enroll_key_only() {
    const std::string sid = to_enrollment("hanako");
    auto reg = register_key(sid, key_, "YubiKey");
    ASSERT_TRUE(reg.ok()) << reg.status().to_string();
    recovery_ = reg->recovery_codes;
    ASSERT_TRUE(accounts_->sign_out(sid).ok());
  }

  std::string signed_in_with_key(uint32_t count) {
    const std::string sid = password_step("hanako");
    auto done = finish(sid, answer(sid, key_, count));
    EXPECT_TRUE(done.ok()) << done.status().to_string();
    return sid;
  }

  int failures() { return meta_->user_by_id(user_.id)->failed_signins; }

  base::FakeClock clock_{base::Timespec{kStart, 0}};
  std::unique_ptr<meta::MetaStore> meta_;
  std::unique_ptr<Accounts> accounts_;
  int64_t tenant_ = 0;
  meta::User user_;
  FakeAuthenticator key_{Bytes{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}};
  std::vector<std::string> recovery_;
};

TEST_F(AccountsWebAuthnTest, KeyAsTheFirstFactor) {
  const std::string sid = to_enrollment("hanako");
  auto text = accounts_->begin_webauthn_registration(sid, "YubiKey 5C");
  ASSERT_TRUE(text.ok()) << text.status().to_string();
  const Json o = Json::parse(*text);
  EXPECT_EQ(o["rp"], (Json{{"id", "backup.example.jp"}, {"name", "kura test"}}));
  EXPECT_EQ(o["user"]["name"], "hanako");
  EXPECT_EQ(o["user"]["displayName"], "山田 花子");
  EXPECT_EQ(o["user"]["id"].get<std::string>().size(), 43u);  // 32 bytes
  EXPECT_EQ(o["challenge"].get<std::string>().size(), 43u);
  EXPECT_EQ(o["pubKeyCredParams"], Json::parse(R"([{"type":"public-key","alg":-7}])"));
  EXPECT_EQ(o["timeout"], 300000);
  EXPECT_EQ(o["attestation"], "none");
  EXPECT_EQ(o["excludeCredentials"], Json::array());
  EXPECT_EQ(o["authenticatorSelection"]["userVerification"], "preferred");
  EXPECT_EQ(o["authenticatorSelection"]["residentKey"], "discouraged");

  auto reg = register_key(sid, key_, "YubiKey 5C", 3);
  ASSERT_TRUE(reg.ok()) << reg.status().to_string();
  EXPECT_EQ(reg->recovery_codes.size(), 10u);
  EXPECT_EQ(reg->factor.kind, "webauthn");
  EXPECT_EQ(reg->factor.name, "YubiKey 5C");
  EXPECT_EQ(reg->factor.id.rfind("webauthn:", 0), 0u);
  EXPECT_EQ(reg->factor.created_unix, now());
  auto info = accounts_->session(sid);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->stage, SessionStage::kReady);
  EXPECT_TRUE(info->has_webauthn);
  EXPECT_FALSE(info->has_totp);
  EXPECT_EQ(meta_->user_by_id(user_.id)->last_signin_unix, now());
  auto list = accounts_->list_factors(sid);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->factors.size(), 1u);
  EXPECT_EQ(list->factors[0].id, reg->factor.id);
  EXPECT_EQ(list->recovery_codes_left, 10);
  // The next key's options exclude the first one.
  const Json again = Json::parse(*accounts_->begin_webauthn_registration(sid, "spare"));
  EXPECT_EQ(again["excludeCredentials"],
            (Json::array({{{"type", "public-key"}, {"id", key_.credential_id_b64url()}}})));
  // The user handle is stable.
  EXPECT_EQ(again["user"]["id"], o["user"]["id"]);
  // The same key again: it is registered already.
  expect_refused(register_key(sid, key_, "same").status(), base::Code::kAlreadyExists,
                 "registered already");
}

TEST_F(AccountsWebAuthnTest, RegistrationNeedsTheRightStageNameAndMessage) {
  auto step = accounts_->sign_in_password("hanako", kInitial, "ip");
  ASSERT_TRUE(step.ok() && step->accepted);
  const std::string sid = step->session_id;
  EXPECT_EQ(accounts_->begin_webauthn_registration(sid, "key").status().code(),
            base::Code::kFailedPrecondition);  // the password change comes first
  ASSERT_TRUE(accounts_->change_password(sid, kInitial, kNew).ok());
  for (std::string_view bad :
       {std::string_view(""), std::string_view("a\x01"), std::string_view("tab\there"),
        std::string_view("a\x7f"), std::string_view("c1\xc2\x85"), std::string_view("\xff\xfe"),
        std::string_view("\xe3\x81")}) {
    EXPECT_EQ(accounts_->begin_webauthn_registration(sid, bad).status().code(),
              base::Code::kInvalidArgument)
        << bad;
  }
  std::string longest;
  for (int i = 0; i < 64; ++i) longest += "鍵";  // 64 characters, 192 bytes
  EXPECT_TRUE(accounts_->begin_webauthn_registration(sid, longest).ok());
  expect_refused(accounts_->begin_webauthn_registration(sid, longest + "x").status(),
                 base::Code::kInvalidArgument, "longer than 64 characters");
  // Without a pending challenge, with a wrong origin, and for another site: refused, nothing
  // stored, still in enrollment.
  Bytes cdj = client_data("webauthn.create", "AAAA");
  Bytes att = key_.attestation("none", key_.auth_data(kUp | kAt, 0), cdj);
  (void)accounts_->begin_webauthn_registration(sid, "k");
  (void)accounts_->finish_webauthn_registration(sid, "k", cdj, att);  // uses the challenge up
  expect_refused(accounts_->finish_webauthn_registration(sid, "k", cdj, att).status(),
                 base::Code::kFailedPrecondition, "no security-key registration is pending");
  const std::string challenge =
      Json::parse(*accounts_->begin_webauthn_registration(sid, "k"))["challenge"];
  Bytes evil = client_data("webauthn.create", challenge, "https://evil.example.jp");
  expect_refused(
      accounts_
          ->finish_webauthn_registration(
              sid, "k", evil, key_.attestation("none", key_.auth_data(kUp | kAt, 0), evil))
          .status(),
      base::Code::kUnauthenticated, "origin");
  const std::string c2 =
      Json::parse(*accounts_->begin_webauthn_registration(sid, "k"))["challenge"];
  Bytes ok_cdj = client_data("webauthn.create", c2);
  expect_refused(
      accounts_
          ->finish_webauthn_registration(
              sid, "k", ok_cdj,
              key_.attestation("none", key_.auth_data(kUp | kAt, 0, {}, "example.jp"), ok_cdj))
          .status(),
      base::Code::kUnauthenticated, "RP ID hash");
  EXPECT_TRUE(meta_->webauthn_credentials(user_.id)->empty());
  EXPECT_EQ(accounts_->session(sid)->stage, SessionStage::kEnrollmentDue);
}

TEST_F(AccountsWebAuthnTest, SignInWithTheKey) {
  enroll_key_only();
  advance(60);
  const std::string sid = password_step("hanako");
  auto info = accounts_->session(sid);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->stage, SessionStage::kSecondFactorDue);
  EXPECT_TRUE(info->has_webauthn);
  EXPECT_FALSE(info->has_totp);
  auto text = accounts_->begin_webauthn_sign_in(sid);
  ASSERT_TRUE(text.ok()) << text.status().to_string();
  const Json o = Json::parse(*text);
  EXPECT_EQ(o["rpId"], "backup.example.jp");
  EXPECT_EQ(o["userVerification"], "preferred");
  EXPECT_EQ(o["timeout"], 300000);
  EXPECT_EQ(o["allowCredentials"],
            (Json::array({{{"type", "public-key"}, {"id", key_.credential_id_b64url()}}})));
  auto done = finish(sid, answer(sid, key_, 2, o["challenge"]));
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  EXPECT_EQ(done->stage, SessionStage::kReady);
  EXPECT_EQ(meta_->user_by_id(user_.id)->last_signin_unix, now());
  auto list = accounts_->list_factors(sid);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->factors[0].last_used_unix, now());
  // Signed in: no second factor is due any more.
  EXPECT_EQ(accounts_->begin_webauthn_sign_in(sid).status().code(),
            base::Code::kFailedPrecondition);
  // A recovery code still works for a key user; a 6-digit code does not (no TOTP).
  const std::string other = password_step("hanako");
  expect_refused(accounts_->sign_in_second_factor(other, "123456").status(),
                 base::Code::kUnauthenticated, "the code is not valid");
  EXPECT_TRUE(accounts_->sign_in_second_factor(other, recovery_.at(0)).ok());
}

TEST_F(AccountsWebAuthnTest, WithoutKeysThereIsNothingToBegin) {
  const std::string sid = to_enrollment("hanako");
  auto e = accounts_->begin_totp(sid);
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(
      accounts_->confirm_totp(sid, e->secret, totp_code(*parse_base32_secret(e->secret), now()))
          .ok());
  const std::string next = password_step("hanako");
  expect_refused(accounts_->begin_webauthn_sign_in(next).status(), base::Code::kFailedPrecondition,
                 "has no security key");
  EXPECT_FALSE(accounts_->session(next)->has_webauthn);
  EXPECT_TRUE(accounts_->session(next)->has_totp);
}

TEST_F(AccountsWebAuthnTest, RefusalsCountTowardsTheLock) {
  enroll_key_only();
  meta::User taro = new_user("taro", "Taro");
  FakeAuthenticator taros_key(Bytes{9, 9, 9, 9, 9, 9, 9, 9});
  {
    const std::string sid = to_enrollment("taro");
    ASSERT_TRUE(register_key(sid, taros_key, "taro's").ok());
  }
  const std::string sid = password_step("hanako");
  // A challenge the server did not issue (the one this session has is another).
  (void)accounts_->begin_webauthn_sign_in(sid);
  expect_refused(finish(sid, answer(sid, key_, 2, std::string(kTestChallenge))).status(),
                 base::Code::kUnauthenticated, "challenge");
  EXPECT_EQ(failures(), 1);
  // Another site's origin.
  const std::string challenge = Json::parse(*accounts_->begin_webauthn_sign_in(sid))["challenge"];
  expect_refused(finish(sid, answer(sid, key_, 2, challenge, "https://evil.example.jp")).status(),
                 base::Code::kUnauthenticated, "origin");
  EXPECT_EQ(failures(), 2);
  EXPECT_TRUE(accounts_->session(sid).ok());
  // Someone else's key, correctly signed: the third failure locks.
  expect_refused(finish(sid, answer(sid, taros_key, 2)).status(), base::Code::kUnauthenticated,
                 "the account is locked");
  EXPECT_GT(meta_->user_by_id(user_.id)->locked_until, now());
  EXPECT_FALSE(accounts_->session(sid).ok());  // the sessions end
  EXPECT_FALSE(accounts_->sign_in_password("hanako", kNew, "ip")->accepted);
  ASSERT_TRUE(accounts_->unlock(user_.id).ok());
  // Garbage ids and an unknown key are refused the same way.
  const std::string s2 = password_step("hanako");
  Assertion bad = answer(s2, key_, 2);
  bad.id = "not base64url!";
  expect_refused(finish(s2, bad).status(), base::Code::kUnauthenticated, "credential id");
  Assertion unknown = answer(s2, key_, 2);
  unknown.id = "AAAA";
  expect_refused(finish(s2, unknown).status(), base::Code::kUnauthenticated,
                 "not registered to this account");
  EXPECT_EQ(failures(), 2);
  // A success clears the count.
  ASSERT_TRUE(finish(s2, answer(s2, key_, 2)).ok());
  EXPECT_EQ(failures(), 0);
}

TEST_F(AccountsWebAuthnTest, ReplayedAssertionsAndClonedKeysAreRefused) {
  enroll_key_only();
  const std::string sid = password_step("hanako");
  const Assertion first = answer(sid, key_, 5);
  ASSERT_TRUE(finish(sid, first).ok());
  // The same answer in another session: its challenge was that session's, used once.
  const std::string s2 = password_step("hanako");
  (void)accounts_->begin_webauthn_sign_in(s2);
  expect_refused(finish(s2, first).status(), base::Code::kUnauthenticated, "challenge");
  // A fresh challenge signed with a counter that did not grow: a clone of the key.
  expect_refused(finish(s2, answer(s2, key_, 5)).status(), base::Code::kUnauthenticated,
                 "may have been cloned");
  EXPECT_EQ(failures(), 2);
  expect_refused(finish(s2, answer(s2, key_, 3)).status(), base::Code::kUnauthenticated,
                 "the account is locked");
  EXPECT_FALSE(accounts_->session(s2).ok());
  ASSERT_TRUE(accounts_->unlock(user_.id).ok());
  const std::string s3 = password_step("hanako");
  expect_refused(finish(s3, answer(s3, key_, 3)).status(), base::Code::kUnauthenticated,
                 "sign count 3 did not grow past 5");
  EXPECT_TRUE(finish(s3, answer(s3, key_, 6)).ok());
}

TEST_F(AccountsWebAuthnTest, ChallengesAreUsedOnceExpireAndBelongToTheirSession) {
  enroll_key_only();
  const std::string sid = password_step("hanako");
  // Spoiled once: that challenge is gone, the right answer to it comes too late.
  Assertion a = answer(sid, key_, 2);
  Assertion spoiled = a;
  spoiled.signature[10] ^= 1;
  expect_refused(finish(sid, spoiled).status(), base::Code::kUnauthenticated, "signature");
  expect_refused(finish(sid, a).status(), base::Code::kUnauthenticated,
                 "no sign-in with a key is pending");
  ASSERT_TRUE(accounts_->unlock(user_.id).ok());
  // A new begin replaces the pending challenge.
  const std::string c1 = Json::parse(*accounts_->begin_webauthn_sign_in(sid))["challenge"];
  const std::string c2 = Json::parse(*accounts_->begin_webauthn_sign_in(sid))["challenge"];
  EXPECT_NE(c1, c2);
  expect_refused(finish(sid, answer(sid, key_, 2, c1)).status(), base::Code::kUnauthenticated,
                 "challenge");
  // Expired after 5 minutes.
  const std::string c3 = Json::parse(*accounts_->begin_webauthn_sign_in(sid))["challenge"];
  advance(5 * 60);
  expect_refused(finish(sid, answer(sid, key_, 2, c3)).status(), base::Code::kUnauthenticated,
                 "or it expired");
  ASSERT_TRUE(accounts_->unlock(user_.id).ok());
  // Another session's challenge does not do.
  const std::string other = password_step("hanako");
  const std::string theirs = Json::parse(*accounts_->begin_webauthn_sign_in(other))["challenge"];
  (void)accounts_->begin_webauthn_sign_in(sid);
  expect_refused(finish(sid, answer(sid, key_, 2, theirs)).status(), base::Code::kUnauthenticated,
                 "challenge");
  EXPECT_TRUE(finish(other, answer(other, key_, 2, theirs)).ok());
}

TEST_F(AccountsWebAuthnTest, GarbageFromTheBrowserIsRefused) {
  enroll_key_only();
  const std::vector<Bytes> junk = {Bytes{}, Bytes{0xff}, as_vec("{}"), Bytes(5000, 0x81),
                                   as_vec("\xff\xfe{\"type\":")};
  for (size_t i = 0; i < junk.size(); ++i) {
    const std::string sid = password_step("hanako");
    for (int part = 0; part < 3; ++part) {
      Assertion a = answer(sid, key_, 2);
      (part == 0 ? a.client_data_json : part == 1 ? a.authenticator_data : a.signature) = junk[i];
      EXPECT_EQ(finish(sid, a).status().code(), base::Code::kUnauthenticated) << i << " " << part;
    }
    ASSERT_TRUE(accounts_->unlock(user_.id).ok());  // three refusals locked it
    const std::string enrolled = signed_in_with_key(static_cast<uint32_t>(10 + i));
    ASSERT_TRUE(accounts_->begin_webauthn_registration(enrolled, "k").ok());
    EXPECT_EQ(
        accounts_->finish_webauthn_registration(enrolled, "k", junk[i], junk[i]).status().code(),
        base::Code::kInvalidArgument)
        << i;
  }
  EXPECT_EQ(meta_->webauthn_credentials(user_.id)->size(), 1u);
}

TEST_F(AccountsWebAuthnTest, PendingChallengesAreBounded) {
  enroll_key_only();
  accounts_ = make_accounts(2);
  const std::string a = password_step("hanako"), b = password_step("hanako"),
                    c = password_step("hanako");
  ASSERT_TRUE(accounts_->begin_webauthn_sign_in(a).ok());
  ASSERT_TRUE(accounts_->begin_webauthn_sign_in(b).ok());
  ASSERT_TRUE(accounts_->begin_webauthn_sign_in(b).ok());  // replacing one's own is fine
  EXPECT_EQ(accounts_->begin_webauthn_sign_in(c).status().code(), base::Code::kResourceExhausted);
  advance(5 * 60);
  EXPECT_TRUE(accounts_->begin_webauthn_sign_in(c).ok());  // the expired ones made room
}

TEST_F(AccountsWebAuthnTest, ListAndRemoveFactorsButNeverTheLast) {
  enroll_key_only();
  const std::string sid = signed_in_with_key(2);
  const std::string key_id = accounts_->list_factors(sid)->factors.at(0).id;
  expect_refused(accounts_->remove_factor(sid, key_id), base::Code::kFailedPrecondition,
                 "factor.last");
  // TOTP added from kReady: the session and the recovery codes stay as they are.
  auto e = accounts_->begin_totp(sid);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  TotpSecret secret = *parse_base32_secret(e->secret);
  auto codes = accounts_->confirm_totp(sid, e->secret, totp_code(secret, now()));
  ASSERT_TRUE(codes.ok()) << codes.status().to_string();
  EXPECT_TRUE(codes->empty());
  EXPECT_EQ(accounts_->session(sid)->stage, SessionStage::kReady);
  EXPECT_EQ(accounts_->begin_totp(sid).status().code(), base::Code::kFailedPrecondition);
  EXPECT_EQ(*accounts_->factor_kinds(user_.id), (std::vector<std::string>{"totp", "webauthn"}));
  auto list = accounts_->list_factors(sid);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->factors.size(), 2u);
  EXPECT_EQ(list->factors[0].id, "totp");
  EXPECT_EQ(list->factors[0].kind, "totp");
  EXPECT_EQ(list->factors[1].id, key_id);
  EXPECT_EQ(list->factors[1].name, "YubiKey");
  EXPECT_EQ(list->recovery_codes_left, 10);
  for (std::string_view junk : {"webauthn:999", "webauthn:", "webauthn:abc", "webauthn:-1",
                                "webauthn:+1", "webauthn:1x", "TOTP", "", "recovery"}) {
    EXPECT_EQ(accounts_->remove_factor(sid, junk).code(), base::Code::kNotFound) << junk;
  }
  ASSERT_TRUE(accounts_->remove_factor(sid, key_id).ok());
  expect_refused(accounts_->remove_factor(sid, "totp"), base::Code::kFailedPrecondition,
                 "factor.last");
  // A second key, then the TOTP can go.
  FakeAuthenticator spare(Bytes{7, 7, 7, 7, 7, 7, 7, 7});
  auto reg = register_key(sid, spare, "spare");
  ASSERT_TRUE(reg.ok()) << reg.status().to_string();
  EXPECT_TRUE(reg->recovery_codes.empty());
  ASSERT_TRUE(accounts_->remove_factor(sid, "totp").ok());
  EXPECT_EQ(*accounts_->factor_kinds(user_.id), std::vector<std::string>{"webauthn"});
  list = accounts_->list_factors(sid);
  ASSERT_EQ(list->factors.size(), 1u);
  EXPECT_EQ(list->factors[0].name, "spare");
  // Next sign-in: the key, not the removed ones.
  const std::string next = password_step("hanako");
  EXPECT_FALSE(accounts_->session(next)->has_totp);
  expect_refused(finish(next, answer(next, key_, 3)).status(), base::Code::kUnauthenticated,
                 "not registered");
  EXPECT_TRUE(finish(next, answer(next, spare, 3)).ok());
  // Only a signed-in session lists or removes.
  const std::string half = password_step("hanako");
  EXPECT_EQ(accounts_->list_factors(half).status().code(), base::Code::kFailedPrecondition);
  EXPECT_EQ(accounts_->remove_factor(half, "totp").code(), base::Code::kFailedPrecondition);
}

TEST_F(AccountsWebAuthnTest, AFactorAddedWithNoRecoveryCodesLeftBringsNewOnes) {
  enroll_key_only();
  const std::string sid = signed_in_with_key(2);
  ASSERT_TRUE(meta_->set_recovery_codes(user_.id, {}).ok());  // all used up
  FakeAuthenticator spare(Bytes{7, 7, 7, 7, 7, 7, 7, 7});
  auto reg = register_key(sid, spare, "spare");
  ASSERT_TRUE(reg.ok());
  EXPECT_EQ(reg->recovery_codes.size(), 10u);
  EXPECT_EQ(accounts_->list_factors(sid)->recovery_codes_left, 10);
}

TEST_F(AccountsWebAuthnTest, RegenerateRecoveryCodes) {
  enroll_key_only();
  const std::string half = password_step("hanako");
  EXPECT_EQ(accounts_->regenerate_recovery_codes(half).status().code(),
            base::Code::kFailedPrecondition);
  ASSERT_TRUE(finish(half, answer(half, key_, 2)).ok());
  auto fresh = accounts_->regenerate_recovery_codes(half);
  ASSERT_TRUE(fresh.ok());
  ASSERT_EQ(fresh->size(), 10u);
  EXPECT_EQ(accounts_->list_factors(half)->recovery_codes_left, 10);
  const std::string s1 = password_step("hanako");
  EXPECT_EQ(accounts_->sign_in_second_factor(s1, recovery_.at(0)).status().code(),
            base::Code::kUnauthenticated);  // the old ones are gone
  EXPECT_TRUE(accounts_->sign_in_second_factor(s1, fresh->at(0)).ok());
  EXPECT_EQ(accounts_->list_factors(s1)->recovery_codes_left, 9);
}

TEST_F(AccountsWebAuthnTest, FactorResetNeedsTwoOtherAdminsAndSendsTheUserBackToEnrollment) {
  enroll_key_only();
  const meta::User sato = new_user("sato", "Sato"), ito = new_user("ito", "Ito");
  const std::string sid = signed_in_with_key(2);
  expect_refused(accounts_->request_factor_reset(user_.id, user_.id).status(),
                 base::Code::kPermissionDenied, "for themselves");
  auto req = accounts_->request_factor_reset(sato.id, user_.id);
  ASSERT_TRUE(req.ok()) << req.status().to_string();
  EXPECT_EQ(req->expires_unix, now() + 24 * 3600);
  EXPECT_EQ(accounts_->request_factor_reset(ito.id, user_.id).status().code(),
            base::Code::kAlreadyExists);
  EXPECT_EQ(accounts_->approve_factor_reset(sato.id, req->id).status().code(),
            base::Code::kPermissionDenied);  // the requester
  EXPECT_EQ(accounts_->approve_factor_reset(user_.id, req->id).status().code(),
            base::Code::kPermissionDenied);   // the user herself
  EXPECT_TRUE(accounts_->session(sid).ok());  // nothing happened yet
  auto done = accounts_->approve_factor_reset(ito.id, req->id);
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  EXPECT_EQ(done->approved_by, ito.id);
  EXPECT_FALSE(accounts_->session(sid).ok());
  // The password, then straight to enrollment: no factor is left to ask for.
  const std::string next = password_step("hanako");
  auto info = accounts_->session(next);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->stage, SessionStage::kEnrollmentDue);
  EXPECT_FALSE(info->has_webauthn);
  EXPECT_TRUE(accounts_->factor_kinds(user_.id)->empty());
  EXPECT_EQ(accounts_->sign_in_second_factor(next, recovery_.at(1)).status().code(),
            base::Code::kFailedPrecondition);
  FakeAuthenticator new_key(Bytes{5, 5, 5, 5, 5, 5, 5, 5});
  auto reg = register_key(next, new_key, "new");
  ASSERT_TRUE(reg.ok()) << reg.status().to_string();
  EXPECT_EQ(reg->recovery_codes.size(), 10u);
  EXPECT_EQ(accounts_->session(next)->stage, SessionStage::kReady);
}

TEST_F(AccountsWebAuthnTest, AnUnapprovedFactorResetLapses) {
  const meta::User sato = new_user("sato", "Sato"), ito = new_user("ito", "Ito");
  auto req = accounts_->request_factor_reset(sato.id, user_.id);
  ASSERT_TRUE(req.ok()) << req.status().to_string();
  advance(24 * 3600);
  EXPECT_EQ(accounts_->approve_factor_reset(ito.id, req->id).status().code(),
            base::Code::kFailedPrecondition);
  EXPECT_EQ(accounts_->approve_factor_reset(ito.id, req->id + 100).status().code(),
            base::Code::kNotFound);
}

}  // namespace
}  // namespace kura::service
