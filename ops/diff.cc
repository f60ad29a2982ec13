#include "ops/diff.h"

#include <algorithm>
#include <map>
#include <unordered_set>

#include "ops/walk.h"

namespace kura::ops {
namespace {

using repo::BlobType;
using repo::Id;
using repo::Node;
using repo::NodeType;

struct BlobKey {
  Id id;
  BlobType type;
  friend bool operator==(const BlobKey&, const BlobKey&) = default;
};
struct BlobKeyHash {
  size_t operator()(const BlobKey& k) const { return repo::IdHash()(k.id) ^ size_t(k.type); }
};
using BlobSet = std::unordered_set<BlobKey, BlobKeyHash>;

// "/" + "a" -> "/a"; "/a/" + "b" -> "/a/b" (restic's path.Join for these cases).
std::string join(const std::string& prefix, const std::string& name) {
  std::string base = prefix;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/" + name;
}

void add_blobs(BlobSet& set, const Node& n) {
  if (n.type == NodeType::kFile) {
    for (const Id& id : n.content) set.insert({id, BlobType::kData});
  } else if (n.type == NodeType::kDir && n.subtree) {
    set.insert({*n.subtree, BlobType::kTree});
  }
}

void count_node(DiffStat& s, const Node& n) {
  if (n.type == NodeType::kFile) {
    ++s.files;
  } else if (n.type == NodeType::kDir) {
    ++s.dirs;
  } else {
    ++s.others;
  }
}

bool same_xattrs(const Node& a, const Node& b) {
  if (a.xattrs.size() != b.xattrs.size()) return false;
  std::map<std::string, const base::Bytes*> av;
  for (const auto& x : a.xattrs) av[x.name] = &x.value;
  for (const auto& x : b.xattrs) {
    auto it = av.find(x.name);
    if (it == av.end() || *it->second != x.value) return false;
  }
  return true;
}

bool same_instant(const repo::NodeTime& a, const repo::NodeTime& b) {
  return a.sec == b.sec && a.nsec == b.nsec;
}

class Differ {
 public:
  Differ(repo::Repository& repo, const DiffOptions& opts,
         const std::function<void(const DiffChange&)>& on_change)
      : repo_(repo), opts_(opts), on_change_(on_change) {}

  base::StatusOr<DiffResult> run(const Id& before, const Id& after) {
    before_.insert({before, BlobType::kTree});
    after_.insert({after, BlobType::kTree});
    RETURN_IF_ERROR(diff_tree("/", before, after));
    tally_blobs();
    return std::move(result_);
  }

 private:
  void change(const std::string& path, const std::string& modifier) {
    if (on_change_) on_change_({path, modifier});
  }

  void warn(const base::Status& st) { result_.warnings.push_back(st.message()); }

  base::Status diff_tree(const std::string& prefix, const Id& id1, const Id& id2) {
    ASSIGN_OR_RETURN(auto nodes1, load_tree(repo_, id1));
    ASSIGN_OR_RETURN(auto nodes2, load_tree(repo_, id2));
    std::map<std::string, const Node*> by_name1, by_name2;
    for (const Node& n : nodes1) by_name1[n.name] = &n;
    for (const Node& n : nodes2) by_name2[n.name] = &n;
    std::vector<std::string> names;
    for (const auto& [name, n] : by_name1) names.push_back(name);
    for (const auto& [name, n] : by_name2) names.push_back(name);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());

    for (const auto& name : names) {
      auto i1 = by_name1.find(name);
      auto i2 = by_name2.find(name);
      const Node* n1 = i1 == by_name1.end() ? nullptr : i1->second;
      const Node* n2 = i2 == by_name2.end() ? nullptr : i2->second;
      if (n1) add_blobs(before_, *n1);
      if (n2) add_blobs(after_, *n2);
      std::string path = join(prefix, name);
      if (n1 && n2) {
        std::string mod;
        if (n1->type != n2->type) mod += "T";
        if (n2->type == NodeType::kDir) path += "/";
        if (n1->type == NodeType::kFile && n2->type == NodeType::kFile && n1->content != n2->content) {
          mod += "M";
          ++result_.changed_files;
        } else if (opts_.metadata && !nodes_equal(*n1, *n2)) {
          mod += "U";
        }
        if (!mod.empty()) change(path, mod);
        if (n1->type == NodeType::kDir && n2->type == NodeType::kDir && n1->subtree && n2->subtree) {
          if (*n1->subtree == *n2->subtree) {
            common_.push_back(*n1->subtree);
          } else if (auto st = diff_tree(path, *n1->subtree, *n2->subtree); !st.ok()) {
            warn(st);
          }
        }
      } else {
        const Node& n = n1 ? *n1 : *n2;
        const char* mod = n1 ? "-" : "+";
        DiffStat& stat = n1 ? result_.removed : result_.added;
        if (n.type == NodeType::kDir) path += "/";
        change(path, mod);
        count_node(stat, n);
        if (n.type == NodeType::kDir && n.subtree) {
          list_dir(mod, stat, n1 ? before_ : after_, path, *n.subtree);
        }
      }
    }
    return base::ok_status();
  }

