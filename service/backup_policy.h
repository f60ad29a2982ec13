// A device's backup policy (issue 14): what the panel edits, the server stores and serves to
// the device, and the agent (a later issue) runs. Validated here, once, whoever sends it.
//
// JSON (docs/panel-api.md):
//   {"targets": ["C:\\カルテ", "/srv/orca"],          1-64 paths, each 1-4096 bytes
//    "schedule": "hourly" | "daily HH:MM" | "weekly sun HH:MM",   (JST)
//    "exclusions": ["*.tmp"],                         0-256 restic exclude patterns
//    "retention": {"keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly",
//                  "keep_yearly"},                    0-10000 each, at least one above 0
//    "bandwidth": {"limit_kbps": 0, "window": "22:00-06:00" | ""}}   0 = no limit
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace kura::service {

// The policy in canonical form (members in a fixed order, defaults filled in), or
// kInvalidArgument naming the member at fault.
base::StatusOr<std::string> normalize_backup_policy(std::string_view json_text);

// How long a device may go without a backup before the panel says it missed its schedule:
// the schedule's period plus a grace (hourly: 2 h, daily: 26 h, weekly: 7 days + 2 h).
// 0 for an unreadable policy.
int64_t schedule_grace_seconds(std::string_view normalized_policy);

}  // namespace kura::service
