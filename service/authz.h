// Who may do what: the one table that decides every request (DESIGN.md, "the path of one
// request"). The server maps each request to an Action and a target, identifies the caller,
// and asks authorize(); no handler decides access on its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace kura::service {

enum class IdentityKind { kAnonymous, kBackupDevice, kMaintenanceDevice, kAdmin };

std::string_view identity_kind_name(IdentityKind kind);

struct Identity {
  IdentityKind kind = IdentityKind::kAnonymous;
  // Devices: the tenant and repository the certificate is bound to.
  int64_t tenant_id = 0, repo_id = 0, device_id = 0;
  std::string tenant, repo, device;
  // Admins.
  int64_t admin_id = 0;
  std::string admin;
  std::string cert_serial;  // devices and admins: the certificate presented
  // For access records: "device:<serial>", "admin:<name>", "anonymous".
  std::string actor() const;
};

enum class Action {
  // Public.
  kHealth,
  kEnrollCa,
  kEnroll,  // the one-time code authorises it, not the identity
  // A device's own certificate.
  kEnrollRenew,
  // The restic REST API on one repository.
  kRepoCreate,
  kConfigRead,
  kConfigWrite,
  kConfigDelete,
  kList,
  kRead,
  kWrite,
  kDeleteLock,
  kDeleteLockOfOther,
  kDelete,  // data, index, snapshots, keys: forget/prune
  // Admin API (provider admins).
  kAdminRead,   // tenants, repositories, devices, usage
  kAdminWrite,  // create tenants/repositories, quotas, enrollment codes, revocation
  kAuditRead,
  kMetrics,
};

std::string_view action_name(Action action);

// The repository a request addresses; empty for requests that name none.
struct Target {
  std::string tenant;
  std::string repo;
};

// OK, or kPermissionDenied / kUnauthenticated with a reason fit for the caller (it names no
// other tenant's objects). Devices reach only the tenant and repository of their certificate.
base::Status authorize(const Identity& who, Action action, const Target& target);

}  // namespace kura::service
