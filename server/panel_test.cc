#include "server/panel.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <set>

#include "meta/sqlite_store.h"
#include "service/totp.h"
#include "service/webauthn_testing.h"

namespace kura::server {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr int64_t kStart = 1'800'000'000;
constexpr char kInitial[] = "Sakura-Init-2026!";
constexpr char kNew[] = "Momiji#Autumn-77";

// A browser: keeps the session cookie and the CSRF token like the front end does.
struct Browser {
  std::string cookie;  // "kura_session=..."
  std::string csrf;
};

class PanelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    meta::SqliteOptions opt;
    opt.clock = &clock_;
    meta_ = std::move(*meta::open_sqlite(":memory:", opt));
    svc_ = std::make_unique<service::Service>(meta_.get(),
                                              std::map<std::string, objstore::ObjectStore*>{},
                                              &clock_, service::ServiceOptions{});
    service::AccountOptions o;
    o.argon2 = {1, 8, 1};  // fast in tests
    o.rp_id = service::webauthn_testing::kTestConfig.rp_id;
    o.origin = service::webauthn_testing::kTestConfig.origin;
    accounts_ = std::make_unique<service::Accounts>(meta_.get(), &clock_, o);
    panel_ = std::make_unique<Panel>(svc_.get(), accounts_.get());
    meta::Tenant t;
    t.name = "clinic-a";
    t.display_name = "さくら内科クリニック";
    t.region = "jp-east";
    tenant_ = meta_->create_tenant(t)->id;
    ASSERT_TRUE(accounts_->create_user(tenant_, "hanako", "山田 花子",
                                       meta::UserRole::kInstitutionAdmin, kInitial)
                    .ok());
  }

  PanelResponse call(Browser& b, std::string_view method, std::string_view path,
                     const json& body = json::object(), std::string_view content_type =
                                                            "application/json") {
    PanelRequest req;
    req.method = method;
    req.path = path;
    req.cookie = b.cookie;
    req.csrf_token = b.csrf;
    req.content_type = content_type;
    const std::string text = method == "GET" ? std::string() : body.dump();
    req.body = text;
    req.source_ip = "192.0.2.7";
    PanelResponse r = panel_->handle(req);
    for (const auto& [k, v] : r.headers) {
      if (k == "Set-Cookie") b.cookie = v.substr(0, v.find(';'));
    }
    json j = json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("csrf_token")) b.csrf = j["csrf_token"];
    if (j.is_object() && j.contains("session")) b.csrf = j["session"]["csrf_token"];
    return r;
  }
  static std::string error_of(const PanelResponse& r) {
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : "";
  }
  static json body_of(const PanelResponse& r) { return json::parse(r.body); }
  int64_t now() { return clock_.now().sec; }

  // The first sign-in through the API; returns the TOTP secret.
  service::TotpSecret first_sign_in(Browser& b) {
    EXPECT_EQ(call(b, "POST", "/auth/password", {{"login", "hanako"}, {"password", kInitial}}).status, 200);
    EXPECT_EQ(call(b, "POST", "/me/password", {{"old", kInitial}, {"new", kNew}}).status, 200);
    PanelResponse begin = call(b, "POST", "/me/totp/begin");
    EXPECT_EQ(begin.status, 200) << begin.body;
    const std::string secret_text = body_of(begin)["secret"];
    service::TotpSecret secret = *service::parse_base32_secret(secret_text);
    PanelResponse done = call(b, "POST", "/me/totp/confirm",
                              {{"secret", secret_text}, {"code", service::totp_code(secret, now())}});
    EXPECT_EQ(done.status, 200) << done.body;
    EXPECT_EQ(body_of(done)["recovery_codes"].size(), 10u);
    EXPECT_EQ(body_of(done)["session"]["stage"], "ready");
    return secret;
  }

  base::FakeClock clock_{base::Timespec{kStart, 0}};
  std::unique_ptr<meta::MetaStore> meta_;
  std::unique_ptr<service::Service> svc_;
  std::unique_ptr<service::Accounts> accounts_;
  std::unique_ptr<Panel> panel_;
  int64_t tenant_ = 0;
};

