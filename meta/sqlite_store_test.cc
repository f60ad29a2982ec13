// What only the SQLite MetaStore has: its file, migrations, locking and append-only triggers.
// The behaviour every store shares is in meta_store_conformance_test.cc.
#include "meta/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "meta/meta_testing.h"

namespace kura::meta {
namespace {

using base::Code;

// A second, raw connection: what another program (or an old kura-server) would do to the file.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~RawDb() { sqlite3_close(db_); }
  sqlite3* handle() { return db_; }
  int exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Messages are for people: ours, not SQLite's.
void expect_clean_message(const base::Status& s) {
  EXPECT_EQ(s.message().rfind("metadata store: ", 0), 0u) << s.message();
  for (const char* leak : {"SQL", "sqlite", "SELECT", "INSERT", "constraint"}) {
    EXPECT_EQ(s.message().find(leak), std::string::npos) << s.message();
  }
}

TEST(SqliteStore, NewFileIsPrivateAndInWalMode) {
  testing::TempDir dir;
  const std::string path = dir.sub("meta.db");
  auto store = open_sqlite(path);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_EQ((*store)->schema_version(), sqlite_schema_version_latest());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  RawDb raw(path);
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.text("SELECT group_concat(version) FROM schema_migrations"), "1,2,3,4,5");
}

TEST(SqliteStore, MigratesAnOldDatabase) {
  testing::TempDir dir;
  const std::string path = dir.sub("meta.db");
  int64_t admin_id = 0;
  {
    SqliteOptions old;
    old.migrate_to = 1;
    auto store = open_sqlite(path, old);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    EXPECT_EQ((*store)->schema_version(), 1);
    Tenant t;
    t.name = "clinic-a";
    ASSERT_TRUE((*store)->create_tenant(t).ok());
    Admin a;
    a.name = "yamada";
    auto admin = (*store)->create_admin(a);
    ASSERT_TRUE(admin.ok());
    admin_id = admin->id;
  }
  RawDb before(path);
  EXPECT_EQ(before.text("SELECT count(*) FROM sqlite_schema WHERE name = 'admin_certs'"), "0");

  auto store = open_sqlite(path);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_EQ((*store)->schema_version(), 5);
  EXPECT_TRUE((*store)->tenant_by_name("clinic-a").ok());
  // Version 4 copies the admins in as provider admins of the control panel.
  auto user = (*store)->user_by_login("yamada");
  ASSERT_TRUE(user.ok()) << user.status().to_string();
  EXPECT_EQ(user->role, UserRole::kProviderAdmin);
  EXPECT_EQ(user->tenant_id, 0);
  EXPECT_TRUE(user->must_change_password);
  AdminCert c;
  c.admin_id = admin_id;
  c.cert_serial = "a1";
  EXPECT_TRUE((*store)->add_admin_cert(c).ok());
  RawDb after(path);
  EXPECT_EQ(after.text("SELECT group_concat(version) FROM schema_migrations"), "1,2,3,4,5");

  // Asking for an older version than the file has opens it as it is.
  SqliteOptions old;
  old.migrate_to = 1;
  auto again = open_sqlite(path, old);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->schema_version(), 5);
}

