#include "ops/backup.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <memory>
#include <thread>

#include "base/log.h"
#include "base/thread_pool.h"
#include "chunker/chunker.h"
#include "ops/snapshots.h"
#include "ops/walk.h"
#include "repo/gojson.h"
#include "repo/mode.h"
#include "repo/node_from_stat.h"
#include "repo/tree.h"

namespace kura::ops {
namespace {

using repo::BlobType;
using repo::Id;
using repo::Node;
using repo::NodeType;

// Holds the longest chunk (chunker::kMaxSize, 8 MiB) plus room for the next read.
constexpr size_t kReadBufferSize = 9 * 1024 * 1024;
// Files at least this large hand their chunks to the compression pool.
constexpr uint64_t kHandOffFileSize = 4 * 1024 * 1024;
constexpr size_t kMaxChunkBytesInFlight = 32 * 1024 * 1024;
constexpr size_t kSpareChunks = 8;
constexpr std::string_view kCacheTagSignature = "Signature: 8a477f597d28d172789f06886806bc55";

// One directory being backed up. Children's nodes are sized before file jobs start, so jobs
// can fill node.content in place.
struct Dir {
  std::string path;
  std::vector<Node> nodes;
  std::vector<char> failed;                              // per node: drop it (read error)
  std::vector<std::pair<size_t, std::unique_ptr<Dir>>> subdirs;  // node index -> dir
  std::optional<Id> parent_tree;
  std::vector<Node> parent_nodes;  // sorted by name
  Id tree_id;                      // set by finish_one
  bool virtual_dir = false;        // a path component above a target
  std::vector<char> is_target;     // virtual dirs: node i is a target given by the user
  std::vector<std::string> child_paths;  // virtual dirs: where node i is on disk
};

const Node* find_by_name(const std::vector<Node>& nodes, const std::string& name) {
  auto it = std::lower_bound(nodes.begin(), nodes.end(), name,
                             [](const Node& n, const std::string& s) { return n.name < s; });
  if (it != nodes.end() && it->name == name) return &*it;
  return nullptr;
}

bool same_time(const repo::NodeTime& a, const repo::NodeTime& b) {
  return a.sec == b.sec && a.nsec == b.nsec;
}

class Archiver {
 public:
  Archiver(repo::Repository& repo, base::Env& env, const BackupOptions& opts,
           BackupProgress* progress, BackupObserver* observer)
      : repo_(repo),
        env_(env),
        opts_(opts),
        progress_(progress ? progress : &own_progress_),
        observer_(observer),
        tables_(chunker::Tables::get(repo.config().chunker_polynomial)),
        pool_(opts.threads > 0 ? opts.threads
                               : std::max(2, static_cast<int>(std::thread::hardware_concurrency()))),
        group_(&pool_),
        chunk_pool_(pool_.size()),
        chunk_group_(&chunk_pool_) {
    node_opts_.with_atime = opts.with_atime;
  }

  // Tasks still running refer to members: let them finish before anything is destroyed.
  ~Archiver() {
    group_.wait().ignore();
    chunk_group_.wait().ignore();
  }

  base::StatusOr<BackupResult> run();

 private:
  void report(const std::string& path, const base::Status& st) {
    progress_->errors++;
    {
      std::lock_guard<std::mutex> l(err_mu_);
      errors_.push_back({path, st.message()});
    }
    if (observer_) observer_->on_error(path, st);
  }

  // Sorted by name for find_by_name (trees written by other tools need not be).
  base::StatusOr<std::vector<Node>> load_tree(const Id& id) {
    ASSIGN_OR_RETURN(auto nodes, ops::load_tree(repo_, id));
    std::sort(nodes.begin(), nodes.end(),
              [](const Node& a, const Node& b) { return a.name < b.name; });
    return nodes;
  }

  using TreeFuture = std::shared_future<base::StatusOr<std::vector<Node>>>;

