// MetaStore: kura-server's metadata (tenants, repositories, devices, enrollment codes, provider
// admins and their certificates, control-panel users with their second factors and sessions,
// backup policies, notices, usage history, access records) behind one interface.
// Implementations: SQLite (sqlite_store.h, the single-machine default) and PostgreSQL (later);
// both pass meta_store_conformance_test. The interface speaks plain values only — ids and sizes
// as int64, times as Unix seconds (access records: milliseconds), no SQL and no row semantics —
// so callers cannot tell the implementations apart.
//
// This layer stores and answers; the rules (name syntax, who may do what, quotas) live in
// service/. What it does guarantee: each method is atomic, uniqueness is enforced (taken names
// and serials are kAlreadyExists), a reference to a missing row is kNotFound, and every error
// message starts with "metadata store: " and names the object, never SQL.
#pragma once

#include <cstddef>
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
  int64_t last_signin_unix = 0;  // the last completed sign-in (0: never); set by record_signin
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

// A user's WebAuthn authenticator (a security key or platform authenticator); a user may have
// several. The bytes are kept as the browser sent them.
struct WebAuthnCredential {
  int64_t id = 0;  // assigned by the store
  int64_t user_id = 0;
  std::string credential_id;   // raw bytes, unique over all users
  std::string public_key;      // raw bytes: the COSE key from the attestation, opaque here
  int64_t sign_count = 0;      // the authenticator's signature counter (0: it does not count)
  std::string name;            // the user's label, e.g. "YubiKey"
  int64_t created_unix = 0;    // 0 on add: the store's clock
  int64_t last_used_unix = 0;  // 0: never used to sign in
};
inline constexpr size_t kMaxWebAuthnCredentialIdBytes = 1023;  // WebAuthn L2 §5.1 (credentialId)
inline constexpr size_t kMaxWebAuthnPublicKeyBytes = 16 * 1024;

// A request to remove a user's second factors (lost phone, lost key), which a second admin must
// approve before it takes effect.
struct FactorReset {
  int64_t id = 0;              // assigned by the store
  int64_t user_id = 0;         // whose factors go
  int64_t requested_by = 0;    // the requesting admin's user id
  int64_t requested_unix = 0;  // 0 on create: the store's clock
  int64_t approved_by = 0;     // 0 = not approved (yet)
  int64_t approved_unix = 0;
  int64_t expires_unix = 0;  // an unapproved request lapses then
};

// A device's backup policy (what, when, how long to keep): JSON that the service validates and
// the device fetches. The store keeps the text as it is.
struct DevicePolicy {
  int64_t device_id = 0;
  std::string json;  // 1..kMaxPolicyBytes bytes
  int64_t updated_unix = 0;
  std::string updated_by;  // the user's login, or "cli:<name>"
};
inline constexpr size_t kMaxPolicyBytes = 64 * 1024;

// A maintenance notice shown to everyone signed in to the control panel.
struct Notice {
  int64_t id = 0;                                    // assigned by the store
  std::string title_ja, title_en, body_ja, body_en;  // each at most kMaxNoticeTextBytes
  std::string severity;  // "info", "maintenance", "warning" (checked by the service)
  int64_t starts_unix = 0;
  int64_t ends_unix = 0;  // 0 = open-ended
  std::string created_by;
  int64_t created_unix = 0;  // 0 on create: the store's clock
};
inline constexpr size_t kMaxNoticeTextBytes = 64 * 1024;

// A tenant's storage use on one day (the last sample recorded for that day).
struct UsageSample {
  std::string day;  // "YYYY-MM-DD" (the service decides the time zone: JST)
  int64_t bytes = 0;
  friend bool operator==(const UsageSample&, const UsageSample&) = default;
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
  std::string action;       // e.g. "repo.write", "repo.read", "tenant.create", "tls.handshake"
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
// The action kura-server records for an object upload (service::Action::kWrite's name).
inline constexpr std::string_view kSnapshotUploadAction = "repo.write";

class MetaStore {
 public:
  virtual ~MetaStore() = default;

  // Tenants. create_* return the stored row (id, created set); kAlreadyExists on a taken name.
  virtual base::StatusOr<Tenant> create_tenant(const Tenant& t) = 0;
  virtual base::StatusOr<Tenant> tenant_by_name(std::string_view name) = 0;  // kNotFound
  virtual base::StatusOr<Tenant> tenant_by_id(int64_t id) = 0;
  virtual base::StatusOr<std::vector<Tenant>> list_tenants() = 0;  // by name
  virtual base::Status set_tenant_quota(int64_t tenant_id, int64_t quota_bytes) = 0;
  // kNotFound; kInvalidArgument for an empty name or one over 200 bytes (the service checks
  // the text itself).
  virtual base::Status set_tenant_display_name(int64_t tenant_id, std::string_view name) = 0;

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
  // Usage history: one sample per tenant and day, a later one for the same day replaces it.
  // kNotFound: no such tenant; kInvalidArgument: a day that is not a date "YYYY-MM-DD",
  // negative bytes.
  virtual base::Status record_usage_sample(int64_t tenant_id, std::string_view day,
                                           int64_t bytes) = 0;
  // The samples with from_day <= day <= to_day, oldest first (days without a sample are
  // missing). kNotFound: no such tenant; kInvalidArgument: a malformed day, from after to.
  virtual base::StatusOr<std::vector<UsageSample>> usage_history(int64_t tenant_id,
                                                                 std::string_view from_day,
                                                                 std::string_view to_day) = 0;

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
  // kAlreadyExists when another device of the tenant has the name (a revoked one too);
  // kNotFound: no such device; kInvalidArgument: an empty name. The same name again is fine.
  virtual base::Status rename_device(int64_t device_id, std::string_view new_name) = 0;
  // Backup policies. set: inserts or replaces the device's policy; kNotFound: no such device;
  // kInvalidArgument: empty or longer than kMaxPolicyBytes.
  virtual base::Status set_device_policy(int64_t device_id, std::string_view json, int64_t now,
                                         std::string_view updated_by) = 0;
  virtual base::StatusOr<DevicePolicy> device_policy(int64_t device_id) = 0;  // kNotFound: none
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
  // A completed sign-in (both factors): as clear_signin_failures, and last_signin_unix = now.
  virtual base::Status record_signin(int64_t user_id, int64_t now) = 0;
  virtual base::Status set_user_display_name(int64_t user_id, std::string_view name) = 0;

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

