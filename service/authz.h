// Who may do what: the one table that decides every request (DESIGN.md, "the path of one
// request"). The server maps each request to an Action and a target, identifies the caller,
// and asks authorize(); no handler decides access on its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "meta/meta_store.h"

namespace kura::service {

// kUser: a control-panel user whose sign-in is complete (password and second factor); a
// session still in a sign-in stage is kAnonymous here.
enum class IdentityKind { kAnonymous, kBackupDevice, kMaintenanceDevice, kAdmin, kUser };

std::string_view identity_kind_name(IdentityKind kind);

struct Identity {
  IdentityKind kind = IdentityKind::kAnonymous;
  // Devices: the tenant and repository the certificate is bound to.
  int64_t tenant_id = 0, repo_id = 0, device_id = 0;
  std::string tenant, repo, device;
  // Admins.
  int64_t admin_id = 0;
  std::string admin;
  // Panel users: their role, and for institution staff their tenant (tenant_id, tenant above;
  // empty for provider staff).
  int64_t user_id = 0;
  std::string user;
  meta::UserRole role = meta::UserRole::kViewer;
  std::string cert_serial;  // devices and admins: the certificate presented
  // For access records: "device:<serial>", "admin:<name>", "user:<login>", "anonymous".
  std::string actor() const;
};

enum class Action {
  // Public.
  kHealth,
  kEnrollCa,
  kEnroll,  // the one-time code authorises it, not the identity
  // A device's own certificate.
  kEnrollRenew,
  kDevicePolicyRead,  // the backup policy the panel set for this device
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
  kAuditRead,  // also panel users: auditors and admins (their own tenant's records)
  kMetrics,
  // The control panel (users). Institution staff act on their own tenant only; provider
  // staff on any.
  kPanelSelf,           // one's own account: password, second factors, sign out
  kPanelNoticeView,     // maintenance notices
  kPanelTenantView,     // dashboard: usage, quota, devices, snapshots the server can see
  kPanelRestore,        // start a restore on a device (the agent, later)
  kPanelDeviceEnroll,   // create enrollment codes
  kPanelDeviceManage,   // rename, revoke devices
  kPanelPolicyEdit,     // backup policy per device
  kPanelUserView,
  kPanelUserManage,     // create users, roles, unlock, disable, end their sessions
  kPanelFactorReset,    // reset another user's second factor (a second admin approves)
  kPanelTenantManage,   // create tenants, quotas, regions
  kPanelUsageAll,       // usage across tenants
  kPanelNoticeManage,   // publish maintenance notices
};

std::string_view action_name(Action action);

// The repository a request addresses; empty for requests that name none.
struct Target {
  std::string tenant;
  std::string repo;
  // Panel: the target is the provider's own (its staff, its tenants list): provider staff only.
  bool provider = false;
};

// OK, or kPermissionDenied / kUnauthenticated with a reason fit for the caller (it names no
// other tenant's objects). Devices reach only the tenant and repository of their certificate;
// institution staff only their tenant (target.tenant), provider staff any.
base::Status authorize(const Identity& who, Action action, const Target& target);

// Every action, for tests and documentation that walk the tables.
inline constexpr Action kAllActions[] = {
    Action::kHealth,           Action::kEnrollCa,           Action::kEnroll,
    Action::kEnrollRenew,      Action::kDevicePolicyRead,   Action::kRepoCreate,
    Action::kConfigRead,       Action::kConfigWrite,        Action::kConfigDelete,
    Action::kList,             Action::kRead,               Action::kWrite,
    Action::kDeleteLock,       Action::kDeleteLockOfOther,  Action::kDelete,
    Action::kAdminRead,        Action::kAdminWrite,         Action::kAuditRead,
    Action::kMetrics,          Action::kPanelSelf,          Action::kPanelNoticeView,
    Action::kPanelTenantView,  Action::kPanelRestore,       Action::kPanelDeviceEnroll,
    Action::kPanelDeviceManage, Action::kPanelPolicyEdit,   Action::kPanelUserView,
    Action::kPanelUserManage,  Action::kPanelFactorReset,   Action::kPanelTenantManage,
    Action::kPanelUsageAll,    Action::kPanelNoticeManage};

}  // namespace kura::service
