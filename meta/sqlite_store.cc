// The SQLite MetaStore.
//
// Schema (version 5; the migrations below are the exact text). Every table is STRICT, so a
// column holds only its declared type; times are Unix seconds (access records: milliseconds),
// sizes int64, booleans 0/1, device roles the text "backup"/"maintenance".
//
//   schema_migrations(version PK, applied_unix)        one row per applied migration
//   tenants(id PK, name UNIQUE, display_name, region, quota_bytes >= 0, created_unix)
//   repos(id PK, tenant_id → tenants, name, used_bytes >= 0, object_count >= 0,
//         created_unix)                                UNIQUE (tenant_id, name)
//   devices(id PK, tenant_id → tenants, repo_id, name, role, cert_serial UNIQUE,
//           cert_fingerprint, not_before, not_after, revoked, created_unix, revoked_unix,
//           last_seen_unix)                            UNIQUE (tenant_id, name);
//           (repo_id, tenant_id) → repos(id, tenant_id): a device's repository is its tenant's
//   enroll_codes(code_hash PK, tenant_id → tenants, repo_id, device_name, role, created_unix,
//                expires_unix, used_unix)              (repo_id, tenant_id) → repos as above
//   admins(id PK, name UNIQUE, password_hash, must_change_password, created_unix)
//   access_records(id PK AUTOINCREMENT, time_unix_ms, tenant, actor, source_ip, auth_method,
//                  action, object, status, result, bytes)    columns in AccessRecord's order;
//                  triggers refuse UPDATE and DELETE; indexes (tenant, id), (time_unix_ms)
//   admin_certs(cert_serial PK, admin_id → admins, cert_fingerprint, not_before, not_after,
//               revoked, created_unix, revoked_unix)  [version 2]
//   repo_locks(repo_id → repos, name, device_id, created_unix)  PK (repo_id, name): who
//               uploaded each lock file                 [version 3]
//   users(id PK, tenant_id → tenants or NULL (provider staff), login UNIQUE, display_name,
//         role, password_hash, must_change_password, disabled, failed_signins, locked_until,
//         created_unix, password_changed_unix)   [version 4; the admins of versions 1-3 are
//         copied in as provider admins: `admins` stays the owner of admin certificates]
//   password_history(seq PK, user_id → users, password_hash, replaced_unix)     [version 4]
//   totp_factors(user_id PK → users, secret, last_step, created_unix)           [version 4]
//   recovery_codes(user_id → users, code_hash)  PK (user_id, code_hash)         [version 4]
//   sessions(id_hash PK, user_id → users, csrf_token, second_factor_done, source_ip,
//            created_unix, last_seen_unix, expires_unix)                        [version 4]
//   users.last_signin_unix (0: never)                                          [version 5]
//   webauthn_credentials(id PK, user_id → users, credential_id BLOB UNIQUE, public_key BLOB,
//            sign_count >= 0, name, created_unix, last_used_unix)              [version 5]
//   factor_resets(id PK, user_id → users, requested_by → users, requested_unix,
//            approved_by → users or NULL (pending), approved_unix, expires_unix) [version 5]
//   device_policies(device_id PK → devices, json, updated_unix, updated_by)    [version 5]
//   notices(id PK, title_ja, title_en, body_ja, body_en, severity, starts_unix, ends_unix,
//           created_by, created_unix)                                          [version 5]
//   usage_samples(tenant_id → tenants, day "YYYY-MM-DD", bytes >= 0)  PK (tenant_id, day)
//                                                                              [version 5]
//   access_records_snapshot_uploads: a partial index (tenant, time_unix_ms) of the successful
//            snapshot uploads, which the panel's per-day backup counts read   [version 5]
//
// Ids are AUTOINCREMENT: never reused, even for a row that a future migration deletes.
// A certificate serial is unique over devices and admin_certs together; SQLite cannot say that
// in a constraint across tables, so the writing methods check it inside their transaction.
//
// Concurrency: one connection per store behind a mutex. SQLite transactions belong to a
// connection, so threads sharing one without a lock would interleave their BEGIN/COMMIT; and
// SQLite admits one writer per database anyway, so more connections would only let reads run
// beside a write. Metadata operations take microseconds (the server's time goes to object I/O),
// and one connection keeps the statement cache simple. Other processes (the admin CLI) are
// separate connections: WAL lets them read while we write, and the busy timeout makes writers
// wait for each other. Write transactions are BEGIN IMMEDIATE: the write lock is taken (or
// waited for) first, so the checks a method makes before writing stay true until it commits,
// and a deferred read-then-write can never fail busy without waiting.
#include "meta/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <iterator>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "base/log.h"

namespace kura::meta {
namespace {

using base::Code;
using base::Status;
using base::StatusOr;

struct Migration {
  int version;
  const char* sql;
};

// Append only: a released migration never changes; a schema change is a new entry.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE schema_migrations (
  version INTEGER PRIMARY KEY,
  applied_unix INTEGER NOT NULL
) STRICT;

CREATE TABLE tenants (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  region TEXT NOT NULL,
  quota_bytes INTEGER NOT NULL CHECK (quota_bytes >= 0),
  created_unix INTEGER NOT NULL
) STRICT;

CREATE TABLE repos (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  name TEXT NOT NULL,
  used_bytes INTEGER NOT NULL CHECK (used_bytes >= 0),
  object_count INTEGER NOT NULL CHECK (object_count >= 0),
  created_unix INTEGER NOT NULL,
  UNIQUE (tenant_id, name),
  UNIQUE (id, tenant_id)
) STRICT;

CREATE TABLE devices (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  repo_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('backup', 'maintenance')),
  cert_serial TEXT NOT NULL UNIQUE,
  cert_fingerprint TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  revoked INTEGER NOT NULL CHECK (revoked IN (0, 1)),
  created_unix INTEGER NOT NULL,
  revoked_unix INTEGER NOT NULL,
  last_seen_unix INTEGER NOT NULL,
  UNIQUE (tenant_id, name),
  FOREIGN KEY (repo_id, tenant_id) REFERENCES repos (id, tenant_id)
) STRICT;

CREATE TABLE enroll_codes (
  code_hash TEXT PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  repo_id INTEGER NOT NULL,
  device_name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('backup', 'maintenance')),
  created_unix INTEGER NOT NULL,
  expires_unix INTEGER NOT NULL,
  used_unix INTEGER NOT NULL,
  FOREIGN KEY (repo_id, tenant_id) REFERENCES repos (id, tenant_id)
) STRICT;

CREATE TABLE admins (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  must_change_password INTEGER NOT NULL CHECK (must_change_password IN (0, 1)),
  created_unix INTEGER NOT NULL
) STRICT;

CREATE TABLE access_records (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time_unix_ms INTEGER NOT NULL,
  tenant TEXT NOT NULL,
  actor TEXT NOT NULL,
  source_ip TEXT NOT NULL,
  auth_method TEXT NOT NULL,
  action TEXT NOT NULL,
  object TEXT NOT NULL,
  status INTEGER NOT NULL,
  result TEXT NOT NULL,
  bytes INTEGER NOT NULL
) STRICT;
CREATE INDEX access_records_by_tenant ON access_records (tenant, id);
CREATE INDEX access_records_by_time ON access_records (time_unix_ms);
CREATE TRIGGER access_records_no_update BEFORE UPDATE ON access_records
BEGIN SELECT RAISE(ABORT, 'access records are append-only'); END;
CREATE TRIGGER access_records_no_delete BEFORE DELETE ON access_records
BEGIN SELECT RAISE(ABORT, 'access records are append-only'); END;
)sql"},
    {2, R"sql(
CREATE TABLE admin_certs (
  cert_serial TEXT PRIMARY KEY,
  admin_id INTEGER NOT NULL REFERENCES admins (id),
  cert_fingerprint TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  revoked INTEGER NOT NULL CHECK (revoked IN (0, 1)),
  created_unix INTEGER NOT NULL,
  revoked_unix INTEGER NOT NULL
) STRICT;
CREATE INDEX admin_certs_by_admin ON admin_certs (admin_id);
)sql"},
    {3, R"sql(
CREATE TABLE repo_locks (
  repo_id INTEGER NOT NULL REFERENCES repos (id),
  name TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  created_unix INTEGER NOT NULL,
  PRIMARY KEY (repo_id, name)
) STRICT;
)sql"},
    {4, R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id INTEGER REFERENCES tenants (id),
  login TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('provider_admin', 'provider_operator', 'institution_admin',
                                     'institution_operator', 'auditor', 'viewer')),
  password_hash TEXT NOT NULL,
  must_change_password INTEGER NOT NULL CHECK (must_change_password IN (0, 1)),
  disabled INTEGER NOT NULL CHECK (disabled IN (0, 1)),
  failed_signins INTEGER NOT NULL CHECK (failed_signins >= 0),
  locked_until INTEGER NOT NULL,
  created_unix INTEGER NOT NULL,
  password_changed_unix INTEGER NOT NULL
) STRICT;
CREATE INDEX users_by_tenant ON users (tenant_id, login);
CREATE TABLE password_history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users (id),
  password_hash TEXT NOT NULL,
  replaced_unix INTEGER NOT NULL
) STRICT;
CREATE INDEX password_history_by_user ON password_history (user_id, seq);
CREATE TABLE totp_factors (
  user_id INTEGER PRIMARY KEY REFERENCES users (id),
  secret TEXT NOT NULL,
  last_step INTEGER NOT NULL,
  created_unix INTEGER NOT NULL
) STRICT;
CREATE TABLE recovery_codes (
  user_id INTEGER NOT NULL REFERENCES users (id),
  code_hash TEXT NOT NULL,
  PRIMARY KEY (user_id, code_hash)
) STRICT;
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id),
  csrf_token TEXT NOT NULL,
  second_factor_done INTEGER NOT NULL CHECK (second_factor_done IN (0, 1)),
  source_ip TEXT NOT NULL,
  created_unix INTEGER NOT NULL,
  last_seen_unix INTEGER NOT NULL,
  expires_unix INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);
INSERT INTO users (tenant_id, login, display_name, role, password_hash, must_change_password,
                   disabled, failed_signins, locked_until, created_unix, password_changed_unix)
  SELECT NULL, name, name, 'provider_admin', password_hash, must_change_password, 0, 0, 0,
         created_unix, created_unix
  FROM admins;
)sql"},
    {5, R"sql(
ALTER TABLE users ADD COLUMN last_signin_unix INTEGER NOT NULL DEFAULT 0;
CREATE TABLE webauthn_credentials (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users (id),
  credential_id BLOB NOT NULL UNIQUE,
  public_key BLOB NOT NULL,
  sign_count INTEGER NOT NULL CHECK (sign_count >= 0),
  name TEXT NOT NULL,
  created_unix INTEGER NOT NULL,
  last_used_unix INTEGER NOT NULL
) STRICT;
CREATE INDEX webauthn_credentials_by_user ON webauthn_credentials (user_id, id);
CREATE TABLE factor_resets (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users (id),
  requested_by INTEGER NOT NULL REFERENCES users (id),
  requested_unix INTEGER NOT NULL,
  approved_by INTEGER REFERENCES users (id),
  approved_unix INTEGER NOT NULL,
  expires_unix INTEGER NOT NULL
) STRICT;
CREATE INDEX factor_resets_by_user ON factor_resets (user_id);
CREATE TABLE device_policies (
  device_id INTEGER PRIMARY KEY REFERENCES devices (id),
  json TEXT NOT NULL,
  updated_unix INTEGER NOT NULL,
  updated_by TEXT NOT NULL
) STRICT;
CREATE TABLE notices (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  title_ja TEXT NOT NULL,
  title_en TEXT NOT NULL,
  body_ja TEXT NOT NULL,
  body_en TEXT NOT NULL,
  severity TEXT NOT NULL,
  starts_unix INTEGER NOT NULL,
  ends_unix INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_unix INTEGER NOT NULL
) STRICT;
CREATE TABLE usage_samples (
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  day TEXT NOT NULL,
  bytes INTEGER NOT NULL CHECK (bytes >= 0),
  PRIMARY KEY (tenant_id, day)
) STRICT;
CREATE INDEX access_records_snapshot_uploads ON access_records (tenant, time_unix_ms)
  WHERE action = 'repo.write' AND status = 200 AND object GLOB '*/snapshots/*';
)sql"},
};
constexpr int kLatestVersion = std::size(kMigrations);
static_assert(kMigrations[kLatestVersion - 1].version == kLatestVersion,
              "migrations are numbered 1, 2, 3, ... in order");

