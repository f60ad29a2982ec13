// One behaviour suite for every MetaStore: SQLite on a file, SQLite in memory (and PostgreSQL
// when it exists: add a Target below). Everything here goes through the interface only;
// implementation details (files, pragmas, migrations) are tested beside each implementation.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "base/clock.h"
#include "meta/meta_store.h"
#include "meta/meta_testing.h"
#include "meta/sqlite_store.h"

namespace kura::meta {
namespace {

using base::Code;
using base::Status;
using base::StatusOr;

constexpr int64_t kStart = 1'700'000'000;  // the fake clock's time, Unix seconds

struct Fixture {
  base::FakeClock clock{base::Timespec{kStart, 0}};
  std::unique_ptr<testing::TempDir> dir;
  std::unique_ptr<MetaStore> store;
  // Opens a second store on the same data, as another process would; empty when the target
  // cannot (an in-memory database belongs to one connection).
  std::function<StatusOr<std::unique_ptr<MetaStore>>()> open_again;
};

struct Target {
  std::string name;
  std::function<Status(Fixture*)> make;
};
void PrintTo(const Target& t, std::ostream* os) { *os << t.name; }

Status make_sqlite_file(Fixture* f) {
  f->dir = std::make_unique<testing::TempDir>();
  SqliteOptions opt;
  opt.clock = &f->clock;
  const std::string path = f->dir->sub("meta.db");
  f->open_again = [path, opt] { return open_sqlite(path, opt); };
  StatusOr<std::unique_ptr<MetaStore>> s = open_sqlite(path, opt);
  if (!s.ok()) return s.status();
  f->store = std::move(s).value();
  return base::ok_status();
}

Status make_sqlite_memory(Fixture* f) {
  SqliteOptions opt;
  opt.clock = &f->clock;
  StatusOr<std::unique_ptr<MetaStore>> s = open_sqlite(":memory:", opt);
  if (!s.ok()) return s.status();
  f->store = std::move(s).value();
  return base::ok_status();
}

class MetaStoreTest : public ::testing::TestWithParam<Target> {
 protected:
  void SetUp() override {
    Status s = GetParam().make(&f_);
    ASSERT_TRUE(s.ok()) << s.to_string();
    store_ = f_.store.get();
  }

  Tenant tenant(const std::string& name) {
    Tenant t;
    t.name = name;
    t.display_name = "さくら内科クリニック " + name;
    t.region = "jp-east";
    auto r = store_->create_tenant(t);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : Tenant{};
  }
  Repo repo(int64_t tenant_id, const std::string& name) {
    Repo r;
    r.tenant_id = tenant_id;
    r.name = name;
    auto s = store_->create_repo(r);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return s.ok() ? *s : Repo{};
  }
  EnrollCode code(const Repo& r, const std::string& hash, const std::string& device_name,
                  DeviceRole role = DeviceRole::kBackup) {
    EnrollCode c;
    c.code_hash = hash;
    c.tenant_id = r.tenant_id;
    c.repo_id = r.id;
    c.device_name = device_name;
    c.role = role;
    c.expires_unix = kStart + 3600;
    Status s = store_->create_enroll_code(c);
    EXPECT_TRUE(s.ok()) << s.to_string();
    return c;
  }
  static Device cert(const std::string& serial) {
    Device d;
    d.cert_serial = serial;
    d.cert_fingerprint = "SHA256:" + std::string(64, 'a');
    d.not_before = kStart;
    d.not_after = kStart + 86400 * 365;
    return d;
  }
  // A device enrolled in `r` through a fresh code.
  Device device(const Repo& r, const std::string& name, const std::string& serial) {
    code(r, "hash-" + name + "-" + serial, name);
    auto d = store_->redeem_enroll_code("hash-" + name + "-" + serial, kStart + 10, cert(serial));
    EXPECT_TRUE(d.ok()) << d.status().to_string();
    return d.ok() ? *d : Device{};
  }

  // The store, and a second connection to the same data where the target can open one (as
  // the server and the admin CLI are).
  std::vector<MetaStore*> both_stores() {
    std::vector<MetaStore*> out = {store_};
    if (f_.open_again) {
      auto second = f_.open_again();
      EXPECT_TRUE(second.ok()) << second.status().to_string();
      if (second.ok()) {
        second_ = std::move(second).value();
        out.push_back(second_.get());
      }
    }
    return out;
  }

  Fixture f_;
  MetaStore* store_ = nullptr;
  std::unique_ptr<MetaStore> second_;
};

template <typename T>
void expect_code(const StatusOr<T>& s, Code code) {
  EXPECT_EQ(s.status().code(), code) << s.status().to_string();
  if (!s.ok()) {
    EXPECT_EQ(s.status().message().rfind("metadata store: ", 0), 0u) << s.status().message();
  }
}
void expect_code(const Status& s, Code code) {
  EXPECT_EQ(s.code(), code) << s.to_string();
  if (!s.ok()) {
    EXPECT_EQ(s.message().rfind("metadata store: ", 0), 0u) << s.message();
  }
}

// --- Lock owners -------------------------------------------------------------------------------

TEST_P(MetaStoreTest, LockOwnersAreRecordedPerRepository) {
  Tenant t = tenant("clinic-a");
  Repo main = repo(t.id, "main");
  Repo other = repo(t.id, "other");
  const std::string lock(64, 'c');
  expect_code(store_->lock_owner(main.id, lock), Code::kNotFound);
  ASSERT_TRUE(store_->record_lock(main.id, lock, 7, kStart).ok());
  EXPECT_EQ(*store_->lock_owner(main.id, lock), 7);
  expect_code(store_->lock_owner(other.id, lock), Code::kNotFound);
  ASSERT_TRUE(store_->record_lock(main.id, lock, 8, kStart).ok());  // replaced
  EXPECT_EQ(*store_->lock_owner(main.id, lock), 8);
  ASSERT_TRUE(store_->forget_lock(main.id, lock).ok());
  ASSERT_TRUE(store_->forget_lock(main.id, lock).ok());  // missing: fine
  expect_code(store_->lock_owner(main.id, lock), Code::kNotFound);
}

// --- Users, second factors, sessions -----------------------------------------------------------

User make_user(int64_t tenant_id, const std::string& login, UserRole role) {
  User u;
  u.tenant_id = tenant_id;
  u.login = login;
  u.display_name = "山田 花子";
  u.role = role;
  u.password_hash = "$argon2id$h0";
  return u;
}

TEST_P(MetaStoreTest, UserRoundTripAndLists) {
  Tenant a = tenant("clinic-a");
  Tenant b = tenant("clinic-b");
  auto u1 = store_->create_user(make_user(a.id, "a-admin", UserRole::kInstitutionAdmin));
  ASSERT_TRUE(u1.ok()) << u1.status().to_string();
  EXPECT_GT(u1->id, 0);
  EXPECT_EQ(u1->created_unix, kStart);
  EXPECT_EQ(u1->password_changed_unix, kStart);
  ASSERT_TRUE(store_->create_user(make_user(b.id, "b-viewer", UserRole::kViewer)).ok());
  ASSERT_TRUE(store_->create_user(make_user(0, "ops", UserRole::kProviderOperator)).ok());
  ASSERT_TRUE(store_->create_user(make_user(a.id, "a-auditor", UserRole::kAuditor)).ok());
  auto got = store_->user_by_login("a-admin");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->tenant_id, a.id);
  EXPECT_EQ(got->display_name, "山田 花子");
  EXPECT_EQ(got->role, UserRole::kInstitutionAdmin);
  EXPECT_EQ(got->password_hash, "$argon2id$h0");
  EXPECT_TRUE(got->must_change_password);
  EXPECT_FALSE(got->disabled);
  EXPECT_EQ(store_->user_by_id(u1->id)->login, "a-admin");
  auto of_a = store_->list_users(a.id);
  ASSERT_TRUE(of_a.ok());
  ASSERT_EQ(of_a->size(), 2u);
  EXPECT_EQ((*of_a)[0].login, "a-admin");  // by login
  EXPECT_EQ((*of_a)[1].login, "a-auditor");
  auto provider = store_->list_users(0);
  ASSERT_TRUE(provider.ok());
  ASSERT_EQ(provider->size(), 1u);
  EXPECT_EQ((*provider)[0].login, "ops");
  EXPECT_EQ((*provider)[0].tenant_id, 0);
  // Logins are unique over all tenants; a missing tenant or user is named.
  expect_code(store_->create_user(make_user(b.id, "a-admin", UserRole::kViewer)), Code::kAlreadyExists);
  expect_code(store_->create_user(make_user(999, "x", UserRole::kViewer)), Code::kNotFound);
  expect_code(store_->create_user(make_user(a.id, "", UserRole::kViewer)), Code::kInvalidArgument);
  expect_code(store_->user_by_login("nobody"), Code::kNotFound);
  expect_code(store_->user_by_id(999), Code::kNotFound);
  expect_code(store_->list_users(999), Code::kNotFound);
  // Role and disabled.
  ASSERT_TRUE(store_->set_user_role(u1->id, UserRole::kInstitutionOperator).ok());
  ASSERT_TRUE(store_->set_user_disabled(u1->id, true).ok());
  got = store_->user_by_id(u1->id);
  EXPECT_EQ(got->role, UserRole::kInstitutionOperator);
  EXPECT_TRUE(got->disabled);
  expect_code(store_->set_user_role(999, UserRole::kViewer), Code::kNotFound);
  expect_code(store_->set_user_disabled(999, true), Code::kNotFound);
}

TEST_P(MetaStoreTest, PasswordHistoryKeepsTheLastN) {
  Tenant a = tenant("clinic-a");
  auto u = store_->create_user(make_user(a.id, "a-admin", UserRole::kInstitutionAdmin));
  ASSERT_TRUE(u.ok());
  for (int i = 1; i <= 7; ++i) {
    ASSERT_TRUE(store_->set_password(u->id, "$argon2id$h" + std::to_string(i), false, 5, kStart + i).ok());
  }
  auto got = store_->user_by_id(u->id);
  EXPECT_EQ(got->password_hash, "$argon2id$h7");
  EXPECT_FALSE(got->must_change_password);
  EXPECT_EQ(got->password_changed_unix, kStart + 7);
  auto history = store_->password_history(u->id);
  ASSERT_TRUE(history.ok());
  // The five before the current one, newest first.
  EXPECT_EQ(*history, (std::vector<std::string>{"$argon2id$h6", "$argon2id$h5", "$argon2id$h4",
                                                "$argon2id$h3", "$argon2id$h2"}));
  ASSERT_TRUE(store_->set_password(u->id, "$argon2id$reset", true, 0, kStart + 9).ok());
  EXPECT_TRUE(store_->password_history(u->id)->empty());
  EXPECT_TRUE(store_->user_by_id(u->id)->must_change_password);
  expect_code(store_->set_password(999, "h", false, 5, kStart), Code::kNotFound);
  expect_code(store_->password_history(999), Code::kNotFound);
}

TEST_P(MetaStoreTest, FailedSignInsLockTheAccountAtTheThird) {
  auto u = store_->create_user(make_user(0, "ops", UserRole::kProviderOperator));
  ASSERT_TRUE(u.ok());
  auto f1 = store_->record_signin_failure(u->id, kStart, 3, 1800);
  ASSERT_TRUE(f1.ok());
  EXPECT_EQ(f1->failed_signins, 1);
  EXPECT_EQ(f1->locked_until, 0);
  EXPECT_EQ(store_->record_signin_failure(u->id, kStart + 1, 3, 1800)->failed_signins, 2);
  auto f3 = store_->record_signin_failure(u->id, kStart + 2, 3, 1800);
  EXPECT_EQ(f3->locked_until, kStart + 2 + 1800);
  EXPECT_EQ(f3->failed_signins, 0);  // counting starts again after the lock
  EXPECT_EQ(store_->user_by_id(u->id)->locked_until, kStart + 1802);
  ASSERT_TRUE(store_->clear_signin_failures(u->id).ok());  // an admin's unlock
  EXPECT_EQ(store_->user_by_id(u->id)->locked_until, 0);
  expect_code(store_->record_signin_failure(999, kStart, 3, 1800), Code::kNotFound);
  expect_code(store_->record_signin_failure(u->id, kStart, 0, 1800), Code::kInvalidArgument);
  expect_code(store_->clear_signin_failures(999), Code::kNotFound);
}

TEST_P(MetaStoreTest, ConcurrentFailuresAreAllCounted) {
  auto u = store_->create_user(make_user(0, "ops", UserRole::kProviderOperator));
  ASSERT_TRUE(u.ok());
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] { (void)store_->record_signin_failure(u->id, kStart, 100, 60); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store_->user_by_id(u->id)->failed_signins, 4);
}

