#include "service/service.h"

#include <argon2.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

#include "base/bytes.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "service/codes.h"
#include "service/names.h"

namespace kura::service {
namespace {


std::string code_hash(std::string_view canonical) {
  crypto::Hash h = crypto::sha256(base::as_bytes(canonical));
  return base::hex_encode(h);
}

}  // namespace

// --- Reservation -----------------------------------------------------------------------------

Reservation::Reservation(Reservation&& other) noexcept
    : service_(std::exchange(other.service_, nullptr)),
      tenant_id_(other.tenant_id_),
      bytes_(other.bytes_) {}

Reservation& Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    if (service_) service_->release(tenant_id_, bytes_);
    service_ = std::exchange(other.service_, nullptr);
    tenant_id_ = other.tenant_id_;
    bytes_ = other.bytes_;
  }
  return *this;
}

Reservation::~Reservation() {
  if (service_) service_->release(tenant_id_, bytes_);
}

// --- Service ---------------------------------------------------------------------------------

Service::Service(meta::MetaStore* meta, std::map<std::string, objstore::ObjectStore*> regions,
                 base::Clock* clock, ServiceOptions options)
    : meta_(meta), regions_(std::move(regions)), clock_(clock), options_(std::move(options)) {}

int64_t Service::now() const { return clock_->now().sec; }

std::vector<std::string> Service::regions() const {
  std::vector<std::string> out;
  for (const auto& [name, store] : regions_) out.push_back(name);
  return out;
}

objstore::ObjectStore* Service::store_for(const std::string& region) {
  auto it = regions_.find(region);
  return it == regions_.end() ? nullptr : it->second;
}

base::StatusOr<meta::Tenant> Service::create_tenant(std::string_view name,
                                                    std::string_view display_name,
                                                    std::string_view region,
                                                    int64_t quota_bytes) {
  RETURN_IF_ERROR(check_tenant_name(name));
  RETURN_IF_ERROR(check_region_name(region));
  if (!store_for(std::string(region))) {
    std::string known;
    for (const std::string& r : regions()) known += (known.empty() ? "" : ", ") + r;
    return base::invalid_argument("unknown region \"" + std::string(region) +
                                  "\" (configured: " + known + ")");
  }
  if (quota_bytes < 0) return base::invalid_argument("quota must not be negative");
  meta::Tenant t;
  t.name = name;
  t.display_name = display_name.empty() ? std::string(name) : std::string(display_name);
  t.region = region;
  t.quota_bytes = quota_bytes;
  t.created_unix = now();
  return meta_->create_tenant(t);
}

base::StatusOr<meta::Tenant> Service::tenant(std::string_view name) {
  RETURN_IF_ERROR(check_tenant_name(name));
  auto t = meta_->tenant_by_name(name);
  if (!t.ok() && t.status().code() == base::Code::kNotFound) {
    return base::not_found("no tenant named \"" + std::string(name) + "\"");
  }
  return t;
}

base::StatusOr<TenantSummary> Service::tenant_summary(std::string_view name) {
  ASSIGN_OR_RETURN(meta::Tenant t, tenant(name));
  TenantSummary s;
  ASSIGN_OR_RETURN(s.used_bytes, meta_->tenant_usage(t.id));
  ASSIGN_OR_RETURN(auto repos, meta_->list_repos(t.id));
  ASSIGN_OR_RETURN(auto devices, meta_->list_devices(t.id));
  s.repos = static_cast<int64_t>(repos.size());
  s.devices = static_cast<int64_t>(devices.size());
  s.tenant = std::move(t);
  return s;
}

base::StatusOr<std::vector<TenantSummary>> Service::list_tenants() {
  ASSIGN_OR_RETURN(auto tenants, meta_->list_tenants());
  std::vector<TenantSummary> out;
  for (const meta::Tenant& t : tenants) {
    ASSIGN_OR_RETURN(TenantSummary s, tenant_summary(t.name));
    out.push_back(std::move(s));
  }
  return out;
}

