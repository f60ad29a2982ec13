// MetaStore: kura-server's metadata (tenants, repositories, devices, enrollment codes, provider
// admins and their certificates, access records) behind one interface. Implementations: SQLite
// (sqlite_store.h, the single-machine default) and PostgreSQL (later); both pass
// meta_store_conformance_test. The interface speaks plain values only — ids and sizes as
// int64, times as Unix seconds (access records: milliseconds), no SQL and no row semantics —
// so callers cannot tell the implementations apart.
//
// This layer stores and answers; the rules (name syntax, who may do what, quotas) live in
// service/. What it does guarantee: each method is atomic, uniqueness is enforced (taken names
// and serials are kAlreadyExists), a reference to a missing row is kNotFound, and every error
// message starts with "metadata store: " and names the object, never SQL.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kura::meta {

struct Tenant {
  int64_t id = 0;            // assigned by the store
  std::string name;          // unique, [a-z0-9][a-z0-9-]{0,62} (validated by the service)
  std::string display_name;  // free text (UTF-8), e.g. "さくら内科クリニック"
  std::string region;        // e.g. "jp-east"
  int64_t quota_bytes = 0;   // 0 = no quota
  int64_t created_unix = 0;  // 0 on create: the store's clock
};

struct Repo {
  int64_t id = 0;
  int64_t tenant_id = 0;
  std::string name;        // unique within the tenant
  int64_t used_bytes = 0;  // kept current by add_usage
  int64_t object_count = 0;
  int64_t created_unix = 0;
};

enum class DeviceRole { kBackup, kMaintenance };  // stored as text "backup"/"maintenance"

// "backup" / "maintenance".
std::string_view role_name(DeviceRole role);
// The inverse of role_name; kInvalidArgument for anything else.
base::StatusOr<DeviceRole> parse_role(std::string_view text);

struct Device {
  int64_t id = 0;
  int64_t tenant_id = 0;
  int64_t repo_id = 0;
  std::string name;  // unique within the tenant
  DeviceRole role = DeviceRole::kBackup;
  std::string cert_serial;                // lowercase hex, unique over all devices (current cert)
  std::string cert_fingerprint;           // "SHA256:<64 lowercase hex>" of the certificate DER
  int64_t not_before = 0, not_after = 0;  // current certificate validity, Unix seconds
  bool revoked = false;
  int64_t created_unix = 0, revoked_unix = 0, last_seen_unix = 0;
};

struct EnrollCode {
  std::string code_hash;  // hex SHA-256 of the code; the code itself is never stored
  int64_t tenant_id = 0, repo_id = 0;
  std::string device_name;
  DeviceRole role = DeviceRole::kBackup;
  int64_t created_unix = 0, expires_unix = 0;
  int64_t used_unix = 0;  // 0 = unused
};

struct Admin {  // provider admin (the control panel issue adds roles/TOTP)
  int64_t id = 0;
  std::string name;           // unique
  std::string password_hash;  // opaque string (the service hashes)
  bool must_change_password = true;
  int64_t created_unix = 0;
};

// A client certificate of a provider admin (the admin JSON API authenticates by it).
struct AdminCert {
  int64_t admin_id = 0;
  std::string cert_serial, cert_fingerprint;  // as Device's
  int64_t not_before = 0, not_after = 0;
  bool revoked = false;
  int64_t created_unix = 0;
  int64_t revoked_unix = 0;  // 0 = not revoked
};

// Control-panel accounts (REQUIREMENTS A1-A7). Roles: what each may do is decided in
// service/ from one table; here they are only stored.
enum class UserRole {
  kProviderAdmin,
  kProviderOperator,
  kInstitutionAdmin,
  kInstitutionOperator,  // restore, enrollment codes
  kAuditor,              // read-only access records and reports
  kViewer,
};
// "provider_admin", "provider_operator", "institution_admin", "institution_operator",
// "auditor", "viewer".
std::string_view user_role_name(UserRole role);
base::StatusOr<UserRole> parse_user_role(std::string_view text);  // kInvalidArgument