  // Loads and decodes a parent tree on the tree pool, so the walk finds it ready.
  TreeFuture prefetch_tree(const Id& id) {
    auto task = std::make_shared<std::packaged_task<base::StatusOr<std::vector<Node>>()>>(
        [this, id] { return load_tree(id); });
    TreeFuture f = task->get_future().share();
    tree_pool_.submit([task] { (*task)(); });
    return f;
  }

  static const Node* parent_dir_node(const Node* n) {
    return n && n->type == NodeType::kDir && n->subtree ? n : nullptr;
  }

  void attach_parent(Dir& d, const Node* parent_node, const TreeFuture* prefetched = nullptr) {
    parent_node = parent_dir_node(parent_node);
    if (!parent_node) return;
    auto nodes = prefetched && prefetched->valid() ? prefetched->get() : load_tree(*parent_node->subtree);
    if (!nodes.ok()) {
      // A damaged parent only costs speed: read everything below.
      spdlog::warn("parent tree {}: {}", parent_node->subtree->short_hex(), nodes.status().message());
      return;
    }
    d.parent_tree = parent_node->subtree;
    d.parent_nodes = std::move(*nodes);
  }

  bool excluded(const std::string& abs_path, const base::FileInfo& info) {
    if (opts_.excludes && opts_.excludes->matches(abs_path)) return true;
    if (info.type == base::FileType::kDir) {
      if (opts_.one_file_system &&
          std::find(devices_.begin(), devices_.end(), info.device) == devices_.end()) {
        return true;
      }
      if (opts_.exclude_caches) {
        auto tag = env_.open_read(base::path_join(abs_path, "CACHEDIR.TAG"));
        if (tag.ok()) {
          uint8_t buf[kCacheTagSignature.size()];
          auto n = (*tag)->read_at(0, buf);
          if (n.ok() && *n == sizeof buf && base::as_chars(buf) == kCacheTagSignature) return true;
        }
      }
    }
    return false;
  }

  std::string abs_of(const std::string& path) {
    if (!path.empty() && path[0] == '/') return path;
    return clean_path(base::path_join(cwd_, path));
  }

  // Fills d.nodes from the directory's entries and recurses into subdirectories.
  void walk(Dir& d);
  void add_entry(Dir& d, const std::string& name, const std::string& full,
                 const base::FileInfo& info);
  void schedule_file(Dir& d, size_t i, const std::string& path);
  base::Status save_file(const std::string& path, Node& node);
  base::Status save_stream(base::ReadableFile& f, const std::string& path, Node& node);
  base::Status emit_chunk(base::ByteSpan chunk, Node& node);
  // Writes the trees bottom-up, each level's directories in parallel; returns the root's id.
  base::StatusOr<Id> finish(Dir& root);
  base::Status finish_one(Dir& d);
  base::Status place_target(Dir& root, const std::string& target);
  void start_virtual(Dir& d);

  repo::Repository& repo_;
  base::Env& env_;
  const BackupOptions& opts_;
  BackupProgress own_progress_;
  BackupProgress* progress_;
  BackupObserver* observer_;
  std::shared_ptr<const chunker::Tables> tables_;
  base::ThreadPool pool_;
  base::TaskGroup group_;
  // Compression and encryption of the chunks of large files, so one big file keeps every
  // core busy while its reader goes on chunking and hashing.
  base::ThreadPool chunk_pool_;
  base::TaskGroup chunk_group_;
  std::mutex chunk_mu_;
  size_t chunk_bytes_in_flight_ = 0;
  std::vector<base::Bytes> spare_chunks_;  // guarded by chunk_mu_
  repo::NameCache names_;
  repo::NodeFromStatOptions node_opts_;
  std::vector<uint64_t> devices_;  // --one-file-system: the targets' file systems
  std::string cwd_;

  std::mutex err_mu_;
  std::vector<BackupError> errors_;

  std::atomic<uint64_t> files_new_{0}, files_changed_{0}, files_unmodified_{0};
  std::atomic<uint64_t> data_blobs_{0}, data_added_{0}, tree_blobs_{0};
  std::atomic<uint64_t> dirs_new_{0}, dirs_changed_{0}, dirs_unmodified_{0};