constexpr std::string_view kPrefix = "metadata store: ";

Status error(Code code, std::string_view what, std::string_view reason) {
  std::string m(kPrefix);
  m.append(what).append(": ").append(reason);
  return Status(code, std::move(m));
}

// A SQLite result as a Status a user may read: our words for `what`, a fixed phrase for the
// reason. SQLite's own message can quote SQL, so it goes only to the operator's log.
Status db_error(sqlite3* db, int rc, std::string_view what) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return error(Code::kAlreadyExists, what, "already exists");
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return error(Code::kNotFound, what,
                   "refers to a tenant, repository or admin that does not exist");
    case SQLITE_CONSTRAINT_TRIGGER:
      return error(Code::kFailedPrecondition, what, "refused: access records are append-only");
    default:
      break;
  }
  Status s;
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return error(Code::kInvalidArgument, what, "a value is out of range");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      s = error(Code::kUnavailable, what, "the database is locked by another process; try again");
      break;
    case SQLITE_FULL:
      s = error(Code::kResourceExhausted, what, "the disk is full");
      break;
    case SQLITE_NOMEM:
      s = error(Code::kResourceExhausted, what, "out of memory");
      break;
    case SQLITE_NOTADB:
      s = error(Code::kDataLoss, what, "the file is not a SQLite database");
      break;
    case SQLITE_CORRUPT:
      s = error(Code::kDataLoss, what, "the database file is corrupt");
      break;
    case SQLITE_CANTOPEN:
      s = error(Code::kFailedPrecondition, what, "cannot open the database file");
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      s = error(Code::kPermissionDenied, what, "the database file is read-only or not accessible");
      break;
    case SQLITE_IOERR:
      s = error(Code::kUnavailable, what, "I/O error on the database file");
      break;
    default:
      s = error(Code::kInternal, what, "unexpected database error");
      break;
  }
  spdlog::warn("{}{}: sqlite error {}: {}", kPrefix, what, rc,
               db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  return s;
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Bytes bound as a BLOB (a string binds as TEXT, which a STRICT BLOB column refuses).
struct Blob {
  std::string_view bytes;
};

// One value bound to a statement parameter. Implicit constructors, so that a call reads
// exec(sql, what, {name, quota, created}).
struct Arg {
  enum class Kind { kInt, kText, kBlob };
  Arg(int64_t v) : i(v) {}                                // NOLINT(google-explicit-constructor)
  Arg(int v) : i(v) {}                                    // NOLINT(google-explicit-constructor)
  Arg(bool v) : i(v ? 1 : 0) {}                           // NOLINT(google-explicit-constructor)
  Arg(std::string_view v) : kind(Kind::kText), s(v) {}    // NOLINT(google-explicit-constructor)
  Arg(const std::string& v) : kind(Kind::kText), s(v) {}  // NOLINT(google-explicit-constructor)
  Arg(const char* v) : kind(Kind::kText), s(v) {}         // NOLINT(google-explicit-constructor)
  Arg(Blob v) : kind(Kind::kBlob), s(v.bytes) {}          // NOLINT(google-explicit-constructor)
  Kind kind = Kind::kInt;
  int64_t i = 0;
  std::string_view s;
};

// A cached statement in use: bound, stepped, then reset for the next user when it goes away.
class Query {
 public:
  Query(sqlite3* db, sqlite3_stmt* stmt, std::string what)
      : db_(db), stmt_(stmt), what_(std::move(what)) {}
  Query(Query&& o) noexcept
      : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)), what_(std::move(o.what_)) {}
  Query& operator=(Query&&) = delete;
  ~Query() {
    if (stmt_ == nullptr) return;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  Status bind(std::initializer_list<Arg> args) {
    int n = 0;
    for (const Arg& a : args) {
      ++n;
      // SQLITE_TRANSIENT: SQLite copies, so an argument need not outlive this call. A null
      // pointer would bind NULL, not "", hence the literal for an empty string.
      const char* p = a.s.empty() ? "" : a.s.data();
      int rc = SQLITE_OK;
      switch (a.kind) {
        case Arg::Kind::kInt:
          rc = sqlite3_bind_int64(stmt_, n, a.i);
          break;
        case Arg::Kind::kText:
          rc = sqlite3_bind_text64(stmt_, n, p, a.s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
          break;
        case Arg::Kind::kBlob:
          rc = sqlite3_bind_blob64(stmt_, n, p, a.s.size(), SQLITE_TRANSIENT);
          break;
      }
      if (rc != SQLITE_OK) return db_error(db_, rc, what_);
    }
    return base::ok_status();
  }
  // True: a row is ready to read; false: the statement is done.
  StatusOr<bool> step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return db_error(db_, rc, what_);
  }
  // Runs a statement that returns no rows (or whose rows do not matter).
  Status run() {
    StatusOr<bool> r = step();
    return r.ok() ? base::ok_status() : r.status();
  }
  int64_t changes() const { return sqlite3_changes64(db_); }
  int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(stmt_, col));
  }
  std::string blob(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(stmt_, col));
  }
  const std::string& what() const { return what_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string what_;
};

Status exec(sqlite3* db, const char* sql, std::string_view what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? base::ok_status() : db_error(db, rc, what);
}

// BEGIN IMMEDIATE … COMMIT, rolled back unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    // A failed statement may have rolled back already (SQLITE_FULL does), hence the check.
    if (open_ && sqlite3_get_autocommit(db_) == 0) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  Status begin(std::string_view what) {
    RETURN_IF_ERROR(exec(db_, "BEGIN IMMEDIATE", what));
    open_ = true;
    return base::ok_status();
  }
  Status commit(std::string_view what) {
    RETURN_IF_ERROR(exec(db_, "COMMIT", what));
    open_ = false;
    return base::ok_status();
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

std::string quoted(std::string_view s) {
  std::string q = "\"";
  q.append(s).append("\"");
  return q;
}

// A caller's text in a message: short and printable.
std::string shown(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 40)) out += (c >= 0x20 && c != 0x7f) ? c : '?';
  if (s.size() > 40) out += "...";
  return out + "\"";
}

// A calendar date "YYYY-MM-DD" (year 0001-9999): the key of the usage history.
Status check_day(std::string_view day, std::string_view what) {
  auto num = [&](size_t at, size_t len) {
    int v = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (day[i] < '0' || day[i] > '9') return -1;
      v = v * 10 + (day[i] - '0');
    }
    return v;
  };
  const bool shape = day.size() == 10 && day[4] == '-' && day[7] == '-';
  const int y = shape ? num(0, 4) : -1, m = shape ? num(5, 2) : -1, d = shape ? num(8, 2) : -1;
  const bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) {
    return error(Code::kInvalidArgument, what, shown(day) + " is not a date YYYY-MM-DD");
  }
  return base::ok_status();
}

// `s` as a GLOB pattern that matches exactly `s`: each wildcard character in brackets.
std::string glob_literal(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[') {
      out.append("[").append(1, c).append("]");
    } else {
      out += c;
    }
  }
  return out;
}

// In SQL text: the partial index of migration 5 names the same action.
#define KURA_SNAPSHOT_UPLOAD_ACTION "repo.write"
static_assert(kSnapshotUploadAction == KURA_SNAPSHOT_UPLOAD_ACTION);

template <typename T>
using Reader = StatusOr<T> (*)(const Query&);

// Column lists in the order the readers below expect.
#define KURA_TENANT_COLUMNS "id, name, display_name, region, quota_bytes, created_unix"
#define KURA_REPO_COLUMNS "id, tenant_id, name, used_bytes, object_count, created_unix"
#define KURA_DEVICE_COLUMNS                                                                    \
  "id, tenant_id, repo_id, name, role, cert_serial, cert_fingerprint, not_before, not_after, " \
  "revoked, created_unix, revoked_unix, last_seen_unix"
#define KURA_ENROLL_COLUMNS \
  "code_hash, tenant_id, repo_id, device_name, role, created_unix, expires_unix, used_unix"
#define KURA_ADMIN_COLUMNS "id, name, password_hash, must_change_password, created_unix"
#define KURA_ADMIN_CERT_COLUMNS                                                             \
  "admin_id, cert_serial, cert_fingerprint, not_before, not_after, revoked, created_unix, " \
  "revoked_unix"
#define KURA_USER_COLUMNS                                                                      \
  "id, IFNULL(tenant_id, 0), login, display_name, role, password_hash, must_change_password, " \
  "disabled, failed_signins, locked_until, created_unix, password_changed_unix, last_signin_unix"
#define KURA_SESSION_COLUMNS                                                                 \
  "id_hash, user_id, csrf_token, second_factor_done, source_ip, created_unix, last_seen_unix, " \
  "expires_unix"
#define KURA_WEBAUTHN_COLUMNS \
  "id, user_id, credential_id, public_key, sign_count, name, created_unix, last_used_unix"
#define KURA_FACTOR_RESET_COLUMNS \
  "id, user_id, requested_by, requested_unix, IFNULL(approved_by, 0), approved_unix, expires_unix"
#define KURA_NOTICE_COLUMNS                                                                  \
  "id, title_ja, title_en, body_ja, body_en, severity, starts_unix, ends_unix, created_by, " \
  "created_unix"
#define KURA_ACCESS_COLUMNS                                                                   \
  "id, time_unix_ms, tenant, actor, source_ip, auth_method, action, object, status, result, " \
  "bytes"

StatusOr<Tenant> read_tenant(const Query& q) {
  Tenant t;
  t.id = q.i64(0);
  t.name = q.text(1);
  t.display_name = q.text(2);
  t.region = q.text(3);
  t.quota_bytes = q.i64(4);
  t.created_unix = q.i64(5);
  return t;
}

StatusOr<Repo> read_repo(const Query& q) {
  Repo r;
  r.id = q.i64(0);
  r.tenant_id = q.i64(1);
  r.name = q.text(2);
  r.used_bytes = q.i64(3);
  r.object_count = q.i64(4);
  r.created_unix = q.i64(5);
  return r;
}

// The CHECK constraints keep roles valid; a file edited by hand is still read with care.
StatusOr<DeviceRole> read_role(const Query& q, int col) {
  StatusOr<DeviceRole> role = parse_role(q.text(col));
  if (!role.ok()) return error(Code::kDataLoss, q.what(), role.status().message());
  return role;
}

StatusOr<Device> read_device(const Query& q) {
  Device d;
  d.id = q.i64(0);
  d.tenant_id = q.i64(1);
  d.repo_id = q.i64(2);
  d.name = q.text(3);
  ASSIGN_OR_RETURN(d.role, read_role(q, 4));
  d.cert_serial = q.text(5);
  d.cert_fingerprint = q.text(6);
  d.not_before = q.i64(7);
  d.not_after = q.i64(8);
  d.revoked = q.i64(9) != 0;
  d.created_unix = q.i64(10);
  d.revoked_unix = q.i64(11);
  d.last_seen_unix = q.i64(12);
  return d;
}

StatusOr<EnrollCode> read_enroll_code(const Query& q) {
  EnrollCode c;
  c.code_hash = q.text(0);
  c.tenant_id = q.i64(1);
  c.repo_id = q.i64(2);
  c.device_name = q.text(3);
  ASSIGN_OR_RETURN(c.role, read_role(q, 4));
  c.created_unix = q.i64(5);
  c.expires_unix = q.i64(6);
  c.used_unix = q.i64(7);
  return c;
}

StatusOr<Admin> read_admin(const Query& q) {
  Admin a;
  a.id = q.i64(0);
  a.name = q.text(1);
  a.password_hash = q.text(2);
  a.must_change_password = q.i64(3) != 0;
  a.created_unix = q.i64(4);
  return a;
}

