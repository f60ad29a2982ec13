#include "ops/walk.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "base/thread_pool.h"
#include "repo/mode.h"
#include "repo/tree.h"

namespace kura::ops {
namespace {

using repo::Id;
using repo::Node;
using repo::NodeType;

void sort_by_name(std::vector<Node>& nodes) {
  std::stable_sort(nodes.begin(), nodes.end(),
                   [](const Node& a, const Node& b) { return a.name < b.name; });
}

// ---- TreeLoader: trees loaded ahead of an in-order walk ----

// The walk announces the subtrees of a directory as it enters it; they are loaded on the pool,
// nearest-needed first (a stack, so a directory's own children come before its later
// siblings), and handed over by get(). A tree nobody asked for ahead is loaded by get() itself.
class TreeLoader {
 public:
  TreeLoader(repo::Repository& repo, int threads, size_t max_ahead)
      : repo_(repo), threads_(threads), max_ahead_(max_ahead), pool_(threads) {}

  ~TreeLoader() {
    std::unique_lock<std::mutex> l(mu_);
    stopping_ = true;
    cv_.wait(l, [&] { return in_flight_ == 0; });
  }

  // `ids` in the order the walk will need them.
  void prefetch(const std::vector<Id>& ids) {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
      auto found = slots_.find(*it);
      if (found != slots_.end()) {
        ++found->second->wanted;
        continue;
      }
      if (slots_.size() >= max_ahead_) continue;
      auto slot = std::make_shared<Slot>();
      slot->id = *it;
      slot->wanted = 1;
      slots_.emplace(*it, slot);
      stack_.push_back(slot);
    }
    start_more();
  }

  base::StatusOr<std::vector<Node>> get(const Id& id) {
    std::shared_ptr<Slot> slot;
    {
      std::unique_lock<std::mutex> l(mu_);
      auto found = slots_.find(id);
      if (found != slots_.end()) {
        slot = found->second;
        if (!slot->started) {
          slot->started = true;  // load it here, now; the stack entry is skipped later
        } else {
          cv_.wait(l, [&] { return slot->done; });
          return take(slot);
        }
      }
    }
    auto nodes = load_tree(repo_, id);
    if (!slot) return nodes;
    std::lock_guard<std::mutex> l(mu_);
    slot->done = true;
    slot->result = std::move(nodes);
    return take(slot);
  }

  // The walk will not need `id` (once) after all.
  void forget(const Id& id) {
    std::lock_guard<std::mutex> l(mu_);
    auto found = slots_.find(id);
    if (found == slots_.end()) return;
    if (--found->second->wanted == 0 && (found->second->done || !found->second->started)) {
      slots_.erase(found);
    }
  }

 private:
  struct Slot {
    Id id;
    int wanted = 0;
    bool started = false, done = false;
    base::StatusOr<std::vector<Node>> result = base::internal_error("tree not loaded");
  };

  // Called with mu_ held.
  base::StatusOr<std::vector<Node>> take(const std::shared_ptr<Slot>& slot) {
    if (--slot->wanted <= 0) {
      slots_.erase(slot->id);
      return std::move(slot->result);
    }
    return slot->result;
  }

  // Called with mu_ held.
  void start_more() {
    while (!stopping_ && in_flight_ < threads_ && !stack_.empty()) {
      std::shared_ptr<Slot> slot = stack_.back();
      stack_.pop_back();
      auto live = slots_.find(slot->id);
      if (slot->started || live == slots_.end() || live->second != slot) continue;
      slot->started = true;
      ++in_flight_;
      pool_.submit([this, slot] {
        auto nodes = load_tree(repo_, slot->id);
        std::lock_guard<std::mutex> l(mu_);
        slot->done = true;
        slot->result = std::move(nodes);
        --in_flight_;
        if (slot->wanted <= 0) {
          auto live = slots_.find(slot->id);
          if (live != slots_.end() && live->second == slot) slots_.erase(live);
        }
        cv_.notify_all();
        start_more();
      });
    }
  }