  std::mutex dry_mu_;
  std::unordered_set<Id, repo::IdHash> dry_seen_;

  // Last member: destroyed first, so queued prefetches finish while everything they use lives.
  base::ThreadPool tree_pool_{2};
};

void Archiver::add_entry(Dir& d, const std::string& name, const std::string& full,
                         const base::FileInfo& info) {
  auto node = repo::node_from_lstat(env_, full, name, info, names_, node_opts_);
  if (!node.ok()) {
    report(full, node.status());
    return;
  }
  d.nodes.push_back(std::move(*node));
}

void Archiver::walk(Dir& d) {
  auto entries = env_.list_dir(d.path);
  if (!entries.ok()) {
    report(d.path, entries.status());
    return;
  }
  std::sort(entries->begin(), entries->end(),
            [](const base::DirEntry& a, const base::DirEntry& b) { return a.name < b.name; });
  d.nodes.reserve(entries->size());
  std::string abs_dir = abs_of(d.path);
  for (const auto& e : *entries) {
    std::string full = base::path_join(d.path, e.name);
    auto info = env_.lstat(full);
    if (!info.ok()) {
      report(full, info.status());
      continue;
    }
    // restic never stores sockets: they cannot be restored meaningfully.
    if (info->type == base::FileType::kSocket) continue;
    if (excluded(base::path_join(abs_dir, e.name), *info)) continue;
    add_entry(d, e.name, full, *info);
  }
  d.failed.assign(d.nodes.size(), 0);
  // The parent trees of all subdirectories load on the tree pool while this thread walks the
  // first of them.
  std::vector<TreeFuture> prefetched(d.nodes.size());
  for (size_t i = 0; i < d.nodes.size(); ++i) {
    if (d.nodes[i].type != NodeType::kDir) continue;
    if (const Node* old = parent_dir_node(find_by_name(d.parent_nodes, d.nodes[i].name))) {
      prefetched[i] = prefetch_tree(*old->subtree);
    }
  }
  for (size_t i = 0; i < d.nodes.size(); ++i) {
    Node& n = d.nodes[i];
    if (n.type == NodeType::kFile) {
      schedule_file(d, i, base::path_join(d.path, n.name));
    } else if (n.type == NodeType::kDir) {
      auto sub = std::make_unique<Dir>();
      sub->path = base::path_join(d.path, n.name);
      attach_parent(*sub, find_by_name(d.parent_nodes, n.name), &prefetched[i]);
      prefetched[i] = {};
      walk(*sub);
      d.subdirs.emplace_back(i, std::move(sub));
    }
  }
  // Everything reused from the parent is copied by now.
  std::vector<Node>().swap(d.parent_nodes);
}

void Archiver::schedule_file(Dir& d, size_t i, const std::string& path) {
  Node& n = d.nodes[i];
  progress_->total_files++;
  progress_->total_bytes += n.size;
  const Node* old = opts_.force ? nullptr : find_by_name(d.parent_nodes, n.name);
  if (old && old->type == NodeType::kFile && same_time(old->mtime, n.mtime) &&
      same_time(old->ctime, n.ctime) && old->size == n.size && old->inode == n.inode) {
    bool all_known = true;
    for (const Id& id : old->content) {
      if (!repo_.has_blob(BlobType::kData, id)) {
        all_known = false;
        break;
      }
    }
    if (all_known) {
      n.content = old->content;
      files_unmodified_++;
      progress_->files_done++;
      progress_->bytes_done += n.size;
      return;
    }
  }
  (old ? files_changed_ : files_new_)++;
  char* failed = &d.failed[i];
  group_.run([this, path, &n, failed]() -> base::Status {
    base::Status st = save_file(path, n);
    progress_->files_done++;
    if (st.ok()) return st;
    // A source file that cannot be read is reported and left out; a repository error ends
    // the backup.
    if (st.code() == base::Code::kPermissionDenied || st.code() == base::Code::kNotFound ||
        st.code() == base::Code::kDataLoss || st.code() == base::Code::kInvalidArgument) {
      if (st.message().find(path) != std::string::npos) {
        report(path, st);
        *failed = 1;
        return base::ok_status();
      }
    }
    return st;
  });
}

base::Status Archiver::emit_chunk(base::ByteSpan chunk, Node& node) {
  Id id = repo::hash_id(chunk);
  node.content.push_back(id);
  progress_->bytes_done += chunk.size();
  if (opts_.dry_run) {
    if (repo_.has_blob(BlobType::kData, id)) return base::ok_status();
    std::lock_guard<std::mutex> l(dry_mu_);
    if (dry_seen_.insert(id).second) {
      data_blobs_++;
      data_added_ += chunk.size();
    }
    return base::ok_status();
  }
  if (node.size >= kHandOffFileSize && !repo_.has_blob(BlobType::kData, id)) {
    bool hand_off = false;
    {
      std::lock_guard<std::mutex> l(chunk_mu_);
      if (chunk_bytes_in_flight_ + chunk.size() <= kMaxChunkBytesInFlight) {
        chunk_bytes_in_flight_ += chunk.size();
        hand_off = true;
      }
    }
    // Over the memory bound the reader compresses the chunk itself: never blocks, so no
    // deadlock between readers and compressors.
    if (hand_off) {
      auto copy = std::make_shared<base::Bytes>();
      {
        // Reuse the buffers of chunks already saved: the same few pages, no allocator churn
        // across threads.
        std::lock_guard<std::mutex> l(chunk_mu_);
        if (!spare_chunks_.empty()) {
          *copy = std::move(spare_chunks_.back());
          spare_chunks_.pop_back();
        }
      }
      copy->assign(chunk.begin(), chunk.end());
      chunk_group_.run([this, id, copy]() -> base::Status {
        auto added = repo_.save_blob(BlobType::kData, id, *copy);
        {
          std::lock_guard<std::mutex> l(chunk_mu_);
          chunk_bytes_in_flight_ -= copy->size();
          if (spare_chunks_.size() < kSpareChunks) spare_chunks_.push_back(std::move(*copy));
        }
        if (!added.ok()) return added.status();
        if (*added) {
          data_blobs_++;
          data_added_ += copy->size();
        }
        return base::ok_status();
      });
      return base::ok_status();
    }
  }
  ASSIGN_OR_RETURN(bool added, repo_.save_blob(BlobType::kData, id, chunk));
  if (added) {
    data_blobs_++;
    data_added_ += chunk.size();
  }
  return base::ok_status();
}

// Source read errors carry the path in their message; they are reported, not fatal.
base::Status Archiver::save_file(const std::string& path, Node& node) {
  ASSIGN_OR_RETURN(auto f, env_.open_read(path));
  ASSIGN_OR_RETURN(base::FileInfo info, f->stat());
  if (info.type != base::FileType::kFile || info.inode != node.inode) {
    return base::invalid_argument("read " + path + ": file was replaced during the backup");
  }
  return save_stream(*f, path, node);
}

base::Status Archiver::save_stream(base::ReadableFile& f, const std::string& path, Node& node) {
  (void)path;
  node.content.clear();
  thread_local base::Bytes buf;
  thread_local std::unique_ptr<chunker::Chunker> chunker;
  thread_local std::shared_ptr<const chunker::Tables> chunker_tables;
  if (!chunker || chunker_tables != tables_) {
    chunker = std::make_unique<chunker::Chunker>(tables_);
    chunker_tables = tables_;
  }
  chunker->reset();
  buf.resize(kReadBufferSize);
  uint64_t total = 0;
  size_t start = 0, scan = 0, end = 0;
  bool eof = false;

  // Small files are one chunk: read them with one call and skip the chunker.
  if (node.size > 0 && node.size <= chunker::kMinSize) {
    ASSIGN_OR_RETURN(size_t n, f.read(base::MutableByteSpan(buf.data(), node.size + 1)));
    if (n <= chunker::kMinSize) {
      if (n > 0) RETURN_IF_ERROR(emit_chunk(base::ByteSpan(buf.data(), n), node));
      node.size = n;
      return base::ok_status();
    }
    end = n;  // it grew while we looked: chunk it normally
    total = n;
  }

  for (;;) {
    if (scan == end) {
      if (eof) break;
      if (start > 0 && buf.size() - end < (1u << 20)) {
        std::memmove(buf.data(), buf.data() + start, end - start);
        end -= start;
        scan -= start;
        start = 0;
      }
      ASSIGN_OR_RETURN(size_t n, f.read(base::MutableByteSpan(buf.data() + end, buf.size() - end)));
      if (n == 0) eof = true;
      end += n;
      total += n;
      continue;
    }
    size_t cut = chunker->next_cut(base::ByteSpan(buf.data() + scan, end - scan));
    if (cut == chunker::kNoCut) {
      scan = end;
      continue;
    }
    scan += cut;
    RETURN_IF_ERROR(emit_chunk(base::ByteSpan(buf.data() + start, scan - start), node));
    start = scan;
  }
  if (end > start) RETURN_IF_ERROR(emit_chunk(base::ByteSpan(buf.data() + start, end - start), node));
  node.size = total;
  return base::ok_status();
}

base::StatusOr<Id> Archiver::finish(Dir& root) {
  std::vector<std::vector<Dir*>> levels;
  std::vector<std::pair<Dir*, size_t>> stack{{&root, 0}};
  while (!stack.empty()) {
    auto [d, depth] = stack.back();
    stack.pop_back();
    if (levels.size() <= depth) levels.resize(depth + 1);
    levels[depth].push_back(d);
    for (auto& [i, sub] : d->subdirs) stack.emplace_back(sub.get(), depth + 1);
  }
  for (size_t k = levels.size(); k-- > 0;) {
    base::TaskGroup group(&pool_);
    for (Dir* d : levels[k]) group.run([this, d] { return finish_one(*d); });
    RETURN_IF_ERROR(group.wait());
  }
  return root.tree_id;
}

base::Status Archiver::finish_one(Dir& d) {
  for (auto& [i, sub] : d.subdirs) d.nodes[i].subtree = sub->tree_id;
  std::vector<Node> kept;
  kept.reserve(d.nodes.size());
  for (size_t i = 0; i < d.nodes.size(); ++i) {
    if (i < d.failed.size() && d.failed[i]) continue;
    kept.push_back(std::move(d.nodes[i]));
  }
  base::Bytes json = repo::encode_tree(kept);
  Id id = repo::hash_id(json);
  if (!d.virtual_dir) {
    if (!d.parent_tree) {
      dirs_new_++;
    } else if (*d.parent_tree == id) {
      dirs_unmodified_++;
    } else {
      dirs_changed_++;
    }
  }
  if (opts_.dry_run) {
    if (!repo_.has_blob(BlobType::kTree, id)) tree_blobs_++;
  } else {
    ASSIGN_OR_RETURN(bool added, repo_.save_blob(BlobType::kTree, id, json));
    if (added) tree_blobs_++;
  }
  d.tree_id = id;
  // Free memory as soon as a level is written (the children's ids are in the tree now).
  std::vector<Node>().swap(d.nodes);
  d.subdirs.clear();
  return base::ok_status();
}

// Creates the chain of directory nodes leading to a target (restic records the real metadata
// of every directory on the way: backing up /tmp/x/data gives tmp -> x -> data).
base::Status Archiver::place_target(Dir& root, const std::string& target) {
  std::string clean = clean_path(target);
  std::vector<std::string> parts;
  for (size_t i = 0; i < clean.size();) {
    size_t j = clean.find('/', i);
    if (j == std::string::npos) j = clean.size();
    std::string part = clean.substr(i, j - i);
    if (!part.empty() && part != "." && part != "..") parts.push_back(part);
    i = j + 1;
  }
  ASSIGN_OR_RETURN(base::FileInfo target_info, env_.lstat(clean));
  devices_.push_back(target_info.device);
  if (parts.empty()) {
    // "/" or ".": the target's entries become the root's.
    if (target_info.type != base::FileType::kDir) {
      return base::invalid_argument("backup target " + target + " is not a directory");
    }
    root.path = clean;
    root.virtual_dir = false;
    walk(root);
    return base::ok_status();
  }
  std::string prefix = clean[0] == '/' ? "/" : "";
  // Count the ".." we dropped so lstat sees the real path.
  if (clean[0] != '/') {
    size_t ups = 0;
    while (clean.compare(ups * 3, 3, "../") == 0 || clean.substr(ups * 3) == "..") ++ups;
    for (size_t k = 0; k < ups; ++k) prefix += "../";
  }
  Dir* d = &root;
  for (size_t k = 0; k < parts.size(); ++k) {
    prefix = base::path_join(prefix, parts[k]);
    bool last = k + 1 == parts.size();
    size_t idx = d->nodes.size();
    for (size_t i = 0; i < d->nodes.size(); ++i) {
      if (d->nodes[i].name == parts[k]) idx = i;
    }
    if (idx < d->nodes.size()) {
      if (d->is_target[idx]) return base::ok_status();  // already backed up as a whole
      if (last) {
        d->is_target[idx] = 1;
        return base::ok_status();
      }
    } else {
      ASSIGN_OR_RETURN(base::FileInfo info, env_.lstat(prefix));
      auto node = repo::node_from_lstat(env_, prefix, parts[k], info, names_, node_opts_);
      if (!node.ok()) return node.status();
      if (!last && node->type != repo::NodeType::kDir) {
        return base::invalid_argument(prefix + " is not a directory");
      }
      d->nodes.push_back(std::move(*node));
      d->is_target.push_back(last ? 1 : 0);
      d->child_paths.push_back(prefix);
      if (last) return base::ok_status();
      auto sub = std::make_unique<Dir>();
      sub->path = prefix;
      sub->virtual_dir = true;
      d->subdirs.emplace_back(idx, std::move(sub));
    }
    Dir* next = nullptr;
    for (auto& [i, sub] : d->subdirs) {
      if (i == idx) next = sub.get();
    }
    d = next;
  }
  return base::ok_status();
}

// Starts the walk below the targets once every target's chain of directories is in place.
void Archiver::start_virtual(Dir& d) {
  d.failed.assign(d.nodes.size(), 0);
  for (size_t i = 0; i < d.nodes.size(); ++i) {
    Dir* sub = nullptr;
    for (auto& [k, s] : d.subdirs) {
      if (k == i) sub = s.get();
    }
    const Node* old = find_by_name(d.parent_nodes, d.nodes[i].name);
    if (sub) {
      attach_parent(*sub, old);
      start_virtual(*sub);
      continue;
    }
    Node& n = d.nodes[i];
    const std::string& path = d.child_paths[i];
    if (n.type == NodeType::kFile) {
      schedule_file(d, i, path);
    } else if (n.type == NodeType::kDir) {
      auto walked = std::make_unique<Dir>();
      walked->path = path;
      attach_parent(*walked, old);
      walk(*walked);
      d.subdirs.emplace_back(i, std::move(walked));
    }
  }
}

base::StatusOr<BackupResult> Archiver::run() {
  BackupResult result;
  base::Timespec start = repo_.deps().clock->now();
  char cwd[4096];
  if (::getcwd(cwd, sizeof cwd)) cwd_ = cwd;

  repo::Snapshot& sn = result.snapshot;
  sn.time = {start.sec, start.nsec, repo_.deps().clock->utc_offset(start.sec)};
  sn.hostname = opts_.hostname;
  sn.username = opts_.username;
  sn.uid = opts_.uid;
  sn.gid = opts_.gid;
  sn.tags = opts_.tags;
  if (opts_.excludes) sn.excludes = opts_.excludes->originals();
  if (opts_.stdin_file) {
    sn.paths.push_back("/" + opts_.stdin_filename);
  } else {
    if (opts_.targets.empty()) return base::invalid_argument("nothing to back up: no paths given");
    for (const auto& t : opts_.targets) {
      std::string abs = abs_of(clean_path(t));
      if (std::find(sn.paths.begin(), sn.paths.end(), abs) == sn.paths.end()) sn.paths.push_back(abs);
    }
  }

  // Parent: explicit, or the newest snapshot of this host with the same paths.
  if (opts_.parent) {
    result.parent = opts_.parent;
  } else if (!opts_.force) {
    ASSIGN_OR_RETURN(auto all, load_snapshots(repo_));
    std::vector<std::string> want = sn.paths;
    std::sort(want.begin(), want.end());
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      std::vector<std::string> have = it->sn.paths;
      std::sort(have.begin(), have.end());
      if (it->sn.hostname == sn.hostname && have == want) {
        result.parent = it->id;
        break;
      }
    }
  }
  Dir root;
  root.virtual_dir = true;
  if (result.parent) {
    sn.parent = result.parent;
    ASSIGN_OR_RETURN(base::Bytes pjson, repo_.load_unpacked(backend::FileKind::kSnapshot, *result.parent));
    auto psn = repo::decode_snapshot(pjson);
    if (!psn.ok()) return psn.status().with_context("parent snapshot " + result.parent->hex());
    Node fake;
    fake.type = NodeType::kDir;
    fake.subtree = psn->tree;
    attach_parent(root, &fake);
  }