TEST_P(MetaStoreTest, TotpStepsAreAcceptedOnce) {
  auto u = store_->create_user(make_user(0, "ops", UserRole::kProviderAdmin));
  ASSERT_TRUE(u.ok());
  expect_code(store_->totp_of(u->id), Code::kNotFound);
  expect_code(store_->advance_totp_step(u->id, 5), Code::kNotFound);
  TotpFactor f;
  f.user_id = u->id;
  f.secret = "JBSWY3DPEHPK3PXP";
  ASSERT_TRUE(store_->set_totp(f).ok());
  EXPECT_EQ(store_->totp_of(u->id)->secret, "JBSWY3DPEHPK3PXP");
  EXPECT_TRUE(*store_->advance_totp_step(u->id, 100));
  EXPECT_FALSE(*store_->advance_totp_step(u->id, 100));  // the same code again: a replay
  EXPECT_FALSE(*store_->advance_totp_step(u->id, 99));   // an older one
  EXPECT_TRUE(*store_->advance_totp_step(u->id, 101));
  EXPECT_EQ(store_->totp_of(u->id)->last_step, 101);
  ASSERT_TRUE(store_->remove_totp(u->id).ok());
  ASSERT_TRUE(store_->remove_totp(u->id).ok());
  expect_code(store_->totp_of(u->id), Code::kNotFound);
  f.user_id = 999;
  expect_code(store_->set_totp(f), Code::kNotFound);
}

TEST_P(MetaStoreTest, RecoveryCodesAreUsedOnce) {
  auto u = store_->create_user(make_user(0, "ops", UserRole::kProviderAdmin));
  ASSERT_TRUE(u.ok());
  ASSERT_TRUE(store_->set_recovery_codes(u->id, {"h1", "h2", "h3"}).ok());
  EXPECT_EQ(store_->recovery_codes(u->id)->size(), 3u);
  EXPECT_TRUE(*store_->use_recovery_code(u->id, "h2"));
  EXPECT_FALSE(*store_->use_recovery_code(u->id, "h2"));
  EXPECT_FALSE(*store_->use_recovery_code(u->id, "nope"));
  EXPECT_EQ(*store_->recovery_codes(u->id), (std::vector<std::string>{"h1", "h3"}));
  ASSERT_TRUE(store_->set_recovery_codes(u->id, {"n1"}).ok());  // replaced
  EXPECT_EQ(*store_->recovery_codes(u->id), (std::vector<std::string>{"n1"}));
  expect_code(store_->set_recovery_codes(999, {"x"}), Code::kNotFound);
  expect_code(store_->recovery_codes(999), Code::kNotFound);
}

TEST_P(MetaStoreTest, SessionsLiveAndEnd) {
  auto u = store_->create_user(make_user(0, "ops", UserRole::kProviderAdmin));
  auto v = store_->create_user(make_user(0, "ops2", UserRole::kProviderOperator));
  ASSERT_TRUE(u.ok() && v.ok());
  Session s;
  s.id_hash = std::string(64, 'a');
  s.user_id = u->id;
  s.csrf_token = "csrf-1";
  s.source_ip = "192.0.2.1";
  s.expires_unix = kStart + 8 * 3600;
  ASSERT_TRUE(store_->create_session(s).ok());
  expect_code(store_->create_session(s), Code::kAlreadyExists);
  auto got = store_->session_by_hash(s.id_hash);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->user_id, u->id);
  EXPECT_EQ(got->csrf_token, "csrf-1");
  EXPECT_FALSE(got->second_factor_done);
  EXPECT_EQ(got->created_unix, kStart);
  EXPECT_EQ(got->last_seen_unix, kStart);
  ASSERT_TRUE(store_->set_session_second_factor(s.id_hash).ok());
  ASSERT_TRUE(store_->touch_session(s.id_hash, kStart + 60).ok());
  got = store_->session_by_hash(s.id_hash);
  EXPECT_TRUE(got->second_factor_done);
  EXPECT_EQ(got->last_seen_unix, kStart + 60);
  // Two more of u, one of v; sign out everywhere ends u's three only.
  Session s2 = s, s3 = s, s4 = s;
  s2.id_hash = std::string(64, 'b');
  s3.id_hash = std::string(64, 'c');
  s4.id_hash = std::string(64, 'd');
  s4.user_id = v->id;
  for (const Session* x : {&s2, &s3, &s4}) ASSERT_TRUE(store_->create_session(*x).ok());
  EXPECT_EQ(*store_->delete_user_sessions(u->id), 3);
  expect_code(store_->session_by_hash(s.id_hash), Code::kNotFound);
  EXPECT_TRUE(store_->session_by_hash(s4.id_hash).ok());
  // Stale: idle too long, or past the absolute limit.
  Session idle = s, old = s;
  idle.id_hash = std::string(64, 'e');
  idle.last_seen_unix = kStart - 1000;
  old.id_hash = std::string(64, 'f');
  old.expires_unix = kStart;
  ASSERT_TRUE(store_->create_session(idle).ok());
  ASSERT_TRUE(store_->create_session(old).ok());
  EXPECT_EQ(*store_->delete_stale_sessions(kStart - 900, kStart), 2);
  EXPECT_TRUE(store_->session_by_hash(s4.id_hash).ok());
  ASSERT_TRUE(store_->delete_session(s4.id_hash).ok());
  ASSERT_TRUE(store_->delete_session(s4.id_hash).ok());  // missing: fine
  expect_code(store_->touch_session(s4.id_hash, kStart), Code::kNotFound);
  expect_code(store_->set_session_second_factor(s4.id_hash), Code::kNotFound);
  s.user_id = 999;
  s.id_hash = std::string(64, '9');
  expect_code(store_->create_session(s), Code::kNotFound);
  s.id_hash.clear();
  s.user_id = u->id;
  expect_code(store_->create_session(s), Code::kInvalidArgument);
}

TEST(UserRole, NamesRoundTrip) {
  for (UserRole r : {UserRole::kProviderAdmin, UserRole::kProviderOperator,
                     UserRole::kInstitutionAdmin, UserRole::kInstitutionOperator,
                     UserRole::kAuditor, UserRole::kViewer}) {
    auto back = parse_user_role(user_role_name(r));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, r);
  }
  EXPECT_FALSE(parse_user_role("root").ok());
  EXPECT_FALSE(parse_user_role("").ok());
}

// --- Tenants -----------------------------------------------------------------------------------

TEST_P(MetaStoreTest, TenantRoundTrip) {
  Tenant t;
  t.name = "clinic-a";
  t.display_name = "さくら内科クリニック";
  t.region = "jp-east";
  t.quota_bytes = int64_t{5} << 40;
  auto created = store_->create_tenant(t);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  EXPECT_GT(created->id, 0);
  EXPECT_EQ(created->created_unix, kStart);
  for (auto got : {store_->tenant_by_name("clinic-a"), store_->tenant_by_id(created->id)}) {
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(got->id, created->id);
    EXPECT_EQ(got->name, "clinic-a");
    EXPECT_EQ(got->display_name, "さくら内科クリニック");
    EXPECT_EQ(got->region, "jp-east");
    EXPECT_EQ(got->quota_bytes, int64_t{5} << 40);
    EXPECT_EQ(got->created_unix, kStart);
  }
  t.name = "clinic-b";
  t.created_unix = 1234;  // a caller's time is kept
  auto b = store_->create_tenant(t);
  ASSERT_TRUE(b.ok());
  EXPECT_NE(b->id, created->id);
  EXPECT_EQ(store_->tenant_by_id(b->id)->created_unix, 1234);
}