  repo::Repository& repo_;
  int threads_;
  size_t max_ahead_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<Id, std::shared_ptr<Slot>, repo::IdHash> slots_;
  std::vector<std::shared_ptr<Slot>> stack_;
  int in_flight_ = 0;
  bool stopping_ = false;
  base::ThreadPool pool_;  // last: joined first, while the members above still exist
};

base::Status walk_loaded(TreeLoader& loader, const Id& tree_id, std::vector<Node> nodes,
                         const std::string& prefix, const WalkCallbacks& cb) {
  sort_by_name(nodes);
  std::vector<Id> subtrees;
  for (const Node& n : nodes) {
    if (n.type == NodeType::kDir && n.subtree) subtrees.push_back(*n.subtree);
  }
  loader.prefetch(subtrees);
  size_t next_subtree = 0;
  for (const Node& n : nodes) {
    std::string path = prefix + "/" + n.name;
    WalkItem item{path, n, tree_id};
    bool is_dir = n.type == NodeType::kDir;
    if (is_dir && !n.subtree) {
      // Keep the prefetch bookkeeping in step before bailing out.
      for (size_t i = next_subtree; i < subtrees.size(); ++i) loader.forget(subtrees[i]);
      return base::data_loss("dir " + path + " in tree " + tree_id.hex() + " has no subtree");
    }
    auto v = cb.visit(item);
    if (!v.ok()) {
      for (size_t i = next_subtree; i < subtrees.size(); ++i) loader.forget(subtrees[i]);
      return v.status();
    }
    if (!is_dir) continue;
    ++next_subtree;
    if (*v == Visit::kSkip) {
      loader.forget(*n.subtree);
      continue;
    }
    auto sub = loader.get(*n.subtree);
    if (!sub.ok()) {
      base::Status st = cb.tree_error ? cb.tree_error(item, sub.status()) : sub.status();
      if (!st.ok()) {
        for (size_t i = next_subtree; i < subtrees.size(); ++i) loader.forget(subtrees[i]);
        return st;
      }
      continue;
    }
    base::Status st = walk_loaded(loader, *n.subtree, std::move(*sub), path, cb);
    if (!st.ok()) {
      for (size_t i = next_subtree; i < subtrees.size(); ++i) loader.forget(subtrees[i]);
      return st;
    }
    if (cb.leave) cb.leave(item);
  }
  return base::ok_status();
}

}  // namespace

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

// ---- walking with loads ahead ----

int io_threads(const repo::Repository& repo, int requested) {
  if (requested > 0) return requested;
  int hw = static_cast<int>(std::thread::hardware_concurrency());
  return std::max({2, repo.backend()->parallelism(), hw});
}

base::Status walk_tree_ahead(repo::Repository& repo, const Id& root, const WalkCallbacks& cb,
                             int threads, size_t max_ahead) {
  TreeLoader loader(repo, io_threads(repo, threads), std::max<size_t>(max_ahead, 1));
  ASSIGN_OR_RETURN(auto nodes, load_tree(repo, root));
  return walk_loaded(loader, root, std::move(nodes), "", cb);
}

base::Status visit_trees(
    repo::Repository& repo, const std::vector<Id>& roots, IdSet* seen,
    const std::function<bool(const Id&, const std::vector<Node>&)>& visit, int threads) {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::pair<Id, base::StatusOr<std::vector<Node>>>> done;
  };
  auto shared = std::make_shared<Shared>();
  int limit = io_threads(repo, threads);
  std::vector<Id> todo;
  for (const Id& r : roots) {
    if (seen->insert(r).second) todo.push_back(r);
  }
  base::Status result;
  int in_flight = 0;
  {
    base::ThreadPool pool(limit);
    bool stop = false;
    while (true) {
      while (!stop && in_flight < 2 * limit && !todo.empty()) {
        Id id = todo.back();
        todo.pop_back();
        ++in_flight;
        pool.submit([&repo, shared, id] {
          auto nodes = load_tree(repo, id);
          std::lock_guard<std::mutex> l(shared->mu);
          shared->done.emplace_back(id, std::move(nodes));
          shared->cv.notify_one();
        });
      }
      if (in_flight == 0) break;
      std::unique_lock<std::mutex> l(shared->mu);
      shared->cv.wait(l, [&] { return !shared->done.empty(); });
      auto [id, nodes] = std::move(shared->done.front());
      shared->done.pop_front();
      l.unlock();
      --in_flight;
      if (stop) continue;  // draining
      if (!nodes.ok()) {
        result = nodes.status();
        stop = true;
        continue;
      }
      for (const Node& n : *nodes) {
        if (n.type == NodeType::kDir && n.subtree && seen->insert(*n.subtree).second) {
          todo.push_back(*n.subtree);
        }
      }
      if (!visit(id, *nodes)) stop = true;
    }
  }
  return result;
}

// ---- showing nodes ----

std::string go_file_mode_string(uint32_t m) {
  static const char kTypes[] = "dalTLDpSugct?";
  std::string s;
  for (int i = 0; kTypes[i]; ++i) {
    if (m & (1u << (31 - i))) s += kTypes[i];
  }
  if (s.empty()) s = "-";
  static const char kRwx[] = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s += (m & (1u << (8 - i))) ? kRwx[i] : '-';
  return s;
}

uint32_t display_mode(const Node& n) {
  uint32_t t = 0;
  switch (n.type) {
    case NodeType::kDir: t = repo::kGoModeDir; break;
    case NodeType::kSymlink: t = repo::kGoModeSymlink; break;
    case NodeType::kDev: t = repo::kGoModeDevice; break;
    case NodeType::kCharDev: t = repo::kGoModeDevice | repo::kGoModeCharDevice; break;
    case NodeType::kFifo: t = repo::kGoModeNamedPipe; break;
    case NodeType::kSocket: t = repo::kGoModeSocket; break;
    default: break;
  }
  return t | n.mode;
}

}  // namespace kura::ops