// Version 5 adds the control panel's tables beside the data of version 4, which stays usable.
TEST(SqliteStore, MigratesVersion4WithDataInPlace) {
  testing::TempDir dir;
  const std::string path = dir.sub("meta.db");
  const std::string snap(64, 'e');
  Tenant tenant;
  Device device;
  User user, admin1, admin2;
  {
    SqliteOptions old;
    old.migrate_to = 4;
    auto opened = open_sqlite(path, old);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    MetaStore& s = **opened;
    ASSERT_EQ(s.schema_version(), 4);
    Tenant t;
    t.name = "clinic-a";
    tenant = *s.create_tenant(t);
    Repo r;
    r.tenant_id = tenant.id;
    r.name = "main";
    r = *s.create_repo(r);
    EnrollCode c;
    c.code_hash = "h";
    c.tenant_id = tenant.id;
    c.repo_id = r.id;
    c.device_name = "pc-1";
    c.expires_unix = 2'000'000'000;
    ASSERT_TRUE(s.create_enroll_code(c).ok());
    Device d;
    d.cert_serial = "0c01";
    auto redeemed = s.redeem_enroll_code("h", 1'700'000'000, d);
    ASSERT_TRUE(redeemed.ok()) << redeemed.status().to_string();
    device = *redeemed;
    auto make = [&](int64_t tenant_id, const std::string& login, UserRole role) {
      User u;
      u.tenant_id = tenant_id;
      u.login = login;
      u.display_name = login;
      u.role = role;
      u.password_hash = "$argon2id$" + login;
      u.must_change_password = false;
      auto made = s.create_user(u);
      EXPECT_TRUE(made.ok()) << made.status().to_string();
      return made.ok() ? *made : User{};
    };
    user = make(tenant.id, "sato", UserRole::kInstitutionOperator);
    admin1 = make(tenant.id, "admin1", UserRole::kInstitutionAdmin);
    admin2 = make(0, "admin2", UserRole::kProviderAdmin);
    TotpFactor f;
    f.user_id = user.id;
    f.secret = "JBSWY3DPEHPK3PXP";
    f.last_step = 42;
    ASSERT_TRUE(s.set_totp(f).ok());
    ASSERT_TRUE(s.set_recovery_codes(user.id, {"r1", "r2"}).ok());
    Session session;
    session.id_hash = "session-1";
    session.user_id = user.id;
    session.expires_unix = 2'000'000'000;
    ASSERT_TRUE(s.create_session(session).ok());
    AccessRecord upload;
    upload.time_unix_ms = 1'700'000'000'000;
    upload.tenant = "clinic-a";
    upload.actor = "device:0c01";
    upload.action = "repo.write";
    upload.object = "clinic-a/main/snapshots/" + snap;
    upload.status = 200;
    AccessRecord pack = upload;
    pack.object = "clinic-a/main/data/" + snap;
    ASSERT_TRUE(s.append_access_records(std::vector<AccessRecord>{upload, pack}).ok());
  }
  {
    RawDb before(path);
    EXPECT_EQ(before.text("SELECT count(*) FROM sqlite_schema WHERE name = 'webauthn_credentials'"),
              "0");
  }

  auto opened = open_sqlite(path);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  MetaStore& s = **opened;
  EXPECT_EQ(s.schema_version(), 5);
  // The old rows, as they were; a user has never signed in as far as version 5 knows.
  auto got = s.user_by_login("sato");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->password_hash, "$argon2id$sato");
  EXPECT_FALSE(got->must_change_password);
  EXPECT_EQ(got->last_signin_unix, 0);
  EXPECT_EQ(s.totp_of(user.id)->last_step, 42);
  EXPECT_TRUE(s.session_by_hash("session-1").ok());
  // The partial index covers records written before it existed.
  auto uploads = s.snapshot_uploads("clinic-a", 0, 10);
  ASSERT_TRUE(uploads.ok()) << uploads.status().to_string();
  ASSERT_EQ(uploads->size(), 1u);
  EXPECT_EQ(uploads->front().object, "clinic-a/main/snapshots/" + snap);
  // The new tables work with the old rows.
  WebAuthnCredential k;
  k.user_id = user.id;
  k.credential_id = std::string("\x01\x00\x02", 3);
  k.public_key = "cose";
  ASSERT_TRUE(s.add_webauthn_credential(k).ok());
  ASSERT_TRUE(s.set_device_policy(device.id, "{}", 1'700'000'100, "admin1").ok());
  ASSERT_TRUE(s.rename_device(device.id, "受付").ok());
  ASSERT_TRUE(s.record_usage_sample(tenant.id, "2026-12-05", 5).ok());
  ASSERT_TRUE(s.record_signin(user.id, 1'700'000'200).ok());
  FactorReset reset;
  reset.user_id = user.id;
  reset.requested_by = admin1.id;
  reset.requested_unix = 1'700'000'300;
  reset.expires_unix = 1'700'090'000;
  auto request = s.create_factor_reset(reset);
  ASSERT_TRUE(request.ok()) << request.status().to_string();
  ASSERT_TRUE(s.approve_factor_reset(request->id, admin2.id, 1'700'000'400).ok());
  EXPECT_EQ(s.totp_of(user.id).status().code(), Code::kNotFound);
  EXPECT_TRUE(s.recovery_codes(user.id)->empty());
  EXPECT_TRUE(s.webauthn_credentials(user.id)->empty());
  EXPECT_EQ(s.session_by_hash("session-1").status().code(), Code::kNotFound);
  RawDb after(path);
  EXPECT_EQ(after.text("SELECT group_concat(version) FROM schema_migrations"), "1,2,3,4,5");
  EXPECT_EQ(after.text("SELECT last_signin_unix FROM users WHERE login = 'sato'"), "1700000200");
}

// Raw key bytes are BLOBs (a TEXT column would hold invalid UTF-8 and compare by collation).
TEST(SqliteStore, WebAuthnBytesAreBlobs) {
  testing::TempDir dir;
  const std::string path = dir.sub("meta.db");
  auto store = open_sqlite(path);
  ASSERT_TRUE(store.ok());
  User u;
  u.login = "ops";
  auto user = (*store)->create_user(u);
  ASSERT_TRUE(user.ok());
  WebAuthnCredential k;
  k.user_id = user->id;
  k.credential_id = std::string("\xff\x00\xfe", 3);
  k.public_key = std::string("\x00", 1);
  ASSERT_TRUE((*store)->add_webauthn_credential(k).ok());
  RawDb raw(path);
  EXPECT_EQ(raw.text("SELECT typeof(credential_id) || ' ' || length(credential_id) || ' ' || "
                     "typeof(public_key) || ' ' || length(public_key) FROM webauthn_credentials"),
            "blob 3 blob 1");
}

// snapshot_uploads reads a few rows of a partial index, not every upload of the tenant (packs
// are thousands per backup). The statement here repeats the store's.
TEST(SqliteStore, SnapshotUploadsUseThePartialIndex) {
  testing::TempDir dir;
  const std::string path = dir.sub("meta.db");
  ASSERT_TRUE(open_sqlite(path).ok());
  RawDb raw(path);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw.handle(),
                               "EXPLAIN QUERY PLAN SELECT id FROM access_records WHERE "
                               "tenant = ? AND time_unix_ms >= ? AND action = 'repo.write' AND "
                               "status = 200 AND object GLOB '*/snapshots/*' AND object GLOB ? "
                               "ORDER BY time_unix_ms DESC, id DESC LIMIT ?",
                               -1, &s, nullptr),
            SQLITE_OK);
  std::string plan;
  while (sqlite3_step(s) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(s, 3));
    plan += "\n";
  }
  sqlite3_finalize(s);
  EXPECT_NE(plan.find("access_records_snapshot_uploads"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
}

TEST(SqliteStore, RefusesANewerSchema) {
  testing::TempDir dir;
  const std::string path = dir.sub("meta.db");
  ASSERT_TRUE(open_sqlite(path).ok());
  {
    RawDb raw(path);
    ASSERT_EQ(raw.exec("INSERT INTO schema_migrations VALUES (99, 0)"), SQLITE_OK);
  }
  auto store = open_sqlite(path);
  ASSERT_EQ(store.status().code(), Code::kFailedPrecondition) << store.status().to_string();
  const std::string& m = store.status().message();
  EXPECT_NE(m.find("99"), std::string::npos) << m;
  EXPECT_NE(m.find("(" + std::to_string(sqlite_schema_version_latest()) + ")"), std::string::npos) << m;
  EXPECT_NE(m.find(path), std::string::npos) << m;
  expect_clean_message(store.status());
}

TEST(SqliteStore, RefusesGarbage) {
  testing::TempDir dir;
  for (const std::string& content :
       {std::string("this is a text file, not a database\n"), std::string(4096, '\xff'),
        std::string("SQLite format 3") + std::string(200, '\0')}) {
    const std::string path = dir.sub("garbage.db");
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    auto store = open_sqlite(path);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), Code::kDataLoss) << store.status().to_string();
    EXPECT_NE(store.status().message().find(path), std::string::npos);
    EXPECT_NE(store.status().message().find("not a SQLite database"), std::string::npos)
        << store.status().message();
  }
}

TEST(SqliteStore, RefusesAnotherProgramsDatabase) {
  testing::TempDir dir;
  const std::string path = dir.sub("other.db");
  {
    RawDb raw(path);
    ASSERT_EQ(raw.exec("CREATE TABLE photos (id INTEGER PRIMARY KEY)"), SQLITE_OK);
  }
  auto store = open_sqlite(path);
  EXPECT_EQ(store.status().code(), Code::kFailedPrecondition) << store.status().to_string();
  EXPECT_NE(store.status().message().find("not a kura metadata store"), std::string::npos);
  RawDb raw(path);
  EXPECT_EQ(raw.text("SELECT count(*) FROM sqlite_schema"), "1");  // left alone
}

TEST(SqliteStore, BadPathsAndOptions) {
  testing::TempDir dir;
  auto missing = open_sqlite(dir.sub("no/such/dir/meta.db"));
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no/such/dir"), std::string::npos);
  EXPECT_EQ(open_sqlite("").status().code(), Code::kInvalidArgument);
  SqliteOptions opt;
  opt.migrate_to = sqlite_schema_version_latest() + 1;
  EXPECT_EQ(open_sqlite(":memory:", opt).status().code(), Code::kInvalidArgument);
}

TEST(SqliteStore, BusyDatabaseIsUnavailable) {
  testing::TempDir dir;
  const std::string path = dir.sub("meta.db");
  SqliteOptions opt;
  opt.busy_timeout_ms = 50;
  auto store = open_sqlite(path, opt);
  ASSERT_TRUE(store.ok());
  RawDb cli(path);
  ASSERT_EQ(cli.exec("BEGIN IMMEDIATE"), SQLITE_OK);
  Tenant t;
  t.name = "clinic-a";
  auto created = (*store)->create_tenant(t);
  EXPECT_EQ(created.status().code(), Code::kUnavailable) << created.status().to_string();
  expect_clean_message(created.status());
  // Reads go on under WAL while another process writes.
  EXPECT_TRUE((*store)->list_tenants().ok());
  ASSERT_EQ(cli.exec("COMMIT"), SQLITE_OK);
  EXPECT_TRUE((*store)->create_tenant(t).ok());
}

TEST(SqliteStore, AccessRecordsAreAppendOnly) {
  testing::TempDir dir;
  const std::string path = dir.sub("meta.db");
  auto store = open_sqlite(path);
  ASSERT_TRUE(store.ok());
  AccessRecord r;
  r.time_unix_ms = 1;
  r.action = "repo.save";
  ASSERT_TRUE((*store)->append_access_records(std::vector<AccessRecord>{r, r}).ok());
  RawDb raw(path);
  EXPECT_NE(raw.exec("UPDATE access_records SET result = 'forged'"), SQLITE_OK);
  EXPECT_NE(raw.exec("DELETE FROM access_records"), SQLITE_OK);
  EXPECT_EQ(raw.text("SELECT count(*) FROM access_records WHERE result = ''"), "2");
}

// One transaction for the whole batch: its pages go to the write-ahead log once, where a
// commit per record would append at least one frame per record.
TEST(SqliteStore, AppendIsOneTransaction) {
  testing::TempDir dir;
  const std::string path = dir.sub("meta.db");
  auto store = open_sqlite(path);
  ASSERT_TRUE(store.ok());
  RawDb raw(path);
  ASSERT_EQ(raw.exec("PRAGMA wal_checkpoint(TRUNCATE)"), SQLITE_OK);
  // A reader's snapshot keeps the log from being checkpointed and restarted meanwhile, so
  // the frame count below is everything the append wrote.
  ASSERT_EQ(raw.exec("BEGIN; SELECT count(*) FROM access_records"), SQLITE_OK);
  std::vector<AccessRecord> batch(1000);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].time_unix_ms = static_cast<int64_t>(i);
    batch[i].action = "repo.save";
    batch[i].object = "clinic-a/main/data/" + std::to_string(i);
  }
  ASSERT_TRUE((*store)->append_access_records(batch).ok());
  ASSERT_EQ(raw.exec("COMMIT"), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw.handle(), "PRAGMA wal_checkpoint(PASSIVE)", -1, &s, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  const int64_t frames = sqlite3_column_int64(s, 1);
  sqlite3_finalize(s);
  EXPECT_GT(frames, 0);
  EXPECT_LT(frames, 200) << "1000 records took " << frames << " WAL frames";
}

TEST(SqliteStore, ConstraintMessagesAreOurs) {
  auto store = open_sqlite(":memory:");
  ASSERT_TRUE(store.ok());
  Tenant t;
  t.name = "clinic-a";
  ASSERT_TRUE((*store)->create_tenant(t).ok());
  auto dup = (*store)->create_tenant(t);
  EXPECT_EQ(dup.status().message(), "metadata store: creating tenant \"clinic-a\": already exists");
  expect_clean_message(dup.status());
}

TEST(SqliteStore, ConcurrentFirstOpensMigrateOnce) {
  testing::TempDir dir;
  const std::string path = dir.sub("meta.db");
  constexpr int kOpeners = 4;
  std::vector<base::Status> results(kOpeners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      auto s = open_sqlite(path);
      if (!s.ok()) {
        results[i] = s.status();
      } else {
        EXPECT_EQ((*s)->schema_version(), sqlite_schema_version_latest());
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.to_string();
  RawDb raw(path);
  EXPECT_EQ(raw.text("SELECT group_concat(version) FROM schema_migrations"), "1,2,3,4,5");
}

}  // namespace
}  // namespace kura::meta