  // WebAuthn credentials. add: the stored row (id set, created_unix 0: the store's clock);
  // kNotFound: no such user; kAlreadyExists: the credential id is registered (to anyone);
  // kInvalidArgument: an empty or oversized credential id or public key, a negative count.
  virtual base::StatusOr<WebAuthnCredential> add_webauthn_credential(
      const WebAuthnCredential& c) = 0;
  // A user's credentials by id (the order they were added); kNotFound: no such user.
  virtual base::StatusOr<std::vector<WebAuthnCredential>> webauthn_credentials(int64_t user_id) = 0;
  // The credential with these raw credential-id bytes (whoever's it is); kNotFound.
  virtual base::StatusOr<WebAuthnCredential> webauthn_credential_by_id(
      std::string_view credential_id) = 0;
  // After a verified assertion, atomically: if new_count > the stored count, or both are 0
  // (an authenticator that does not count, WebAuthn L2 §6.1.1), stores new_count and
  // last_used_unix = now. Otherwise nothing changes and kFailedPrecondition: the counter went
  // backwards or stood still, a sign that the key was cloned. kNotFound: no such credential.
  virtual base::Status update_webauthn_sign_count(int64_t id, int64_t new_count, int64_t now) = 0;
  // kNotFound when the credential does not exist or is not that user's.
  virtual base::Status remove_webauthn_credential(int64_t user_id, int64_t id) = 0;

  // Second-factor resets. create: the stored row (id set, requested_unix 0: the store's clock,
  // approved_by must be 0); kNotFound: the user or the requester does not exist;
  // kAlreadyExists: the user already has a pending request that has not expired;
  // kInvalidArgument: expires_unix not after requested_unix.
  virtual base::StatusOr<FactorReset> create_factor_reset(const FactorReset& r) = 0;
  // Requests not approved and not expired at `now`, by id.
  virtual base::StatusOr<std::vector<FactorReset>> list_factor_resets(int64_t now) = 0;
  virtual base::StatusOr<FactorReset> factor_reset_by_id(int64_t id) = 0;  // kNotFound
  // Atomically: the request exists (kNotFound), is not approved and not expired at `now`
  // (kFailedPrecondition, the message says which), the approver exists (kNotFound) and is
  // neither the requester nor the user whose factors go (kPermissionDenied: else one person
  // could reset, or get around "the last factor cannot go") → the request is approved by
  // `approver` at `now`, and the user's TOTP authenticator, recovery codes, WebAuthn
  // credentials and sessions are removed, all in one transaction. The password and the
  // account's other fields are left as they are: the user signs in with the password and
  // enrolls a new factor. The request as it is now.
  virtual base::StatusOr<FactorReset> approve_factor_reset(int64_t id, int64_t approver,
                                                           int64_t now) = 0;

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
  // The successful snapshot uploads of a tenant (by name) since since_unix_ms: the access
  // records with action kSnapshotUploadAction, status 200 and object
  // "<tenant>/<repo>/snapshots/<64 hex>", newest first, at most `limit`
  // (1..kMaxAccessQueryLimit, else kInvalidArgument). The actor names the device by the
  // certificate serial it had then ("device:<serial>"; a renewed device's older uploads carry
  // its earlier serial).
  virtual base::StatusOr<std::vector<AccessRecord>> snapshot_uploads(std::string_view tenant,
                                                                     int64_t since_unix_ms,
                                                                     int limit) = 0;

  // Maintenance notices. create: the stored row (id set, created_unix 0: the store's clock);
  // kInvalidArgument: ends_unix before starts_unix (unless 0), a text over kMaxNoticeTextBytes.
  virtual base::StatusOr<Notice> create_notice(const Notice& n) = 0;
  // Notices not over at `now` (ends_unix >= now or 0): current and upcoming, by starts_unix.
  virtual base::StatusOr<std::vector<Notice>> list_notices(int64_t now) = 0;
  virtual base::Status delete_notice(int64_t id) = 0;  // kNotFound

  virtual int schema_version() const = 0;
};

}  // namespace kura::meta