TEST_P(MetaStoreTest, TenantNameTakenOrMissing) {
  Tenant a = tenant("clinic-a");
  Tenant again;
  again.name = "clinic-a";
  again.display_name = "other";
  auto dup = store_->create_tenant(again);
  expect_code(dup, Code::kAlreadyExists);
  EXPECT_NE(dup.status().message().find("clinic-a"), std::string::npos);
  EXPECT_EQ(store_->tenant_by_name("clinic-a")->display_name, a.display_name);
  expect_code(store_->tenant_by_name("nope"), Code::kNotFound);
  expect_code(store_->tenant_by_id(a.id + 1000), Code::kNotFound);
  expect_code(store_->create_tenant(Tenant{}), Code::kInvalidArgument);
  Tenant negative;
  negative.name = "neg";
  negative.quota_bytes = -1;
  expect_code(store_->create_tenant(negative), Code::kInvalidArgument);
}

TEST_P(MetaStoreTest, ListTenantsByName) {
  auto empty = store_->list_tenants();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  tenant("clinic-c");
  tenant("clinic-a");
  tenant("clinic-b");
  auto all = store_->list_tenants();
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "clinic-a");
  EXPECT_EQ((*all)[1].name, "clinic-b");
  EXPECT_EQ((*all)[2].name, "clinic-c");
}

TEST_P(MetaStoreTest, SetTenantQuota) {
  Tenant a = tenant("clinic-a");
  ASSERT_TRUE(store_->set_tenant_quota(a.id, 1000).ok());
  EXPECT_EQ(store_->tenant_by_id(a.id)->quota_bytes, 1000);
  ASSERT_TRUE(store_->set_tenant_quota(a.id, 0).ok());
  EXPECT_EQ(store_->tenant_by_id(a.id)->quota_bytes, 0);
  expect_code(store_->set_tenant_quota(a.id + 1000, 1), Code::kNotFound);
  expect_code(store_->set_tenant_quota(a.id, -5), Code::kInvalidArgument);
  ASSERT_TRUE(store_->set_tenant_display_name(a.id, "さくら内科クリニック 本院").ok());
  EXPECT_EQ(store_->tenant_by_id(a.id)->display_name, "さくら内科クリニック 本院");
  expect_code(store_->set_tenant_display_name(a.id + 1000, "x"), Code::kNotFound);
  expect_code(store_->set_tenant_display_name(a.id, ""), Code::kInvalidArgument);
  expect_code(store_->set_tenant_display_name(a.id, std::string(201, 'x')), Code::kInvalidArgument);
  EXPECT_EQ(store_->tenant_by_id(a.id)->quota_bytes, 0);
}

// --- Repositories ------------------------------------------------------------------------------

TEST_P(MetaStoreTest, RepoRoundTrip) {
  Tenant a = tenant("clinic-a");
  Tenant b = tenant("clinic-b");
  Repo main = repo(a.id, "main");
  EXPECT_GT(main.id, 0);
  EXPECT_EQ(main.created_unix, kStart);
  EXPECT_EQ(main.used_bytes, 0);
  Repo other = repo(b.id, "main");  // the same name in another tenant is fine
  EXPECT_NE(other.id, main.id);
  for (auto got : {store_->repo_by_name(a.id, "main"), store_->repo_by_id(main.id)}) {
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(got->id, main.id);
    EXPECT_EQ(got->tenant_id, a.id);
    EXPECT_EQ(got->name, "main");
  }
  Repo dup;
  dup.tenant_id = a.id;
  dup.name = "main";
  expect_code(store_->create_repo(dup), Code::kAlreadyExists);
  dup.tenant_id = b.id + 1000;
  dup.name = "x";
  expect_code(store_->create_repo(dup), Code::kNotFound);
  dup.tenant_id = a.id;
  dup.name = "";
  expect_code(store_->create_repo(dup), Code::kInvalidArgument);
  expect_code(store_->repo_by_name(a.id, "nope"), Code::kNotFound);
  expect_code(store_->repo_by_id(other.id + 1000), Code::kNotFound);
}

TEST_P(MetaStoreTest, ListReposByName) {
  Tenant a = tenant("clinic-a");
  Tenant b = tenant("clinic-b");
  repo(a.id, "z-archive");
  repo(a.id, "main");
  repo(b.id, "elsewhere");
  auto list = store_->list_repos(a.id);
  ASSERT_TRUE(list.ok()) << list.status().to_string();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "main");
  EXPECT_EQ((*list)[1].name, "z-archive");
  expect_code(store_->list_repos(b.id + 1000), Code::kNotFound);
}

TEST_P(MetaStoreTest, Usage) {
  Tenant a = tenant("clinic-a");
  Tenant b = tenant("clinic-b");
  Repo r1 = repo(a.id, "one");
  Repo r2 = repo(a.id, "two");
  Repo rb = repo(b.id, "main");
  EXPECT_EQ(*store_->tenant_usage(a.id), 0);
  ASSERT_TRUE(store_->add_usage(r1.id, 1000, 3).ok());
  ASSERT_TRUE(store_->add_usage(r1.id, -200, -1).ok());
  ASSERT_TRUE(store_->add_usage(r2.id, int64_t{1} << 40, 1).ok());
  ASSERT_TRUE(store_->add_usage(rb.id, 77, 1).ok());
  auto got = store_->repo_by_id(r1.id);
  EXPECT_EQ(got->used_bytes, 800);
  EXPECT_EQ(got->object_count, 2);
  EXPECT_EQ(*store_->tenant_usage(a.id), 800 + (int64_t{1} << 40));
  EXPECT_EQ(*store_->tenant_usage(b.id), 77);
  // Subtracting past zero stops at zero.
  ASSERT_TRUE(store_->add_usage(rb.id, -100, -5).ok());
  EXPECT_EQ(store_->repo_by_id(rb.id)->used_bytes, 0);
  EXPECT_EQ(store_->repo_by_id(rb.id)->object_count, 0);
  ASSERT_TRUE(store_->set_usage(r1.id, 5, 6).ok());
  EXPECT_EQ(store_->repo_by_id(r1.id)->used_bytes, 5);
  EXPECT_EQ(store_->repo_by_id(r1.id)->object_count, 6);
  expect_code(store_->set_usage(r1.id, -1, 0), Code::kInvalidArgument);
  expect_code(store_->add_usage(rb.id + 1000, 1, 1), Code::kNotFound);
  expect_code(store_->set_usage(rb.id + 1000, 1, 1), Code::kNotFound);
  expect_code(store_->tenant_usage(b.id + 1000), Code::kNotFound);
}

TEST_P(MetaStoreTest, ConcurrentAddUsageSumsExactly) {
  Tenant a = tenant("clinic-a");
  Repo r = repo(a.id, "main");
  constexpr int kThreads = 8, kAdds = 250;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAdds; ++i) {
        if (!store_->add_usage(r.id, t + 1, 1).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto got = store_->repo_by_id(r.id);
  EXPECT_EQ(got->used_bytes, int64_t{kAdds} * (kThreads * (kThreads + 1) / 2));
  EXPECT_EQ(got->object_count, kThreads * kAdds);
}

// --- Enrollment --------------------------------------------------------------------------------

TEST_P(MetaStoreTest, EnrollCodeRoundTrip) {
  Tenant a = tenant("clinic-a");
  Tenant b = tenant("clinic-b");
  Repo r = repo(a.id, "main");
  Repo rb = repo(b.id, "main");
  code(r, "h1", "reception-pc", DeviceRole::kMaintenance);
  auto got = store_->enroll_code("h1");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->tenant_id, a.id);
  EXPECT_EQ(got->repo_id, r.id);
  EXPECT_EQ(got->device_name, "reception-pc");
  EXPECT_EQ(got->role, DeviceRole::kMaintenance);
  EXPECT_EQ(got->created_unix, kStart);
  EXPECT_EQ(got->expires_unix, kStart + 3600);
  EXPECT_EQ(got->used_unix, 0);
  expect_code(store_->enroll_code("h2"), Code::kNotFound);

  EnrollCode c = *got;
  c.device_name = "other";
  expect_code(store_->create_enroll_code(c), Code::kAlreadyExists);
  c.code_hash = "h3";
  c.tenant_id = b.id + 1000;
  expect_code(store_->create_enroll_code(c), Code::kNotFound);
  c.tenant_id = a.id;
  c.repo_id = rb.id + 1000;
  expect_code(store_->create_enroll_code(c), Code::kNotFound);
  c.repo_id = rb.id;  // another tenant's repository
  expect_code(store_->create_enroll_code(c), Code::kInvalidArgument);
  expect_code(store_->enroll_code("h3"), Code::kNotFound);
}

TEST_P(MetaStoreTest, RedeemEnrollCode) {
  Tenant a = tenant("clinic-a");
  Repo r = repo(a.id, "main");
  code(r, "h1", "reception-pc", DeviceRole::kMaintenance);
  auto d = store_->redeem_enroll_code("h1", kStart + 60, cert("0a1b2c"));
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_GT(d->id, 0);
  EXPECT_EQ(d->tenant_id, a.id);
  EXPECT_EQ(d->repo_id, r.id);
  EXPECT_EQ(d->name, "reception-pc");
  EXPECT_EQ(d->role, DeviceRole::kMaintenance);
  EXPECT_EQ(d->created_unix, kStart + 60);
  EXPECT_EQ(store_->enroll_code("h1")->used_unix, kStart + 60);
  for (auto got :
       {store_->device_by_serial("0a1b2c"), store_->device_by_name(a.id, "reception-pc")}) {
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(got->id, d->id);
    EXPECT_EQ(got->tenant_id, a.id);
    EXPECT_EQ(got->repo_id, r.id);
    EXPECT_EQ(got->name, "reception-pc");
    EXPECT_EQ(got->role, DeviceRole::kMaintenance);
    EXPECT_EQ(got->cert_serial, "0a1b2c");
    EXPECT_EQ(got->cert_fingerprint, "SHA256:" + std::string(64, 'a'));
    EXPECT_EQ(got->not_before, kStart);
    EXPECT_EQ(got->not_after, kStart + 86400 * 365);
    EXPECT_FALSE(got->revoked);
    EXPECT_EQ(got->created_unix, kStart + 60);
    EXPECT_EQ(got->revoked_unix, 0);
    EXPECT_EQ(got->last_seen_unix, 0);
  }
}

