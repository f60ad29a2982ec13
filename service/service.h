// The rules of kura-server, with no HTTP and no SQL in them: tenants and their quotas and
// regions, repositories, devices and their certificates (enrollment with one-time codes,
// renewal, revocation), who a certificate belongs to, quota reservations for uploads, lock
// ownership and the hook where retention locks will refuse deletions.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backend/backend.h"
#include "base/clock.h"
#include "base/status.h"
#include "crypto/x509.h"
#include "meta/meta_store.h"
#include "objstore/object_store.h"
#include "service/authz.h"

namespace kura::service {

struct ServiceOptions {
  crypto::Pem ca;                 // the device CA (certificate and key)
  int device_cert_days = 365;
  int enroll_code_hours = 24;
  // "https://host:port" as devices reach the server; names the repository in enrollments.
  std::string public_url;
};

// A device's certificate after enrollment or renewal.
struct Enrollment {
  std::string certificate_pem;
  std::string ca_pem;
  std::string repository_url;  // rest:https://host:port/<tenant>/<repo>/
  std::string tenant, repo, device;
  int64_t not_after = 0;
  std::string serial;
};

// One repository of one tenant, resolved: where its objects live and whose quota it uses.
struct RepoAccess {
  int64_t tenant_id = 0, repo_id = 0;
  objstore::RepoRef ref;
  objstore::ObjectStore* store = nullptr;
  std::string region;
};

struct TenantSummary {
  meta::Tenant tenant;
  int64_t used_bytes = 0;
  int64_t repos = 0;
  int64_t devices = 0;
};

// Decides whether an object may be deleted. Today every deletion a maintenance identity asks
// for passes; the retention-lock issue plugs its rules in here.
class DeletionGuard {
 public:
  virtual ~DeletionGuard() = default;
  virtual base::Status may_delete(const RepoAccess& repo, const backend::Handle& h) = 0;
};

class Service;

// Bytes promised to an upload in flight, so concurrent uploads cannot overrun the quota
// together. Released when destroyed; commit() turns it into recorded usage.
class Reservation {
 public:
  Reservation() = default;
  Reservation(Reservation&& other) noexcept;
  Reservation& operator=(Reservation&& other) noexcept;
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation();

 private:
  friend class Service;
  Service* service_ = nullptr;
  int64_t tenant_id_ = 0;
  int64_t bytes_ = 0;
};

class Service {
 public:
  // meta, the stores and clock must outlive the service. regions maps region name → store.
  Service(meta::MetaStore* meta, std::map<std::string, objstore::ObjectStore*> regions,
          base::Clock* clock, ServiceOptions options);

  meta::MetaStore* meta() { return meta_; }
  const ServiceOptions& options() const { return options_; }
  std::vector<std::string> regions() const;

  // Tenants and repositories.
  base::StatusOr<meta::Tenant> create_tenant(std::string_view name, std::string_view display_name,
                                             std::string_view region, int64_t quota_bytes);
  base::StatusOr<meta::Tenant> tenant(std::string_view name);
  base::StatusOr<std::vector<TenantSummary>> list_tenants();
  base::StatusOr<TenantSummary> tenant_summary(std::string_view name);
  base::Status set_quota(std::string_view tenant, int64_t quota_bytes);
  base::StatusOr<meta::Repo> create_repo(std::string_view tenant, std::string_view repo);
  base::StatusOr<std::vector<meta::Repo>> list_repos(std::string_view tenant);
  // Recounts a repository's usage from its objects (repairs the metadata after a crash).
  base::StatusOr<meta::Repo> recount_usage(std::string_view tenant, std::string_view repo);

