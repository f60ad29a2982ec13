// Walking a snapshot's trees: one at a time (walk_tree), with the subtrees loaded ahead on
// several threads (walk_tree_ahead), or all of them in any order (visit_trees); and how
// restic shows a node's mode.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

#include "repo/node.h"
#include "repo/repository.h"

namespace kura::ops {

// Loads and decodes one tree blob.
base::StatusOr<std::vector<repo::Node>> load_tree(repo::Repository& repo, const repo::Id& id);

enum class Visit { kDescend, kSkip };

// Calls fn(path, node) for every node below tree `id`, depth first, in name order; `path` is
// "/a/b" relative to the snapshot root. Returning kSkip for a dir does not descend into it.
base::Status walk_tree(repo::Repository& repo, const repo::Id& id, const std::string& prefix,
                       const std::function<base::StatusOr<Visit>(const std::string& path,
                                                                 const repo::Node& node)>& fn);

// ---- walking with loads ahead ------------------------------------------------------------------

struct WalkItem {
  const std::string& path;  // "/a/b"
  const repo::Node& node;
  const repo::Id& tree;     // the tree that holds node
};

struct WalkCallbacks {
  // Every node, depth first in name order; a dir before what is below it. kSkip: not entered.
  std::function<base::StatusOr<Visit>(const WalkItem&)> visit;
  // Optional: after the subtree of a dir that was entered.
  std::function<void(const WalkItem&)> leave;
  // Optional: a subtree could not be loaded. OK skips it; an error ends the walk. Unset: the
  // load error ends the walk.
  std::function<base::Status(const WalkItem&, const base::Status&)> tree_error;
};

// Like walk_tree, but the subtrees of each directory are loaded on `threads` threads (0: a
// default for the backend) while the walk is busy elsewhere; at most `max_ahead` trees are held.
base::Status walk_tree_ahead(repo::Repository& repo, const repo::Id& root,
                             const WalkCallbacks& callbacks, int threads = 0,
                             size_t max_ahead = 512);

using IdSet = std::unordered_set<repo::Id, repo::IdHash>;

// Loads every tree reachable from `roots` that is not in *seen yet (adding it), on several
// threads, and calls visit(id, nodes) on the calling thread, in no particular order. visit
// returns false to stop early. For counting over whole snapshots, where order does not matter.
base::Status visit_trees(
    repo::Repository& repo, const std::vector<repo::Id>& roots, IdSet* seen,
    const std::function<bool(const repo::Id&, const std::vector<repo::Node>&)>& visit,
    int threads = 0);

// Threads for loading from the repository: `requested` if > 0, else enough for the backend.
int io_threads(const repo::Repository& repo, int requested);

// ---- showing nodes ----------------------------------------------------------------------------

// Go's os.FileMode.String(): "-rw-r--r--", "drwxr-xr-x", "Lrwxrwxrwx", "dgrwxr-sr-x"...
std::string go_file_mode_string(uint32_t go_mode);
// The mode restic's `find -l` and `ls -l` print: the node's type bit added to its mode.
uint32_t display_mode(const repo::Node& node);

}  // namespace kura::ops