  // Everything below a folder that exists on one side only.
  void list_dir(const char* mod, DiffStat& stat, BlobSet& blobs, const std::string& prefix,
                const Id& tree) {
    std::string base = prefix.substr(0, prefix.size() - 1);  // without the trailing '/'
    WalkCallbacks cb;
    cb.visit = [&](const WalkItem& it) -> base::StatusOr<Visit> {
      std::string path = base + it.path;
      if (it.node.type == NodeType::kDir) path += "/";
      change(path, mod);
      count_node(stat, it.node);
      add_blobs(blobs, it.node);
      return Visit::kDescend;
    };
    cb.tree_error = [&](const WalkItem&, const base::Status& st) {
      warn(st);
      return base::ok_status();
    };
    if (auto st = walk_tree_ahead(repo_, tree, cb, opts_.threads); !st.ok()) warn(st);
  }

  // Blobs referenced on one side only. Those also referenced from a subtree both sides share
  // are not (restic's BlobsCommon), so the shared subtrees are read until every candidate is
  // accounted for.
  void tally_blobs() {
    BlobSet removed, added;
    for (const auto& b : before_) {
      if (!after_.count(b)) removed.insert(b);
    }
    for (const auto& b : after_) {
      if (!before_.count(b)) added.insert(b);
    }
    before_.clear();
    after_.clear();
    if ((!removed.empty() || !added.empty()) && !common_.empty()) {
      IdSet seen;
      auto st = visit_trees(repo_, common_, &seen, [&](const Id&, const std::vector<Node>& nodes) {
        for (const Node& n : nodes) {
          if (n.type == NodeType::kFile) {
            for (const Id& id : n.content) {
              removed.erase({id, BlobType::kData});
              added.erase({id, BlobType::kData});
            }
          } else if (n.type == NodeType::kDir && n.subtree) {
            removed.erase({*n.subtree, BlobType::kTree});
            added.erase({*n.subtree, BlobType::kTree});
          }
        }
        return !removed.empty() || !added.empty();
      }, opts_.threads);
      if (!st.ok()) warn(st);
    }
    count_blobs(removed, result_.removed);
    count_blobs(added, result_.added);
  }

  void count_blobs(const BlobSet& blobs, DiffStat& stat) {
    repo_.with_index([&](const repo::Index& idx) {
      for (const auto& b : blobs) {
        if (b.type == BlobType::kData) {
          ++stat.data_blobs;
        } else {
          ++stat.tree_blobs;
        }
        const repo::IndexEntry* e = idx.find(b.id, b.type);
        if (!e) {
          result_.warnings.push_back("unable to find blob size for " +
                                     std::string(repo::blob_type_name(b.type)) + " blob " + b.id.hex());
          continue;
        }
        stat.bytes += e->blob().plain_length();
      }
      return 0;
    });
  }

  repo::Repository& repo_;
  const DiffOptions& opts_;
  const std::function<void(const DiffChange&)>& on_change_;
  DiffResult result_;
  BlobSet before_, after_;
  std::vector<Id> common_;
};

}  // namespace

bool nodes_equal(const Node& a, const Node& b) {
  return a.name == b.name && a.type == b.type && a.mode == b.mode &&
         same_instant(a.mtime, b.mtime) && same_instant(a.atime, b.atime) &&
         same_instant(a.ctime, b.ctime) && a.uid == b.uid && a.gid == b.gid && a.user == b.user &&
         a.group == b.group && a.inode == b.inode && a.device_id == b.device_id &&
         a.size == b.size && a.links == b.links && a.linktarget == b.linktarget &&
         a.device == b.device && a.content == b.content && same_xattrs(a, b) &&
         a.subtree == b.subtree && a.error == b.error;
}

base::StatusOr<DiffResult> diff_trees(repo::Repository& repo, const Id& before, const Id& after,
                                      const DiffOptions& opts,
                                      const std::function<void(const DiffChange&)>& on_change) {
  Differ d(repo, opts, on_change);
  return d.run(before, after);
}

}  // namespace kura::ops