TEST_F(PanelTest, FirstSignInWalksTheStagesAndNothingElseIsReachable) {
  Browser b;
  PanelResponse r = call(b, "POST", "/auth/password", {{"login", "hanako"}, {"password", kInitial}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["stage"], "password_change");
  EXPECT_EQ(b.cookie.size(), std::string("kura_session=").size() + 64);
  bool cookie_attrs = false;
  for (const auto& [k, v] : r.headers) {
    cookie_attrs |= k == "Set-Cookie" && v.find("; Secure; HttpOnly; SameSite=Strict") != std::string::npos;
  }
  EXPECT_TRUE(cookie_attrs);
  EXPECT_EQ(r.action, "panel.signin.password");
  // Enrollment and everything else wait for the password change.
  EXPECT_EQ(error_of(call(b, "POST", "/me/totp/begin")), "stage.password_change");
  EXPECT_EQ(error_of(call(b, "POST", "/auth/sign-out-everywhere")), "stage.password_change");
  // The policy's problems come back as catalog keys with their arguments.
  r = call(b, "POST", "/me/password", {{"old", kInitial}, {"new", "short"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_of(r), "password.policy");
  EXPECT_EQ(body_of(r)["problems"][0], "pw.too_short");
  EXPECT_EQ(body_of(r)["problem_args"][0][0], "8");
  EXPECT_EQ(error_of(call(b, "POST", "/me/password", {{"old", "nope"}, {"new", kNew}})),
            "password.old_wrong");
  r = call(b, "POST", "/me/password", {{"old", kInitial}, {"new", kNew}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["stage"], "enrollment");
  EXPECT_EQ(body_of(r)["actions"].size(), 0u);
  r = call(b, "POST", "/me/totp/begin");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["qr_svg"].get<std::string>().rfind("<svg", 0), 0u);
  EXPECT_EQ(error_of(call(b, "POST", "/me/totp/confirm",
                          {{"secret", body_of(r)["secret"]}, {"code", "000000"}})),
            "totp.code_wrong");
  service::TotpSecret secret = *service::parse_base32_secret(body_of(r)["secret"].get<std::string>());
  r = call(b, "POST", "/me/totp/confirm",
           {{"secret", body_of(r)["secret"]}, {"code", service::totp_code(secret, now())}});
  ASSERT_EQ(r.status, 200) << r.body;
  json s = body_of(r)["session"];
  EXPECT_EQ(s["stage"], "ready");
  EXPECT_EQ(s["user"]["tenant"], "clinic-a");
  EXPECT_EQ(s["user"]["tenant_display_name"], "さくら内科クリニック");
  EXPECT_EQ(s["user"]["role"], "institution_admin");
  std::vector<std::string> actions = s["actions"];
  EXPECT_NE(std::find(actions.begin(), actions.end(), "panel.user.manage"), actions.end());
  EXPECT_EQ(std::find(actions.begin(), actions.end(), "panel.tenant.manage"), actions.end());
  EXPECT_EQ(r.who.kind, service::IdentityKind::kUser);
  EXPECT_EQ(r.who.actor(), "user:hanako");
}

TEST_F(PanelTest, EverySignInNeedsTheSecondFactor) {
  Browser first;
  service::TotpSecret secret = first_sign_in(first);
  clock_.advance(seconds(60));
  Browser b;
  PanelResponse r = call(b, "POST", "/auth/password", {{"login", "hanako"}, {"password", kNew}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["stage"], "second_factor");
  EXPECT_EQ(body_of(r)["second_factors"][0], "totp");
  EXPECT_EQ(error_of(call(b, "POST", "/me/password", {{"old", kNew}, {"new", "Other#Pass-1234"}})),
            "stage.second_factor");
  r = call(b, "POST", "/auth/second-factor", {{"code", "123456"}});
  EXPECT_EQ(error_of(r), "signin.code_wrong");
  EXPECT_GT(r.delay_ms, 0);
  r = call(b, "POST", "/auth/second-factor", {{"code", service::totp_code(secret, now())}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["stage"], "ready");
}

TEST_F(PanelTest, UnknownIdAndWrongPasswordLookTheSame) {
  Browser a, b;
  PanelResponse unknown = call(a, "POST", "/auth/password", {{"login", "nobody"}, {"password", kInitial}});
  PanelResponse wrong = call(b, "POST", "/auth/password", {{"login", "hanako"}, {"password", "x"}});
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.status, wrong.status);
  EXPECT_EQ(unknown.body, wrong.body);
  EXPECT_EQ(unknown.delay_ms, wrong.delay_ms);
  EXPECT_EQ(unknown.headers, wrong.headers);
  EXPECT_TRUE(a.cookie.empty());
  // The records tell them apart for the auditor, and name the ID tried, never the password.
  EXPECT_EQ(unknown.object, "user:nobody");
  EXPECT_EQ(unknown.result.find(kInitial), std::string::npos);
  EXPECT_EQ(wrong.tenant, "clinic-a");
}

TEST_F(PanelTest, ThreeFailuresLockAndTheLockAnswersLikeAWrongPassword) {
  Browser b;
  int64_t last_delay = 0;
  for (int i = 0; i < 3; ++i) {
    PanelResponse r = call(b, "POST", "/auth/password", {{"login", "hanako"}, {"password", "wrong"}});
    EXPECT_EQ(error_of(r), "signin.failed");
    EXPECT_GT(r.delay_ms, last_delay);  // growing
    last_delay = r.delay_ms;
  }
  PanelResponse r = call(b, "POST", "/auth/password", {{"login", "hanako"}, {"password", kInitial}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(error_of(r), "signin.failed");
  EXPECT_EQ(r.action, "panel.signin.locked");
  EXPECT_TRUE(b.cookie.empty());
  clock_.advance(seconds(30 * 60 + 1));
  EXPECT_EQ(call(b, "POST", "/auth/password", {{"login", "hanako"}, {"password", kInitial}}).status, 200);
}

TEST_F(PanelTest, StateChangesNeedJsonAndTheCsrfToken) {
  Browser b;
  first_sign_in(b);
  // A form post (the cross-site kind) is refused before anything else.
  PanelResponse r = call(b, "POST", "/auth/sign-out", json::object(), "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(error_of(r), "csrf");
  EXPECT_EQ(error_of(call(b, "POST", "/auth/sign-out", json::object(), "text/plain")), "csrf");
  Browser no_token{b.cookie, ""};
  EXPECT_EQ(error_of(call(no_token, "POST", "/auth/sign-out")), "csrf");
  Browser wrong_token{b.cookie, std::string(64, '0')};
  EXPECT_EQ(error_of(call(wrong_token, "POST", "/auth/sign-out")), "csrf");
  // Still signed in; then the real sign-out ends the session.
  EXPECT_EQ(call(b, "GET", "/auth/session").status, 200);
  r = call(b, "POST", "/auth/sign-out");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(b.cookie, "kura_session=");
  EXPECT_EQ(error_of(call(no_token, "GET", "/auth/session")), "session.none");
}

TEST_F(PanelTest, IdleAndAbsoluteLimits) {
  Browser b;
  first_sign_in(b);
  clock_.advance(seconds(14 * 60));
  EXPECT_EQ(call(b, "GET", "/auth/session").status, 200);  // touches it
  clock_.advance(seconds(14 * 60));
  PanelResponse r = call(b, "GET", "/auth/session");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["idle_expires"], now() + 15 * 60);
  clock_.advance(seconds(15 * 60));
  EXPECT_EQ(error_of(call(b, "GET", "/auth/session")), "session.expired");
}

TEST_F(PanelTest, SignOutEverywhereEndsOtherSessions) {
  Browser a;
  service::TotpSecret secret = first_sign_in(a);
  clock_.advance(seconds(60));
  Browser b;
  call(b, "POST", "/auth/password", {{"login", "hanako"}, {"password", kNew}});
  ASSERT_EQ(call(b, "POST", "/auth/second-factor", {{"code", service::totp_code(secret, now())}}).status, 200);
  PanelResponse r = call(b, "POST", "/auth/sign-out-everywhere");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["ended"], 2);
  EXPECT_EQ(call(a, "GET", "/auth/session").status, 401);
}

TEST_F(PanelTest, GarbageIsRefusedPolitely) {
  Browser b;
  EXPECT_EQ(call(b, "GET", "/nosuch").status, 404);
  EXPECT_EQ(call(b, "GET", "/auth/password").status, 405);
  EXPECT_EQ(call(b, "POST", "/auth//password").status, 404);
  EXPECT_EQ(call(b, "POST", "/auth/password/").status, 404);
  EXPECT_EQ(call(b, "POST", "").status, 404);
  PanelRequest req;
  req.method = "POST";
  req.path = "/auth/password";
  req.content_type = "application/json";
  for (std::string body : {"", "[]", "{", "\"x\"", "{\"login\":1,\"password\":[]}", "nul\x01"}) {
    req.body = body;
    PanelResponse r = panel_->handle(req);
    EXPECT_TRUE(r.status == 400 || r.status == 401) << body << " " << r.status;
  }
  const std::string long_login = json{{"login", std::string(10000, 'a')}, {"password", "x"}}.dump();
  req.body = long_login;
  EXPECT_EQ(panel_->handle(req).status, 401);
  const std::string control = json{{"login", "hanako\x01\n"}, {"password", "x"}}.dump();
  req.body = control;
  PanelResponse r = panel_->handle(req);
  EXPECT_EQ(r.object.find('\n'), std::string::npos);
  Browser forged{"kura_session=" + std::string(64, 'a'), std::string(64, 'a')};
  EXPECT_EQ(error_of(call(forged, "GET", "/auth/session")), "session.none");
  Browser odd{"kura_session=../../etc; x", ""};
  EXPECT_EQ(call(odd, "GET", "/auth/session").status, 401);
  // Bytes that are not UTF-8, echoed in an error message, still make a JSON answer (the fuzz
  // target found that nlohmann's dump() threw on them, which ended the server's pool thread).
  Browser admin;
  first_sign_in(admin);
  PanelResponse bad_tenant = call(admin, "GET", "/tenants/clinic-a\xff\xfe/dashboard");
  EXPECT_GE(bad_tenant.status, 400);
  EXPECT_TRUE(json::parse(bad_tenant.body, nullptr, false).is_object()) << bad_tenant.body;
  PanelRequest q;
  q.method = "GET";
  q.path = "/users";
  q.query = "tenant=%ff%fe";
  q.cookie = admin.cookie;
  PanelResponse bad_query = panel_->handle(q);
  EXPECT_GE(bad_query.status, 400);
  EXPECT_TRUE(json::parse(bad_query.body, nullptr, false).is_object()) << bad_query.body;
}

// Every role × every endpoint that has an Action, through the API: allowed on its own
// institution ("o"), on any ("a"), or never ("-"). Written out again here rather than derived
// from the authorisation table, so that it also checks which Action each endpoint maps to.
TEST_F(PanelTest, EveryRoleTimesEveryEndpoint) {
  meta::Tenant other;
  other.name = "clinic-b";
  other.region = "jp-east";
  ASSERT_TRUE(meta_->create_tenant(other).ok());
  using R = meta::UserRole;
  const R roles[] = {R::kProviderAdmin, R::kProviderOperator, R::kInstitutionAdmin,
                     R::kInstitutionOperator, R::kAuditor, R::kViewer};
  std::vector<Browser> browsers;
  int n = 0;
  for (R role : roles) {
    const bool provider = role == R::kProviderAdmin || role == R::kProviderOperator;
    const std::string login = "user" + std::to_string(n++);
    auto u = accounts_->create_user(provider ? 0 : tenant_, login, "User " + login, role, kInitial);
    ASSERT_TRUE(u.ok()) << u.status().to_string();
    ASSERT_TRUE(meta_->set_password(u->id, u->password_hash, false, 5, now()).ok());
    service::TotpSecret secret = service::new_totp_secret();
    meta::TotpFactor f;
    f.user_id = u->id;
    f.secret = service::base32_secret(secret);
    ASSERT_TRUE(meta_->set_totp(f).ok());
    Browser b;
    ASSERT_EQ(call(b, "POST", "/auth/password", {{"login", login}, {"password", kInitial}}).status, 200);
    ASSERT_EQ(call(b, "POST", "/auth/second-factor", {{"code", service::totp_code(secret, now())}}).status, 200);
    browsers.push_back(b);
  }
  auto a_user = accounts_->create_user(tenant_, "carol", "Carol", R::kViewer, kInitial);
  ASSERT_TRUE(a_user.ok());
  const std::string own_user = std::to_string(a_user->id);
  auto b_user = accounts_->create_user(meta_->tenant_by_name("clinic-b")->id, "bob", "Bob",
                                       R::kViewer, kInitial);
  ASSERT_TRUE(b_user.ok());
  const std::string other_user = std::to_string(b_user->id);
  struct Case {
    const char* method;
    const char* path;  // {t}: the tenant, {u}: a user of that tenant
    const char* row;   //  PA PO IA IO AU VI
  };
  const Case cases[] = {
      {"GET", "/tenants/{t}/dashboard", "a a o o o o"},
      {"GET", "/tenants/{t}/devices", "a a o o o o"},
      {"GET", "/tenants/{t}/repos", "a a o o o o"},
      {"GET", "/tenants/{t}/repos/main/snapshots", "a a o o o o"},
      {"GET", "/tenants/{t}/devices/pc/policy", "a a o o o o"},
      {"POST", "/tenants/{t}/enroll-codes", "a a o o - -"},
      {"PUT", "/tenants/{t}/devices/pc", "a a o - - -"},
      {"POST", "/tenants/{t}/devices/pc/revoke", "a a o - - -"},
      {"PUT", "/tenants/{t}/devices/pc/policy", "a a o - - -"},
      {"GET", "/tenants/{t}/audit", "a a o - o -"},
      {"GET", "/users?tenant={t}", "a a o - - -"},
      {"POST", "/users", "a - o - - -"},  // body names the tenant
      {"PUT", "/users/{u}", "a - o - - -"},
      {"POST", "/users/{u}/unlock", "a - o - - -"},
      {"POST", "/users/{u}/end-sessions", "a - o - - -"},
      {"PUT", "/tenants/{t}", "a - - - - -"},
  };
  for (const Case& c : cases) {
    for (int other_tenant = 0; other_tenant < 2; ++other_tenant) {
      std::string path = c.path;
      const std::string t = other_tenant ? "clinic-b" : "clinic-a";
      const std::string u = other_tenant ? other_user : own_user;
      if (auto p = path.find("{t}"); p != std::string::npos) path.replace(p, 3, t);
      if (auto p = path.find("{u}"); p != std::string::npos) path.replace(p, 3, u);
      std::string query;
      if (auto q = path.find('?'); q != std::string::npos) {
        query = path.substr(q + 1);
        path.resize(q);
      }
      for (size_t r = 0; r < std::size(roles); ++r) {
        const char want = c.row[2 * r];
        const bool allowed = want == 'a' || (want == 'o' && !other_tenant);
        PanelRequest req;
        req.method = c.method;
        req.path = path;
        req.query = query;
        req.cookie = browsers[r].cookie;
        req.csrf_token = browsers[r].csrf;
        req.content_type = "application/json";
        // Bodies the handler refuses after the gate (nothing changes), so that every role meets
        // the same state.
        const std::string body = std::string(c.path) == "/users"
                                     ? json{{"tenant", t}, {"login", "x"}}.dump()
                                     : std::string("{\"name\":\"-bad-\",\"targets\":[]}");
        req.body = body;
        PanelResponse got = panel_->handle(req);
        const bool denied = got.status == 403 && error_of(got) == "error.denied";
        EXPECT_EQ(!denied, allowed) << c.method << " " << c.path << " on " << t << " by "
                                    << meta::user_role_name(roles[r]) << ": " << got.status << " "
                                    << got.body;
      }
    }
  }
  // The provider-level endpoints: provider staff only, whatever the tenant.
  const std::pair<const char*, const char*> provider_only[] = {
      {"GET", "/regions"}, {"GET", "/usage"}, {"POST", "/tenants"}, {"POST", "/notices"},
      {"DELETE", "/notices/999"}};
  for (auto [method, path] : provider_only) {
    for (size_t r = 0; r < std::size(roles); ++r) {
      PanelResponse got = call(browsers[r], method, path, json{{"name", "-bad-"}});
      const bool denied = got.status == 403 && error_of(got) == "error.denied";
      const bool manage = std::string(path) == "/tenants";  // provider admins only
      EXPECT_EQ(denied, r >= 2 || (manage && r == 1)) << method << " " << path << " by " << r;
    }
  }
  // Provider staff in a users request naming no tenant: the provider's own staff.
  EXPECT_EQ(call(browsers[2], "GET", "/users").status, 200);  // own institution
  PanelResponse staff = call(browsers[0], "GET", "/users");
  ASSERT_EQ(staff.status, 200);
  EXPECT_EQ(body_of(staff)["users"].size(), 2u);
  // An institution admin cannot create provider staff or a provider role in its institution.
  EXPECT_EQ(error_of(call(browsers[2], "POST", "/users",
                          {{"tenant", ""}, {"login", "evil"}, {"role", "provider_admin"},
                           {"display_name", "E"}, {"initial_password", kNew}})),
            "error.denied");
  EXPECT_EQ(call(browsers[2], "POST", "/users",
                 {{"tenant", "clinic-a"}, {"login", "evil"}, {"role", "provider_admin"},
                  {"display_name", "E"}, {"initial_password", kNew}}).status, 400);
  // A user id that does not exist looks, to institution staff, like another tenant's.
  EXPECT_EQ(error_of(call(browsers[2], "POST", "/users/99999/unlock")), "error.denied");
  EXPECT_EQ(call(browsers[0], "POST", "/users/99999/unlock").status, 404);
}

TEST_F(PanelTest, DataScreensAnswerWhatTheServerKnows) {
  meta::Tenant t = *meta_->tenant_by_id(tenant_);
  ASSERT_TRUE(meta_->set_tenant_quota(tenant_, 1000).ok());
  meta::Repo repo;
  repo.tenant_id = tenant_;
  repo.name = "main";
  repo = *meta_->create_repo(repo);
  ASSERT_TRUE(meta_->add_usage(repo.id, 850, 3).ok());  // 85 %: the 80 % alert
  Browser b;
  service::TotpSecret secret = first_sign_in(b);
  ASSERT_TRUE(svc_->sample_usage().ok());
  PanelResponse r = call(b, "GET", "/tenants/clinic-a/dashboard");
  ASSERT_EQ(r.status, 200) << r.body;
  json d = body_of(r);
  EXPECT_EQ(d["tenant"]["used_bytes"], 850);
  EXPECT_EQ(d["alerts"][0]["kind"], "quota_80");
  EXPECT_EQ(d["backups_per_day"].size(), 30u);
  ASSERT_EQ(d["usage_history"].size(), 1u);
  EXPECT_EQ(d["usage_history"][0]["day"], service::jst_day(now()));
  // Provider-level edits are refused to an institution admin; the provider admin renames.
  EXPECT_EQ(error_of(call(b, "PUT", "/tenants/clinic-a", {{"display_name", "さくら内科 本院"}})), "error.denied");
  // Users: create with an initial password, the policy applies; role change; own role fixed.
  r = call(b, "POST", "/users", {{"tenant", "clinic-a"}, {"login", "taro"}, {"display_name", "田中 太郎"},
                                 {"role", "viewer"}, {"initial_password", "weak"}});
  EXPECT_EQ(error_of(r), "password.policy");
  r = call(b, "POST", "/users", {{"tenant", "clinic-a"}, {"login", "taro"}, {"display_name", "田中 太郎"},
                                 {"role", "viewer"}, {"initial_password", kNew}});
  ASSERT_EQ(r.status, 200) << r.body;
  const int64_t taro = body_of(r)["user"]["id"];
  EXPECT_EQ(r.action, "panel.user.create");
  r = call(b, "PUT", "/users/" + std::to_string(taro), {{"role", "institution_operator"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["user"]["role"], "institution_operator");
  const int64_t me = meta_->user_by_login("hanako")->id;
  EXPECT_EQ(call(b, "PUT", "/users/" + std::to_string(me), {{"role", "viewer"}}).status, 409);
  EXPECT_EQ(call(b, "PUT", "/users/" + std::to_string(me), {{"disabled", true}}).status, 409);
  // Policies: refused with the reason, stored in canonical form.
  meta::Device dev;
  dev.tenant_id = tenant_;
  dev.repo_id = repo.id;
  dev.name = "reception-pc";
  dev.cert_serial = "ab";
  dev.cert_fingerprint = "SHA256:" + std::string(64, 'a');
  dev.not_after = now() + 86400;  // expiring: an alert
  meta::EnrollCode code;
  code.code_hash = std::string(64, 'c');
  code.tenant_id = tenant_;
  code.repo_id = repo.id;
  code.device_name = "reception-pc";
  code.expires_unix = now() + 3600;
  ASSERT_TRUE(meta_->create_enroll_code(code).ok());
  ASSERT_TRUE(meta_->redeem_enroll_code(code.code_hash, now(), dev).ok());
  r = call(b, "PUT", "/tenants/clinic-a/devices/reception-pc/policy", {{"targets", json::array()}});
  EXPECT_EQ(error_of(r), "policy.invalid");
  r = call(b, "PUT", "/tenants/clinic-a/devices/reception-pc/policy",
           {{"targets", {"C:\\カルテ"}}, {"schedule", "hourly"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["policy"]["updated_by"], "hanako");
  EXPECT_EQ(body_of(r)["policy"]["retention"]["keep_daily"], 7);
  clock_.advance(seconds(3 * 3600));  // hourly, and no backup for 3 hours: missed
  b = Browser{};  // the session has timed out meanwhile
  call(b, "POST", "/auth/password", {{"login", "hanako"}, {"password", kNew}});
  ASSERT_EQ(call(b, "POST", "/auth/second-factor", {{"code", service::totp_code(secret, now())}}).status, 200);
  d = body_of(call(b, "GET", "/tenants/clinic-a/dashboard"));
  std::set<std::string> kinds;
  for (const auto& a : d["alerts"]) kinds.insert(a["kind"].get<std::string>());
  EXPECT_TRUE(kinds.count("schedule_missed") && kinds.count("cert_expiring")) << d["alerts"].dump();
  // Rename keeps the device (and its policy).
  ASSERT_EQ(call(b, "PUT", "/tenants/clinic-a/devices/reception-pc", {{"name", "uketsuke-pc"}}).status, 200);
  EXPECT_EQ(body_of(call(b, "GET", "/tenants/clinic-a/devices/uketsuke-pc/policy"))["policy"]["schedule"], "hourly");
  // Notices: provider staff only; an institution admin reads them.
  EXPECT_EQ(error_of(call(b, "POST", "/notices", {{"title_ja", "保守"}})), "error.denied");
  ASSERT_TRUE(meta_->create_notice(meta::Notice{0, "定期保守", "Maintenance", "", "", "maintenance",
                                                now() + 3600, now() + 7200, "ops", 0}).ok());
  r = call(b, "GET", "/notices");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["notices"][0]["title_ja"], "定期保守");
}

// A security key as the first factor, sign-in with it, the factor list (never the last one),
// TOTP added later, and the two-admin reset — through the API, with a software authenticator.
TEST_F(PanelTest, SecurityKeysAndFactors) {
  namespace wt = service::webauthn_testing;
  using base::Bytes;
  auto b64 = [](const Bytes& b) { return service::base64url_encode(b); };
  wt::FakeAuthenticator key(Bytes{9, 8, 7, 6, 5, 4, 3, 2});
  Browser b;
  call(b, "POST", "/auth/password", {{"login", "hanako"}, {"password", kInitial}});
  ASSERT_EQ(call(b, "POST", "/me/password", {{"old", kInitial}, {"new", kNew}}).status, 200);
  PanelResponse r = call(b, "POST", "/me/webauthn/begin", {{"name", "YubiKey"}});
  ASSERT_EQ(r.status, 200) << r.body;
  std::string challenge = body_of(r)["publicKey"]["challenge"];
  Bytes cdj = wt::client_data("webauthn.create", challenge);
  Bytes att = key.attestation("none", key.auth_data(wt::kUp | wt::kUv | wt::kAt, 1), cdj);
  const json cred{{"id", key.credential_id_b64url()}, {"rawId", key.credential_id_b64url()},
                  {"type", "public-key"}, {"name", "YubiKey"},
                  {"response", {{"clientDataJSON", b64(cdj)}, {"attestationObject", b64(att)}}}};
  r = call(b, "POST", "/me/webauthn/finish", cred);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["recovery_codes"].size(), 10u);
  EXPECT_EQ(body_of(r)["session"]["stage"], "ready");
  EXPECT_EQ(r.action, "panel.factor.webauthn.add");
  // The last factor cannot go.
  r = call(b, "GET", "/me/factors");
  ASSERT_EQ(r.status, 200);
  const std::string key_id = body_of(r)["factors"][0]["id"];
  EXPECT_EQ(error_of(call(b, "DELETE", "/me/factors/" + key_id)), "factor.last");
  ASSERT_EQ(call(b, "POST", "/auth/sign-out").status, 200);

  // Sign-in: password, then the key.
  Browser c;
  r = call(c, "POST", "/auth/password", {{"login", "hanako"}, {"password", kNew}});
  EXPECT_EQ(body_of(r)["second_factors"], json::array({"webauthn"}));
  auto assertion = [&](uint32_t count) {
    PanelResponse begin = call(c, "POST", "/auth/webauthn/begin");
    EXPECT_EQ(begin.status, 200) << begin.body;
    Bytes cd = wt::client_data("webauthn.get", body_of(begin)["publicKey"]["challenge"].get<std::string>());
    Bytes ad = key.auth_data(wt::kUp, count);
    return json{{"id", key.credential_id_b64url()}, {"type", "public-key"},
                {"response", {{"clientDataJSON", b64(cd)}, {"authenticatorData", b64(ad)},
                              {"signature", b64(key.assertion_sig(ad, cd))}}}};
  };
  r = call(c, "POST", "/auth/webauthn/finish", assertion(1));  // the count did not grow: a clone
  EXPECT_EQ(error_of(r), "signin.key_wrong");
  EXPECT_GT(r.delay_ms, 0);
  EXPECT_EQ(call(c, "POST", "/auth/webauthn/finish", json{{"id", "x"}, {"response", "no"}}).status, 401);
  r = call(c, "POST", "/auth/webauthn/finish", assertion(2));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["stage"], "ready");

  // Add TOTP from "my account"; now the key may go.
  r = call(c, "POST", "/me/totp/begin");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string secret_text = body_of(r)["secret"];
  service::TotpSecret secret = *service::parse_base32_secret(secret_text);
  r = call(c, "POST", "/me/totp/confirm", {{"secret", secret_text}, {"code", service::totp_code(secret, now())}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(call(c, "GET", "/me/factors"))["factors"].size(), 2u);
  EXPECT_EQ(call(c, "DELETE", "/me/factors/" + key_id).status, 200);
  EXPECT_EQ(error_of(call(c, "DELETE", "/me/factors/totp")), "factor.last");
  EXPECT_EQ(body_of(call(c, "POST", "/me/recovery-codes"))["recovery_codes"].size(), 10u);

  // Reset by two admins: hanako's factors go; the requester cannot approve.
  auto make_admin = [&](const std::string& login) {
    auto u = accounts_->create_user(tenant_, login, "Admin " + login, meta::UserRole::kInstitutionAdmin, kInitial);
    EXPECT_TRUE(u.ok());
    EXPECT_TRUE(meta_->set_password(u->id, u->password_hash, false, 5, now()).ok());
    service::TotpSecret s = service::new_totp_secret();
    EXPECT_TRUE(meta_->set_totp(meta::TotpFactor{u->id, service::base32_secret(s), 0, 0}).ok());
    Browser x;
    call(x, "POST", "/auth/password", {{"login", login}, {"password", kInitial}});
    EXPECT_EQ(call(x, "POST", "/auth/second-factor", {{"code", service::totp_code(s, now())}}).status, 200);
    return x;
  };
  Browser admin1 = make_admin("admin1"), admin2 = make_admin("admin2");
  const std::string hanako = std::to_string(meta_->user_by_login("hanako")->id);
  r = call(admin1, "POST", "/users/" + hanako + "/factor-reset");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string rid = std::to_string(body_of(r)["request"]["id"].get<int64_t>());
  EXPECT_EQ(body_of(call(admin2, "GET", "/factor-resets"))["requests"].size(), 1u);
  EXPECT_EQ(error_of(call(admin1, "POST", "/factor-resets/" + rid + "/approve")), "reset.same_admin");
  r = call(admin2, "POST", "/factor-resets/" + rid + "/approve");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["request"]["state"], "done");
  EXPECT_EQ(call(c, "GET", "/auth/session").status, 401);  // her sessions ended
  Browser d;
  r = call(d, "POST", "/auth/password", {{"login", "hanako"}, {"password", kNew}});
  EXPECT_EQ(body_of(r)["stage"], "enrollment");
  // Another tenant's admin cannot see or approve it.
  EXPECT_EQ(error_of(call(b, "POST", "/factor-resets/" + rid + "/approve")), "session.none");
}

TEST(PanelCookie, FindsTheSessionCookie) {
  EXPECT_EQ(session_cookie("kura_session=abc"), "abc");
  EXPECT_EQ(session_cookie("a=1; kura_session=abc; b=2"), "abc");
  EXPECT_EQ(session_cookie("a=1;kura_session=abc"), "abc");
  EXPECT_EQ(session_cookie("xkura_session=abc"), "");
  EXPECT_EQ(session_cookie("kura_session"), "");
  EXPECT_EQ(session_cookie(""), "");
  EXPECT_EQ(session_cookie(";;;=;"), "");
  EXPECT_EQ(session_cookie("kura_session=" + std::string(500, 'a')), "");
}

TEST(PanelHeaders, ForbidInlineCodeAndFraming) {
  std::map<std::string, std::string> h(panel_security_headers().begin(),
                                       panel_security_headers().end());
  const std::string& csp = h["Content-Security-Policy"];
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("style-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(h["Referrer-Policy"], "no-referrer");
  EXPECT_EQ(h["X-Frame-Options"], "DENY");
}

}  // namespace
}  // namespace kura::server
