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
constexpr std::array<Rule, 18> kTable = {{
    {Action::kHealth, {true, true, true, true}, false},
    {Action::kEnrollCa, {true, true, true, true}, false},
    {Action::kEnroll, {true, true, true, true}, false},
    {Action::kEnrollRenew, {false, true, true, false}, false},
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

}  // namespace

std::string_view identity_kind_name(IdentityKind kind) {
  switch (kind) {
    case IdentityKind::kAnonymous: return "anonymous";
    case IdentityKind::kBackupDevice: return "device";
    case IdentityKind::kMaintenanceDevice: return "maintenance-device";
    case IdentityKind::kAdmin: return "admin";
  }
  return "?";
}

std::string Identity::actor() const {
  switch (kind) {
    case IdentityKind::kAnonymous: return "anonymous";
    case IdentityKind::kBackupDevice:
    case IdentityKind::kMaintenanceDevice: return "device:" + cert_serial;
    case IdentityKind::kAdmin: return "admin:" + admin;
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
  }
  return "?";
}

base::Status authorize(const Identity& who, Action action, const Target& target) {
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
  return base::permission_denied("action not allowed");
}

}  // namespace kura::service
