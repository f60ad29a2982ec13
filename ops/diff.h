// diff: what changed from one snapshot's tree to another's (restic `diff`). Subtrees with the
// same ID are not compared; the blob counts still cover them, as restic's do.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "repo/node.h"
#include "repo/repository.h"

namespace kura::ops {

struct DiffOptions {
  bool metadata = false;  // report "U" for nodes whose metadata (not content) changed
  int threads = 0;
};

// One line of restic's diff: modifier "+" added, "-" removed, "M" content changed, "U" metadata
// changed, "T" type changed ("TU" / "TM" possible). Paths of folders end in '/'.
struct DiffChange {
  std::string path;
  std::string modifier;
};

struct DiffStat {
  uint64_t files = 0, dirs = 0, others = 0;
  uint64_t data_blobs = 0, tree_blobs = 0;
  uint64_t bytes = 0;  // plaintext size of those blobs
};

struct DiffResult {
  uint64_t changed_files = 0;
  DiffStat added, removed;
  // Trees that could not be loaded below the roots, and blobs missing from the index: restic
  // warns about these and goes on, and so do we.
  std::vector<std::string> warnings;
};

// Compares tree `before` to tree `after` (snapshot roots), reporting changes in path order.
// The index must be loaded. Fails only when a root tree cannot be loaded.
base::StatusOr<DiffResult> diff_trees(repo::Repository& repo, const repo::Id& before,
                                      const repo::Id& after, const DiffOptions& opts,
                                      const std::function<void(const DiffChange&)>& on_change);

// restic's Node.Equals: every field, times as instants (their UTC offsets may differ).
bool nodes_equal(const repo::Node& a, const repo::Node& b);

}  // namespace kura::ops
