#include "service/authz.h"

#include <gtest/gtest.h>

#include <map>

namespace kura::service {
namespace {

Identity device(IdentityKind kind, std::string tenant, std::string repo) {
  Identity id;
  id.kind = kind;
  id.tenant = std::move(tenant);
  id.repo = std::move(repo);
  id.cert_serial = "ab";
  id.device_id = 7;
  return id;
}

Identity admin() {
  Identity id;
  id.kind = IdentityKind::kAdmin;
  id.admin = "root";
  return id;
}

constexpr Action kAll[] = {
    Action::kHealth,      Action::kEnrollCa,   Action::kEnroll,       Action::kEnrollRenew,
    Action::kRepoCreate,  Action::kConfigRead, Action::kConfigWrite,  Action::kConfigDelete,
    Action::kList,        Action::kRead,       Action::kWrite,        Action::kDeleteLock,
    Action::kDeleteLockOfOther, Action::kDelete, Action::kAdminRead,  Action::kAdminWrite,
    Action::kAuditRead,   Action::kMetrics};

// The whole table, written out again as the expectation: who may do what on their own
// repository ("own") and on anyone else's ("other").
TEST(Authz, EveryIdentityTimesEveryAction) {
  const Target own{"clinic-a", "main"};
  const std::map<Action, std::array<bool, 4>> expected = {
      // anonymous, backup device, maintenance device, admin
      {Action::kHealth, {true, true, true, true}},
      {Action::kEnrollCa, {true, true, true, true}},
      {Action::kEnroll, {true, true, true, true}},
      {Action::kEnrollRenew, {false, true, true, false}},
      {Action::kRepoCreate, {false, true, true, false}},
      {Action::kConfigRead, {false, true, true, false}},
      {Action::kConfigWrite, {false, true, true, false}},
      {Action::kConfigDelete, {false, false, false, false}},
      {Action::kList, {false, true, true, false}},
      {Action::kRead, {false, true, true, false}},
      {Action::kWrite, {false, true, true, false}},
      {Action::kDeleteLock, {false, true, true, false}},
      {Action::kDeleteLockOfOther, {false, false, true, false}},
      {Action::kDelete, {false, false, true, false}},
      {Action::kAdminRead, {false, false, false, true}},
      {Action::kAdminWrite, {false, false, false, true}},
      {Action::kAuditRead, {false, false, false, true}},
      {Action::kMetrics, {false, false, false, true}},
  };
  const Identity who[4] = {Identity{}, device(IdentityKind::kBackupDevice, "clinic-a", "main"),
                           device(IdentityKind::kMaintenanceDevice, "clinic-a", "main"), admin()};
  for (Action a : kAll) {
    for (int k = 0; k < 4; ++k) {
      base::Status st = authorize(who[k], a, own);
      EXPECT_EQ(st.ok(), expected.at(a)[k])
          << action_name(a) << " by " << identity_kind_name(who[k].kind) << ": " << st.to_string();
      if (!st.ok()) {
        EXPECT_TRUE(st.code() == base::Code::kPermissionDenied ||
                    st.code() == base::Code::kUnauthenticated);
      }
    }
  }
}

TEST(Authz, DevicesNeverReachAnotherRepository) {
  const Identity mine = device(IdentityKind::kMaintenanceDevice, "clinic-a", "main");
  const Target others[] = {{"clinic-b", "main"}, {"clinic-a", "other"}, {"", ""}, {"clinic-a", ""},
                           {"clinic-ab", "main"}, {"clinic", "a-main"}};
  for (Action a : {Action::kRepoCreate, Action::kConfigRead, Action::kConfigWrite, Action::kList,
                   Action::kRead, Action::kWrite, Action::kDeleteLock, Action::kDelete}) {
    for (const Target& t : others) {
      base::Status st = authorize(mine, a, t);
      EXPECT_EQ(st.code(), base::Code::kPermissionDenied) << action_name(a) << " on " << t.tenant;
      // The refusal does not say whether the other repository exists.
      EXPECT_EQ(st.message().find(t.tenant.empty() ? "\x01" : t.tenant), std::string::npos);
    }
  }
}

TEST(Authz, ADeviceWithoutABindingReachesNothing) {
  Identity broken = device(IdentityKind::kBackupDevice, "", "");
  EXPECT_FALSE(authorize(broken, Action::kRead, Target{"", ""}).ok());
}

TEST(Authz, AnonymousIsAskedForACertificate) {
  base::Status st = authorize(Identity{}, Action::kRead, Target{"clinic-a", "main"});
  EXPECT_EQ(st.code(), base::Code::kUnauthenticated);
}

}  // namespace
}  // namespace kura::service
