// Loading and selecting snapshots: all of them, "latest", by id prefix, by host/path/tag;
// restic's FindFilteredSnapshots (select_snapshots), shared by find, stats and ls-like listings.
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

// A snapshot file that could not be loaded or decoded.
struct SnapshotLoadError {
  repo::Id id;
  base::Status error;
};

// Every snapshot, oldest first (ties broken by id), loaded in parallel. With `unreadable`, a
// snapshot file that cannot be loaded or decoded (damaged, undecryptable, removed meanwhile)
// is left out and reported there, sorted by id: restic 0.14's listings (snapshots, forget,
// find, stats) warn and go on. Without, it is an error naming it, for what must not go on
// without it (backup choosing its parent, prune finding the data in use).
base::StatusOr<std::vector<SnapshotEntry>> load_snapshots(
    repo::Repository& repo, std::vector<SnapshotLoadError>* unreadable = nullptr);

// "latest" (newest matching the filter) or a unique id prefix. "latest" fails when any
// snapshot cannot be read (it might be the newest), as restic's FindLatestSnapshot does.
base::StatusOr<SnapshotEntry> find_snapshot(repo::Repository& repo, const std::string& ref,
                                            const SnapshotFilter& filter = {});

struct SnapshotRefError {
  std::string ref;  // as the user gave it
  base::Status error;
};

struct SnapshotSelection {
  std::vector<SnapshotEntry> snapshots;
  std::vector<SnapshotRefError> skipped;  // refs that matched nothing or a damaged snapshot
                                          // (restic warns and goes on)
  std::vector<SnapshotLoadError> unreadable;  // without refs: snapshots that could not be read
  bool filter_ignored = false;            // a filter was given along with explicit IDs only
};

// restic's FindFilteredSnapshots: with `refs`, each ID prefix (or "latest", the newest matching
// `filter`) in the given order, duplicates dropped; without, every readable snapshot matching
// `filter`, oldest first.
base::StatusOr<SnapshotSelection> select_snapshots(repo::Repository& repo,
                                                   const SnapshotFilter& filter,
                                                   const std::vector<std::string>& refs);

// Seconds since the epoch as a sortable value.
inline int64_t snapshot_time_key(const repo::Snapshot& sn) { return sn.time.sec; }

}  // namespace kura::ops
