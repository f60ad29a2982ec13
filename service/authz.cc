#include "service/authz.h"

#include <array>

namespace kura::service {
namespace {

constexpr int kKinds = 4;
using Row = std::array<bool, kKinds>;  // anonymous, backup device, maintenance device, admin

struct Rule {
  Action action;
  Row allowed;
  bool scoped;  // the target must be the caller's own repository
};

// The table. Devices are append-only: a backup device creates files and deletes only its own
// locks; deleting anything else needs the maintenance identity (and, in a later issue, passes
// the retention lock). Nobody deletes a repository's config over the API.
constexpr std::array<Rule, 19> kTable = {{
    {Action::kHealth, {true, true, true, true}, false},
    {Action::kEnrollCa, {true, true, true, true}, false},
    {Action::kEnroll, {true, true, true, true}, false},
    {Action::kEnrollRenew, {false, true, true, false}, false},
    {Action::kDevicePolicyRead, {false, true, true, false}, false},
    {Action::kRepoCreate, {false, true, true, false}, true},
    {Action::kConfigRead, {false, true, true, false}, true},
    {Action::kConfigWrite, {false, true, true, false}, true},
    {Action::kConfigDelete, {false, false, false, false}, true},
    {Action::kList, {false, true, true, false}, true},
    {Action::kRead, {false, true, true, false}, true},
    {Action::kWrite, {false, true, true, false}, true},
    {Action::kDeleteLock, {false, true, true, false}, true},
    {Action::kDeleteLockOfOther, {false, false, true, false}, true},
    {Action::kDelete, {false, false, true, false}, true},
    {Action::kAdminRead, {false, false, false, true}, false},
    {Action::kAdminWrite, {false, false, false, true}, false},
    {Action::kAuditRead, {false, false, false, true}, false},
    // Also open to the addresses the configuration lists (Prometheus scrapes without a
    // certificate); the server checks the address, this table the identity.
    {Action::kMetrics, {false, false, false, true}, false},
}};

int column(IdentityKind kind) { return static_cast<int>(kind); }

// Panel users: which roles may do what. Bits in meta::UserRole's order.
constexpr unsigned kPA = 1u << 0, kPO = 1u << 1, kIA = 1u << 2, kIO = 1u << 3, kAU = 1u << 4,
                   kVI = 1u << 5;
constexpr unsigned kEveryone = kPA | kPO | kIA | kIO | kAU | kVI;

struct UserRule {
  Action action;
  unsigned roles;
};

// Least privilege: a viewer sees; an auditor also reads access records; an institution
// operator enrolls devices and restores; an institution admin manages its devices, policies
// and staff; provider operators run the service for every tenant; provider admins also manage
// tenants and staff. No panel user reaches the device API (the restic REST routes).
constexpr std::array<UserRule, 14> kUserTable = {{
    {Action::kPanelSelf, kEveryone},
    {Action::kPanelNoticeView, kEveryone},
    {Action::kPanelTenantView, kEveryone},
    {Action::kAuditRead, kPA | kPO | kIA | kAU},
    {Action::kPanelRestore, kPA | kPO | kIA | kIO},
    {Action::kPanelDeviceEnroll, kPA | kPO | kIA | kIO},
    {Action::kPanelDeviceManage, kPA | kPO | kIA},
    {Action::kPanelPolicyEdit, kPA | kPO | kIA},
    {Action::kPanelUserView, kPA | kPO | kIA},
    {Action::kPanelUserManage, kPA | kIA},
    {Action::kPanelFactorReset, kPA | kIA},
    {Action::kPanelTenantManage, kPA},
    {Action::kPanelUsageAll, kPA | kPO},
    {Action::kPanelNoticeManage, kPA | kPO},
}};

bool provider_role(meta::UserRole role) {
  return role == meta::UserRole::kProviderAdmin || role == meta::UserRole::kProviderOperator;
}

base::Status authorize_user(const Identity& who, Action action, const Target& target) {
  for (const UserRule& rule : kUserTable) {
    if (rule.action != action) continue;
    if ((rule.roles & (1u << static_cast<unsigned>(who.role))) == 0) {
      return base::permission_denied("your role (" + std::string(meta::user_role_name(who.role)) +
                                     ") may not " + std::string(action_name(action)));
    }
    if (!provider_role(who.role) && target.provider) {
      return base::permission_denied("only the provider's staff may do this");
    }
    // Institution staff: their own tenant only, the same answer whether or not another exists.
    if (!provider_role(who.role) && !target.tenant.empty() && target.tenant != who.tenant) {
      return base::permission_denied("not your institution");
    }
    if (!provider_role(who.role) && who.tenant.empty()) {
      return base::permission_denied("this account belongs to no institution");
    }
    return base::ok_status();
  }
  return base::permission_denied("your role (" + std::string(meta::user_role_name(who.role)) +
                                 ") may not " + std::string(action_name(action)));
}

}  // namespace

std::string_view identity_kind_name(IdentityKind kind) {
  switch (kind) {
    case IdentityKind::kAnonymous: return "anonymous";
    case IdentityKind::kBackupDevice: return "device";
    case IdentityKind::kMaintenanceDevice: return "maintenance-device";
    case IdentityKind::kAdmin: return "admin";
    case IdentityKind::kUser: return "user";
  }
  return "?";
}

std::string Identity::actor() const {
  switch (kind) {
    case IdentityKind::kAnonymous: return "anonymous";
    case IdentityKind::kBackupDevice:
    case IdentityKind::kMaintenanceDevice: return "device:" + cert_serial;
    case IdentityKind::kAdmin: return "admin:" + admin;
    case IdentityKind::kUser: return "user:" + user;
  }
  return "anonymous";
}

std::string_view action_name(Action action) {
  switch (action) {
    case Action::kHealth: return "health";
    case Action::kEnrollCa: return "enroll.ca";
    case Action::kEnroll: return "enroll";
    case Action::kEnrollRenew: return "enroll.renew";
    case Action::kRepoCreate: return "repo.create";
    case Action::kConfigRead: return "repo.config.read";
    case Action::kConfigWrite: return "repo.config.write";
    case Action::kConfigDelete: return "repo.config.delete";
    case Action::kList: return "repo.list";
    case Action::kRead: return "repo.read";
    case Action::kWrite: return "repo.write";
    case Action::kDeleteLock: return "repo.delete.lock";
    case Action::kDeleteLockOfOther: return "repo.delete.lock.other";
    case Action::kDelete: return "repo.delete";
    case Action::kAdminRead: return "admin.read";
    case Action::kAdminWrite: return "admin.write";
    case Action::kAuditRead: return "audit.read";
    case Action::kMetrics: return "metrics";
    case Action::kDevicePolicyRead: return "device.policy.read";
    case Action::kPanelSelf: return "panel.self";
    case Action::kPanelNoticeView: return "panel.notice.view";
    case Action::kPanelTenantView: return "panel.tenant.view";
    case Action::kPanelRestore: return "panel.restore";
    case Action::kPanelDeviceEnroll: return "panel.device.enroll";
    case Action::kPanelDeviceManage: return "panel.device.manage";
    case Action::kPanelPolicyEdit: return "panel.policy.edit";
    case Action::kPanelUserView: return "panel.user.view";
    case Action::kPanelUserManage: return "panel.user.manage";
    case Action::kPanelFactorReset: return "panel.factor.reset";
    case Action::kPanelTenantManage: return "panel.tenant.manage";
    case Action::kPanelUsageAll: return "panel.usage.all";
    case Action::kPanelNoticeManage: return "panel.notice.manage";
  }
  return "?";
}

base::Status authorize(const Identity& who, Action action, const Target& target) {
  if (who.kind == IdentityKind::kUser) return authorize_user(who, action, target);
  for (const Rule& rule : kTable) {
    if (rule.action != action) continue;
    if (!rule.allowed[column(who.kind)]) {
      if (who.kind == IdentityKind::kAnonymous) {
        return base::unauthenticated("a client certificate issued by this server is required");
      }
      if (who.kind == IdentityKind::kBackupDevice &&
          (action == Action::kDelete || action == Action::kDeleteLockOfOther)) {
        return base::permission_denied(
            "this device may only add backups (append-only); deleting needs a maintenance "
            "certificate");
      }
      return base::permission_denied(std::string(identity_kind_name(who.kind)) + " may not " +
                                     std::string(action_name(action)));
    }
    if (rule.scoped && (target.tenant != who.tenant || target.repo != who.repo ||
                        who.tenant.empty() || who.repo.empty())) {
      // The same answer whether or not the other repository exists: nothing leaks.
      return base::permission_denied("this certificate is not valid for that repository");
    }
    return base::ok_status();
  }
  // The panel's actions are for signed-in users only.
  if (who.kind == IdentityKind::kAnonymous) return base::unauthenticated("sign in first");
  return base::permission_denied(std::string(identity_kind_name(who.kind)) + " may not " +
                                 std::string(action_name(action)));
}

}  // namespace kura::service
