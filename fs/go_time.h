// Go's time.Format for the layouts `kura mount --time-template` takes (restic names snapshot
// directories with sn.Time.Format(template)): the reference time "Mon Jan 2 15:04:05 -0700 MST
// 2006" written the way the result should look.
#pragma once

#include <string>
#include <string_view>

#include "repo/node.h"

namespace kura::fs {

// restic's default, Go's time.RFC3339.
inline constexpr char kDefaultTimeTemplate[] = "2006-01-02T15:04:05Z07:00";

// Formats t in its recorded UTC offset. Zone names ("MST"): "UTC" for offset 0, the local
// zone's abbreviation when the offset is the local one at that instant (Go decodes such a
// time into time.Local), otherwise "-0700" as Go prints an unnamed zone.
std::string format_go_layout(const repo::NodeTime& t, std::string_view layout);

// Go's time.Time.String() ("2006-01-02 15:04:05.999999999 -0700 MST"), as restic prints a
// snapshot's time in `ls` headers and `copy` lines.
inline std::string go_time_string(const repo::NodeTime& t) {
  return format_go_layout(t, "2006-01-02 15:04:05.999999999 -0700 MST");
}

}  // namespace kura::fs