  // Devices. make_enroll_code returns the code (shown once; only its hash is stored).
  base::StatusOr<std::string> make_enroll_code(std::string_view tenant, std::string_view repo,
                                               std::string_view device, meta::DeviceRole role);
  base::StatusOr<Enrollment> enroll(std::string_view code, std::string_view csr_pem);
  base::StatusOr<Enrollment> renew(const Identity& device, std::string_view csr_pem);
  // An admin signs a device's CSR directly (a machine that cannot reach the enrollment API).
  base::StatusOr<Enrollment> sign_csr(std::string_view tenant, std::string_view repo,
                                      std::string_view device, meta::DeviceRole role,
                                      std::string_view csr_pem);
  // An admin renews a device's certificate from a new CSR the device made (a machine without
  // kura, or a certificate that has already expired). The old certificate stops working.
  base::StatusOr<Enrollment> renew_device(std::string_view tenant, std::string_view device,
                                          std::string_view csr_pem);
  base::Status revoke_device(std::string_view tenant, std::string_view device);
  base::StatusOr<std::vector<meta::Device>> list_devices(std::string_view tenant);

  // Admin certificates (the admin API's credential until the panel issue adds sessions).
  base::StatusOr<meta::Admin> create_admin(std::string_view name, std::string* one_time_password);
  base::StatusOr<crypto::Pem> issue_admin_cert(std::string_view admin);

  // Who presented this certificate (its serial; chain_ok: it verified against the CA and its
  // dates). Looked up on every request, so a revocation bites on a kept-alive connection.
  // No certificate: anonymous. Unknown, revoked or expired: kUnauthenticated with the reason.
  base::StatusOr<Identity> identify(std::string_view cert_serial, bool chain_ok);

  // The repository a request names, if it exists (kNotFound otherwise).
  base::StatusOr<RepoAccess> repo(std::string_view tenant, std::string_view repo);

  // Quota: reserve before reading an upload's body (kResourceExhausted → HTTP 507); after the
  // object is committed, record it (the reservation is consumed either way when destroyed).
  base::StatusOr<Reservation> reserve(const RepoAccess& repo, int64_t bytes);
  base::Status record_stored(const RepoAccess& repo, int64_t bytes);
  base::Status record_removed(const RepoAccess& repo, int64_t bytes);

  // Locks: a backup device deletes only the locks it created. Owners are kept in the metadata
  // store, so a server restart during a backup does not strand the device's lock.
  base::Status note_lock_owner(const RepoAccess& repo, std::string_view lock, int64_t device_id);
  bool owns_lock(const RepoAccess& repo, std::string_view lock, int64_t device_id);
  void forget_lock(const RepoAccess& repo, std::string_view lock);

  // Records each tenant's usage for today (JST) in the usage history the panel charts. The
  // server calls it hourly and at start; the day's last sample stands for the day.
  base::Status sample_usage();

  // Records that a device was seen (at most once a minute per device: it is a database write).
  void seen(const Identity& who);

  void set_deletion_guard(DeletionGuard* guard) { guard_ = guard; }
  base::Status may_delete(const RepoAccess& repo, const backend::Handle& h);

  int64_t now() const;

 private:
  friend class Reservation;
  void release(int64_t tenant_id, int64_t bytes);
  base::StatusOr<Enrollment> issue(const meta::Tenant& t, const meta::Repo& r,
                                   std::string_view device, std::string_view csr_pem,
                                   int64_t* not_before);
  objstore::ObjectStore* store_for(const std::string& region);
  // The tenant's device of that name; kNotFound naming both.
  base::StatusOr<meta::Device> device_of(const meta::Tenant& t, std::string_view device);

  meta::MetaStore* meta_;
  std::map<std::string, objstore::ObjectStore*> regions_;
  base::Clock* clock_;
  ServiceOptions options_;
  DeletionGuard* guard_ = nullptr;

  std::mutex mu_;
  std::unordered_map<int64_t, int64_t> reserved_;  // tenant id → bytes promised
  std::unordered_map<int64_t, int64_t> last_touched_;  // device id → when seen() last wrote
};

// "ABCD-EFGH-…": 20 characters of Crockford base32 (100 bits) in groups of 4.
std::string generate_enroll_code();
// What a user typed → the canonical code (uppercase, no separators, I/L→1, O→0), or "".
std::string normalize_enroll_code(std::string_view typed);
// The day in Japan (UTC+9, no daylight saving) of a Unix time: "2026-12-05".
std::string jst_day(int64_t unix_sec);

// Parses "10GiB", "500MB", "1TB", "0", "1234" (bytes). kInvalidArgument otherwise.
base::StatusOr<int64_t> parse_size(std::string_view text);

}  // namespace kura::service