base::Status Service::set_quota(std::string_view tenant_name, int64_t quota_bytes) {
  if (quota_bytes < 0) return base::invalid_argument("quota must not be negative");
  ASSIGN_OR_RETURN(meta::Tenant t, tenant(tenant_name));
  return meta_->set_tenant_quota(t.id, quota_bytes);
}

base::StatusOr<meta::Repo> Service::create_repo(std::string_view tenant_name,
                                                std::string_view repo_name) {
  RETURN_IF_ERROR(check_repo_name(repo_name));
  ASSIGN_OR_RETURN(meta::Tenant t, tenant(tenant_name));
  objstore::ObjectStore* store = store_for(t.region);
  if (!store) return base::failed_precondition("region " + t.region + " is not configured");
  // Folders first: a repository row always has a place for its objects.
  RETURN_IF_ERROR(store->create_repo({t.name, std::string(repo_name)}));
  meta::Repo r;
  r.tenant_id = t.id;
  r.name = repo_name;
  r.created_unix = now();
  return meta_->create_repo(r);
}

base::StatusOr<std::vector<meta::Repo>> Service::list_repos(std::string_view tenant_name) {
  ASSIGN_OR_RETURN(meta::Tenant t, tenant(tenant_name));
  return meta_->list_repos(t.id);
}

base::StatusOr<meta::Repo> Service::recount_usage(std::string_view tenant_name,
                                                  std::string_view repo_name) {
  ASSIGN_OR_RETURN(RepoAccess access, repo(tenant_name, repo_name));
  uint64_t bytes = 0, objects = 0;
  RETURN_IF_ERROR(access.store->usage(access.ref, &bytes, &objects));
  RETURN_IF_ERROR(meta_->set_usage(access.repo_id, static_cast<int64_t>(bytes),
                                   static_cast<int64_t>(objects)));
  return meta_->repo_by_id(access.repo_id);
}

base::StatusOr<RepoAccess> Service::repo(std::string_view tenant_name, std::string_view repo_name) {
  if (!check_tenant_name(tenant_name).ok() || !check_repo_name(repo_name).ok()) {
    return base::not_found("no such repository");
  }
  auto t = meta_->tenant_by_name(tenant_name);
  if (!t.ok()) {
    if (t.status().code() == base::Code::kNotFound) return base::not_found("no such repository");
    return t.status();
  }
  auto r = meta_->repo_by_name(t->id, repo_name);
  if (!r.ok()) {
    if (r.status().code() == base::Code::kNotFound) return base::not_found("no such repository");
    return r.status();
  }
  RepoAccess a;
  a.tenant_id = t->id;
  a.repo_id = r->id;
  a.ref = {t->name, r->name};
  a.region = t->region;
  a.store = store_for(t->region);
  if (!a.store) return base::unavailable("region " + t->region + " is not configured");
  return a;
}

// --- Devices ---------------------------------------------------------------------------------

base::StatusOr<std::string> Service::make_enroll_code(std::string_view tenant_name,
                                                      std::string_view repo_name,
                                                      std::string_view device,
                                                      meta::DeviceRole role) {
  RETURN_IF_ERROR(check_device_name(device));
  ASSIGN_OR_RETURN(meta::Tenant t, tenant(tenant_name));
  auto r = meta_->repo_by_name(t.id, repo_name);
  if (!r.ok() && r.status().code() == base::Code::kNotFound) {
    return base::not_found("tenant " + t.name + " has no repository named \"" +
                           std::string(repo_name) + "\"");
  }
  RETURN_IF_ERROR(r.status());
  auto existing = meta_->device_by_name(t.id, device);
  if (existing.ok()) {
    return base::already_exists("tenant " + t.name + " already has a device named \"" +
                                std::string(device) + "\"");
  }
  if (existing.status().code() != base::Code::kNotFound) return existing.status();
  std::string code = generate_enroll_code();
  meta::EnrollCode c;
  c.code_hash = code_hash(normalize_enroll_code(code));
  c.tenant_id = t.id;
  c.repo_id = r->id;
  c.device_name = device;
  c.role = role;
  c.created_unix = now();
  c.expires_unix = c.created_unix + int64_t{options_.enroll_code_hours} * 3600;
  RETURN_IF_ERROR(meta_->create_enroll_code(c));
  return code;
}

