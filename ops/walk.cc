#include "ops/walk.h"

#include <algorithm>

#include "repo/tree.h"

namespace kura::ops {

base::StatusOr<std::vector<repo::Node>> load_tree(repo::Repository& repo, const repo::Id& id) {
  ASSIGN_OR_RETURN(base::Bytes json, repo.load_blob(repo::BlobType::kTree, id));
  auto nodes = repo::decode_tree(json);
  if (!nodes.ok()) return nodes.status().with_context("tree " + id.hex());
  return nodes;
}

base::Status walk_tree(repo::Repository& repo, const repo::Id& id, const std::string& prefix,
                       const std::function<base::StatusOr<Visit>(const std::string& path,
                                                                 const repo::Node& node)>& fn) {
  ASSIGN_OR_RETURN(auto nodes, load_tree(repo, id));
  std::sort(nodes.begin(), nodes.end(),
            [](const repo::Node& a, const repo::Node& b) { return a.name < b.name; });
  for (const auto& n : nodes) {
    std::string path = prefix + "/" + n.name;
    ASSIGN_OR_RETURN(Visit v, fn(path, n));
    if (v == Visit::kDescend && n.type == repo::NodeType::kDir) {
      if (!n.subtree) return base::data_loss("dir " + path + " has no subtree");
      RETURN_IF_ERROR(walk_tree(repo, *n.subtree, path, fn));
    }
  }
  return base::ok_status();
}

}  // namespace kura::ops