// A person who signs in to the control panel: an institution's staff (tenant_id set) or the
// provider's (tenant_id 0).
struct User {
  int64_t id = 0;
  int64_t tenant_id = 0;  // 0 = provider staff
  std::string login;      // the sign-in ID, unique over all users
  std::string display_name;
  UserRole role = UserRole::kViewer;
  std::string password_hash;  // opaque (the service hashes: Argon2id)
  bool must_change_password = true;
  bool disabled = false;
  int failed_signins = 0;    // in a row, since the last success or unlock
  int64_t locked_until = 0;  // Unix seconds; not locked once past (0: never locked)
  int64_t created_unix = 0, password_changed_unix = 0;
};

// A signed-in browser. The session ID (256 random bits) is never stored, only its hash.
struct Session {
  std::string id_hash;  // hex SHA-256 of the session ID
  int64_t user_id = 0;
  std::string csrf_token;           // sent back with every state-changing request
  bool second_factor_done = false;  // false: the password was right, the second factor is due
  std::string source_ip;
  int64_t created_unix = 0, last_seen_unix = 0;
  int64_t expires_unix = 0;  // the absolute limit (the idle limit is checked on last_seen)
};

// A user's TOTP authenticator (RFC 6238). The secret must be readable to check codes.
struct TotpFactor {
  int64_t user_id = 0;
  std::string secret;      // base32, as the authenticator app got it
  int64_t last_step = 0;   // the last time step a code was accepted for (each code once)
  int64_t created_unix = 0;
};

// One access record (REQUIREMENTS L1). Append-only; a later issue hash-chains them, so every
// field stays in this canonical order and no stored record ever changes.
struct AccessRecord {
  int64_t id = 0;            // assigned by the store, strictly increasing
  int64_t time_unix_ms = 0;  // UTC
  std::string tenant;        // tenant name or "" (unknown / provider-level)
  std::string actor;         // "device:<serial>", "admin:<name>", "cli:<user>", "anonymous"
  std::string source_ip;
  std::string auth_method;  // "mtls", "password", "local", "none"
  std::string action;       // e.g. "repo.save", "repo.load", "tenant.create", "tls.handshake"
  std::string object;       // e.g. "clinic-a/main/data/ab12…"
  int status = 0;           // HTTP status or 0 for local commands
  std::string result;       // "ok", "denied", "error: …"
  int64_t bytes = 0;
  friend bool operator==(const AccessRecord&, const AccessRecord&) = default;
};

// Records with since <= time < until (0 = open) and id > after_id, oldest id first, at most
// `limit` (1..kMaxAccessQueryLimit, else kInvalidArgument). Page by passing the last id seen.
struct AccessQuery {
  std::string tenant;                            // "" = all
  int64_t since_unix_ms = 0, until_unix_ms = 0;  // 0 = open
  int64_t after_id = 0;                          // paging
  int limit = 1000;
};
inline constexpr int kMaxAccessQueryLimit = 100000;

class MetaStore {
 public:
  virtual ~MetaStore() = default;

  // Tenants. create_* return the stored row (id, created set); kAlreadyExists on a taken name.
  virtual base::StatusOr<Tenant> create_tenant(const Tenant& t) = 0;
  virtual base::StatusOr<Tenant> tenant_by_name(std::string_view name) = 0;  // kNotFound
  virtual base::StatusOr<Tenant> tenant_by_id(int64_t id) = 0;
  virtual base::StatusOr<std::vector<Tenant>> list_tenants() = 0;  // by name
  virtual base::Status set_tenant_quota(int64_t tenant_id, int64_t quota_bytes) = 0;

