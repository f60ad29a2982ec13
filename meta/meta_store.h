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

  // Access records: many in one transaction (the server batches them); all or none stored.
  virtual base::Status append_access_records(std::span<const AccessRecord> records) = 0;
  virtual base::StatusOr<std::vector<AccessRecord>> list_access_records(const AccessQuery& q) = 0;

  virtual int schema_version() const = 0;
};

}  // namespace kura::meta