// After a refused redemption: the code is as it was and no device exists.
void expect_unchanged(MetaStore* store, int64_t tenant_id, const std::string& hash,
                      size_t devices) {
  auto c = store->enroll_code(hash);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  auto list = store->list_devices(tenant_id);
  ASSERT_TRUE(list.ok()) << list.status().to_string();
  EXPECT_EQ(list->size(), devices);
}

TEST_P(MetaStoreTest, RedeemRefusalsChangeNothing) {
  Tenant a = tenant("clinic-a");
  Repo r = repo(a.id, "main");
  device(r, "pc-1", "01");
  code(r, "used", "pc-2");
  ASSERT_TRUE(store_->redeem_enroll_code("used", kStart, cert("02")).ok());
  code(r, "fresh", "pc-3");
  code(r, "taken-name", "pc-1");
  code(r, "expired", "pc-4");

  auto wrong = store_->redeem_enroll_code("no-such-code", kStart, cert("03"));
  expect_code(wrong, Code::kNotFound);

  auto used = store_->redeem_enroll_code("used", kStart + 1, cert("03"));
  expect_code(used, Code::kFailedPrecondition);
  EXPECT_NE(used.status().message().find("used"), std::string::npos) << used.status().message();
  EXPECT_EQ(store_->enroll_code("used")->used_unix, kStart);

  // Valid while expires_unix > now: at the instant itself it has expired.
  auto expired = store_->redeem_enroll_code("expired", kStart + 3600, cert("03"));
  expect_code(expired, Code::kFailedPrecondition);
  EXPECT_NE(expired.status().message().find("expired"), std::string::npos);
  EXPECT_EQ(store_->enroll_code("expired")->used_unix, 0);

  expect_code(store_->redeem_enroll_code("taken-name", kStart, cert("03")), Code::kAlreadyExists);
  EXPECT_EQ(store_->enroll_code("taken-name")->used_unix, 0);

  expect_code(store_->redeem_enroll_code("fresh", kStart, cert("01")), Code::kAlreadyExists);
  Device mismatched = cert("03");
  mismatched.name = "pc-9";
  expect_code(store_->redeem_enroll_code("fresh", kStart, mismatched), Code::kInvalidArgument);
  expect_code(store_->redeem_enroll_code("fresh", kStart, cert("")), Code::kInvalidArgument);
  EXPECT_EQ(store_->enroll_code("fresh")->used_unix, 0);
  expect_unchanged(store_, a.id, "fresh", 2);
  expect_code(store_->device_by_serial("03"), Code::kNotFound);

  // And the refused code still works afterwards.
  EXPECT_TRUE(store_->redeem_enroll_code("fresh", kStart, cert("03")).ok());
}

TEST_P(MetaStoreTest, ConcurrentRedeemOfOneCodeSucceedsOnce) {
  Tenant a = tenant("clinic-a");
  Repo r = repo(a.id, "main");
  code(r, "h1", "pc-1");
  constexpr int kThreads = 8;
  std::atomic<int> ok{0}, used{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto d = store_->redeem_enroll_code("h1", kStart, cert("0" + std::to_string(t)));
      if (d.ok()) ++ok;
      if (d.status().code() == Code::kFailedPrecondition) ++used;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(used.load(), kThreads - 1);
  EXPECT_EQ(store_->list_devices(a.id)->size(), 1u);
}

// --- Devices -----------------------------------------------------------------------------------

TEST_P(MetaStoreTest, ListDevicesByName) {
  Tenant a = tenant("clinic-a");
  Tenant b = tenant("clinic-b");
  Repo r = repo(a.id, "main");
  Repo rb = repo(b.id, "main");
  device(r, "pc-b", "0b");
  device(r, "pc-a", "0a");
  device(rb, "pc-a", "0c");  // names are per tenant
  auto list = store_->list_devices(a.id);
  ASSERT_TRUE(list.ok()) << list.status().to_string();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "pc-a");
  EXPECT_EQ((*list)[0].cert_serial, "0a");
  EXPECT_EQ((*list)[1].name, "pc-b");
  expect_code(store_->list_devices(b.id + 1000), Code::kNotFound);
  expect_code(store_->device_by_name(a.id, "pc-c"), Code::kNotFound);
  expect_code(store_->device_by_serial("ff"), Code::kNotFound);
}

TEST_P(MetaStoreTest, RevokeDevice) {
  Tenant a = tenant("clinic-a");
  Repo r = repo(a.id, "main");
  Device d = device(r, "pc-1", "01");
  ASSERT_TRUE(store_->revoke_device(d.id, kStart + 100).ok());
  ASSERT_TRUE(store_->revoke_device(d.id, kStart + 200).ok());  // again: keeps the first time
  auto got = store_->device_by_serial("01");
  ASSERT_TRUE(got.ok());  // still found, so the server can say "revoked"
  EXPECT_TRUE(got->revoked);
  EXPECT_EQ(got->revoked_unix, kStart + 100);
  expect_code(store_->revoke_device(d.id + 1000, kStart), Code::kNotFound);
  // A revoked device's name stays taken.
  code(r, "h2", "pc-1");
  expect_code(store_->redeem_enroll_code("h2", kStart, cert("02")), Code::kAlreadyExists);
}

TEST_P(MetaStoreTest, ReplaceDeviceCert) {
  Tenant a = tenant("clinic-a");
  Repo r = repo(a.id, "main");
  Device d = device(r, "pc-1", "01");
  Device other = device(r, "pc-2", "02");
  const std::string fp = "SHA256:" + std::string(64, 'b');
  ASSERT_TRUE(store_->replace_device_cert(d.id, "11", fp, kStart + 5, kStart + 500).ok());
  expect_code(store_->device_by_serial("01"), Code::kNotFound);
  auto got = store_->device_by_serial("11");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->id, d.id);
  EXPECT_EQ(got->cert_fingerprint, fp);
  EXPECT_EQ(got->not_before, kStart + 5);
  EXPECT_EQ(got->not_after, kStart + 500);
  EXPECT_EQ(got->name, "pc-1");
  expect_code(store_->replace_device_cert(d.id, "02", fp, 0, 1), Code::kAlreadyExists);
  expect_code(store_->replace_device_cert(d.id, "", fp, 0, 1), Code::kInvalidArgument);
  expect_code(store_->replace_device_cert(d.id + 1000, "12", fp, 0, 1), Code::kNotFound);
  EXPECT_EQ(store_->device_by_serial("11")->id, d.id);
  ASSERT_TRUE(store_->revoke_device(other.id, kStart).ok());
  expect_code(store_->replace_device_cert(other.id, "12", fp, 0, 1), Code::kFailedPrecondition);
  EXPECT_EQ(store_->device_by_serial("02")->id, other.id);
}

TEST_P(MetaStoreTest, TouchDevice) {
  Tenant a = tenant("clinic-a");
  Repo r = repo(a.id, "main");
  Device d = device(r, "pc-1", "01");
  ASSERT_TRUE(store_->touch_device(d.id, kStart + 50).ok());
  EXPECT_EQ(store_->device_by_serial("01")->last_seen_unix, kStart + 50);
  ASSERT_TRUE(store_->touch_device(d.id, kStart + 40).ok());  // late arrival: kept the newest
  EXPECT_EQ(store_->device_by_serial("01")->last_seen_unix, kStart + 50);
  expect_code(store_->touch_device(d.id + 1000, kStart), Code::kNotFound);
}

// --- Admins ------------------------------------------------------------------------------------

TEST_P(MetaStoreTest, Admins) {
  Admin a;
  a.name = "yamada";
  a.password_hash = "$scrypt$opaque";
  auto created = store_->create_admin(a);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  EXPECT_GT(created->id, 0);
  EXPECT_EQ(created->created_unix, kStart);
  a.name = "abe";
  a.must_change_password = false;
  ASSERT_TRUE(store_->create_admin(a).ok());
  for (auto got : {store_->admin_by_name("yamada"), store_->admin_by_id(created->id)}) {
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(got->id, created->id);
    EXPECT_EQ(got->name, "yamada");
    EXPECT_EQ(got->password_hash, "$scrypt$opaque");
    EXPECT_TRUE(got->must_change_password);
    EXPECT_EQ(got->created_unix, kStart);
  }
  EXPECT_FALSE(store_->admin_by_name("abe")->must_change_password);
  auto list = store_->list_admins();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "abe");
  EXPECT_EQ((*list)[1].name, "yamada");
  expect_code(store_->create_admin(a), Code::kAlreadyExists);
  expect_code(store_->create_admin(Admin{}), Code::kInvalidArgument);
  expect_code(store_->admin_by_name("nobody"), Code::kNotFound);
  expect_code(store_->admin_by_id(created->id + 1000), Code::kNotFound);
}