StatusOr<User> read_user(const Query& q) {
  User u;
  u.id = q.i64(0);
  u.tenant_id = q.i64(1);
  u.login = q.text(2);
  u.display_name = q.text(3);
  StatusOr<UserRole> role = parse_user_role(q.text(4));
  if (!role.ok()) return error(Code::kDataLoss, q.what(), role.status().message());
  u.role = *role;
  u.password_hash = q.text(5);
  u.must_change_password = q.i64(6) != 0;
  u.disabled = q.i64(7) != 0;
  u.failed_signins = static_cast<int>(q.i64(8));
  u.locked_until = q.i64(9);
  u.created_unix = q.i64(10);
  u.password_changed_unix = q.i64(11);
  u.last_signin_unix = q.i64(12);
  return u;
}

StatusOr<WebAuthnCredential> read_webauthn(const Query& q) {
  WebAuthnCredential c;
  c.id = q.i64(0);
  c.user_id = q.i64(1);
  c.credential_id = q.blob(2);
  c.public_key = q.blob(3);
  c.sign_count = q.i64(4);
  c.name = q.text(5);
  c.created_unix = q.i64(6);
  c.last_used_unix = q.i64(7);
  return c;
}

StatusOr<FactorReset> read_factor_reset(const Query& q) {
  FactorReset r;
  r.id = q.i64(0);
  r.user_id = q.i64(1);
  r.requested_by = q.i64(2);
  r.requested_unix = q.i64(3);
  r.approved_by = q.i64(4);
  r.approved_unix = q.i64(5);
  r.expires_unix = q.i64(6);
  return r;
}

StatusOr<DevicePolicy> read_policy(const Query& q) {
  DevicePolicy p;
  p.device_id = q.i64(0);
  p.json = q.text(1);
  p.updated_unix = q.i64(2);
  p.updated_by = q.text(3);
  return p;
}

StatusOr<Notice> read_notice(const Query& q) {
  Notice n;
  n.id = q.i64(0);
  n.title_ja = q.text(1);
  n.title_en = q.text(2);
  n.body_ja = q.text(3);
  n.body_en = q.text(4);
  n.severity = q.text(5);
  n.starts_unix = q.i64(6);
  n.ends_unix = q.i64(7);
  n.created_by = q.text(8);
  n.created_unix = q.i64(9);
  return n;
}

StatusOr<UsageSample> read_usage_sample(const Query& q) {
  UsageSample u;
  u.day = q.text(0);
  u.bytes = q.i64(1);
  return u;
}

StatusOr<Session> read_session(const Query& q) {
  Session s;
  s.id_hash = q.text(0);
  s.user_id = q.i64(1);
  s.csrf_token = q.text(2);
  s.second_factor_done = q.i64(3) != 0;
  s.source_ip = q.text(4);
  s.created_unix = q.i64(5);
  s.last_seen_unix = q.i64(6);
  s.expires_unix = q.i64(7);
  return s;
}

StatusOr<TotpFactor> read_totp(const Query& q) {
  TotpFactor f;
  f.user_id = q.i64(0);
  f.secret = q.text(1);
  f.last_step = q.i64(2);
  f.created_unix = q.i64(3);
  return f;
}

StatusOr<std::string> read_text0(const Query& q) { return q.text(0); }

StatusOr<AdminCert> read_admin_cert(const Query& q) {
  AdminCert c;
  c.admin_id = q.i64(0);
  c.cert_serial = q.text(1);
  c.cert_fingerprint = q.text(2);
  c.not_before = q.i64(3);
  c.not_after = q.i64(4);
  c.revoked = q.i64(5) != 0;
  c.created_unix = q.i64(6);
  c.revoked_unix = q.i64(7);
  return c;
}

StatusOr<AccessRecord> read_access_record(const Query& q) {
  AccessRecord r;
  r.id = q.i64(0);
  r.time_unix_ms = q.i64(1);
  r.tenant = q.text(2);
  r.actor = q.text(3);
  r.source_ip = q.text(4);
  r.auth_method = q.text(5);
  r.action = q.text(6);
  r.object = q.text(7);
  r.status = static_cast<int>(q.i64(8));
  r.result = q.text(9);
  r.bytes = q.i64(10);
  return r;
}

class SqliteStore final : public MetaStore {
 public:
  SqliteStore(DbPtr db, base::Clock* clock, int version)
      : db_(std::move(db)), clock_(clock), version_(version) {}

  StatusOr<Tenant> create_tenant(const Tenant& t) override;
  StatusOr<Tenant> tenant_by_name(std::string_view name) override;
  StatusOr<Tenant> tenant_by_id(int64_t id) override;
  StatusOr<std::vector<Tenant>> list_tenants() override;
  Status set_tenant_quota(int64_t tenant_id, int64_t quota_bytes) override;
  Status set_tenant_display_name(int64_t tenant_id, std::string_view name) override;

  StatusOr<Repo> create_repo(const Repo& r) override;
  StatusOr<Repo> repo_by_name(int64_t tenant_id, std::string_view name) override;
  StatusOr<Repo> repo_by_id(int64_t id) override;
  StatusOr<std::vector<Repo>> list_repos(int64_t tenant_id) override;
  Status add_usage(int64_t repo_id, int64_t delta_bytes, int64_t delta_objects) override;
  Status set_usage(int64_t repo_id, int64_t bytes, int64_t objects) override;
  StatusOr<int64_t> tenant_usage(int64_t tenant_id) override;
  Status record_usage_sample(int64_t tenant_id, std::string_view day, int64_t bytes) override;
  StatusOr<std::vector<UsageSample>> usage_history(int64_t tenant_id, std::string_view from_day,
                                                   std::string_view to_day) override;

  Status create_enroll_code(const EnrollCode& c) override;
  StatusOr<EnrollCode> enroll_code(std::string_view code_hash) override;
  StatusOr<Device> redeem_enroll_code(std::string_view code_hash, int64_t now,
                                      const Device& device) override;

  StatusOr<Device> device_by_serial(std::string_view cert_serial) override;
  StatusOr<Device> device_by_name(int64_t tenant_id, std::string_view name) override;
  StatusOr<std::vector<Device>> list_devices(int64_t tenant_id) override;
  Status revoke_device(int64_t device_id, int64_t now) override;
  Status replace_device_cert(int64_t device_id, const std::string& serial,
                             const std::string& fingerprint, int64_t not_before,
                             int64_t not_after) override;
  Status touch_device(int64_t device_id, int64_t now) override;
  Status rename_device(int64_t device_id, std::string_view new_name) override;
  Status set_device_policy(int64_t device_id, std::string_view json, int64_t now,
                           std::string_view updated_by) override;
  StatusOr<DevicePolicy> device_policy(int64_t device_id) override;
  Status record_lock(int64_t repo_id, std::string_view name, int64_t device_id,
                     int64_t now) override;
  StatusOr<int64_t> lock_owner(int64_t repo_id, std::string_view name) override;
  Status forget_lock(int64_t repo_id, std::string_view name) override;

  StatusOr<Admin> create_admin(const Admin& a) override;
  StatusOr<Admin> admin_by_name(std::string_view name) override;
  StatusOr<Admin> admin_by_id(int64_t id) override;
  StatusOr<std::vector<Admin>> list_admins() override;
  Status add_admin_cert(const AdminCert& c) override;
  StatusOr<AdminCert> admin_cert_by_serial(std::string_view serial) override;
  Status revoke_admin_cert(std::string_view serial, int64_t now) override;

  StatusOr<User> create_user(const User& u) override;
  StatusOr<User> user_by_login(std::string_view login) override;
  StatusOr<User> user_by_id(int64_t id) override;
  StatusOr<std::vector<User>> list_users(int64_t tenant_id) override;
  Status set_user_role(int64_t user_id, UserRole role) override;
  Status set_user_disabled(int64_t user_id, bool disabled) override;
  Status set_password(int64_t user_id, const std::string& hash, bool must_change, int keep,
                      int64_t now) override;
  StatusOr<std::vector<std::string>> password_history(int64_t user_id) override;
  StatusOr<User> record_signin_failure(int64_t user_id, int64_t now, int lock_after,
                                       int64_t lock_seconds) override;
  Status clear_signin_failures(int64_t user_id) override;
  Status record_signin(int64_t user_id, int64_t now) override;
  Status set_user_display_name(int64_t user_id, std::string_view name) override;
  Status set_totp(const TotpFactor& f) override;
  StatusOr<TotpFactor> totp_of(int64_t user_id) override;
  StatusOr<bool> advance_totp_step(int64_t user_id, int64_t step) override;
  Status remove_totp(int64_t user_id) override;
  Status set_recovery_codes(int64_t user_id, const std::vector<std::string>& hashes) override;
  StatusOr<std::vector<std::string>> recovery_codes(int64_t user_id) override;
  StatusOr<bool> use_recovery_code(int64_t user_id, std::string_view hash) override;
  StatusOr<WebAuthnCredential> add_webauthn_credential(const WebAuthnCredential& c) override;
  StatusOr<std::vector<WebAuthnCredential>> webauthn_credentials(int64_t user_id) override;
  StatusOr<WebAuthnCredential> webauthn_credential_by_id(std::string_view credential_id) override;
  Status update_webauthn_sign_count(int64_t id, int64_t new_count, int64_t now) override;
  Status remove_webauthn_credential(int64_t user_id, int64_t id) override;
  StatusOr<FactorReset> create_factor_reset(const FactorReset& r) override;
  StatusOr<std::vector<FactorReset>> list_factor_resets(int64_t now) override;
  StatusOr<FactorReset> factor_reset_by_id(int64_t id) override;
  StatusOr<FactorReset> approve_factor_reset(int64_t id, int64_t approver, int64_t now) override;
  Status create_session(const Session& s) override;
  StatusOr<Session> session_by_hash(std::string_view id_hash) override;
  Status touch_session(std::string_view id_hash, int64_t now) override;
  Status set_session_second_factor(std::string_view id_hash) override;
  Status delete_session(std::string_view id_hash) override;
  StatusOr<int64_t> delete_user_sessions(int64_t user_id) override;
  StatusOr<int64_t> delete_stale_sessions(int64_t idle_before, int64_t now) override;

  Status append_access_records(std::span<const AccessRecord> records) override;
  StatusOr<std::vector<AccessRecord>> list_access_records(const AccessQuery& q) override;
  StatusOr<std::vector<AccessRecord>> snapshot_uploads(std::string_view tenant,
                                                       int64_t since_unix_ms, int limit) override;

  StatusOr<Notice> create_notice(const Notice& n) override;
  StatusOr<std::vector<Notice>> list_notices(int64_t now) override;
  Status delete_notice(int64_t id) override;

  int schema_version() const override { return version_; }

 private:
  // Everything below expects mu_ held. `sql` must be a string literal: it keys the cache.
  StatusOr<Query> query(std::string_view sql, std::string what, std::initializer_list<Arg> args);
  // Runs a statement that returns no rows; how many rows it changed.
  StatusOr<int64_t> exec(std::string_view sql, std::string what, std::initializer_list<Arg> args);
  StatusOr<bool> exists(std::string_view sql, std::string what, std::initializer_list<Arg> args);
  // The one row `sql` selects, or kNotFound saying `missing`.
  template <typename T>
  StatusOr<T> get(std::string_view sql, std::string what, std::initializer_list<Arg> args,
                  Reader<T> read, std::string_view missing);
  template <typename T>
  StatusOr<std::vector<T>> get_all(std::string_view sql, std::string what,
                                   std::initializer_list<Arg> args, Reader<T> read);

  Status check_tenant(int64_t tenant_id, std::string_view what);
  // kNotFound unless the repository exists, kInvalidArgument unless it is the tenant's.
  Status check_repo_of(int64_t tenant_id, int64_t repo_id, std::string_view what);
  // kAlreadyExists when a device (other than `device_id`) or an admin holds the serial.
  Status check_serial_free(std::string_view serial, int64_t device_id, std::string_view what);
  StatusOr<Device> insert_device(const Device& d, std::string_view what);
  Status check_user(int64_t user_id, std::string_view what);
  // An UPDATE of one user: kNotFound when it changed no row.
  Status update_user(std::string_view sql, std::string_view what, std::initializer_list<Arg> args,
                     int64_t user_id);
  int64_t now_or(int64_t t) const { return t != 0 ? t : clock_->now().sec; }