base::StatusOr<Enrollment> Service::issue(const meta::Tenant& t, const meta::Repo& r,
                                          std::string_view device, std::string_view csr_pem,
                                          int64_t* not_before) {
  ASSIGN_OR_RETURN(crypto::CertInfo cert,
                   crypto::issue_client_cert(options_.ca, csr_pem, device, t.name, r.name, now(),
                                             options_.device_cert_days));
  Enrollment e;
  e.certificate_pem = cert.pem;
  e.ca_pem = options_.ca.cert;
  e.repository_url = "rest:" + options_.public_url + "/" + t.name + "/" + r.name + "/";
  e.tenant = t.name;
  e.repo = r.name;
  e.device = device;
  e.not_after = cert.not_after;
  e.serial = cert.serial_hex;
  *not_before = cert.not_before;
  return e;
}

base::StatusOr<Enrollment> Service::enroll(std::string_view code, std::string_view csr_pem) {
  std::string canonical = normalize_enroll_code(code);
  // One answer for every kind of bad code: guessing learns nothing.
  const base::Status refused =
      base::permission_denied("the enrollment code is not valid (unknown, used or expired)");
  if (canonical.empty()) return refused;
  std::string hash = code_hash(canonical);
  auto c = meta_->enroll_code(hash);
  if (!c.ok()) return c.status().code() == base::Code::kNotFound ? refused : c.status();
  if (c->used_unix != 0 || c->expires_unix <= now()) return refused;
  RETURN_IF_ERROR(crypto::parse_csr(csr_pem).status());
  ASSIGN_OR_RETURN(meta::Tenant t, meta_->tenant_by_id(c->tenant_id));
  ASSIGN_OR_RETURN(meta::Repo r, meta_->repo_by_id(c->repo_id));
  int64_t not_before = 0;
  ASSIGN_OR_RETURN(Enrollment e, issue(t, r, c->device_name, csr_pem, &not_before));
  meta::Device d;
  d.tenant_id = t.id;
  d.repo_id = r.id;
  d.name = c->device_name;
  d.role = c->role;
  d.cert_serial = e.serial;
  ASSIGN_OR_RETURN(d.cert_fingerprint, crypto::cert_fingerprint(e.certificate_pem));
  d.not_before = not_before;
  d.not_after = e.not_after;
  d.created_unix = now();
  auto stored = meta_->redeem_enroll_code(hash, now(), d);
  if (!stored.ok()) {
    if (stored.status().code() == base::Code::kAlreadyExists) return stored.status();
    if (stored.status().code() == base::Code::kNotFound ||
        stored.status().code() == base::Code::kFailedPrecondition) {
      return refused;  // redeemed by a concurrent request meanwhile
    }
    return stored.status();
  }
  return e;
}

base::StatusOr<Enrollment> Service::renew(const Identity& who, std::string_view csr_pem) {
  if (who.kind != IdentityKind::kBackupDevice && who.kind != IdentityKind::kMaintenanceDevice) {
    return base::permission_denied("only a device certificate can be renewed");
  }
  RETURN_IF_ERROR(crypto::parse_csr(csr_pem).status());
  ASSIGN_OR_RETURN(meta::Tenant t, meta_->tenant_by_id(who.tenant_id));
  ASSIGN_OR_RETURN(meta::Repo r, meta_->repo_by_id(who.repo_id));
  int64_t not_before = 0;
  ASSIGN_OR_RETURN(Enrollment e, issue(t, r, who.device, csr_pem, &not_before));
  ASSIGN_OR_RETURN(std::string fp, crypto::cert_fingerprint(e.certificate_pem));
  RETURN_IF_ERROR(meta_->replace_device_cert(who.device_id, e.serial, fp, not_before, e.not_after));
  return e;
}