TEST_P(MetaStoreTest, AdminCerts) {
  Admin a;
  a.name = "yamada";
  auto admin = store_->create_admin(a);
  ASSERT_TRUE(admin.ok());
  AdminCert c;
  c.admin_id = admin->id;
  c.cert_serial = "a1";
  c.cert_fingerprint = "SHA256:" + std::string(64, 'c');
  c.not_before = kStart;
  c.not_after = kStart + 1000;
  ASSERT_TRUE(store_->add_admin_cert(c).ok());
  auto got = store_->admin_cert_by_serial("a1");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->admin_id, admin->id);
  EXPECT_EQ(got->cert_serial, "a1");
  EXPECT_EQ(got->cert_fingerprint, c.cert_fingerprint);
  EXPECT_EQ(got->not_before, kStart);
  EXPECT_EQ(got->not_after, kStart + 1000);
  EXPECT_FALSE(got->revoked);
  EXPECT_EQ(got->created_unix, kStart);
  expect_code(store_->add_admin_cert(c), Code::kAlreadyExists);
  c.cert_serial = "a2";
  c.admin_id = admin->id + 1000;
  expect_code(store_->add_admin_cert(c), Code::kNotFound);
  c.cert_serial = "";
  c.admin_id = admin->id;
  expect_code(store_->add_admin_cert(c), Code::kInvalidArgument);
  expect_code(store_->admin_cert_by_serial("a2"), Code::kNotFound);

  ASSERT_TRUE(store_->revoke_admin_cert("a1", kStart + 7).ok());
  ASSERT_TRUE(store_->revoke_admin_cert("a1", kStart + 9).ok());
  got = store_->admin_cert_by_serial("a1");
  EXPECT_TRUE(got->revoked);
  EXPECT_EQ(got->revoked_unix, kStart + 7);
  expect_code(store_->revoke_admin_cert("a2", kStart), Code::kNotFound);
}

TEST_P(MetaStoreTest, DeviceAndAdminSerialsDoNotMix) {
  Tenant t = tenant("clinic-a");
  Repo r = repo(t.id, "main");
  device(r, "pc-1", "d1");
  Admin a;
  a.name = "yamada";
  auto admin = store_->create_admin(a);
  ASSERT_TRUE(admin.ok());
  AdminCert c;
  c.admin_id = admin->id;
  c.cert_serial = "a1";
  ASSERT_TRUE(store_->add_admin_cert(c).ok());
  expect_code(store_->device_by_serial("a1"), Code::kNotFound);
  expect_code(store_->admin_cert_by_serial("d1"), Code::kNotFound);
  // One CA, one serial namespace: neither side may take the other's serial.
  c.cert_serial = "d1";
  expect_code(store_->add_admin_cert(c), Code::kAlreadyExists);
  code(r, "h2", "pc-2");
  expect_code(store_->redeem_enroll_code("h2", kStart, cert("a1")), Code::kAlreadyExists);
  EXPECT_EQ(store_->enroll_code("h2")->used_unix, 0);
  auto d = store_->device_by_serial("d1");
  expect_code(store_->replace_device_cert(d->id, "a1", "", 0, 1), Code::kAlreadyExists);
}

// --- Access records ----------------------------------------------------------------------------

AccessRecord record(int64_t ms, const std::string& tenant, const std::string& action) {
  AccessRecord r;
  r.time_unix_ms = ms;
  r.tenant = tenant;
  r.actor = "device:0a1b";
  r.source_ip = "192.0.2.7";
  r.auth_method = "mtls";
  r.action = action;
  r.object = tenant + "/main/data/ab12";
  r.status = 200;
  r.result = "ok";
  r.bytes = 4096;
  return r;
}

TEST_P(MetaStoreTest, AccessRecordsRoundTrip) {
  std::vector<AccessRecord> in = {record(1000, "clinic-a", "repo.save"),
                                  record(2000, "", "tls.handshake"),
                                  record(3000, "clinic-b", "repo.load")};
  in[1].actor = "anonymous";
  in[1].auth_method = "none";
  in[1].status = 0;
  in[1].result = "error: 証明書がありません";
  in[1].bytes = 0;
  ASSERT_TRUE(store_->append_access_records(in).ok());
  ASSERT_TRUE(store_->append_access_records({}).ok());
  auto out = store_->list_access_records(AccessQuery{});
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  ASSERT_EQ(out->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    AccessRecord want = in[i];
    want.id = (*out)[i].id;
    EXPECT_EQ((*out)[i], want) << i;
    if (i > 0) {
      EXPECT_GT((*out)[i].id, (*out)[i - 1].id);
    }
  }
  EXPECT_GT((*out)[0].id, 0);
}

TEST_P(MetaStoreTest, AccessRecordQueries) {
  std::vector<AccessRecord> in;
  for (int i = 0; i < 10; ++i) {
    in.push_back(record(1000 * (i + 1), i % 2 == 0 ? "clinic-a" : "clinic-b", "repo.save"));
  }
  ASSERT_TRUE(store_->append_access_records(in).ok());
  auto ids = [&](const AccessQuery& q) {
    std::vector<int64_t> times;
    auto out = store_->list_access_records(q);
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    if (out.ok()) {
      for (const auto& r : *out) times.push_back(r.time_unix_ms / 1000);
    }
    return times;
  };
  AccessQuery q;
  q.tenant = "clinic-a";
  EXPECT_EQ(ids(q), (std::vector<int64_t>{1, 3, 5, 7, 9}));
  q.since_unix_ms = 3000;  // inclusive
  q.until_unix_ms = 7000;  // exclusive
  EXPECT_EQ(ids(q), (std::vector<int64_t>{3, 5}));
  q = AccessQuery{};
  q.until_unix_ms = 4000;
  EXPECT_EQ(ids(q), (std::vector<int64_t>{1, 2, 3}));
  q = AccessQuery{};
  q.tenant = "nobody";
  EXPECT_TRUE(ids(q).empty());

  // Paging: pass the last id seen.
  q = AccessQuery{};
  q.limit = 4;
  std::vector<int64_t> all;
  for (int page = 0; page < 5; ++page) {
    auto out = store_->list_access_records(q);
    ASSERT_TRUE(out.ok());
    if (out->empty()) break;
    EXPECT_LE(out->size(), 4u);
    for (const auto& r : *out) all.push_back(r.time_unix_ms / 1000);
    q.after_id = out->back().id;
  }
  EXPECT_EQ(all, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));

  q = AccessQuery{};
  q.limit = 0;
  expect_code(store_->list_access_records(q), Code::kInvalidArgument);
  q.limit = kMaxAccessQueryLimit + 1;
  expect_code(store_->list_access_records(q), Code::kInvalidArgument);
}

TEST_P(MetaStoreTest, AppendThousandRecordsInOneCall) {
  std::vector<AccessRecord> batch;
  for (int i = 0; i < 1000; ++i) batch.push_back(record(i, "clinic-a", "repo.save"));
  constexpr int kBatches = 5;
  const auto start = std::chrono::steady_clock::now();
  for (int b = 0; b < kBatches; ++b) ASSERT_TRUE(store_->append_access_records(batch).ok());
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ %s ] append_access_records: %d batches of 1000 in %.3f s = %.0f records/s\n",
              GetParam().name.c_str(), kBatches, secs, kBatches * 1000 / secs);
  AccessQuery q;
  q.limit = kMaxAccessQueryLimit;
  EXPECT_EQ(store_->list_access_records(q)->size(), 1000u * kBatches);
}

// --- Control panel (schema 5) ------------------------------------------------------------------

WebAuthnCredential key(int64_t user_id, std::string credential_id, int64_t sign_count = 0) {
  WebAuthnCredential c;
  c.user_id = user_id;
  c.credential_id = std::move(credential_id);
  c.public_key =
      std::string("\xa5\x01\x02\x03\x26\x20\x01\x21\x58\x20", 10) + std::string(32, '\0');
  c.sign_count = sign_count;
  c.name = "YubiKey 5";
  return c;
}

TEST_P(MetaStoreTest, WebAuthnCredentialsRoundTrip) {
  auto u = store_->create_user(make_user(0, "ops", UserRole::kProviderAdmin));
  auto v = store_->create_user(make_user(0, "ops2", UserRole::kProviderOperator));
  ASSERT_TRUE(u.ok() && v.ok());
  EXPECT_TRUE(store_->webauthn_credentials(u->id)->empty());
  // Raw bytes, NUL and 0xff included, come back as they went in.
  const std::string id1("\x00\xff\x10key-1", 8), id2(16, '\x7f');
  auto k1 = store_->add_webauthn_credential(key(u->id, id1, 5));
  ASSERT_TRUE(k1.ok()) << k1.status().to_string();
  EXPECT_GT(k1->id, 0);
  EXPECT_EQ(k1->created_unix, kStart);
  EXPECT_EQ(k1->last_used_unix, 0);
  auto k2 = store_->add_webauthn_credential(key(u->id, id2));
  ASSERT_TRUE(k2.ok());
  ASSERT_TRUE(store_->add_webauthn_credential(key(v->id, "v-key")).ok());
  auto mine = store_->webauthn_credentials(u->id);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].id, k1->id);  // in the order they were added
  EXPECT_EQ((*mine)[0].credential_id, id1);
  EXPECT_EQ((*mine)[0].public_key, key(0, "").public_key);
  EXPECT_EQ((*mine)[0].sign_count, 5);
  EXPECT_EQ((*mine)[0].name, "YubiKey 5");
  EXPECT_EQ((*mine)[1].credential_id, id2);
  auto found = store_->webauthn_credential_by_id(id1);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, k1->id);
  EXPECT_EQ(found->user_id, u->id);
  // Unique over all users; a prefix or a longer id is another credential.
  expect_code(store_->add_webauthn_credential(key(v->id, id1)), Code::kAlreadyExists);
  expect_code(store_->webauthn_credential_by_id(id1.substr(0, 7)), Code::kNotFound);
  expect_code(store_->webauthn_credential_by_id(id1 + "x"), Code::kNotFound);
  expect_code(store_->webauthn_credential_by_id(""), Code::kNotFound);
  expect_code(store_->add_webauthn_credential(key(999, "nobody's")), Code::kNotFound);
  expect_code(store_->webauthn_credentials(999), Code::kNotFound);
}