  std::mutex mu_;
  DbPtr db_;  // declared before stmts_, so the statements are finalized first
  std::unordered_map<std::string_view, StmtPtr> stmts_;
  base::Clock* clock_;
  const int version_;
};

StatusOr<Query> SqliteStore::query(std::string_view sql, std::string what,
                                   std::initializer_list<Arg> args) {
  auto it = stmts_.find(sql);
  if (it == stmts_.end()) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return db_error(db_.get(), rc, what);
    it = stmts_.emplace(sql, std::move(stmt)).first;
  }
  Query q(db_.get(), it->second.get(), std::move(what));
  RETURN_IF_ERROR(q.bind(args));
  return q;
}

StatusOr<int64_t> SqliteStore::exec(std::string_view sql, std::string what,
                                    std::initializer_list<Arg> args) {
  ASSIGN_OR_RETURN(Query q, query(sql, std::move(what), args));
  RETURN_IF_ERROR(q.run());
  return q.changes();
}

StatusOr<bool> SqliteStore::exists(std::string_view sql, std::string what,
                                   std::initializer_list<Arg> args) {
  ASSIGN_OR_RETURN(Query q, query(sql, std::move(what), args));
  return q.step();
}

template <typename T>
StatusOr<T> SqliteStore::get(std::string_view sql, std::string what,
                             std::initializer_list<Arg> args, Reader<T> read,
                             std::string_view missing) {
  ASSIGN_OR_RETURN(Query q, query(sql, std::move(what), args));
  ASSIGN_OR_RETURN(bool row, q.step());
  if (!row) return base::not_found(std::string(kPrefix).append(missing));
  return read(q);
}

template <typename T>
StatusOr<std::vector<T>> SqliteStore::get_all(std::string_view sql, std::string what,
                                              std::initializer_list<Arg> args, Reader<T> read) {
  ASSIGN_OR_RETURN(Query q, query(sql, std::move(what), args));
  std::vector<T> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.step());
    if (!row) return out;
    ASSIGN_OR_RETURN(T value, read(q));
    out.push_back(std::move(value));
  }
}

Status SqliteStore::check_tenant(int64_t tenant_id, std::string_view what) {
  ASSIGN_OR_RETURN(bool found,
                   exists("SELECT 1 FROM tenants WHERE id = ?", std::string(what), {tenant_id}));
  if (!found)
    return error(Code::kNotFound, what, "tenant " + std::to_string(tenant_id) + " not found");
  return base::ok_status();
}

Status SqliteStore::check_repo_of(int64_t tenant_id, int64_t repo_id, std::string_view what) {
  RETURN_IF_ERROR(check_tenant(tenant_id, what));
  ASSIGN_OR_RETURN(
      Repo repo,
      get("SELECT " KURA_REPO_COLUMNS " FROM repos WHERE id = ?", std::string(what), {repo_id},
          read_repo, std::string(what) + ": repository " + std::to_string(repo_id) + " not found"));
  if (repo.tenant_id != tenant_id) {
    return error(Code::kInvalidArgument, what,
                 "repository " + std::to_string(repo_id) + " belongs to another tenant");
  }
  return base::ok_status();
}

Status SqliteStore::check_serial_free(std::string_view serial, int64_t device_id,
                                      std::string_view what) {
  ASSIGN_OR_RETURN(bool device, exists("SELECT 1 FROM devices WHERE cert_serial = ? AND id != ?",
                                       std::string(what), {serial, device_id}));
  ASSIGN_OR_RETURN(bool admin, exists("SELECT 1 FROM admin_certs WHERE cert_serial = ?",
                                      std::string(what), {serial}));
  if (device || admin) {
    return error(Code::kAlreadyExists, what,
                 "certificate serial " + std::string(serial) + " is already in use");
  }
  return base::ok_status();
}

// --- Tenants ---------------------------------------------------------------------------------

StatusOr<Tenant> SqliteStore::create_tenant(const Tenant& t) {
  const std::string what = "creating tenant " + quoted(t.name);
  if (t.name.empty()) return error(Code::kInvalidArgument, what, "the name is empty");
  if (t.quota_bytes < 0) return error(Code::kInvalidArgument, what, "the quota is negative");
  std::lock_guard lock(mu_);
  Tenant out = t;
  out.created_unix = now_or(t.created_unix);
  RETURN_IF_ERROR(
      exec("INSERT INTO tenants (name, display_name, region, quota_bytes, "
           "created_unix) VALUES (?, ?, ?, ?, ?)",
           what, {out.name, out.display_name, out.region, out.quota_bytes, out.created_unix}));
  out.id = sqlite3_last_insert_rowid(db_.get());
  return out;
}

StatusOr<Tenant> SqliteStore::tenant_by_name(std::string_view name) {
  std::lock_guard lock(mu_);
  return get("SELECT " KURA_TENANT_COLUMNS " FROM tenants WHERE name = ?",
             "looking up tenant " + quoted(name), {name}, read_tenant,
             "tenant " + quoted(name) + " not found");
}

StatusOr<Tenant> SqliteStore::tenant_by_id(int64_t id) {
  std::lock_guard lock(mu_);
  const std::string name = "tenant " + std::to_string(id);
  return get("SELECT " KURA_TENANT_COLUMNS " FROM tenants WHERE id = ?", "looking up " + name, {id},
             read_tenant, name + " not found");
}

StatusOr<std::vector<Tenant>> SqliteStore::list_tenants() {
  std::lock_guard lock(mu_);
  return get_all("SELECT " KURA_TENANT_COLUMNS " FROM tenants ORDER BY name", "listing tenants", {},
                 read_tenant);
}

Status SqliteStore::set_tenant_quota(int64_t tenant_id, int64_t quota_bytes) {
  const std::string name = "tenant " + std::to_string(tenant_id);
  const std::string what = "setting the quota of " + name;
  if (quota_bytes < 0) return error(Code::kInvalidArgument, what, "the quota is negative");
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(int64_t changed, exec("UPDATE tenants SET quota_bytes = ? WHERE id = ?", what,
                                         {quota_bytes, tenant_id}));
  if (changed == 0) return error(Code::kNotFound, what, name + " not found");
  return base::ok_status();
}

Status SqliteStore::set_tenant_display_name(int64_t tenant_id, std::string_view display) {
  const std::string name = "tenant " + std::to_string(tenant_id);
  const std::string what = "renaming " + name;
  if (display.empty() || display.size() > 200) {
    return error(Code::kInvalidArgument, what, "the display name must have 1 to 200 bytes");
  }
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(int64_t changed, exec("UPDATE tenants SET display_name = ? WHERE id = ?", what,
                                         {std::string(display), tenant_id}));
  if (changed == 0) return error(Code::kNotFound, what, name + " not found");
  return base::ok_status();
}

// --- Repositories ----------------------------------------------------------------------------

StatusOr<Repo> SqliteStore::create_repo(const Repo& r) {
  const std::string what =
      "creating repository " + quoted(r.name) + " of tenant " + std::to_string(r.tenant_id);
  if (r.name.empty()) return error(Code::kInvalidArgument, what, "the name is empty");
  if (r.used_bytes < 0 || r.object_count < 0) {
    return error(Code::kInvalidArgument, what, "the usage is negative");
  }
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  RETURN_IF_ERROR(check_tenant(r.tenant_id, what));
  Repo out = r;
  out.created_unix = now_or(r.created_unix);
  RETURN_IF_ERROR(
      exec("INSERT INTO repos (tenant_id, name, used_bytes, object_count, "
           "created_unix) VALUES (?, ?, ?, ?, ?)",
           what, {out.tenant_id, out.name, out.used_bytes, out.object_count, out.created_unix}));
  out.id = sqlite3_last_insert_rowid(db_.get());
  RETURN_IF_ERROR(tx.commit(what));
  return out;
}

StatusOr<Repo> SqliteStore::repo_by_name(int64_t tenant_id, std::string_view name) {
  std::lock_guard lock(mu_);
  const std::string repo = "repository " + quoted(name) + " of tenant " + std::to_string(tenant_id);
  return get("SELECT " KURA_REPO_COLUMNS " FROM repos WHERE tenant_id = ? AND name = ?",
             "looking up " + repo, {tenant_id, name}, read_repo, repo + " not found");
}

StatusOr<Repo> SqliteStore::repo_by_id(int64_t id) {
  std::lock_guard lock(mu_);
  const std::string repo = "repository " + std::to_string(id);
  return get("SELECT " KURA_REPO_COLUMNS " FROM repos WHERE id = ?", "looking up " + repo, {id},
             read_repo, repo + " not found");
}

StatusOr<std::vector<Repo>> SqliteStore::list_repos(int64_t tenant_id) {
  const std::string what = "listing the repositories of tenant " + std::to_string(tenant_id);
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(check_tenant(tenant_id, what));
  return get_all("SELECT " KURA_REPO_COLUMNS " FROM repos WHERE tenant_id = ? ORDER BY name", what,
                 {tenant_id}, read_repo);
}

Status SqliteStore::add_usage(int64_t repo_id, int64_t delta_bytes, int64_t delta_objects) {
  const std::string repo = "repository " + std::to_string(repo_id);
  const std::string what = "updating the usage of " + repo;
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(int64_t changed, exec("UPDATE repos SET used_bytes = MAX(0, used_bytes + ?), "
                                         "object_count = MAX(0, object_count + ?) WHERE id = ?",
                                         what, {delta_bytes, delta_objects, repo_id}));
  if (changed == 0) return error(Code::kNotFound, what, repo + " not found");
  return base::ok_status();
}

Status SqliteStore::set_usage(int64_t repo_id, int64_t bytes, int64_t objects) {
  const std::string repo = "repository " + std::to_string(repo_id);
  const std::string what = "setting the usage of " + repo;
  if (bytes < 0 || objects < 0) return error(Code::kInvalidArgument, what, "the usage is negative");
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(int64_t changed,
                   exec("UPDATE repos SET used_bytes = ?, object_count = ? WHERE id = ?", what,
                        {bytes, objects, repo_id}));
  if (changed == 0) return error(Code::kNotFound, what, repo + " not found");
  return base::ok_status();
}

StatusOr<int64_t> SqliteStore::tenant_usage(int64_t tenant_id) {
  const std::string what = "summing the usage of tenant " + std::to_string(tenant_id);
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(check_tenant(tenant_id, what));
  ASSIGN_OR_RETURN(Query q, query("SELECT COALESCE(SUM(used_bytes), 0) FROM repos "
                                  "WHERE tenant_id = ?",
                                  what, {tenant_id}));
  ASSIGN_OR_RETURN(bool row, q.step());
  if (!row) return error(Code::kInternal, what, "no result");
  return q.i64(0);
}

Status SqliteStore::record_usage_sample(int64_t tenant_id, std::string_view day, int64_t bytes) {
  const std::string what = "recording the usage of tenant " + std::to_string(tenant_id);
  RETURN_IF_ERROR(check_day(day, what));
  if (bytes < 0) return error(Code::kInvalidArgument, what, "the usage is negative");
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  RETURN_IF_ERROR(check_tenant(tenant_id, what));
  RETURN_IF_ERROR(exec("INSERT INTO usage_samples (tenant_id, day, bytes) VALUES (?, ?, ?) "
                       "ON CONFLICT (tenant_id, day) DO UPDATE SET bytes = excluded.bytes",
                       what, {tenant_id, day, bytes})
                      .status());
  return tx.commit(what);
}

StatusOr<std::vector<UsageSample>> SqliteStore::usage_history(int64_t tenant_id,
                                                              std::string_view from_day,
                                                              std::string_view to_day) {
  const std::string what = "reading the usage history of tenant " + std::to_string(tenant_id);
  RETURN_IF_ERROR(check_day(from_day, what));
  RETURN_IF_ERROR(check_day(to_day, what));
  // "YYYY-MM-DD" sorts as the dates do.
  if (from_day > to_day) {
    return error(Code::kInvalidArgument, what,
                 std::string(from_day) + " is after " + std::string(to_day));
  }
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(check_tenant(tenant_id, what));
  return get_all(
      "SELECT day, bytes FROM usage_samples WHERE tenant_id = ? AND day >= ? AND "
      "day <= ? ORDER BY day",
      what, {tenant_id, from_day, to_day}, read_usage_sample);
}

