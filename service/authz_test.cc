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

Identity user(meta::UserRole role, std::string tenant) {
  Identity id;
  id.kind = IdentityKind::kUser;
  id.user = "u";
  id.user_id = 3;
  id.role = role;
  id.tenant = std::move(tenant);
  return id;
}

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
      {Action::kDevicePolicyRead, {false, true, true, false}},
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
  // The panel's actions are the users' (below): no certificate reaches them.
  const Identity who[4] = {Identity{}, device(IdentityKind::kBackupDevice, "clinic-a", "main"),
                           device(IdentityKind::kMaintenanceDevice, "clinic-a", "main"), admin()};
  for (Action a : kAllActions) {
    for (int k = 0; k < 4; ++k) {
      base::Status st = authorize(who[k], a, own);
      const bool want = expected.count(a) ? expected.at(a)[k] : false;
      EXPECT_EQ(st.ok(), want)
          << action_name(a) << " by " << identity_kind_name(who[k].kind) << ": " << st.to_string();
      if (!st.ok()) {
        EXPECT_TRUE(st.code() == base::Code::kPermissionDenied ||
                    st.code() == base::Code::kUnauthenticated);
      }
    }
  }
}

// Every role times every action, on its own institution and on another one. Written out
// again as the expectation: "o" allowed on its own tenant only, "a" on any tenant, "-" never.
TEST(Authz, EveryUserRoleTimesEveryAction) {
  using R = meta::UserRole;
  const R roles[] = {R::kProviderAdmin, R::kProviderOperator, R::kInstitutionAdmin,
                     R::kInstitutionOperator, R::kAuditor, R::kViewer};
  //                                         PA   PO   IA   IO   AU   VI
  const std::map<Action, std::string> expected = {
      {Action::kPanelSelf,          "a a o o o o"},
      {Action::kPanelNoticeView,    "a a o o o o"},
      {Action::kPanelTenantView,    "a a o o o o"},
      {Action::kAuditRead,          "a a o - o -"},
      {Action::kPanelRestore,       "a a o o - -"},
      {Action::kPanelDeviceEnroll,  "a a o o - -"},
      {Action::kPanelDeviceManage,  "a a o - - -"},
      {Action::kPanelPolicyEdit,    "a a o - - -"},
      {Action::kPanelUserView,      "a a o - - -"},
      {Action::kPanelUserManage,    "a - o - - -"},
      {Action::kPanelFactorReset,   "a - o - - -"},
      {Action::kPanelTenantManage,  "a - - - - -"},
      {Action::kPanelUsageAll,      "a a - - - -"},
      {Action::kPanelNoticeManage,  "a a - - - -"},
  };
  const Target own{"clinic-a", ""}, other{"clinic-b", ""};
  for (Action a : kAllActions) {
    std::string row = expected.count(a) ? expected.at(a) : "- - - - - -";
    for (size_t r = 0; r < std::size(roles); ++r) {
      const bool provider = r < 2;
      const Identity who = user(roles[r], provider ? "" : "clinic-a");
      const char want = row[2 * r];
      base::Status on_own = authorize(who, a, own);
      base::Status on_other = authorize(who, a, other);
      EXPECT_EQ(on_own.ok(), want != '-')
          << action_name(a) << " by " << meta::user_role_name(roles[r]) << ": " << on_own.to_string();
      EXPECT_EQ(on_other.ok(), want == 'a')
          << action_name(a) << " on another tenant by " << meta::user_role_name(roles[r]);
      if (!on_other.ok()) {
        EXPECT_EQ(on_other.code(), base::Code::kPermissionDenied);
      }
      // The provider's own things (its staff, all tenants): provider staff only.
      Target provider_level;
      provider_level.provider = true;
      EXPECT_EQ(authorize(who, a, provider_level).ok(), want == 'a')
          << action_name(a) << " at provider level by " << meta::user_role_name(roles[r]);
    }
  }
}

TEST(Authz, InstitutionStaffWithoutATenantReachNothing) {
  const Identity lost = user(meta::UserRole::kInstitutionAdmin, "");
  EXPECT_FALSE(authorize(lost, Action::kPanelTenantView, {"", ""}).ok());
  EXPECT_FALSE(authorize(lost, Action::kPanelTenantView, {"clinic-a", ""}).ok());
}

TEST(Authz, AnonymousIsAskedToSignInForThePanel) {
  EXPECT_EQ(authorize(Identity{}, Action::kPanelTenantView, {"clinic-a", ""}).code(),
            base::Code::kUnauthenticated);
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