TEST_P(MetaStoreTest, WebAuthnCredentialGarbageIsRefused) {
  auto u = store_->create_user(make_user(0, "ops", UserRole::kProviderAdmin));
  ASSERT_TRUE(u.ok());
  expect_code(store_->add_webauthn_credential(key(u->id, "")), Code::kInvalidArgument);
  expect_code(store_->add_webauthn_credential(key(u->id, std::string(1024, 'k'))),
              Code::kInvalidArgument);
  EXPECT_TRUE(store_->add_webauthn_credential(key(u->id, std::string(1023, 'k'))).ok());
  WebAuthnCredential c = key(u->id, "no-key");
  c.public_key.clear();
  expect_code(store_->add_webauthn_credential(c), Code::kInvalidArgument);
  c.public_key = std::string(kMaxWebAuthnPublicKeyBytes + 1, 'p');
  expect_code(store_->add_webauthn_credential(c), Code::kInvalidArgument);
  expect_code(store_->add_webauthn_credential(key(u->id, "negative", -1)), Code::kInvalidArgument);
  EXPECT_EQ(store_->webauthn_credentials(u->id)->size(), 1u);
}

TEST_P(MetaStoreTest, WebAuthnSignCountMustGrow) {
  auto u = store_->create_user(make_user(0, "ops", UserRole::kProviderAdmin));
  ASSERT_TRUE(u.ok());
  auto counting = store_->add_webauthn_credential(key(u->id, "counting", 5));
  auto silent = store_->add_webauthn_credential(key(u->id, "silent", 0));
  ASSERT_TRUE(counting.ok() && silent.ok());
  ASSERT_TRUE(store_->update_webauthn_sign_count(counting->id, 6, kStart + 10).ok());
  auto got = store_->webauthn_credential_by_id("counting");
  EXPECT_EQ(got->sign_count, 6);
  EXPECT_EQ(got->last_used_unix, kStart + 10);
  // The same count again, an older one, or 0 from a counting key: a clone. Nothing changes.
  for (int64_t n : {6, 3, 0}) {
    Status s = store_->update_webauthn_sign_count(counting->id, n, kStart + 20);
    expect_code(s, Code::kFailedPrecondition);
    EXPECT_NE(s.message().find("cloned"), std::string::npos) << s.message();
  }
  got = store_->webauthn_credential_by_id("counting");
  EXPECT_EQ(got->sign_count, 6);
  EXPECT_EQ(got->last_used_unix, kStart + 10);
  // An authenticator that does not count sends 0 every time; once it counts, it must go on.
  ASSERT_TRUE(store_->update_webauthn_sign_count(silent->id, 0, kStart + 30).ok());
  ASSERT_TRUE(store_->update_webauthn_sign_count(silent->id, 0, kStart + 31).ok());
  EXPECT_EQ(store_->webauthn_credential_by_id("silent")->last_used_unix, kStart + 31);
  ASSERT_TRUE(store_->update_webauthn_sign_count(silent->id, 1, kStart + 32).ok());
  expect_code(store_->update_webauthn_sign_count(silent->id, 0, kStart + 33),
              Code::kFailedPrecondition);
  expect_code(store_->update_webauthn_sign_count(999, 7, kStart), Code::kNotFound);
  expect_code(store_->update_webauthn_sign_count(counting->id, -1, kStart), Code::kInvalidArgument);
}

TEST_P(MetaStoreTest, ConcurrentSignCountsAcceptOneAssertion) {
  auto u = store_->create_user(make_user(0, "ops", UserRole::kProviderAdmin));
  ASSERT_TRUE(u.ok());
  auto k = store_->add_webauthn_credential(key(u->id, "k", 1));
  ASSERT_TRUE(k.ok());
  // The same assertion replayed at once, on two connections where the target has them: one
  // wins.
  std::vector<MetaStore*> stores = both_stores();
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    MetaStore* s = stores[i % stores.size()];
    threads.emplace_back([&, s] {
      if (s->update_webauthn_sign_count(k->id, 2, kStart).ok()) ++accepted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 1);
}

TEST_P(MetaStoreTest, RemoveWebAuthnCredentialOfItsUserOnly) {
  auto u = store_->create_user(make_user(0, "ops", UserRole::kProviderAdmin));
  auto v = store_->create_user(make_user(0, "ops2", UserRole::kProviderOperator));
  ASSERT_TRUE(u.ok() && v.ok());
  auto k = store_->add_webauthn_credential(key(u->id, "u-key"));
  ASSERT_TRUE(k.ok());
  expect_code(store_->remove_webauthn_credential(v->id, k->id), Code::kNotFound);
  EXPECT_TRUE(store_->webauthn_credential_by_id("u-key").ok());
  ASSERT_TRUE(store_->remove_webauthn_credential(u->id, k->id).ok());
  expect_code(store_->webauthn_credential_by_id("u-key"), Code::kNotFound);
  expect_code(store_->remove_webauthn_credential(u->id, k->id), Code::kNotFound);
  // Its credential id is free again.
  EXPECT_TRUE(store_->add_webauthn_credential(key(v->id, "u-key")).ok());
}

class FactorResetTest : public MetaStoreTest {
 protected:
  void SetUp() override {
    MetaStoreTest::SetUp();
    Tenant t = tenant("clinic-a");
    auto make = [&](int64_t tenant_id, const std::string& login, UserRole role) {
      auto u = store_->create_user(make_user(tenant_id, login, role));
      EXPECT_TRUE(u.ok()) << u.status().to_string();
      return u.ok() ? *u : User{};
    };
    user_ = make(t.id, "sato", UserRole::kInstitutionOperator);
    other_ = make(t.id, "suzuki", UserRole::kInstitutionOperator);
    admin1_ = make(t.id, "admin1", UserRole::kInstitutionAdmin);
    admin2_ = make(0, "admin2", UserRole::kProviderAdmin);
    // Both users have every kind of factor and a session.
    for (const User* u : {&user_, &other_}) {
      TotpFactor f;
      f.user_id = u->id;
      f.secret = "JBSWY3DPEHPK3PXP";
      ASSERT_TRUE(store_->set_totp(f).ok());
      ASSERT_TRUE(store_->set_recovery_codes(u->id, {"r1-" + u->login, "r2-" + u->login}).ok());
      ASSERT_TRUE(store_->add_webauthn_credential(key(u->id, "key-" + u->login)).ok());
      Session s;
      s.id_hash = "session-" + u->login;
      s.user_id = u->id;
      s.expires_unix = kStart + 3600;
      ASSERT_TRUE(store_->create_session(s).ok());
    }
  }
  FactorReset request(int64_t user_id, int64_t requested_by, int64_t expires = kStart + 86400) {
    FactorReset r;
    r.user_id = user_id;
    r.requested_by = requested_by;
    r.expires_unix = expires;
    return r;
  }
  void expect_factors(const User& u, bool present) {
    EXPECT_EQ(store_->totp_of(u.id).ok(), present) << u.login;
    EXPECT_EQ(store_->recovery_codes(u.id)->size(), present ? 2u : 0u) << u.login;
    EXPECT_EQ(store_->webauthn_credentials(u.id)->size(), present ? 1u : 0u) << u.login;
    EXPECT_EQ(store_->session_by_hash("session-" + u.login).ok(), present) << u.login;
  }

  User user_, other_, admin1_, admin2_;
};

TEST_P(FactorResetTest, ASecondAdminApprovesAndTheFactorsGo) {
  auto r = store_->create_factor_reset(request(user_.id, admin1_.id));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_GT(r->id, 0);
  EXPECT_EQ(r->requested_unix, kStart);
  EXPECT_EQ(r->approved_by, 0);
  auto pending = store_->list_factor_resets(kStart + 1);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, r->id);
  EXPECT_EQ((*pending)[0].requested_by, admin1_.id);
  // The requester cannot approve, nor can the user whose factors go; nothing changes.
  Status same = store_->approve_factor_reset(r->id, admin1_.id, kStart + 5).status();
  expect_code(same, Code::kPermissionDenied);
  expect_code(store_->approve_factor_reset(r->id, user_.id, kStart + 5), Code::kPermissionDenied);
  expect_code(store_->approve_factor_reset(r->id, 999, kStart + 5), Code::kNotFound);
  expect_factors(user_, true);
  EXPECT_EQ(store_->factor_reset_by_id(r->id)->approved_by, 0);

  auto done = store_->approve_factor_reset(r->id, admin2_.id, kStart + 60);
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  EXPECT_EQ(done->approved_by, admin2_.id);
  EXPECT_EQ(done->approved_unix, kStart + 60);
  auto stored = store_->factor_reset_by_id(r->id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->approved_by, admin2_.id);
  EXPECT_EQ(stored->approved_unix, kStart + 60);
  expect_factors(user_, false);
  expect_factors(other_, true);
  // The password and the account stay as they were.
  auto after = store_->user_by_id(user_.id);
  EXPECT_EQ(after->password_hash, user_.password_hash);
  EXPECT_EQ(after->must_change_password, user_.must_change_password);
  EXPECT_EQ(after->password_changed_unix, user_.password_changed_unix);
  EXPECT_TRUE(store_->list_factor_resets(kStart + 61)->empty());
  expect_code(store_->approve_factor_reset(r->id, admin2_.id, kStart + 61),
              Code::kFailedPrecondition);
  // Once done, a new request for the user may be made.
  EXPECT_TRUE(store_->create_factor_reset(request(user_.id, admin1_.id)).ok());
}

TEST_P(FactorResetTest, OnePendingRequestPerUser) {
  auto first = store_->create_factor_reset(request(user_.id, admin1_.id, kStart + 100));
  ASSERT_TRUE(first.ok());
  expect_code(store_->create_factor_reset(request(user_.id, admin2_.id)), Code::kAlreadyExists);
  EXPECT_TRUE(store_->create_factor_reset(request(other_.id, admin1_.id)).ok());
  // Once the first has expired, it neither blocks nor lists nor can be approved.
  FactorReset later = request(user_.id, admin2_.id, kStart + 1000);
  later.requested_unix = kStart + 100;
  auto second = store_->create_factor_reset(later);
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  auto pending = store_->list_factor_resets(kStart + 100);
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].user_id, other_.id);  // by id
  EXPECT_EQ((*pending)[1].id, second->id);
  Status expired = store_->approve_factor_reset(first->id, admin2_.id, kStart + 100).status();
  expect_code(expired, Code::kFailedPrecondition);
  EXPECT_NE(expired.message().find("expired"), std::string::npos) << expired.message();
  expect_factors(user_, true);
  EXPECT_EQ(store_->list_factor_resets(kStart + 1000)->size(), 1u);  // the other user's
  EXPECT_TRUE(store_->list_factor_resets(kStart + 86400)->empty());
}