// --- Enrollment --------------------------------------------------------------------------------

Status SqliteStore::create_enroll_code(const EnrollCode& c) {
  const std::string what = "creating an enrollment code for device " + quoted(c.device_name);
  if (c.code_hash.empty()) return error(Code::kInvalidArgument, what, "the code hash is empty");
  if (c.device_name.empty()) return error(Code::kInvalidArgument, what, "the device name is empty");
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  RETURN_IF_ERROR(check_repo_of(c.tenant_id, c.repo_id, what));
  RETURN_IF_ERROR(exec("INSERT INTO enroll_codes (" KURA_ENROLL_COLUMNS ") "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       what,
                       {c.code_hash, c.tenant_id, c.repo_id, c.device_name, role_name(c.role),
                        now_or(c.created_unix), c.expires_unix, c.used_unix})
                      .status());
  return tx.commit(what);
}

StatusOr<EnrollCode> SqliteStore::enroll_code(std::string_view code_hash) {
  std::lock_guard lock(mu_);
  // The hash stays out of messages: with a short code it is as good as the code.
  return get("SELECT " KURA_ENROLL_COLUMNS " FROM enroll_codes WHERE code_hash = ?",
             "looking up an enrollment code", {code_hash}, read_enroll_code,
             "enrollment code not found");
}

StatusOr<Device> SqliteStore::insert_device(const Device& d, std::string_view what) {
  RETURN_IF_ERROR(
      exec("INSERT INTO devices (tenant_id, repo_id, name, role, cert_serial, "
           "cert_fingerprint, not_before, not_after, revoked, created_unix, "
           "revoked_unix, last_seen_unix) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
           std::string(what),
           {d.tenant_id, d.repo_id, d.name, role_name(d.role), d.cert_serial, d.cert_fingerprint,
            d.not_before, d.not_after, d.revoked, d.created_unix, d.revoked_unix, d.last_seen_unix})
          .status());
  Device out = d;
  out.id = sqlite3_last_insert_rowid(db_.get());
  return out;
}

// The device an enrollment code makes: the code's binding, the caller's certificate.
StatusOr<Device> device_for_code(const EnrollCode& code, int64_t now, const Device& d,
                                 std::string_view what) {
  if ((d.tenant_id != 0 && d.tenant_id != code.tenant_id) ||
      (d.repo_id != 0 && d.repo_id != code.repo_id) ||
      (!d.name.empty() && d.name != code.device_name)) {
    return error(Code::kInvalidArgument, what,
                 "the device's tenant, repository or name differs from the enrollment code's");
  }
  if (d.cert_serial.empty()) {
    return error(Code::kInvalidArgument, what, "the certificate serial is empty");
  }
  Device out = d;
  out.tenant_id = code.tenant_id;
  out.repo_id = code.repo_id;
  out.name = code.device_name;
  out.role = code.role;
  if (out.created_unix == 0) out.created_unix = now;
  return out;
}

StatusOr<Device> SqliteStore::redeem_enroll_code(std::string_view code_hash, int64_t now,
                                                 const Device& device) {
  std::string what = "enrolling a device";
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  ASSIGN_OR_RETURN(EnrollCode code,
                   get("SELECT " KURA_ENROLL_COLUMNS " FROM enroll_codes WHERE code_hash = ?", what,
                       {code_hash}, read_enroll_code, "enrollment code not found"));
  what = "enrolling device " + quoted(code.device_name);
  if (code.used_unix != 0) {
    return error(Code::kFailedPrecondition, what, "the enrollment code was already used");
  }
  if (code.expires_unix <= now) {
    return error(Code::kFailedPrecondition, what, "the enrollment code has expired");
  }
  ASSIGN_OR_RETURN(Device d, device_for_code(code, now, device, what));
  ASSIGN_OR_RETURN(bool taken, exists("SELECT 1 FROM devices WHERE tenant_id = ? AND name = ?",
                                      what, {d.tenant_id, d.name}));
  if (taken) {
    return error(Code::kAlreadyExists, what,
                 "tenant " + std::to_string(d.tenant_id) + " already has a device of that name");
  }
  RETURN_IF_ERROR(check_serial_free(d.cert_serial, 0, what));
  ASSIGN_OR_RETURN(int64_t marked,
                   exec("UPDATE enroll_codes SET used_unix = ? WHERE code_hash = ? AND "
                        "used_unix = 0",
                        what, {now, code_hash}));
  if (marked != 1) return error(Code::kInternal, what, "the enrollment code changed meanwhile");
  ASSIGN_OR_RETURN(Device out, insert_device(d, what));
  RETURN_IF_ERROR(tx.commit(what));
  return out;
}

// --- Devices -----------------------------------------------------------------------------------

StatusOr<Device> SqliteStore::device_by_serial(std::string_view cert_serial) {
  std::lock_guard lock(mu_);
  const std::string device = "device with certificate serial " + std::string(cert_serial);
  return get("SELECT " KURA_DEVICE_COLUMNS " FROM devices WHERE cert_serial = ?",
             "looking up " + device, {cert_serial}, read_device, device + " not found");
}

StatusOr<Device> SqliteStore::device_by_name(int64_t tenant_id, std::string_view name) {
  std::lock_guard lock(mu_);
  const std::string device = "device " + quoted(name) + " of tenant " + std::to_string(tenant_id);
  return get("SELECT " KURA_DEVICE_COLUMNS " FROM devices WHERE tenant_id = ? AND name = ?",
             "looking up " + device, {tenant_id, name}, read_device, device + " not found");
}

StatusOr<std::vector<Device>> SqliteStore::list_devices(int64_t tenant_id) {
  const std::string what = "listing the devices of tenant " + std::to_string(tenant_id);
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(check_tenant(tenant_id, what));
  return get_all("SELECT " KURA_DEVICE_COLUMNS " FROM devices WHERE tenant_id = ? ORDER BY name",
                 what, {tenant_id}, read_device);
}

Status SqliteStore::revoke_device(int64_t device_id, int64_t now) {
  const std::string device = "device " + std::to_string(device_id);
  const std::string what = "revoking " + device;
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(int64_t changed, exec("UPDATE devices SET revoked = 1, revoked_unix = ? "
                                         "WHERE id = ? AND revoked = 0",
                                         what, {now, device_id}));
  if (changed != 0) return base::ok_status();
  ASSIGN_OR_RETURN(bool found, exists("SELECT 1 FROM devices WHERE id = ?", what, {device_id}));
  if (!found) return error(Code::kNotFound, what, device + " not found");
  return base::ok_status();
}

Status SqliteStore::replace_device_cert(int64_t device_id, const std::string& serial,
                                        const std::string& fingerprint, int64_t not_before,
                                        int64_t not_after) {
  const std::string device = "device " + std::to_string(device_id);
  const std::string what = "replacing the certificate of " + device;
  if (serial.empty()) return error(Code::kInvalidArgument, what, "the certificate serial is empty");
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  ASSIGN_OR_RETURN(Device d, get("SELECT " KURA_DEVICE_COLUMNS " FROM devices WHERE id = ?", what,
                                 {device_id}, read_device, device + " not found"));
  if (d.revoked) return error(Code::kFailedPrecondition, what, device + " is revoked");
  RETURN_IF_ERROR(check_serial_free(serial, device_id, what));
  RETURN_IF_ERROR(exec("UPDATE devices SET cert_serial = ?, cert_fingerprint = ?, "
                       "not_before = ?, not_after = ? WHERE id = ?",
                       what, {serial, fingerprint, not_before, not_after, device_id})
                      .status());
  return tx.commit(what);
}

Status SqliteStore::touch_device(int64_t device_id, int64_t now) {
  const std::string device = "device " + std::to_string(device_id);
  const std::string what = "recording when " + device + " was last seen";
  std::lock_guard lock(mu_);
  // MAX: touches from concurrent requests may arrive out of order.
  ASSIGN_OR_RETURN(int64_t changed,
                   exec("UPDATE devices SET last_seen_unix = MAX(last_seen_unix, ?) WHERE id = ?",
                        what, {now, device_id}));
  if (changed == 0) return error(Code::kNotFound, what, device + " not found");
  return base::ok_status();
}

Status SqliteStore::rename_device(int64_t device_id, std::string_view new_name) {
  const std::string device = "device " + std::to_string(device_id);
  const std::string what = "renaming " + device + " to " + quoted(new_name);
  if (new_name.empty()) return error(Code::kInvalidArgument, what, "the name is empty");
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  ASSIGN_OR_RETURN(Device d, get("SELECT " KURA_DEVICE_COLUMNS " FROM devices WHERE id = ?", what,
                                 {device_id}, read_device, device + " not found"));
  if (d.name == new_name) return base::ok_status();
  ASSIGN_OR_RETURN(bool taken, exists("SELECT 1 FROM devices WHERE tenant_id = ? AND name = ?",
                                      what, {d.tenant_id, new_name}));
  if (taken) {
    return error(Code::kAlreadyExists, what,
                 "tenant " + std::to_string(d.tenant_id) + " already has a device of that name");
  }
  RETURN_IF_ERROR(
      exec("UPDATE devices SET name = ? WHERE id = ?", what, {new_name, device_id}).status());
  return tx.commit(what);
}

// --- Backup policies -----------------------------------------------------------------------------

Status SqliteStore::set_device_policy(int64_t device_id, std::string_view json, int64_t now,
                                      std::string_view updated_by) {
  const std::string device = "device " + std::to_string(device_id);
  const std::string what = "setting the backup policy of " + device;
  if (json.empty() || json.size() > kMaxPolicyBytes) {
    return error(Code::kInvalidArgument, what,
                 "the policy must be 1 to " + std::to_string(kMaxPolicyBytes) + " bytes");
  }
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  ASSIGN_OR_RETURN(bool found, exists("SELECT 1 FROM devices WHERE id = ?", what, {device_id}));
  if (!found) return error(Code::kNotFound, what, device + " not found");
  RETURN_IF_ERROR(exec("INSERT INTO device_policies (device_id, json, updated_unix, updated_by) "
                       "VALUES (?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
                       "json = excluded.json, updated_unix = excluded.updated_unix, "
                       "updated_by = excluded.updated_by",
                       what, {device_id, json, now, updated_by})
                      .status());
  return tx.commit(what);
}

StatusOr<DevicePolicy> SqliteStore::device_policy(int64_t device_id) {
  std::lock_guard lock(mu_);
  const std::string device = "device " + std::to_string(device_id);
  return get(
      "SELECT device_id, json, updated_unix, updated_by FROM device_policies "
      "WHERE device_id = ?",
      "reading the backup policy of " + device, {device_id}, read_policy,
      device + " has no backup policy");
}

// --- Lock owners ---------------------------------------------------------------------------------

Status SqliteStore::record_lock(int64_t repo_id, std::string_view name, int64_t device_id,
                                int64_t now) {
  const std::string what = "recording the owner of lock " + std::string(name);
  std::lock_guard lock(mu_);
  return exec("INSERT OR REPLACE INTO repo_locks (repo_id, name, device_id, created_unix) "
              "VALUES (?, ?, ?, ?)",
              what, {repo_id, name, device_id, now})
      .status();
}

StatusOr<int64_t> SqliteStore::lock_owner(int64_t repo_id, std::string_view name) {
  const std::string what = "looking up the owner of lock " + std::string(name);
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Query q, query("SELECT device_id FROM repo_locks WHERE repo_id = ? AND name = ?",
                                  what, {repo_id, name}));
  ASSIGN_OR_RETURN(bool row, q.step());
  if (!row) return error(Code::kNotFound, what, "lock " + std::string(name) + " not recorded");
  return q.i64(0);
}

Status SqliteStore::forget_lock(int64_t repo_id, std::string_view name) {
  const std::string what = "forgetting the owner of lock " + std::string(name);
  std::lock_guard lock(mu_);
  return exec("DELETE FROM repo_locks WHERE repo_id = ? AND name = ?", what, {repo_id, name})
      .status();
}

// --- Admins ------------------------------------------------------------------------------------