base::StatusOr<Enrollment> Service::sign_csr(std::string_view tenant_name,
                                             std::string_view repo_name, std::string_view device,
                                             meta::DeviceRole role, std::string_view csr_pem) {
  ASSIGN_OR_RETURN(std::string code, make_enroll_code(tenant_name, repo_name, device, role));
  return enroll(code, csr_pem);
}

base::StatusOr<meta::Device> Service::device_of(const meta::Tenant& t, std::string_view device) {
  auto d = meta_->device_by_name(t.id, device);
  if (!d.ok() && d.status().code() == base::Code::kNotFound) {
    return base::not_found("tenant " + t.name + " has no device named \"" + std::string(device) +
                           "\"");
  }
  return d;
}

base::StatusOr<Enrollment> Service::renew_device(std::string_view tenant_name,
                                                 std::string_view device,
                                                 std::string_view csr_pem) {
  ASSIGN_OR_RETURN(meta::Tenant t, tenant(tenant_name));
  ASSIGN_OR_RETURN(meta::Device d, device_of(t, device));
  if (d.revoked) {
    return base::failed_precondition("device " + d.name + " is revoked; enroll it again with a "
                                     "new code instead");
  }
  Identity who;
  who.kind = d.role == meta::DeviceRole::kMaintenance ? IdentityKind::kMaintenanceDevice
                                                      : IdentityKind::kBackupDevice;
  who.tenant_id = t.id;
  who.repo_id = d.repo_id;
  who.device_id = d.id;
  who.device = d.name;
  return renew(who, csr_pem);
}

base::Status Service::revoke_device(std::string_view tenant_name, std::string_view device) {
  ASSIGN_OR_RETURN(meta::Tenant t, tenant(tenant_name));
  ASSIGN_OR_RETURN(meta::Device d, device_of(t, device));
  if (d.revoked) return base::ok_status();
  return meta_->revoke_device(d.id, now());
}

base::StatusOr<std::vector<meta::Device>> Service::list_devices(std::string_view tenant_name) {
  ASSIGN_OR_RETURN(meta::Tenant t, tenant(tenant_name));
  return meta_->list_devices(t.id);
}

// --- Admins ----------------------------------------------------------------------------------

base::StatusOr<meta::Admin> Service::create_admin(std::string_view name,
                                                  std::string* one_time_password) {
  RETURN_IF_ERROR(check_device_name(name));
  // 16 characters of Crockford base32: 80 bits, readable aloud, changed at first sign-in.
  uint8_t raw[16];
  crypto::system_random()->fill(raw);
  std::string password;
  for (uint8_t b : raw) password += kCrockford[b & 31];
  uint8_t salt[16];
  crypto::system_random()->fill(salt);
  // Argon2id, RFC 9106's second recommended option (64 MiB, 3 passes); the panel issue makes
  // the parameters configurable.
  char encoded[256];
  int rc = argon2id_hash_encoded(3, 64 * 1024, 1, password.data(), password.size(), salt,
                                 sizeof salt, 32, encoded, sizeof encoded);
  if (rc != ARGON2_OK) {
    return base::internal_error(std::string("argon2id: ") + argon2_error_message(rc));
  }
  meta::Admin a;
  a.name = name;
  a.password_hash = encoded;
  a.must_change_password = true;
  a.created_unix = now();
  ASSIGN_OR_RETURN(meta::Admin stored, meta_->create_admin(a));
  // The same person signs in to the control panel as a provider admin (the admin row owns
  // the API certificates; the user row the panel's sign-in, factors and sessions).
  meta::User u;
  u.login = a.name;
  u.display_name = a.name;
  u.role = meta::UserRole::kProviderAdmin;
  u.password_hash = a.password_hash;
  u.must_change_password = true;
  u.created_unix = a.created_unix;
  RETURN_IF_ERROR(meta_->create_user(u).status());
  *one_time_password = std::move(password);
  return stored;
}

