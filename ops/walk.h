// Walking a snapshot's trees.
#pragma once

#include <functional>
#include <string>

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

}  // namespace kura::ops