StatusOr<Admin> SqliteStore::create_admin(const Admin& a) {
  const std::string what = "creating admin " + quoted(a.name);
  if (a.name.empty()) return error(Code::kInvalidArgument, what, "the name is empty");
  std::lock_guard lock(mu_);
  Admin out = a;
  out.created_unix = now_or(a.created_unix);
  RETURN_IF_ERROR(exec("INSERT INTO admins (name, password_hash, must_change_password, "
                       "created_unix) VALUES (?, ?, ?, ?)",
                       what,
                       {out.name, out.password_hash, out.must_change_password, out.created_unix})
                      .status());
  out.id = sqlite3_last_insert_rowid(db_.get());
  return out;
}

StatusOr<Admin> SqliteStore::admin_by_name(std::string_view name) {
  std::lock_guard lock(mu_);
  return get("SELECT " KURA_ADMIN_COLUMNS " FROM admins WHERE name = ?",
             "looking up admin " + quoted(name), {name}, read_admin,
             "admin " + quoted(name) + " not found");
}

StatusOr<Admin> SqliteStore::admin_by_id(int64_t id) {
  std::lock_guard lock(mu_);
  const std::string admin = "admin " + std::to_string(id);
  return get("SELECT " KURA_ADMIN_COLUMNS " FROM admins WHERE id = ?", "looking up " + admin, {id},
             read_admin, admin + " not found");
}

StatusOr<std::vector<Admin>> SqliteStore::list_admins() {
  std::lock_guard lock(mu_);
  return get_all("SELECT " KURA_ADMIN_COLUMNS " FROM admins ORDER BY name", "listing admins", {},
                 read_admin);
}

Status SqliteStore::add_admin_cert(const AdminCert& c) {
  const std::string what =
      "adding certificate " + c.cert_serial + " of admin " + std::to_string(c.admin_id);
  if (c.cert_serial.empty()) {
    return error(Code::kInvalidArgument, what, "the certificate serial is empty");
  }
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  ASSIGN_OR_RETURN(bool admin, exists("SELECT 1 FROM admins WHERE id = ?", what, {c.admin_id}));
  if (!admin) {
    return error(Code::kNotFound, what, "admin " + std::to_string(c.admin_id) + " not found");
  }
  RETURN_IF_ERROR(check_serial_free(c.cert_serial, 0, what));
  RETURN_IF_ERROR(exec("INSERT INTO admin_certs (" KURA_ADMIN_CERT_COLUMNS ") "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       what,
                       {c.admin_id, c.cert_serial, c.cert_fingerprint, c.not_before, c.not_after,
                        c.revoked, now_or(c.created_unix), c.revoked_unix})
                      .status());
  return tx.commit(what);
}

StatusOr<AdminCert> SqliteStore::admin_cert_by_serial(std::string_view serial) {
  std::lock_guard lock(mu_);
  const std::string cert = "admin certificate " + std::string(serial);
  return get("SELECT " KURA_ADMIN_CERT_COLUMNS " FROM admin_certs WHERE cert_serial = ?",
             "looking up " + cert, {serial}, read_admin_cert, cert + " not found");
}

Status SqliteStore::revoke_admin_cert(std::string_view serial, int64_t now) {
  const std::string cert = "admin certificate " + std::string(serial);
  const std::string what = "revoking " + cert;
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(int64_t changed, exec("UPDATE admin_certs SET revoked = 1, revoked_unix = ? "
                                         "WHERE cert_serial = ? AND revoked = 0",
                                         what, {now, serial}));
  if (changed != 0) return base::ok_status();
  ASSIGN_OR_RETURN(bool found,
                   exists("SELECT 1 FROM admin_certs WHERE cert_serial = ?", what, {serial}));
  if (!found) return error(Code::kNotFound, what, cert + " not found");
  return base::ok_status();
}

// --- Users, second factors, sessions ------------------------------------------------------------

Status SqliteStore::check_user(int64_t user_id, std::string_view what) {
  ASSIGN_OR_RETURN(bool found,
                   exists("SELECT 1 FROM users WHERE id = ?", std::string(what), {user_id}));
  if (!found) return error(Code::kNotFound, what, "user " + std::to_string(user_id) + " not found");
  return base::ok_status();
}

Status SqliteStore::update_user(std::string_view sql, std::string_view what,
                                std::initializer_list<Arg> args, int64_t user_id) {
  ASSIGN_OR_RETURN(int64_t changed, exec(sql, std::string(what), args));
  if (changed == 0) {
    return error(Code::kNotFound, what, "user " + std::to_string(user_id) + " not found");
  }
  return base::ok_status();
}

StatusOr<User> SqliteStore::create_user(const User& u) {
  const std::string what = "creating user " + quoted(u.login);
  if (u.login.empty()) return error(Code::kInvalidArgument, what, "the sign-in ID is empty");
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  if (u.tenant_id != 0) RETURN_IF_ERROR(check_tenant(u.tenant_id, what));
  User out = u;
  out.created_unix = now_or(u.created_unix);
  if (out.password_changed_unix == 0) out.password_changed_unix = out.created_unix;
  RETURN_IF_ERROR(
      exec("INSERT INTO users (tenant_id, login, display_name, role, password_hash, "
           "must_change_password, disabled, failed_signins, locked_until, created_unix, "
           "password_changed_unix) VALUES (NULLIF(?, 0), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
           what,
           {out.tenant_id, out.login, out.display_name, user_role_name(out.role),
            out.password_hash, out.must_change_password, out.disabled,
            static_cast<int64_t>(out.failed_signins), out.locked_until, out.created_unix,
            out.password_changed_unix})
          .status());
  out.id = sqlite3_last_insert_rowid(db_.get());
  RETURN_IF_ERROR(tx.commit(what));
  return out;
}

StatusOr<User> SqliteStore::user_by_login(std::string_view login) {
  std::lock_guard lock(mu_);
  return get("SELECT " KURA_USER_COLUMNS " FROM users WHERE login = ?",
             "looking up user " + quoted(login), {login}, read_user,
             "user " + quoted(login) + " not found");
}

StatusOr<User> SqliteStore::user_by_id(int64_t id) {
  std::lock_guard lock(mu_);
  const std::string user = "user " + std::to_string(id);
  return get("SELECT " KURA_USER_COLUMNS " FROM users WHERE id = ?", "looking up " + user, {id},
             read_user, user + " not found");
}

StatusOr<std::vector<User>> SqliteStore::list_users(int64_t tenant_id) {
  const std::string what = "listing the users of " +
                           (tenant_id ? "tenant " + std::to_string(tenant_id) : "the provider");
  std::lock_guard lock(mu_);
  if (tenant_id != 0) RETURN_IF_ERROR(check_tenant(tenant_id, what));
  return get_all("SELECT " KURA_USER_COLUMNS " FROM users WHERE tenant_id IS NULLIF(?, 0) "
                 "ORDER BY login",
                 what, {tenant_id}, read_user);
}

Status SqliteStore::set_user_role(int64_t user_id, UserRole role) {
  const std::string what = "setting the role of user " + std::to_string(user_id);
  std::lock_guard lock(mu_);
  return update_user("UPDATE users SET role = ? WHERE id = ?", what,
                     {user_role_name(role), user_id}, user_id);
}

Status SqliteStore::set_user_disabled(int64_t user_id, bool disabled) {
  const std::string what = (disabled ? "disabling user " : "enabling user ") + std::to_string(user_id);
  std::lock_guard lock(mu_);
  return update_user("UPDATE users SET disabled = ? WHERE id = ?", what, {disabled, user_id},
                     user_id);
}

Status SqliteStore::set_password(int64_t user_id, const std::string& hash, bool must_change,
                                 int keep, int64_t now) {
  const std::string what = "setting the password of user " + std::to_string(user_id);
  if (keep < 0) return error(Code::kInvalidArgument, what, "negative history length");
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  ASSIGN_OR_RETURN(User u, get("SELECT " KURA_USER_COLUMNS " FROM users WHERE id = ?", what,
                               {user_id}, read_user,
                               "user " + std::to_string(user_id) + " not found"));
  if (keep > 0) {
    RETURN_IF_ERROR(exec("INSERT INTO password_history (user_id, password_hash, replaced_unix) "
                         "VALUES (?, ?, ?)",
                         what, {user_id, u.password_hash, now})
                        .status());
  }
  RETURN_IF_ERROR(exec("DELETE FROM password_history WHERE user_id = ? AND seq NOT IN "
                       "(SELECT seq FROM password_history WHERE user_id = ? "
                       "ORDER BY seq DESC LIMIT ?)",
                       what, {user_id, user_id, static_cast<int64_t>(keep)})
                      .status());
  RETURN_IF_ERROR(exec("UPDATE users SET password_hash = ?, must_change_password = ?, "
                       "password_changed_unix = ? WHERE id = ?",
                       what, {hash, must_change, now, user_id})
                      .status());
  return tx.commit(what);
}

StatusOr<std::vector<std::string>> SqliteStore::password_history(int64_t user_id) {
  const std::string what = "reading the password history of user " + std::to_string(user_id);
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(check_user(user_id, what));
  return get_all("SELECT password_hash FROM password_history WHERE user_id = ? "
                 "ORDER BY seq DESC",
                 what, {user_id}, read_text0);
}

StatusOr<User> SqliteStore::record_signin_failure(int64_t user_id, int64_t now, int lock_after,
                                                  int64_t lock_seconds) {
  const std::string what = "recording a failed sign-in of user " + std::to_string(user_id);
  if (lock_after < 1 || lock_seconds < 0) {
    return error(Code::kInvalidArgument, what, "lock_after must be >= 1 and lock_seconds >= 0");
  }
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  ASSIGN_OR_RETURN(User u, get("SELECT " KURA_USER_COLUMNS " FROM users WHERE id = ?", what,
                               {user_id}, read_user,
                               "user " + std::to_string(user_id) + " not found"));
  u.failed_signins++;
  if (u.failed_signins >= lock_after) {
    u.locked_until = now + lock_seconds;
    u.failed_signins = 0;
  }
  RETURN_IF_ERROR(exec("UPDATE users SET failed_signins = ?, locked_until = ? WHERE id = ?", what,
                       {static_cast<int64_t>(u.failed_signins), u.locked_until, user_id})
                      .status());
  RETURN_IF_ERROR(tx.commit(what));
  return u;
}

Status SqliteStore::clear_signin_failures(int64_t user_id) {
  const std::string what = "clearing the failed sign-ins of user " + std::to_string(user_id);
  std::lock_guard lock(mu_);
  return update_user("UPDATE users SET failed_signins = 0, locked_until = 0 WHERE id = ?", what,
                     {user_id}, user_id);
}

Status SqliteStore::record_signin(int64_t user_id, int64_t now) {
  const std::string what = "recording a sign-in of user " + std::to_string(user_id);
  std::lock_guard lock(mu_);
  // MAX: concurrent sign-ins may arrive out of order.
  return update_user(
      "UPDATE users SET failed_signins = 0, locked_until = 0, "
      "last_signin_unix = MAX(last_signin_unix, ?) WHERE id = ?",
      what, {now, user_id}, user_id);
}

Status SqliteStore::set_user_display_name(int64_t user_id, std::string_view name) {
  const std::string what = "setting the display name of user " + std::to_string(user_id);
  std::lock_guard lock(mu_);
  return update_user("UPDATE users SET display_name = ? WHERE id = ?", what, {name, user_id},
                     user_id);
}

Status SqliteStore::set_totp(const TotpFactor& f) {
  const std::string what = "setting the authenticator of user " + std::to_string(f.user_id);
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  RETURN_IF_ERROR(check_user(f.user_id, what));
  RETURN_IF_ERROR(exec("INSERT OR REPLACE INTO totp_factors (user_id, secret, last_step, "
                       "created_unix) VALUES (?, ?, ?, ?)",
                       what, {f.user_id, f.secret, f.last_step, now_or(f.created_unix)})
                      .status());
  return tx.commit(what);
}

StatusOr<TotpFactor> SqliteStore::totp_of(int64_t user_id) {
  std::lock_guard lock(mu_);
  const std::string user = "user " + std::to_string(user_id);
  return get("SELECT user_id, secret, last_step, created_unix FROM totp_factors WHERE user_id = ?",
             "reading the authenticator of " + user, {user_id}, read_totp,
             user + " has no authenticator");
}