base::StatusOr<crypto::Pem> Service::issue_admin_cert(std::string_view admin_name) {
  ASSIGN_OR_RETURN(meta::Admin a, meta_->admin_by_name(admin_name));
  ASSIGN_OR_RETURN(std::string key, crypto::generate_p256_key_pem());
  ASSIGN_OR_RETURN(std::string csr, crypto::make_csr(key, admin_name));
  ASSIGN_OR_RETURN(crypto::CertInfo cert,
                   crypto::issue_client_cert(options_.ca, csr, admin_name, "kura-server",
                                             "provider-admin", now(), options_.device_cert_days));
  meta::AdminCert c;
  c.admin_id = a.id;
  c.cert_serial = cert.serial_hex;
  c.cert_fingerprint = cert.fingerprint;
  c.not_before = cert.not_before;
  c.not_after = cert.not_after;
  c.created_unix = now();
  RETURN_IF_ERROR(meta_->add_admin_cert(c));
  return crypto::Pem{cert.pem, key};
}

// --- Identity --------------------------------------------------------------------------------

base::StatusOr<Identity> Service::identify(std::string_view serial, bool chain_ok) {
  Identity id;
  if (serial.empty()) return id;  // anonymous
  if (!chain_ok) {
    return base::unauthenticated("the client certificate was not issued by this server or is "
                                 "outside its validity period");
  }
  int64_t t = now();
  auto d = meta_->device_by_serial(serial);
  if (d.ok()) {
    if (d->revoked) return base::unauthenticated("this device's certificate has been revoked");
    if (t < d->not_before || t >= d->not_after) {
      return base::unauthenticated("this device's certificate has expired; renew it with "
                                   "`kura enroll --renew`");
    }
    ASSIGN_OR_RETURN(meta::Tenant tenant, meta_->tenant_by_id(d->tenant_id));
    ASSIGN_OR_RETURN(meta::Repo repo, meta_->repo_by_id(d->repo_id));
    id.kind = d->role == meta::DeviceRole::kMaintenance ? IdentityKind::kMaintenanceDevice
                                                        : IdentityKind::kBackupDevice;
    id.tenant_id = tenant.id;
    id.repo_id = repo.id;
    id.device_id = d->id;
    id.tenant = tenant.name;
    id.repo = repo.name;
    id.device = d->name;
    id.cert_serial = std::string(serial);
    return id;
  }
  if (d.status().code() != base::Code::kNotFound) return d.status();
  auto a = meta_->admin_cert_by_serial(serial);
  if (a.ok()) {
    if (a->revoked) return base::unauthenticated("this admin certificate has been revoked");
    if (t < a->not_before || t >= a->not_after) {
      return base::unauthenticated("this admin certificate has expired");
    }
    ASSIGN_OR_RETURN(meta::Admin admin, meta_->admin_by_id(a->admin_id));
    id.kind = IdentityKind::kAdmin;
    id.admin_id = admin.id;
    id.admin = admin.name;
    id.cert_serial = std::string(serial);
    return id;
  }
  if (a.status().code() != base::Code::kNotFound) return a.status();
  // Issued by our CA but unknown: a certificate whose device row is gone (a replaced one after
  // renewal, say). Refused like a revoked one.
  return base::unauthenticated("this certificate is no longer valid (replaced or unknown)");
}

// --- Quota -----------------------------------------------------------------------------------

base::StatusOr<Reservation> Service::reserve(const RepoAccess& repo, int64_t bytes) {
  if (bytes < 0) bytes = 0;
  ASSIGN_OR_RETURN(meta::Tenant t, meta_->tenant_by_id(repo.tenant_id));
  std::lock_guard lock(mu_);
  if (t.quota_bytes > 0) {
    ASSIGN_OR_RETURN(int64_t used, meta_->tenant_usage(t.id));
    int64_t promised = reserved_[t.id];
    if (used + promised + bytes > t.quota_bytes) {
      return base::resource_exhausted(
          "quota exceeded for " + t.name + ": " + std::to_string(used) + " of " +
          std::to_string(t.quota_bytes) + " bytes used, this upload needs " +
          std::to_string(bytes) + " more; ask your provider to raise the quota or remove old "
          "snapshots");
    }
  }
  reserved_[t.id] += bytes;
  Reservation r;
  r.service_ = this;
  r.tenant_id_ = t.id;
  r.bytes_ = bytes;
  return r;
}