TEST_P(FactorResetTest, BadRequestsAreRefused) {
  expect_code(store_->create_factor_reset(request(999, admin1_.id)), Code::kNotFound);
  expect_code(store_->create_factor_reset(request(user_.id, 999)), Code::kNotFound);
  expect_code(store_->create_factor_reset(request(user_.id, admin1_.id, kStart)),
              Code::kInvalidArgument);
  FactorReset approved = request(user_.id, admin1_.id);
  approved.approved_by = admin2_.id;
  expect_code(store_->create_factor_reset(approved), Code::kInvalidArgument);
  expect_code(store_->factor_reset_by_id(999), Code::kNotFound);
  expect_code(store_->approve_factor_reset(999, admin2_.id, kStart), Code::kNotFound);
  EXPECT_TRUE(store_->list_factor_resets(kStart)->empty());
}

TEST_P(FactorResetTest, ConcurrentApprovalsSucceedOnce) {
  auto r = store_->create_factor_reset(request(user_.id, admin1_.id));
  ASSERT_TRUE(r.ok());
  std::vector<MetaStore*> stores = both_stores();
  const int64_t approvers[] = {admin2_.id, other_.id, admin2_.id, other_.id};
  std::atomic<int> approved{0};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < std::size(approvers); ++i) {
    MetaStore* s = stores[i % stores.size()];
    threads.emplace_back([&, s, a = approvers[i]] {
      if (s->approve_factor_reset(r->id, a, kStart + 1).ok()) ++approved;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(approved.load(), 1);
  expect_factors(user_, false);
}

TEST_P(MetaStoreTest, DevicePolicies) {
  Tenant t = tenant("clinic-a");
  Repo r = repo(t.id, "main");
  Device d = device(r, "reception-pc", "0a01");
  Device e = device(r, "server", "0a02");
  expect_code(store_->device_policy(d.id), Code::kNotFound);
  const std::string policy =
      R"({"targets":["C:\\カルテ"],"schedule":"daily 02:00","exclusions":["*.tmp"]})";
  ASSERT_TRUE(store_->set_device_policy(d.id, policy, kStart + 5, "sato").ok());
  auto got = store_->device_policy(d.id);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->device_id, d.id);
  EXPECT_EQ(got->json, policy);
  EXPECT_EQ(got->updated_unix, kStart + 5);
  EXPECT_EQ(got->updated_by, "sato");
  expect_code(store_->device_policy(e.id), Code::kNotFound);
  // Replaced whole.
  ASSERT_TRUE(
      store_->set_device_policy(d.id, R"({"schedule":"hourly"})", kStart + 9, "cli:root").ok());
  got = store_->device_policy(d.id);
  EXPECT_EQ(got->json, R"({"schedule":"hourly"})");
  EXPECT_EQ(got->updated_unix, kStart + 9);
  EXPECT_EQ(got->updated_by, "cli:root");
  // Bounds; the text is opaque (the service parses it), so even non-JSON is kept.
  EXPECT_TRUE(store_->set_device_policy(e.id, std::string(kMaxPolicyBytes, ' '), kStart, "x").ok());
  expect_code(store_->set_device_policy(e.id, std::string(kMaxPolicyBytes + 1, ' '), kStart, "x"),
              Code::kInvalidArgument);
  expect_code(store_->set_device_policy(e.id, "", kStart, "x"), Code::kInvalidArgument);
  EXPECT_EQ(store_->device_policy(e.id)->json.size(), kMaxPolicyBytes);
  expect_code(store_->set_device_policy(999, policy, kStart, "x"), Code::kNotFound);
  expect_code(store_->device_policy(999), Code::kNotFound);
}

TEST_P(MetaStoreTest, RenameDevice) {
  Tenant a = tenant("clinic-a");
  Tenant b = tenant("clinic-b");
  Repo ra = repo(a.id, "main");
  Repo rb = repo(b.id, "main");
  Device d = device(ra, "pc-1", "0b01");
  Device e = device(ra, "pc-2", "0b02");
  Device f = device(rb, "pc-9", "0b03");
  ASSERT_TRUE(store_->rename_device(d.id, "受付PC").ok());
  EXPECT_EQ(store_->device_by_name(a.id, "受付PC")->id, d.id);
  expect_code(store_->device_by_name(a.id, "pc-1"), Code::kNotFound);
  EXPECT_EQ(store_->device_by_serial("0b01")->name, "受付PC");
  ASSERT_TRUE(store_->rename_device(d.id, "受付PC").ok());  // the same name: nothing to do
  // Taken within the tenant (a revoked device keeps its name); another tenant's is fine.
  expect_code(store_->rename_device(d.id, "pc-2"), Code::kAlreadyExists);
  ASSERT_TRUE(store_->revoke_device(e.id, kStart).ok());
  expect_code(store_->rename_device(d.id, "pc-2"), Code::kAlreadyExists);
  ASSERT_TRUE(store_->rename_device(d.id, "pc-9").ok());
  EXPECT_EQ(store_->device_by_name(b.id, "pc-9")->id, f.id);
  expect_code(store_->rename_device(d.id, ""), Code::kInvalidArgument);
  expect_code(store_->rename_device(999, "x"), Code::kNotFound);
  EXPECT_EQ(store_->device_by_name(a.id, "pc-9")->id, d.id);
}

TEST_P(MetaStoreTest, DisplayNameAndLastSignIn) {
  auto u = store_->create_user(make_user(0, "ops", UserRole::kProviderAdmin));
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->last_signin_unix, 0);
  EXPECT_EQ(store_->user_by_id(u->id)->last_signin_unix, 0);
  ASSERT_TRUE(store_->set_user_display_name(u->id, "佐藤 花子").ok());
  EXPECT_EQ(store_->user_by_id(u->id)->display_name, "佐藤 花子");
  expect_code(store_->set_user_display_name(999, "x"), Code::kNotFound);
  // A completed sign-in clears the failures as clear_signin_failures does, and is remembered.
  ASSERT_TRUE(store_->record_signin_failure(u->id, kStart, 3, 60).ok());
  ASSERT_TRUE(store_->record_signin(u->id, kStart + 100).ok());
  auto got = store_->user_by_id(u->id);
  EXPECT_EQ(got->failed_signins, 0);
  EXPECT_EQ(got->last_signin_unix, kStart + 100);
  ASSERT_TRUE(store_->record_signin(u->id, kStart + 50).ok());  // out of order: kept the later
  EXPECT_EQ(store_->user_by_id(u->id)->last_signin_unix, kStart + 100);
  EXPECT_EQ(store_->user_by_login("ops")->last_signin_unix, kStart + 100);
  EXPECT_EQ(store_->list_users(0)->at(0).last_signin_unix, kStart + 100);
  expect_code(store_->record_signin(999, kStart), Code::kNotFound);
}

TEST_P(MetaStoreTest, UsageHistory) {
  Tenant a = tenant("clinic-a");
  Tenant b = tenant("clinic-b");
  ASSERT_TRUE(store_->record_usage_sample(a.id, "2026-12-03", 100).ok());
  ASSERT_TRUE(store_->record_usage_sample(a.id, "2026-12-05", 300).ok());
  ASSERT_TRUE(store_->record_usage_sample(a.id, "2026-12-04", 200).ok());
  ASSERT_TRUE(store_->record_usage_sample(a.id, "2026-12-04", 250).ok());  // the later one wins
  ASSERT_TRUE(store_->record_usage_sample(a.id, "2027-01-01", 0).ok());
  ASSERT_TRUE(store_->record_usage_sample(b.id, "2026-12-04", 9).ok());
  auto h = store_->usage_history(a.id, "2026-12-04", "2026-12-31");
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_EQ(*h, (std::vector<UsageSample>{{"2026-12-04", 250}, {"2026-12-05", 300}}));
  EXPECT_EQ(store_->usage_history(a.id, "2026-01-01", "2027-12-31")->size(), 4u);
  EXPECT_EQ(*store_->usage_history(a.id, "2026-12-03", "2026-12-03"),
            (std::vector<UsageSample>{{"2026-12-03", 100}}));
  EXPECT_EQ(*store_->usage_history(b.id, "2026-12-01", "2026-12-31"),
            (std::vector<UsageSample>{{"2026-12-04", 9}}));
  EXPECT_TRUE(store_->usage_history(a.id, "2025-01-01", "2025-12-31")->empty());
  expect_code(store_->usage_history(a.id, "2026-12-05", "2026-12-04"), Code::kInvalidArgument);
  expect_code(store_->record_usage_sample(999, "2026-12-04", 1), Code::kNotFound);
  expect_code(store_->usage_history(999, "2026-12-01", "2026-12-31"), Code::kNotFound);
  expect_code(store_->record_usage_sample(a.id, "2026-12-04", -1), Code::kInvalidArgument);
  // Leap days.
  EXPECT_TRUE(store_->record_usage_sample(a.id, "2024-02-29", 1).ok());
  EXPECT_TRUE(store_->record_usage_sample(a.id, "2000-02-29", 1).ok());
}