StatusOr<bool> SqliteStore::advance_totp_step(int64_t user_id, int64_t step) {
  const std::string user = "user " + std::to_string(user_id);
  const std::string what = "accepting a code of " + user;
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(int64_t changed,
                   exec("UPDATE totp_factors SET last_step = ? WHERE user_id = ? AND last_step < ?",
                        what, {step, user_id, step}));
  if (changed != 0) return true;
  ASSIGN_OR_RETURN(bool found,
                   exists("SELECT 1 FROM totp_factors WHERE user_id = ?", what, {user_id}));
  if (!found) return error(Code::kNotFound, what, user + " has no authenticator");
  return false;
}

Status SqliteStore::remove_totp(int64_t user_id) {
  std::lock_guard lock(mu_);
  return exec("DELETE FROM totp_factors WHERE user_id = ?",
              "removing the authenticator of user " + std::to_string(user_id), {user_id})
      .status();
}

Status SqliteStore::set_recovery_codes(int64_t user_id, const std::vector<std::string>& hashes) {
  const std::string what = "setting the recovery codes of user " + std::to_string(user_id);
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  RETURN_IF_ERROR(check_user(user_id, what));
  RETURN_IF_ERROR(exec("DELETE FROM recovery_codes WHERE user_id = ?", what, {user_id}).status());
  for (const std::string& h : hashes) {
    RETURN_IF_ERROR(exec("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)", what,
                         {user_id, h})
                        .status());
  }
  return tx.commit(what);
}

StatusOr<std::vector<std::string>> SqliteStore::recovery_codes(int64_t user_id) {
  const std::string what = "reading the recovery codes of user " + std::to_string(user_id);
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(check_user(user_id, what));
  return get_all("SELECT code_hash FROM recovery_codes WHERE user_id = ? ORDER BY code_hash",
                 what, {user_id}, read_text0);
}

StatusOr<bool> SqliteStore::use_recovery_code(int64_t user_id, std::string_view hash) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(int64_t changed,
                   exec("DELETE FROM recovery_codes WHERE user_id = ? AND code_hash = ?",
                        "using a recovery code of user " + std::to_string(user_id),
                        {user_id, hash}));
  return changed != 0;
}

StatusOr<WebAuthnCredential> SqliteStore::add_webauthn_credential(const WebAuthnCredential& c) {
  const std::string what =
      "adding security key " + quoted(c.name) + " of user " + std::to_string(c.user_id);
  if (c.credential_id.empty() || c.credential_id.size() > kMaxWebAuthnCredentialIdBytes) {
    return error(Code::kInvalidArgument, what,
                 "the credential id must be 1 to " + std::to_string(kMaxWebAuthnCredentialIdBytes) +
                     " bytes");
  }
  if (c.public_key.empty() || c.public_key.size() > kMaxWebAuthnPublicKeyBytes) {
    return error(
        Code::kInvalidArgument, what,
        "the public key must be 1 to " + std::to_string(kMaxWebAuthnPublicKeyBytes) + " bytes");
  }
  if (c.sign_count < 0)
    return error(Code::kInvalidArgument, what, "the signature count is negative");
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  RETURN_IF_ERROR(check_user(c.user_id, what));
  ASSIGN_OR_RETURN(bool taken, exists("SELECT 1 FROM webauthn_credentials WHERE credential_id = ?",
                                      what, {Blob{c.credential_id}}));
  if (taken) return error(Code::kAlreadyExists, what, "the credential id is already registered");
  WebAuthnCredential out = c;
  out.created_unix = now_or(c.created_unix);
  RETURN_IF_ERROR(exec("INSERT INTO webauthn_credentials (user_id, credential_id, public_key, "
                       "sign_count, name, created_unix, last_used_unix) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       what,
                       {out.user_id, Blob{out.credential_id}, Blob{out.public_key}, out.sign_count,
                        out.name, out.created_unix, out.last_used_unix})
                      .status());
  out.id = sqlite3_last_insert_rowid(db_.get());
  RETURN_IF_ERROR(tx.commit(what));
  return out;
}

StatusOr<std::vector<WebAuthnCredential>> SqliteStore::webauthn_credentials(int64_t user_id) {
  const std::string what = "listing the security keys of user " + std::to_string(user_id);
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(check_user(user_id, what));
  return get_all("SELECT " KURA_WEBAUTHN_COLUMNS
                 " FROM webauthn_credentials WHERE user_id = ? "
                 "ORDER BY id",
                 what, {user_id}, read_webauthn);
}

StatusOr<WebAuthnCredential> SqliteStore::webauthn_credential_by_id(
    std::string_view credential_id) {
  std::lock_guard lock(mu_);
  // The id is raw bytes from the browser: not printed.
  return get("SELECT " KURA_WEBAUTHN_COLUMNS " FROM webauthn_credentials WHERE credential_id = ?",
             "looking up a security key", {Blob{credential_id}}, read_webauthn,
             "security key not registered");
}

Status SqliteStore::update_webauthn_sign_count(int64_t id, int64_t new_count, int64_t now) {
  const std::string key = "security key " + std::to_string(id);
  const std::string what = "updating the signature count of " + key;
  if (new_count < 0) return error(Code::kInvalidArgument, what, "the signature count is negative");
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  ASSIGN_OR_RETURN(WebAuthnCredential c,
                   get("SELECT " KURA_WEBAUTHN_COLUMNS " FROM webauthn_credentials WHERE id = ?",
                       what, {id}, read_webauthn, key + " not found"));
  // WebAuthn L2 §6.1.1: a counter that does not grow, unless the authenticator counts nothing
  // at all, means two authenticators hold the same credential.
  if (new_count <= c.sign_count && !(new_count == 0 && c.sign_count == 0)) {
    return error(Code::kFailedPrecondition, what,
                 "the signature count did not increase (stored " + std::to_string(c.sign_count) +
                     ", received " + std::to_string(new_count) + "): the key may be cloned");
  }
  RETURN_IF_ERROR(exec("UPDATE webauthn_credentials SET sign_count = ?, last_used_unix = ? "
                       "WHERE id = ?",
                       what, {new_count, now, id})
                      .status());
  return tx.commit(what);
}

Status SqliteStore::remove_webauthn_credential(int64_t user_id, int64_t id) {
  const std::string key =
      "security key " + std::to_string(id) + " of user " + std::to_string(user_id);
  const std::string what = "removing " + key;
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(
      int64_t changed,
      exec("DELETE FROM webauthn_credentials WHERE id = ? AND user_id = ?", what, {id, user_id}));
  if (changed == 0) return error(Code::kNotFound, what, key + " not found");
  return base::ok_status();
}

// --- Second-factor resets -----------------------------------------------------------------------

StatusOr<FactorReset> SqliteStore::create_factor_reset(const FactorReset& r) {
  const std::string what = "requesting a second-factor reset of user " + std::to_string(r.user_id);
  if (r.approved_by != 0 || r.approved_unix != 0) {
    return error(Code::kInvalidArgument, what, "a new request cannot be approved already");
  }
  FactorReset out = r;
  out.requested_unix = now_or(r.requested_unix);
  if (out.expires_unix <= out.requested_unix) {
    return error(Code::kInvalidArgument, what, "the request would expire before it is made");
  }
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  RETURN_IF_ERROR(check_user(r.user_id, what));
  RETURN_IF_ERROR(check_user(r.requested_by, what));
  ASSIGN_OR_RETURN(bool pending, exists("SELECT 1 FROM factor_resets WHERE user_id = ? AND "
                                        "approved_by IS NULL AND expires_unix > ?",
                                        what, {r.user_id, out.requested_unix}));
  if (pending) {
    return error(Code::kAlreadyExists, what,
                 "user " + std::to_string(r.user_id) + " already has a pending request");
  }
  RETURN_IF_ERROR(exec("INSERT INTO factor_resets (user_id, requested_by, requested_unix, "
                       "approved_by, approved_unix, expires_unix) VALUES (?, ?, ?, NULL, 0, ?)",
                       what, {out.user_id, out.requested_by, out.requested_unix, out.expires_unix})
                      .status());
  out.id = sqlite3_last_insert_rowid(db_.get());
  RETURN_IF_ERROR(tx.commit(what));
  return out;
}

StatusOr<std::vector<FactorReset>> SqliteStore::list_factor_resets(int64_t now) {
  std::lock_guard lock(mu_);
  return get_all("SELECT " KURA_FACTOR_RESET_COLUMNS
                 " FROM factor_resets "
                 "WHERE approved_by IS NULL AND expires_unix > ? ORDER BY id",
                 "listing pending second-factor resets", {now}, read_factor_reset);
}

StatusOr<FactorReset> SqliteStore::factor_reset_by_id(int64_t id) {
  std::lock_guard lock(mu_);
  const std::string request = "second-factor reset request " + std::to_string(id);
  return get("SELECT " KURA_FACTOR_RESET_COLUMNS " FROM factor_resets WHERE id = ?",
             "looking up " + request, {id}, read_factor_reset, request + " not found");
}

StatusOr<FactorReset> SqliteStore::approve_factor_reset(int64_t id, int64_t approver, int64_t now) {
  const std::string request = "second-factor reset request " + std::to_string(id);
  const std::string what = "approving " + request;
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  ASSIGN_OR_RETURN(FactorReset r,
                   get("SELECT " KURA_FACTOR_RESET_COLUMNS " FROM factor_resets WHERE id = ?", what,
                       {id}, read_factor_reset, request + " not found"));
  if (r.approved_by != 0) {
    return error(Code::kFailedPrecondition, what,
                 "it was already approved by user " + std::to_string(r.approved_by));
  }
  if (r.expires_unix <= now) return error(Code::kFailedPrecondition, what, "it has expired");
  RETURN_IF_ERROR(check_user(approver, what));
  // Two people: the approver is neither the requester nor the user whose factors go (who
  // would otherwise get around "the last factor cannot be removed").
  if (approver == r.requested_by) {
    return error(Code::kPermissionDenied, what, "the requester cannot approve it");
  }
  if (approver == r.user_id) {
    return error(Code::kPermissionDenied, what, "a user cannot approve a reset of their own");
  }
  RETURN_IF_ERROR(exec("UPDATE factor_resets SET approved_by = ?, approved_unix = ? WHERE id = ?",
                       what, {approver, now, id})
                      .status());
  RETURN_IF_ERROR(exec("DELETE FROM totp_factors WHERE user_id = ?", what, {r.user_id}).status());
  RETURN_IF_ERROR(exec("DELETE FROM recovery_codes WHERE user_id = ?", what, {r.user_id}).status());
  RETURN_IF_ERROR(
      exec("DELETE FROM webauthn_credentials WHERE user_id = ?", what, {r.user_id}).status());
  RETURN_IF_ERROR(exec("DELETE FROM sessions WHERE user_id = ?", what, {r.user_id}).status());
  RETURN_IF_ERROR(tx.commit(what));
  r.approved_by = approver;
  r.approved_unix = now;
  return r;
}

Status SqliteStore::create_session(const Session& s) {
  const std::string what = "creating a session of user " + std::to_string(s.user_id);
  if (s.id_hash.empty()) return error(Code::kInvalidArgument, what, "the session hash is empty");
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  RETURN_IF_ERROR(check_user(s.user_id, what));
  const int64_t created = now_or(s.created_unix);
  RETURN_IF_ERROR(exec("INSERT INTO sessions (" KURA_SESSION_COLUMNS ") "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       what,
                       {s.id_hash, s.user_id, s.csrf_token, s.second_factor_done, s.source_ip,
                        created, s.last_seen_unix ? s.last_seen_unix : created, s.expires_unix})
                      .status());
  return tx.commit(what);
}

StatusOr<Session> SqliteStore::session_by_hash(std::string_view id_hash) {
  std::lock_guard lock(mu_);
  // The hash is not named in messages: it identifies a live session.
  return get("SELECT " KURA_SESSION_COLUMNS " FROM sessions WHERE id_hash = ?",
             "looking up a session", {id_hash}, read_session, "no such session");
}

