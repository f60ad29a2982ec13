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