TEST_P(MetaStoreTest, UsageDaysThatAreNotDatesAreRefused) {
  Tenant a = tenant("clinic-a");
  for (const std::string& day : {std::string(""),
                                 std::string("2026-12-5"),
                                 std::string("2026-1-05"),
                                 std::string("2026-13-01"),
                                 std::string("2026-00-10"),
                                 std::string("2026-12-00"),
                                 std::string("2026-12-32"),
                                 std::string("2026-02-29"),
                                 std::string("1900-02-29"),
                                 std::string("2026-04-31"),
                                 std::string("0000-01-01"),
                                 std::string("2026/12/05"),
                                 std::string("20261205"),
                                 std::string("2026-12-05 "),
                                 std::string(" 2026-12-05"),
                                 std::string("2026-12-05T00:00"),
                                 std::string("２０２６-12-05"),
                                 std::string("+026-12-05"),
                                 std::string("2026-1a-05"),
                                 std::string("2026-12-0\0", 10),
                                 std::string(10000, '9')}) {
    Status s = store_->record_usage_sample(a.id, day, 1);
    expect_code(s, Code::kInvalidArgument);
    EXPECT_LT(s.message().size(), 200u) << "the message quotes a bounded part";
    expect_code(store_->usage_history(a.id, day, "2026-12-31"), Code::kInvalidArgument);
    expect_code(store_->usage_history(a.id, "2026-01-01", day), Code::kInvalidArgument);
  }
  EXPECT_TRUE(store_->usage_history(a.id, "0001-01-01", "9999-12-31")->empty());
}

TEST_P(MetaStoreTest, SnapshotUploadsComeFromTheAccessRecords) {
  const std::string snap1(64, 'a'), snap2(64, 'b'), snap3(64, 'c');
  auto upload = [](int64_t ms, const std::string& tenant, const std::string& object) {
    AccessRecord r = record(ms, tenant, std::string(kSnapshotUploadAction));
    r.object = object;
    return r;
  };
  std::vector<AccessRecord> in = {
      upload(1000, "clinic-a", "clinic-a/main/snapshots/" + snap1),
      upload(2000, "clinic-a", "clinic-a/main/data/" + snap2),        // a pack
      upload(3000, "clinic-a", "clinic-a/other/snapshots/" + snap2),  // another repository
      upload(4000, "clinic-a", "clinic-a/main/snapshots/" + snap3),   // refused below
      upload(5000, "clinic-a", "clinic-a/main/locks/" + snap3),
      record(6000, "clinic-a", "repo.read"),                         // a download
      upload(7000, "clinic-b", "clinic-b/main/snapshots/" + snap1),  // another tenant
      upload(8000, "clinic-a", "clinic-a/main/snapshots/short"),
      upload(9000, "clinic-a", "clinic-b/main/snapshots/" + snap1),  // object of another tenant
      upload(9500, "clinic-a", "clinic-a/main/snapshots/" + std::string(64, 'A')),
      upload(3000, "clinic-a", "clinic-a/main/snapshots/" + snap3),  // the same time as another
  };
  in[3].status = 500;
  in[3].result = "error: disk full";
  in[5].object = "clinic-a/main/snapshots/" + snap1;
  ASSERT_TRUE(store_->append_access_records(in).ok());
  auto got = store_->snapshot_uploads("clinic-a", 0, 100);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  std::vector<std::string> objects;
  for (const AccessRecord& r : *got) objects.push_back(r.object);
  // Newest first; at equal times the later record first.
  EXPECT_EQ(objects, (std::vector<std::string>{"clinic-a/main/snapshots/" + snap3,
                                               "clinic-a/other/snapshots/" + snap2,
                                               "clinic-a/main/snapshots/" + snap1}));
  EXPECT_EQ((*got)[0].actor, "device:0a1b");
  EXPECT_EQ((*got)[0].bytes, 4096);
  EXPECT_EQ(store_->snapshot_uploads("clinic-a", 3000, 100)->size(), 2u);  // since: inclusive
  EXPECT_EQ(store_->snapshot_uploads("clinic-a", 3001, 100)->size(), 0u);
  auto limited = store_->snapshot_uploads("clinic-a", 0, 1);
  ASSERT_EQ(limited->size(), 1u);
  EXPECT_EQ(limited->front().object, "clinic-a/main/snapshots/" + snap3);
  EXPECT_EQ(store_->snapshot_uploads("clinic-b", 0, 100)->size(), 1u);
  EXPECT_TRUE(store_->snapshot_uploads("nobody", 0, 100)->empty());
  expect_code(store_->snapshot_uploads("clinic-a", 0, 0), Code::kInvalidArgument);
  expect_code(store_->snapshot_uploads("clinic-a", 0, kMaxAccessQueryLimit + 1),
              Code::kInvalidArgument);
  expect_code(store_->snapshot_uploads("", 0, 100), Code::kInvalidArgument);
}

TEST_P(MetaStoreTest, SnapshotUploadsTakeTheTenantLiterally) {
  // A name with GLOB wildcards matches itself only (the service's names have none, but the
  // store does not rely on that).
  const std::string snap(64, 'd');
  auto upload = [&](const std::string& tenant, const std::string& object) {
    AccessRecord r = record(1000, tenant, std::string(kSnapshotUploadAction));
    r.object = object + "/main/snapshots/" + snap;
    return r;
  };
  ASSERT_TRUE(
      store_
          ->append_access_records(std::vector<AccessRecord>{
              upload("c*", "c*"), upload("c*", "cx"), upload("c?[", "c?["), upload("c?[", "cz[")})
          .ok());
  EXPECT_EQ(store_->snapshot_uploads("c*", 0, 100)->size(), 1u);
  EXPECT_EQ(store_->snapshot_uploads("c?[", 0, 100)->size(), 1u);
  EXPECT_TRUE(store_->snapshot_uploads("c", 0, 100)->empty());
}

TEST_P(MetaStoreTest, Notices) {
  auto notice = [](int64_t starts, int64_t ends, const std::string& title) {
    Notice n;
    n.title_ja = "メンテナンスのお知らせ " + title;
    n.title_en = "Maintenance " + title;
    n.body_ja = "12月5日 22:00から";
    n.body_en = "From 22:00 on 5 December";
    n.severity = "maintenance";
    n.starts_unix = starts;
    n.ends_unix = ends;
    n.created_by = "ops";
    return n;
  };
  auto past = store_->create_notice(notice(kStart - 200, kStart - 100, "past"));
  auto later = store_->create_notice(notice(kStart + 500, kStart + 600, "later"));
  auto open = store_->create_notice(notice(kStart - 50, 0, "open"));
  auto now_ends = store_->create_notice(notice(kStart - 10, kStart, "ends-now"));
  ASSERT_TRUE(past.ok() && later.ok() && open.ok() && now_ends.ok());
  EXPECT_GT(open->id, 0);
  EXPECT_EQ(open->created_unix, kStart);
  auto list = store_->list_notices(kStart);
  ASSERT_TRUE(list.ok()) << list.status().to_string();
  std::vector<int64_t> ids;
  for (const Notice& n : *list) ids.push_back(n.id);
  EXPECT_EQ(ids, (std::vector<int64_t>{open->id, now_ends->id, later->id}));  // by start
  const Notice& first = list->front();
  EXPECT_EQ(first.title_ja, "メンテナンスのお知らせ open");
  EXPECT_EQ(first.body_en, "From 22:00 on 5 December");
  EXPECT_EQ(first.severity, "maintenance");
  EXPECT_EQ(first.created_by, "ops");
  EXPECT_EQ(first.ends_unix, 0);
  EXPECT_EQ(store_->list_notices(kStart + 1)->size(), 2u);
  ASSERT_TRUE(store_->delete_notice(later->id).ok());
  expect_code(store_->delete_notice(later->id), Code::kNotFound);
  expect_code(store_->delete_notice(999), Code::kNotFound);
  EXPECT_EQ(store_->list_notices(kStart + 1)->size(), 1u);
  // Garbage: ends before it starts; a text past the bound. A zero-length notice is fine.
  expect_code(store_->create_notice(notice(kStart, kStart - 1, "x")), Code::kInvalidArgument);
  Notice big = notice(kStart, 0, "big");
  big.body_ja = std::string(kMaxNoticeTextBytes + 1, 'x');
  expect_code(store_->create_notice(big), Code::kInvalidArgument);
  EXPECT_TRUE(store_->create_notice(notice(kStart, kStart, "instant")).ok());
}

// --- Two stores on one database (the server and the admin CLI) ------------------------------

TEST_P(MetaStoreTest, TwoStoresSeeEachOthersWrites) {
  if (!f_.open_again) GTEST_SKIP() << "this target has no second connection";
  auto second = f_.open_again();
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  MetaStore* cli = second->get();
  Tenant a = tenant("clinic-a");
  auto seen = cli->tenant_by_name("clinic-a");
  ASSERT_TRUE(seen.ok()) << seen.status().to_string();
  EXPECT_EQ(seen->id, a.id);
  Repo r;
  r.tenant_id = a.id;
  r.name = "main";
  auto made = cli->create_repo(r);
  ASSERT_TRUE(made.ok()) << made.status().to_string();
  EXPECT_EQ(store_->repo_by_name(a.id, "main")->id, made->id);
  Tenant dup;
  dup.name = "clinic-a";
  expect_code(cli->create_tenant(dup), Code::kAlreadyExists);

  // Both write at once: the busy timeout makes them wait for each other, nothing is lost.
  constexpr int kThreads = 4, kAdds = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kThreads; ++t) {
    MetaStore* s = t % 2 == 0 ? store_ : cli;
    threads.emplace_back([&, s] {
      for (int i = 0; i < kAdds; ++i) {
        if (!s->add_usage(made->id, 1, 1).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->repo_by_id(made->id)->used_bytes, 2 * kThreads * kAdds);
  EXPECT_EQ(cli->repo_by_id(made->id)->used_bytes, 2 * kThreads * kAdds);
}

TEST_P(MetaStoreTest, SchemaVersion) { EXPECT_GT(store_->schema_version(), 0); }

INSTANTIATE_TEST_SUITE_P(Stores, MetaStoreTest,
                         ::testing::Values(Target{"SqliteFile", make_sqlite_file},
                                           Target{"SqliteMemory", make_sqlite_memory}),
                         [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(Stores, FactorResetTest,
                         ::testing::Values(Target{"SqliteFile", make_sqlite_file},
                                           Target{"SqliteMemory", make_sqlite_memory}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace kura::meta
