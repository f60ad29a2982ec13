// recover: a snapshot of every tree no other tree and no snapshot refers to, as restic 0.14's
// `recover` does, so that data whose snapshot file was lost can be restored again. The new
// root tree holds one directory per such tree, named by its short id; the snapshot has the
// path "/recover" and the tag "recovered".
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "repo/repository.h"

namespace kura::ops {

class RecoverObserver {
 public:
  virtual ~RecoverObserver() = default;
  // Before the trees are loaded: how many the index lists.
  virtual void on_loading_trees(uint64_t /*total*/) {}
  virtual void on_tree_unreadable(const repo::Id& /*tree*/, const base::Status&) {}
  virtual void on_loading_snapshots() {}
};

// Trees the index lists that neither another tree nor a snapshot refers to, sorted. An
// unreadable tree is reported and counts as referring to nothing.
base::StatusOr<std::vector<repo::Id>> find_root_trees(repo::Repository& repo, int threads = 0,
                                                      RecoverObserver* observer = nullptr,
                                                      std::atomic<uint64_t>* trees_done = nullptr);

struct RecoverSnapshotInfo {
  std::string hostname, username;
  uint32_t uid = 0, gid = 0;
};

struct RecoveredSnapshot {
  repo::Id tree, snapshot;
};

// Saves the tree of `roots` (one directory each) and a snapshot of it; flushes the repository
// before the snapshot is written.
base::StatusOr<RecoveredSnapshot> save_recovery_snapshot(repo::Repository& repo,
                                                         const std::vector<repo::Id>& roots,
                                                         const RecoverSnapshotInfo& info);

}  // namespace kura::ops
