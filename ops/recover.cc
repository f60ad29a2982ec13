#include "ops/recover.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "base/thread_pool.h"
#include "ops/snapshots.h"
#include "ops/walk.h"
#include "repo/mode.h"
#include "repo/snapshot.h"
#include "repo/tree.h"

namespace kura::ops {
namespace {

using repo::Id;

}  // namespace

base::StatusOr<std::vector<Id>> find_root_trees(repo::Repository& repo, int threads,
                                                RecoverObserver* obs,
                                                std::atomic<uint64_t>* trees_done) {
  // tree -> whether something refers to it
  std::unordered_map<Id, bool, repo::IdHash> trees;
  repo.with_index([&](const repo::Index& idx) {
    idx.for_each([&](const repo::IndexEntry& e) {
      if (e.type == repo::BlobType::kTree) trees.emplace(e.id, false);
    });
  });
  if (obs) obs->on_loading_trees(trees.size());

  std::mutex mu;
  std::vector<Id> referenced;
  {
    base::ThreadPool pool(io_threads(repo, threads));
    base::TaskGroup group(&pool);
    for (const auto& entry : trees) {
      group.run([&, id = entry.first]() -> base::Status {
        auto nodes = load_tree(repo, id);
        std::lock_guard<std::mutex> l(mu);
        if (trees_done) ++*trees_done;
        if (!nodes.ok()) {
          if (obs) obs->on_tree_unreadable(id, nodes.status());
          return base::ok_status();
        }
        for (const auto& n : *nodes) {
          if (n.type == repo::NodeType::kDir && n.subtree) referenced.push_back(*n.subtree);
        }
        return base::ok_status();
      });
    }
    RETURN_IF_ERROR(group.wait());
  }
  for (const Id& id : referenced) trees[id] = true;

  if (obs) obs->on_loading_snapshots();
  std::vector<SnapshotLoadError> unreadable;  // restic ignores them here too
  ASSIGN_OR_RETURN(auto snapshots, load_snapshots(repo, &unreadable));
  for (const auto& e : snapshots) trees[e.sn.tree] = true;

  std::vector<Id> roots;
  for (const auto& [id, seen] : trees) {
    if (!seen) roots.push_back(id);
  }
  std::sort(roots.begin(), roots.end());
  return roots;
}

base::StatusOr<RecoveredSnapshot> save_recovery_snapshot(repo::Repository& repo,
                                                         const std::vector<Id>& roots,
                                                         const RecoverSnapshotInfo& info) {
  base::Timespec now = repo.deps().clock->now();
  repo::NodeTime t{now.sec, now.nsec, repo.deps().clock->utc_offset(now.sec)};
  std::vector<repo::Node> nodes;
  for (const Id& id : roots) {
    repo::Node n;
    n.name = id.short_hex();
    n.type = repo::NodeType::kDir;
    n.mode = 0755;  // restic's literal mode: no directory bit
    n.mtime = n.atime = n.ctime = t;
    n.subtree = id;
    nodes.push_back(std::move(n));
  }
  base::Bytes json = repo::encode_tree(nodes);
  RecoveredSnapshot out;
  out.tree = repo::hash_id(json);
  RETURN_IF_ERROR(repo.save_blob(repo::BlobType::kTree, out.tree, json).status());
  RETURN_IF_ERROR(repo.flush());

  repo::Snapshot sn;
  sn.time = t;
  sn.tree = out.tree;
  sn.paths = {"/recover"};
  sn.hostname = info.hostname;
  sn.username = info.username;
  sn.uid = info.uid;
  sn.gid = info.gid;
  sn.tags = {"recovered"};
  ASSIGN_OR_RETURN(out.snapshot, repo.save_unpacked(backend::FileKind::kSnapshot, repo::encode_snapshot(sn)));
  return out;
}

}  // namespace kura::ops