  // Repositories. create_repo: kNotFound when the tenant does not exist.
  virtual base::StatusOr<Repo> create_repo(const Repo& r) = 0;
  virtual base::StatusOr<Repo> repo_by_name(int64_t tenant_id, std::string_view name) = 0;
  virtual base::StatusOr<Repo> repo_by_id(int64_t id) = 0;
  // By name; kNotFound when the tenant does not exist.
  virtual base::StatusOr<std::vector<Repo>> list_repos(int64_t tenant_id) = 0;
  // Adds (or with negative values subtracts) to a repository's usage, atomically. Usage never
  // goes below zero (a subtraction past it stops at 0: drift that set_usage's recount fixes).
  virtual base::Status add_usage(int64_t repo_id, int64_t delta_bytes, int64_t delta_objects) = 0;
  virtual base::Status set_usage(int64_t repo_id, int64_t bytes, int64_t objects) = 0;  // recount
  virtual base::StatusOr<int64_t> tenant_usage(int64_t tenant_id) = 0;  // sum over its repos

  // Enrollment codes. create: kAlreadyExists on a known hash, kNotFound for a missing tenant
  // or repository, kInvalidArgument when the repository belongs to another tenant.
  virtual base::Status create_enroll_code(const EnrollCode& c) = 0;
  virtual base::StatusOr<EnrollCode> enroll_code(std::string_view code_hash) = 0;  // kNotFound
  // Atomically: the code exists, is unused and expires after `now`, no device of that tenant
  // has the name → marks the code used at `now` and inserts `device` (id assigned). Otherwise
  // nothing changes: kNotFound (no such code), kFailedPrecondition (used or expired: the
  // message says which), kAlreadyExists (device name or certificate serial taken).
  // The code decides tenant, repository, name and role: the device gets the code's values
  // (a non-zero / non-empty different value in `device` is kInvalidArgument); `device`
  // supplies the certificate fields, and created_unix (0: `now`).
  virtual base::StatusOr<Device> redeem_enroll_code(std::string_view code_hash, int64_t now,
                                                    const Device& device) = 0;

  // Devices. Lookups: kNotFound. A revoked device is still found (revoked = true).
  virtual base::StatusOr<Device> device_by_serial(std::string_view cert_serial) = 0;
  virtual base::StatusOr<Device> device_by_name(int64_t tenant_id, std::string_view name) = 0;
  // By name; kNotFound when the tenant does not exist.
  virtual base::StatusOr<std::vector<Device>> list_devices(int64_t tenant_id) = 0;
  // Revoking twice is fine and keeps the first revocation time.
  virtual base::Status revoke_device(int64_t device_id, int64_t now) = 0;
  // Renewal: the device's current certificate becomes this one (the old serial stops working).
  // kFailedPrecondition for a revoked device, kAlreadyExists for a serial in use.
  virtual base::Status replace_device_cert(int64_t device_id, const std::string& serial,
                                           const std::string& fingerprint, int64_t not_before,
                                           int64_t not_after) = 0;
  virtual base::Status touch_device(int64_t device_id, int64_t now) = 0;  // last_seen
  // Lock owners: which device uploaded a lock file, so that a backup device deletes only its
  // own locks, also after a server restart. record_lock replaces an earlier owner of the name.
  virtual base::Status record_lock(int64_t repo_id, std::string_view name, int64_t device_id,
                                   int64_t now) = 0;
  virtual base::StatusOr<int64_t> lock_owner(int64_t repo_id, std::string_view name) = 0;  // kNotFound
  virtual base::Status forget_lock(int64_t repo_id, std::string_view name) = 0;  // missing: OK

  // Admins.
  virtual base::StatusOr<Admin> create_admin(const Admin& a) = 0;
  virtual base::StatusOr<Admin> admin_by_name(std::string_view name) = 0;
  virtual base::StatusOr<Admin> admin_by_id(int64_t id) = 0;
  virtual base::StatusOr<std::vector<Admin>> list_admins() = 0;  // by name
  // Admin certificates. Device and admin serials come from one CA: a serial is unique over
  // both (kAlreadyExists), and device_by_serial never finds an admin's serial nor the reverse.
  virtual base::Status add_admin_cert(const AdminCert& c) = 0;  // kNotFound: no such admin
  virtual base::StatusOr<AdminCert> admin_cert_by_serial(std::string_view serial) = 0;
  // Revoking twice is fine and keeps the first revocation time.
  virtual base::Status revoke_admin_cert(std::string_view serial, int64_t now) = 0;