void Service::release(int64_t tenant_id, int64_t bytes) {
  std::lock_guard lock(mu_);
  auto it = reserved_.find(tenant_id);
  if (it == reserved_.end()) return;
  it->second -= bytes;
  if (it->second <= 0) reserved_.erase(it);
}

base::Status Service::record_stored(const RepoAccess& repo, int64_t bytes) {
  return meta_->add_usage(repo.repo_id, bytes, 1);
}

base::Status Service::record_removed(const RepoAccess& repo, int64_t bytes) {
  return meta_->add_usage(repo.repo_id, -bytes, -1);
}

// --- Locks and deletion ----------------------------------------------------------------------

base::Status Service::note_lock_owner(const RepoAccess& repo, std::string_view lock,
                                     int64_t device_id) {
  return meta_->record_lock(repo.repo_id, lock, device_id, now());
}

bool Service::owns_lock(const RepoAccess& repo, std::string_view lock, int64_t device_id) {
  auto owner = meta_->lock_owner(repo.repo_id, lock);
  return owner.ok() && *owner == device_id && device_id != 0;
}

void Service::forget_lock(const RepoAccess& repo, std::string_view lock) {
  meta_->forget_lock(repo.repo_id, lock).ignore();
}

void Service::seen(const Identity& who) {
  if (who.device_id == 0) return;
  const int64_t t = now();
  {
    std::lock_guard g(mu_);
    int64_t& last = last_touched_[who.device_id];
    if (t - last < 60) return;
    last = t;
  }
  meta_->touch_device(who.device_id, t).ignore();
}

base::Status Service::may_delete(const RepoAccess& repo, const backend::Handle& h) {
  if (guard_) return guard_->may_delete(repo, h);
  return base::ok_status();
}

// --- Codes and sizes -------------------------------------------------------------------------

std::string generate_enroll_code() { return random_grouped_code(20); }

std::string normalize_enroll_code(std::string_view typed) { return normalize_code(typed, 20); }

base::StatusOr<int64_t> parse_size(std::string_view text) {
  std::string_view s = text;
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p == s.data()) {
    return base::invalid_argument("size \"" + std::string(text) +
                                  "\": expected a number with an optional unit (GiB, GB, MiB, …)");
  }
  std::string unit(p, s.data() + s.size());
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::pair<const char*, uint64_t> kUnits[] = {
      {"", 1},          {"b", 1},
      {"k", 1000},      {"kb", 1000},      {"kib", 1024},
      {"m", 1000000},   {"mb", 1000000},   {"mib", 1ull << 20},
      {"g", 1000000000}, {"gb", 1000000000}, {"gib", 1ull << 30},
      {"t", 1000000000000ull}, {"tb", 1000000000000ull}, {"tib", 1ull << 40},
  };
  for (const auto& [name, mult] : kUnits) {
    if (unit != name) continue;
    if (n > static_cast<uint64_t>(INT64_MAX) / mult) {
      return base::invalid_argument("size \"" + std::string(text) + "\" is too large");
    }
    return static_cast<int64_t>(n * mult);
  }
  return base::invalid_argument("size \"" + std::string(text) + "\": unknown unit \"" + unit +
                                "\" (use B, KiB, MiB, GiB, TiB or KB, MB, GB, TB)");
}

base::Status Service::sample_usage() {
  ASSIGN_OR_RETURN(std::vector<TenantSummary> tenants, list_tenants());
  const std::string day = jst_day(now());
  for (const TenantSummary& t : tenants) {
    RETURN_IF_ERROR(meta_->record_usage_sample(t.tenant.id, day, t.used_bytes));
  }
  return base::ok_status();
}

std::string jst_day(int64_t unix_sec) {
  const time_t t = static_cast<time_t>(unix_sec + 9 * 3600);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

}  // namespace kura::service