Status SqliteStore::touch_session(std::string_view id_hash, int64_t now) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(int64_t changed, exec("UPDATE sessions SET last_seen_unix = ? WHERE id_hash = ?",
                                         "touching a session", {now, id_hash}));
  if (changed == 0) return error(Code::kNotFound, "touching a session", "no such session");
  return base::ok_status();
}

Status SqliteStore::set_session_second_factor(std::string_view id_hash) {
  std::lock_guard lock(mu_);
  const std::string what = "completing the sign-in of a session";
  ASSIGN_OR_RETURN(int64_t changed, exec("UPDATE sessions SET second_factor_done = 1 "
                                         "WHERE id_hash = ?",
                                         what, {id_hash}));
  if (changed == 0) return error(Code::kNotFound, what, "no such session");
  return base::ok_status();
}

Status SqliteStore::delete_session(std::string_view id_hash) {
  std::lock_guard lock(mu_);
  return exec("DELETE FROM sessions WHERE id_hash = ?", "ending a session", {id_hash}).status();
}

StatusOr<int64_t> SqliteStore::delete_user_sessions(int64_t user_id) {
  std::lock_guard lock(mu_);
  return exec("DELETE FROM sessions WHERE user_id = ?",
              "ending the sessions of user " + std::to_string(user_id), {user_id});
}

StatusOr<int64_t> SqliteStore::delete_stale_sessions(int64_t idle_before, int64_t now) {
  std::lock_guard lock(mu_);
  return exec("DELETE FROM sessions WHERE last_seen_unix < ? OR expires_unix <= ?",
              "removing stale sessions", {idle_before, now});
}

// --- Access records ----------------------------------------------------------------------------

Status SqliteStore::append_access_records(std::span<const AccessRecord> records) {
  if (records.empty()) return base::ok_status();
  const std::string what = "appending " + std::to_string(records.size()) + " access records";
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  RETURN_IF_ERROR(tx.begin(what));
  for (const AccessRecord& r : records) {
    RETURN_IF_ERROR(exec("INSERT INTO access_records (time_unix_ms, tenant, actor, source_ip, "
                         "auth_method, action, object, status, result, bytes) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         what,
                         {r.time_unix_ms, r.tenant, r.actor, r.source_ip, r.auth_method, r.action,
                          r.object, r.status, r.result, r.bytes})
                        .status());
  }
  return tx.commit(what);
}

StatusOr<std::vector<AccessRecord>> SqliteStore::list_access_records(const AccessQuery& q) {
  const std::string what = "listing access records";
  if (q.limit < 1 || q.limit > kMaxAccessQueryLimit) {
    return error(Code::kInvalidArgument, what,
                 "the limit must be 1 to " + std::to_string(kMaxAccessQueryLimit));
  }
  const int64_t until = q.until_unix_ms != 0 ? q.until_unix_ms : INT64_MAX;
  std::lock_guard lock(mu_);
  // Two statements rather than "(? = '' OR tenant = ?)", which would keep SQLite from using
  // the (tenant, id) index.
  if (q.tenant.empty()) {
    return get_all("SELECT " KURA_ACCESS_COLUMNS
                   " FROM access_records WHERE id > ? AND "
                   "time_unix_ms >= ? AND time_unix_ms < ? ORDER BY id LIMIT ?",
                   what, {q.after_id, q.since_unix_ms, until, q.limit}, read_access_record);
  }
  return get_all("SELECT " KURA_ACCESS_COLUMNS
                 " FROM access_records WHERE tenant = ? AND "
                 "id > ? AND time_unix_ms >= ? AND time_unix_ms < ? ORDER BY id LIMIT ?",
                 what, {q.tenant, q.after_id, q.since_unix_ms, until, q.limit}, read_access_record);
}

StatusOr<std::vector<AccessRecord>> SqliteStore::snapshot_uploads(std::string_view tenant,
                                                                  int64_t since_unix_ms,
                                                                  int limit) {
  const std::string what = "listing the snapshot uploads of tenant " + quoted(tenant);
  if (tenant.empty()) return error(Code::kInvalidArgument, what, "no tenant given");
  if (limit < 1 || limit > kMaxAccessQueryLimit) {
    return error(Code::kInvalidArgument, what,
                 "the limit must be 1 to " + std::to_string(kMaxAccessQueryLimit));
  }
  std::string pattern = glob_literal(tenant) + "/*/snapshots/";
  for (int i = 0; i < 64; ++i) pattern += "[0-9a-f]";
  std::lock_guard lock(mu_);
  // The action, status and first GLOB are literals, the partial index's own terms: SQLite
  // uses a partial index only for a query that repeats them (a bound value would not do).
  return get_all("SELECT " KURA_ACCESS_COLUMNS
                 " FROM access_records WHERE tenant = ? AND "
                 "time_unix_ms >= ? AND action = '" KURA_SNAPSHOT_UPLOAD_ACTION
                 "' AND "
                 "status = 200 AND object GLOB '*/snapshots/*' AND object GLOB ? "
                 "ORDER BY time_unix_ms DESC, id DESC LIMIT ?",
                 what, {tenant, since_unix_ms, pattern, limit}, read_access_record);
}

// --- Notices -----------------------------------------------------------------------------------

StatusOr<Notice> SqliteStore::create_notice(const Notice& n) {
  const std::string what = "creating notice " + quoted(n.title_en.substr(0, 80));
  if (n.ends_unix != 0 && n.ends_unix < n.starts_unix) {
    return error(Code::kInvalidArgument, what, "it ends before it starts");
  }
  for (const std::string* text :
       {&n.title_ja, &n.title_en, &n.body_ja, &n.body_en, &n.severity, &n.created_by}) {
    if (text->size() > kMaxNoticeTextBytes) {
      return error(Code::kInvalidArgument, what,
                   "a text is longer than " + std::to_string(kMaxNoticeTextBytes) + " bytes");
    }
  }
  std::lock_guard lock(mu_);
  Notice out = n;
  out.created_unix = now_or(n.created_unix);
  RETURN_IF_ERROR(exec("INSERT INTO notices (title_ja, title_en, body_ja, body_en, severity, "
                       "starts_unix, ends_unix, created_by, created_unix) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       what,
                       {out.title_ja, out.title_en, out.body_ja, out.body_en, out.severity,
                        out.starts_unix, out.ends_unix, out.created_by, out.created_unix})
                      .status());
  out.id = sqlite3_last_insert_rowid(db_.get());
  return out;
}

StatusOr<std::vector<Notice>> SqliteStore::list_notices(int64_t now) {
  std::lock_guard lock(mu_);
  return get_all("SELECT " KURA_NOTICE_COLUMNS
                 " FROM notices WHERE ends_unix = 0 OR "
                 "ends_unix >= ? ORDER BY starts_unix, id",
                 "listing notices", {now}, read_notice);
}

Status SqliteStore::delete_notice(int64_t id) {
  const std::string notice = "notice " + std::to_string(id);
  const std::string what = "deleting " + notice;
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(int64_t changed, exec("DELETE FROM notices WHERE id = ?", what, {id}));
  if (changed == 0) return error(Code::kNotFound, what, notice + " not found");
  return base::ok_status();
}

// --- Opening and migrating ---------------------------------------------------------------------

// SQLite creates files with 0644 (less the umask); this one holds password hashes. The -wal
// and -shm files SQLite makes next to it copy its mode.
Status create_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return base::errno_status(errno, std::string(kPrefix) + "opening " + path);
  ::close(fd);
  return base::ok_status();
}

// The first column of the first row of a statement run once (pragmas and the like, before the
// store exists).
StatusOr<std::string> single_text(sqlite3* db, const char* sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  StmtPtr stmt(raw);
  if (rc != SQLITE_OK) return db_error(db, rc, what);
  rc = sqlite3_step(raw);
  if (rc != SQLITE_ROW) return db_error(db, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc, what);
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
  return p == nullptr ? std::string() : std::string(p);
}

StatusOr<int64_t> single_int(sqlite3* db, const char* sql, std::string_view what) {
  ASSIGN_OR_RETURN(std::string text, single_text(db, sql, what));
  return std::strtoll(text.c_str(), nullptr, 10);
}

// The version of the database's schema: 0 for an empty database.
StatusOr<int> current_version(sqlite3* db, const std::string& path) {
  const std::string what = "opening " + path;
  ASSIGN_OR_RETURN(int64_t has_migrations,
                   single_int(db,
                              "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                              "name = 'schema_migrations'",
                              what));
  if (has_migrations == 0) {
    ASSIGN_OR_RETURN(int64_t tables,
                     single_int(db,
                                "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE "
                                "'sqlite\\_%' ESCAPE '\\'",
                                what));
    if (tables != 0) {
      return error(Code::kFailedPrecondition, what,
                   "this SQLite database is not a kura metadata store");
    }
    return 0;
  }
  ASSIGN_OR_RETURN(int64_t version,
                   single_int(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", what));
  if (version > kLatestVersion) {
    return error(Code::kFailedPrecondition, what,
                 "the database has schema version " + std::to_string(version) +
                     ", newer than this kura-server knows (" + std::to_string(kLatestVersion) +
                     "); use a newer kura-server");
  }
  return static_cast<int>(version);
}

// Applies each missing migration up to `target` in its own transaction, re-reading the version
// inside it: another process opening the same file may have migrated meanwhile.
StatusOr<int> migrate(sqlite3* db, const std::string& path, int target, base::Clock* clock) {
  ASSIGN_OR_RETURN(int version, current_version(db, path));
  for (const Migration& m : kMigrations) {
    if (m.version > target) break;
    if (m.version <= version) continue;
    const std::string what =
        "migrating " + path + " to schema version " + std::to_string(m.version);
    Transaction tx(db);
    RETURN_IF_ERROR(tx.begin(what));
    ASSIGN_OR_RETURN(version, current_version(db, path));
    if (m.version <= version) continue;
    RETURN_IF_ERROR(exec(db, m.sql, what));
    const std::string record = "INSERT INTO schema_migrations (version, applied_unix) VALUES (" +
                               std::to_string(m.version) + ", " + std::to_string(clock->now().sec) +
                               ")";
    RETURN_IF_ERROR(exec(db, record.c_str(), what));
    RETURN_IF_ERROR(tx.commit(what));
    version = m.version;
  }
  return version;
}

Status configure(sqlite3* db, const std::string& path, const SqliteOptions& options) {
  const std::string what = "opening " + path;
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  RETURN_IF_ERROR(exec(db, "PRAGMA foreign_keys = ON", what));
  // The first statement that reads the file: a file that is not SQLite fails here.
  ASSIGN_OR_RETURN(std::string mode, single_text(db, "PRAGMA journal_mode = WAL", what));
  if (mode != "wal" && mode != "memory") {
    return error(Code::kFailedPrecondition, what,
                 "cannot switch the database to write-ahead logging (journal mode " + mode + ")");
  }
  return exec(db, "PRAGMA synchronous = NORMAL", what);
}

}  // namespace

int sqlite_schema_version_latest() { return kLatestVersion; }

StatusOr<std::unique_ptr<MetaStore>> open_sqlite(const std::string& path) {
  return open_sqlite(path, SqliteOptions{});
}

StatusOr<std::unique_ptr<MetaStore>> open_sqlite(const std::string& path,
                                                 const SqliteOptions& options) {
  const std::string what = "opening " + path;
  if (path.empty()) return error(Code::kInvalidArgument, "opening the database", "no path given");
  const int target = options.migrate_to == 0 ? kLatestVersion : options.migrate_to;
  if (target < 1 || target > kLatestVersion) {
    return error(Code::kInvalidArgument, what,
                 "no schema version " + std::to_string(options.migrate_to));
  }
  if (path != ":memory:") RETURN_IF_ERROR(create_private_file(path));
  sqlite3* raw = nullptr;
  // NOMUTEX: the store's own mutex serializes use of the connection.
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);  // a handle comes back even on failure and must be closed
  if (rc != SQLITE_OK) return db_error(raw, rc, what);
  RETURN_IF_ERROR(configure(raw, path, options));
  base::Clock* clock = options.clock != nullptr ? options.clock : base::system_clock();
  ASSIGN_OR_RETURN(int version, migrate(raw, path, target, clock));
  return std::unique_ptr<MetaStore>(std::make_unique<SqliteStore>(std::move(db), clock, version));
}

}  // namespace kura::meta
