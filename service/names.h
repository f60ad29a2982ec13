// Names the service accepts for tenants, repositories and devices. They become folder names
// on disk and path segments in URLs, so the rules are strict: no dots, no slashes, no
// uppercase, nothing that a URL or a file system would reinterpret.
#pragma once

#include <string_view>

#include "base/status.h"

namespace kura::service {

// Tenant and repository names: [a-z0-9][a-z0-9-]{0,62}, not ending in '-', and for tenants not
// one of the server's own first path segments (api, enroll, healthz, metrics, ...).
base::Status check_tenant_name(std::string_view name);
base::Status check_repo_name(std::string_view name);
// Device names: [A-Za-z0-9][A-Za-z0-9._-]{0,63} (a PC's host name fits).
base::Status check_device_name(std::string_view name);
// Region names: [a-z0-9][a-z0-9-]{0,31}.
base::Status check_region_name(std::string_view name);
// A panel user's sign-in ID: 3-64 of a-z 0-9 . _ - @, starting with a letter or digit.
base::Status check_user_login(std::string_view login);
// A person's or an institution's display name: 1-200 bytes of UTF-8, no control characters.
base::Status check_display_name(std::string_view name);

// True if name is one of the server's reserved first path segments.
bool is_reserved_segment(std::string_view name);

}  // namespace kura::service