  if (opts_.stdin_file) {
    Node n;
    n.name = opts_.stdin_filename;
    n.type = NodeType::kFile;
    n.mode = 0644;
    n.mtime = n.atime = n.ctime = sn.time;
    n.uid = opts_.uid;
    n.gid = opts_.gid;
    root.nodes.push_back(std::move(n));
    root.failed.assign(1, 0);
    progress_->total_files++;
    // Unknown length: treat it as large (chunks go to the compression pool).
    root.nodes[0].size = UINT64_MAX;
    base::Status st = save_stream(*opts_.stdin_file, "stdin", root.nodes[0]);
    progress_->files_done++;
    if (!st.ok()) return st.with_context("read stdin");
    files_new_++;
  } else {
    for (const auto& t : opts_.targets) {
      base::Status st = place_target(root, t);
      if (!st.ok()) {
        if (opts_.targets.size() == 1) return st;
        report(t, st);
      }
    }
    if (root.virtual_dir) start_virtual(root);
  }
  progress_->scan_done = true;
  RETURN_IF_ERROR(group_.wait());
  RETURN_IF_ERROR(chunk_group_.wait());
  ASSIGN_OR_RETURN(sn.tree, finish(root));
  if (!opts_.dry_run) {
    RETURN_IF_ERROR(repo_.flush());
    ASSIGN_OR_RETURN(result.snapshot_id,
                     repo_.save_unpacked(backend::FileKind::kSnapshot, repo::encode_snapshot(sn)));
  }
  BackupStats& s = result.stats;
  s.files_new = files_new_;
  s.files_changed = files_changed_;
  s.files_unmodified = files_unmodified_;
  s.dirs_new = dirs_new_;
  s.dirs_changed = dirs_changed_;
  s.dirs_unmodified = dirs_unmodified_;
  s.data_blobs = data_blobs_;
  s.tree_blobs = tree_blobs_;
  s.data_added = data_added_;
  s.data_added_packed = repo_.added_packed_bytes();
  s.total_files_processed = progress_->files_done;
  s.total_bytes_processed = progress_->bytes_done;
  result.errors = std::move(errors_);
  return result;
}

}  // namespace

base::StatusOr<BackupResult> run_backup(repo::Repository& repo, base::Env& env,
                                        const BackupOptions& opts, BackupProgress* progress,
                                        BackupObserver* observer) {
  Archiver a(repo, env, opts, progress, observer);
  return a.run();
}

}  // namespace kura::ops
