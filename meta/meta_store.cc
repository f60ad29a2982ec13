#include "meta/meta_store.h"

#include <utility>

namespace kura::meta {

std::string_view role_name(DeviceRole role) {
  switch (role) {
    case DeviceRole::kBackup:
      return "backup";
    case DeviceRole::kMaintenance:
      return "maintenance";
  }
  return "backup";
}

base::StatusOr<DeviceRole> parse_role(std::string_view text) {
  if (text == "backup") return DeviceRole::kBackup;
  if (text == "maintenance") return DeviceRole::kMaintenance;
  return base::invalid_argument("unknown device role \"" + std::string(text) +
                                "\" (expected backup or maintenance)");
}

namespace {
constexpr std::pair<UserRole, std::string_view> kUserRoles[] = {
    {UserRole::kProviderAdmin, "provider_admin"},
    {UserRole::kProviderOperator, "provider_operator"},
    {UserRole::kInstitutionAdmin, "institution_admin"},
    {UserRole::kInstitutionOperator, "institution_operator"},
    {UserRole::kAuditor, "auditor"},
    {UserRole::kViewer, "viewer"},
};
}  // namespace

std::string_view user_role_name(UserRole role) {
  for (const auto& [r, name] : kUserRoles) {
    if (r == role) return name;
  }
  return "viewer";
}

base::StatusOr<UserRole> parse_user_role(std::string_view text) {
  for (const auto& [r, name] : kUserRoles) {
    if (name == text) return r;
  }
  return base::invalid_argument("unknown role \"" + std::string(text) +
                                "\" (expected provider_admin, provider_operator, "
                                "institution_admin, institution_operator, auditor or viewer)");
}

}  // namespace kura::meta
