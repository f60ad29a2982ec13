// Loading and selecting snapshots: all of them, "latest", by id prefix, by host/path/tag.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "repo/repository.h"
#include "repo/snapshot.h"

namespace kura::ops {

struct SnapshotEntry {
  repo::Id id;
  repo::Snapshot sn;
};

struct SnapshotFilter {
  std::vector<std::string> hosts;  // any of
  std::vector<std::string> paths;  // all of (absolute)
  std::vector<std::string> tags;   // each entry "a,b" = all of a and b; entries OR-ed
  bool matches(const repo::Snapshot& sn) const;
};

// Every snapshot, oldest first (ties broken by id). Loaded in parallel; a snapshot that
// cannot be read is an error naming it.
base::StatusOr<std::vector<SnapshotEntry>> load_snapshots(repo::Repository& repo);

// "latest" (newest matching the filter) or a unique id prefix.
base::StatusOr<SnapshotEntry> find_snapshot(repo::Repository& repo, const std::string& ref,
                                            const SnapshotFilter& filter = {});

// Seconds since the epoch as a sortable value.
inline int64_t snapshot_time_key(const repo::Snapshot& sn) { return sn.time.sec; }

}  // namespace kura::ops