  // Users. create_user: kAlreadyExists for a taken login, kNotFound for a missing tenant
  // (tenant_id 0 is the provider). Lookups: kNotFound.
  virtual base::StatusOr<User> create_user(const User& u) = 0;
  virtual base::StatusOr<User> user_by_login(std::string_view login) = 0;
  virtual base::StatusOr<User> user_by_id(int64_t id) = 0;
  // A tenant's users (0: the provider's), by login.
  virtual base::StatusOr<std::vector<User>> list_users(int64_t tenant_id) = 0;
  virtual base::Status set_user_role(int64_t user_id, UserRole role) = 0;
  virtual base::Status set_user_disabled(int64_t user_id, bool disabled) = 0;
  // A new password hash, atomically: the old one goes to the history, which keeps the last
  // `keep` (0: none), and password_changed_unix becomes `now`.
  virtual base::Status set_password(int64_t user_id, const std::string& hash, bool must_change,
                                    int keep, int64_t now) = 0;
  // Earlier password hashes, newest first.
  virtual base::StatusOr<std::vector<std::string>> password_history(int64_t user_id) = 0;
  // A failed sign-in, atomically: one more failure in a row; at `lock_after` of them the
  // account is locked until now + lock_seconds (and the count starts again). The user as it
  // is now.
  virtual base::StatusOr<User> record_signin_failure(int64_t user_id, int64_t now,
                                                     int lock_after, int64_t lock_seconds) = 0;
  // A successful sign-in or an admin's unlock: no failures, not locked.
  virtual base::Status clear_signin_failures(int64_t user_id) = 0;

  // Second factors. set_totp replaces the user's authenticator; kNotFound: no such user.
  virtual base::Status set_totp(const TotpFactor& f) = 0;
  virtual base::StatusOr<TotpFactor> totp_of(int64_t user_id) = 0;  // kNotFound: none
  // Atomically: true (and last_step = step) if step > last_step; false for a code already
  // used (a replay, also from a concurrent request). kNotFound: no authenticator.
  virtual base::StatusOr<bool> advance_totp_step(int64_t user_id, int64_t step) = 0;
  virtual base::Status remove_totp(int64_t user_id) = 0;  // none: OK
  // Replaces the user's recovery codes (their hashes); kNotFound: no such user.
  virtual base::Status set_recovery_codes(int64_t user_id,
                                          const std::vector<std::string>& hashes) = 0;
  virtual base::StatusOr<std::vector<std::string>> recovery_codes(int64_t user_id) = 0;
  // true if the code was there: it is gone now (each code once, also under concurrency).
  virtual base::StatusOr<bool> use_recovery_code(int64_t user_id, std::string_view hash) = 0;

  // Sessions. create_session: kNotFound for a missing user, kAlreadyExists for a known hash.
  virtual base::Status create_session(const Session& s) = 0;
  virtual base::StatusOr<Session> session_by_hash(std::string_view id_hash) = 0;  // kNotFound
  virtual base::Status touch_session(std::string_view id_hash, int64_t now) = 0;
  virtual base::Status set_session_second_factor(std::string_view id_hash) = 0;
  virtual base::Status delete_session(std::string_view id_hash) = 0;  // missing: OK
  // Sign out everywhere / an admin ends a user's sessions: how many there were.
  virtual base::StatusOr<int64_t> delete_user_sessions(int64_t user_id) = 0;
  // Removes sessions idle since before `idle_before` or past their absolute limit at `now`.
  virtual base::StatusOr<int64_t> delete_stale_sessions(int64_t idle_before, int64_t now) = 0;

  // Access records: many in one transaction (the server batches them); all or none stored.
  virtual base::Status append_access_records(std::span<const AccessRecord> records) = 0;
  virtual base::StatusOr<std::vector<AccessRecord>> list_access_records(const AccessQuery& q) = 0;

  virtual int schema_version() const = 0;
};

}  // namespace kura::meta
