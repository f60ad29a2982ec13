#include "meta/meta_store.h"

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

}  // namespace kura::meta
