// tag: changes the tags of snapshots as restic 0.14's `tag` does. A snapshot file's name is
// the hash of its bytes, so a changed snapshot is written anew (its `original` set to the
// first id it had, if not set yet) and the old file removed afterwards: a crash between the
// two leaves both, never neither.
#pragma once

#include <string>
#include <vector>

#include "ops/snapshots.h"
#include "repo/repository.h"

namespace kura::ops {

struct TagChange {
  // Flattened lists (restic's TagLists.Flatten: empty entries dropped). A non-empty `set`
  // replaces the tags; otherwise `add` then `remove` apply.
  std::vector<std::string> set, add, remove;
};

// Applies the change to `sn` in memory; true if its tags changed. Order follows restic:
// added tags are appended, a removed tag's slot takes the last tag.
bool apply_tag_change(repo::Snapshot& sn, const TagChange& change);

// Rewrites `entry` when the change alters it; returns the new id, or nullopt if unchanged.
base::StatusOr<std::optional<repo::Id>> change_tags(repo::Repository& repo,
                                                    const SnapshotEntry& entry,
                                                    const TagChange& change);

// "a,b" -> {"a","b"} per flag value, spaces around each trimmed, empty ones dropped.
std::vector<std::string> flatten_tag_lists(const std::vector<std::string>& lists);

}  // namespace kura::ops
