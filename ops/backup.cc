#include "ops/backup.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <memory>
#include <thread>
#include <unordered_map>

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
constexpr size_t kSmallReadBufferSize = 2 * 1024 * 1024 + 1;
// The walk waits while this many jobs (files to read, trees to write) are queued: the
// directories it has listed stay in memory until their files and trees are saved.
constexpr size_t kMaxQueuedJobs = 1024;
// Scanned directories kept open so that their files are opened by name (openat), at most
// this many at once (the rest open their files by path): far below the usual limit of 1024
// descriptors, whatever the shape of the tree.
constexpr int kMaxOpenDirs = 128;
// Directories scanned while the index loads (Archiver::start_prescan), at most.
constexpr size_t kMaxPrescanDirs = 4096;
// Files at least this large hand their chunks to the compression pool.
constexpr uint64_t kHandOffFileSize = 4 * 1024 * 1024;
constexpr size_t kMaxChunkBytesInFlight = 12 * 1024 * 1024;

// Read buffers for large files, shared with the compression jobs of the chunks they hold: a
// chunk is handed off without a copy, and the buffer comes back once the reader and every
// job are done with it (reused: no page faults for fresh memory per chunk). At most `max`
// exist; get() waits beyond that. With max above the number of readers, some buffer is
// always free or held only by jobs, which finish on their own: no deadlock.
class BufferPool {
 public:
  BufferPool(size_t size, size_t max) : size_(size), max_(max) {}

  std::shared_ptr<base::Bytes> get() {
    std::unique_ptr<base::Bytes> b;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return !free_.empty() || made_ < max_; });
      if (!free_.empty()) {
        b = std::move(free_.back());
        free_.pop_back();
      } else {
        ++made_;
      }
    }
    if (!b) b = std::make_unique<base::Bytes>(size_);
    return std::shared_ptr<base::Bytes>(b.release(), [this](base::Bytes* p) { put(p); });
  }

 private:
  void put(base::Bytes* p) {
    {
      std::lock_guard<std::mutex> l(mu_);
      free_.emplace_back(p);
    }
    cv_.notify_one();
  }

  const size_t size_, max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<base::Bytes>> free_;  // guarded by mu_
  size_t made_ = 0;                                 // guarded by mu_
};

// The entries of one directory as nodes: listed, lstat'ed and turned into nodes ahead of the
// walk on the scan pool, or by the walk itself if it gets there first.
struct ScanTask {
  std::string path;
  std::atomic<bool> claimed{false};
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;         // guarded by mu
  bool unreadable = false;   // guarded by mu until done: the directory could not be listed
  std::vector<Node> nodes;   // guarded by mu until done
  std::shared_ptr<base::Directory> handle;  // guarded by mu until done; may be null
};

// One directory being backed up. Children's nodes are sized before file jobs start, so jobs
// can fill node.content in place. A walked directory's tree is written as soon as its walk,
// its file jobs and its subdirectories are done (`pending` counts them), and its nodes are
// freed then: memory follows the directories in progress, not the whole file system.
struct Dir {
  Dir* parent = nullptr;           // walked directories: the one to tell when done
  std::shared_ptr<ScanTask> scan;  // its entries, when scanned ahead
  std::atomic<size_t> pending{1};  // the walk itself, file jobs, unfinished subdirectories
  std::string path;
  std::vector<Node> nodes;
  std::shared_ptr<base::Directory> handle;  // open until its files are read; may be null
  std::vector<char> failed;                              // per node: drop it (read error)
  std::vector<std::pair<size_t, std::unique_ptr<Dir>>> subdirs;  // node index -> dir
  std::optional<Id> parent_tree;
  std::vector<Node> parent_nodes;  // sorted by name
  Id tree_id;                      // set by finish_one
  bool virtual_dir = false;        // a path component above a target
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  bool unreadable = false;         // could not be listed: left out of its parent, as restic does
  std::vector<char> is_target;     // virtual dirs: node i is a target given by the user
  std::vector<std::string> child_paths;  // virtual dirs: where node i is on disk
};

std::vector<std::string> target_parts(const std::string& clean, std::string* base);

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
  // The repository comes later (attach): the targets may be scanned while it opens.
  Archiver(base::Env& env, const BackupOptions& opts, BackupProgress* progress, BackupObserver* observer)
      : env_(env),
        opts_(opts),
        progress_(progress ? progress : &own_progress_),
        observer_(observer),
        pool_(opts.threads > 0 ? opts.threads
                               : std::max(2, static_cast<int>(std::thread::hardware_concurrency()))),
        group_(&pool_),
        chunk_pool_(pool_.size()),
        chunk_group_(&chunk_pool_),
        big_buffers_(kReadBufferSize, pool_.size() + 1) {
    node_opts_.with_atime = opts.with_atime;
    scan_node_opts_ = node_opts_;
    scan_node_opts_.file_xattrs = false;
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd)) cwd_ = cwd;
  }

  // Tasks still running refer to members: let them finish before anything is destroyed.
  ~Archiver() {
    stop_prescan();
    stop_scanner_ = true;
    if (scanner_.joinable()) scanner_.join();
    group_.wait().ignore();
    chunk_group_.wait().ignore();
  }

  void attach(repo::Repository& repo) {
    tables_ = chunker::Tables::get(repo.config().chunker_polynomial);
    std::vector<std::pair<std::string, base::Status>> held;
    {
      std::lock_guard<std::mutex> l(err_mu_);
      repo_ = &repo;
      held.swap(held_);
    }
    for (const auto& [path, st] : held) {
      if (observer_) observer_->on_error(path, st);
    }
  }
  // After attach.
  base::StatusOr<BackupResult> run();

  // Scans the target directories, depth first in the walk's order, on a thread of its own
  // until stop_prescan (at most kMaxPrescanDirs): the walk then finds those directories
  // listed and lstat'ed. Meant for the time the index takes to load, which leaves a core idle.
  void start_prescan();
  void stop_prescan();

 private:
  void report(const std::string& path, const base::Status& st) {
    progress_->errors++;
    {
      std::lock_guard<std::mutex> l(err_mu_);
      errors_.push_back({path, st.message()});
      // Found by the scan before the repository opened: told once it has (a wrong password
      // is then the only thing said).
      if (repo_ == nullptr) {
        held_.emplace_back(path, st);
        return;
      }
    }
    if (observer_) observer_->on_error(path, st);
  }

  // Sorted by name for find_by_name (trees written by other tools need not be).
  base::StatusOr<std::vector<Node>> load_tree(const Id& id) {
    ASSIGN_OR_RETURN(auto nodes, ops::load_tree(*repo_, id));
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

  // --exclude, --one-file-system (against `devices`, the targets' file systems) and
  // --exclude-larger-than for one entry.
  bool excluded(const std::string& abs_path, const base::FileInfo& info,
                const std::vector<uint64_t>& devices) const {
    if (opts_.excludes && opts_.excludes->matches(abs_path)) return true;
    if (info.type == base::FileType::kDir) {
      return opts_.one_file_system &&
             std::find(devices.begin(), devices.end(), info.device) == devices.end();
    }
    return opts_.exclude_larger_than && info.size > *opts_.exclude_larger_than;
  }

  // --exclude-if-present: the tag files of the rules that hold for directory `dir` (absolute).
  // Only entries named like every one of them stay (restic keeps the tag file itself, so the
  // folder and its tag are in the snapshot, nothing else). Warnings only when `warn`.
  std::vector<std::string> tag_files_holding(const std::string& dir, bool warn);
  static bool kept_by_tags(const std::vector<std::string>& tags, const std::string& name) {
    for (const auto& t : tags) {
      if (t != name) return false;
    }
    return true;
  }
  void warn(const std::string& message) {
    if (observer_) observer_->on_warning(message);
  }

  // A source path as restic names it in its progress: an absolute one as it is, a relative
  // one below "/" (its place in the snapshot).
  static std::string snapshot_item(const std::string& path) {
    if (!path.empty() && path[0] == '/') return path;
    return clean_path("/" + path);
  }

  std::string abs_of(const std::string& path) {
    if (!path.empty() && path[0] == '/') return path;
    return clean_path(base::path_join(cwd_, path));
  }

  // Fills d.nodes from the directory's entries and recurses into subdirectories.
  void walk(Dir& d);
  // The directory's entries as nodes, sorted by name; unreadable ones are reported. A
  // directory that cannot be listed is reported and sets *unreadable.
  // *handle gets the open directory when fewer than kMaxOpenDirs are kept open.
  std::vector<Node> scan_dir(const std::string& path, bool* unreadable,
                             std::shared_ptr<base::Directory>* handle);
  // The --stdin file (and the directories its name holds) below root.
  base::Status backup_stdin(Dir& root, const std::string& snapshot_path, const repo::NodeTime& time);
  // Counts the files and bytes below the targets for the progress display (scan_totals).
  void count_totals();
  void count_below(const std::string& path, const std::vector<uint64_t>& devices);
  std::shared_ptr<ScanTask> scan_ahead(const std::string& path);
  // The prescanned task of path, taken out of the prescan's table; null if there is none.
  std::shared_ptr<ScanTask> take_prescanned(const std::string& path);
  void prescan(const std::string& path);
  void run_scan(ScanTask& t);
  // `xattrs_pending`: the node came from scan_dir, which leaves a file's extended attributes
  // to be read here (through the open file, or from an unchanged parent node).
  void schedule_file(Dir& d, size_t i, const std::string& path, bool xattrs_pending);
  // `dir`, when not null, is the open directory holding the file (named node.name there).
  // `tally`, when set, receives the file's new data (BackupOptions::report_items).
  base::Status save_file(const std::string& path, Node& node, bool xattrs_pending,
                         base::Directory* dir, BackupItem* tally);
  base::Status save_stream(base::ReadableFile& f, const std::string& path, Node& node,
                           BackupItem* tally);
  // `owner`, if set, holds `chunk`: the chunk may then be compressed by another thread, which
  // keeps the buffer until it is done (save_stream sets it for large files only).
  base::Status emit_chunk(base::ByteSpan chunk, Node& node,
                          const std::shared_ptr<base::Bytes>& owner, BackupItem* tally);
  void report_item(BackupItem item) {
    if (observer_) observer_->on_item(item);
  }
  // One task of d (its walk, a file job, a subdirectory) is done; the last one writes d's tree
  // and passes the news up.
  void release(Dir& d);
  // The same from the walk: the tree is written on the pool, so the walk goes on.
  void release_from_walk(Dir& d);
  void complete(Dir& d);
  // The walk's side of the bound on queued jobs (files to save, trees to write); the job
  // calls leave_queue() when it starts.
  void enter_queue();
  void leave_queue();
  // Writes the trees of the directories above the targets, bottom-up; returns the root's id.
  base::StatusOr<Id> finish(Dir& root);
  base::Status finish_one(Dir& d);
  base::Status place_target(Dir& root, const std::string& target);
  void start_virtual(Dir& d);
  bool target_excluded(const std::string& path, const Node& n);

  repo::Repository* repo_ = nullptr;  // set by attach, before run
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
  BufferPool big_buffers_;  // read buffers for files larger than the small one
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  size_t queued_jobs_ = 0;  // guarded by queue_mu_: scheduled, not started
  repo::NameCache names_;
  repo::NodeFromStatOptions node_opts_;
  repo::NodeFromStatOptions scan_node_opts_;  // node_opts_, files' xattrs left to schedule_file
  std::vector<uint64_t> devices_;  // --one-file-system: the targets' file systems
  std::string cwd_;
  const Dir* root_ = nullptr;

  std::mutex err_mu_;
  std::vector<BackupError> errors_;
  std::vector<std::pair<std::string, base::Status>> held_;  // reported before attach
  base::Status tree_error_;  // guarded by err_mu_: the first failed tree write

  std::atomic<uint64_t> files_new_{0}, files_changed_{0}, files_unmodified_{0};
  std::atomic<uint64_t> data_blobs_{0}, data_added_{0}, tree_blobs_{0};
  // scan_totals: counts the totals ahead of the walk (which then leaves them alone).
  std::thread scanner_;
  std::atomic<bool> stop_scanner_{false};
  std::atomic<int> open_dirs_{0};  // scanned directories kept open (see kMaxOpenDirs)
  std::thread prescanner_;
  std::atomic<bool> stop_prescan_{false};
  std::mutex prescan_mu_;
  std::unordered_map<std::string, std::shared_ptr<ScanTask>> prescanned_;  // by path
  size_t prescan_count_ = 0;  // the prescanner's own
  std::atomic<uint64_t> dirs_new_{0}, dirs_changed_{0}, dirs_unmodified_{0};

  std::mutex dry_mu_;
  std::unordered_set<Id, repo::IdHash> dry_seen_, dry_trees_seen_;

  // Last members: destroyed first, so queued prefetches finish while everything they use lives.
  base::ThreadPool tree_pool_{2};
  base::ThreadPool scan_pool_{2};
};

std::vector<Node> Archiver::scan_dir(const std::string& path, bool* unreadable,
                                     std::shared_ptr<base::Directory>* handle) {
  std::vector<Node> nodes;
  *unreadable = true;
  // Entries are looked up relative to the open directory: one path component each, not the
  // whole path again (lookups were the largest part of a no-change backup's system time).
  auto dir = env_.open_directory(path);
  if (!dir.ok()) {
    report(path, dir.status());
    return nodes;
  }
  auto entries = (*dir)->list();
  if (!entries.ok()) {
    report(path, entries.status());
    return nodes;
  }
  *unreadable = false;
  std::sort(entries->begin(), entries->end(),
            [](const base::DirEntry& a, const base::DirEntry& b) { return a.name < b.name; });
  nodes.reserve(entries->size());
  std::string abs_dir = abs_of(path);
  std::vector<std::string> tags = tag_files_holding(abs_dir, true);
  for (const auto& e : *entries) {
    if (!kept_by_tags(tags, e.name)) continue;
    std::string full = base::path_join(path, e.name);
    auto info = (*dir)->lstat(e.name);
    if (!info.ok()) {
      report(full, info.status());
      continue;
    }
    // restic never stores sockets: they cannot be restored meaningfully.
    if (info->type == base::FileType::kSocket) continue;
    if (excluded(base::path_join(abs_dir, e.name), *info, devices_)) continue;
    auto node = repo::node_from_lstat(env_, full, e.name, *info, names_, scan_node_opts_);
    if (!node.ok()) {
      report(full, node.status());
      continue;
    }
    nodes.push_back(std::move(*node));
  }
  if (open_dirs_.fetch_add(1) < kMaxOpenDirs) {
    *handle = std::shared_ptr<base::Directory>(dir->release(), [this](base::Directory* d) {
      delete d;
      open_dirs_--;
    });
  } else {
    open_dirs_--;
  }
  return nodes;
}

std::vector<std::string> Archiver::tag_files_holding(const std::string& dir, bool warn_user) {
  std::vector<std::string> tags;
  for (const ExcludeIfPresent& rule : opts_.exclude_if_present) {
    std::string tag = base::path_join(dir, rule.name);
    auto info = env_.lstat(tag);
    if (!info.ok()) {
      if (info.status().code() != base::Code::kNotFound && warn_user) {
        warn("could not access exclusion tagfile: " + info.status().message());
      }
      continue;
    }
    if (rule.header.empty()) {
      tags.push_back(rule.name);
      continue;
    }
    // restic reads the header from the start of the tag file; a short or different one only
    // earns a warning, and the directory is backed up.
    auto f = env_.open_read(tag);
    if (!f.ok()) {
      if (warn_user) warn("could not open exclusion tagfile: " + f.status().message());
      continue;
    }
    std::string head(rule.header.size(), '\0');
    auto n = (*f)->read_at(0, base::MutableByteSpan(reinterpret_cast<uint8_t*>(head.data()), head.size()));
    if (!n.ok()) {
      if (warn_user) warn("could not read signature from exclusion tagfile \"" + tag + "\": " + n.status().message());
      continue;
    }
    if (*n < head.size()) {
      if (warn_user) warn("invalid (too short) signature in exclusion tagfile \"" + tag + "\"");
      continue;
    }
    if (head != rule.header) {
      if (warn_user) warn("invalid signature in exclusion tagfile \"" + tag + "\"");
      continue;
    }
    tags.push_back(rule.name);
  }
  return tags;
}

void Archiver::count_below(const std::string& path, const std::vector<uint64_t>& devices) {
  auto dir = env_.open_directory(path);
  base::StatusOr<std::vector<base::DirEntry>> entries =
      dir.ok() ? (*dir)->list() : base::StatusOr<std::vector<base::DirEntry>>(dir.status());
  if (!entries.ok()) {
    if (observer_) observer_->on_scan_error(abs_of(path), entries.status());
    return;
  }
  std::string abs_dir = abs_of(path);
  std::vector<std::string> tags = tag_files_holding(abs_dir, false);
  for (const auto& e : *entries) {
    if (stop_scanner_) return;
    if (!kept_by_tags(tags, e.name)) continue;
    auto info = (*dir)->lstat(e.name);
    if (!info.ok() || excluded(base::path_join(abs_dir, e.name), *info, devices)) continue;
    if (info->type == base::FileType::kDir) {
      count_below(base::path_join(path, e.name), devices);
    } else if (info->type == base::FileType::kFile) {
      progress_->total_files++;
      progress_->total_bytes += info->size;
    }
  }
}

void Archiver::count_totals() {
  auto start = std::chrono::steady_clock::now();
  std::vector<uint64_t> devices;
  std::vector<std::pair<std::string, base::FileInfo>> targets;
  for (const auto& t : opts_.targets) {
    std::string clean = clean_path(t);
    auto info = env_.lstat(clean);
    if (!info.ok()) continue;
    devices.push_back(info->device);
    targets.emplace_back(clean, *info);
  }
  for (const auto& [path, info] : targets) {
    if (stop_scanner_) return;
    if (info.type == base::FileType::kDir) {
      count_below(path, devices);
    } else if (info.type == base::FileType::kFile) {
      progress_->total_files++;
      progress_->total_bytes += info.size;
    }
  }
  progress_->scan_done = true;
  if (observer_) {
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    observer_->on_scan_finished(took.count(), progress_->total_files, progress_->total_bytes);
  }
}

void Archiver::run_scan(ScanTask& t) {
  if (t.claimed.exchange(true)) return;
  bool unreadable = false;
  std::shared_ptr<base::Directory> handle;
  std::vector<Node> nodes = scan_dir(t.path, &unreadable, &handle);
  std::lock_guard<std::mutex> l(t.mu);
  t.nodes = std::move(nodes);
  t.handle = std::move(handle);
  t.unreadable = unreadable;
  t.done = true;
  t.cv.notify_all();
}

std::shared_ptr<ScanTask> Archiver::take_prescanned(const std::string& path) {
  std::lock_guard<std::mutex> l(prescan_mu_);
  if (prescanned_.empty()) return nullptr;
  auto it = prescanned_.find(path);
  if (it == prescanned_.end()) return nullptr;
  auto t = std::move(it->second);
  prescanned_.erase(it);
  return t;
}

void Archiver::prescan(const std::string& path) {
  if (stop_prescan_ || prescan_count_ >= kMaxPrescanDirs) return;
  ++prescan_count_;
  auto t = std::make_shared<ScanTask>();
  t->path = path;
  {
    std::lock_guard<std::mutex> l(prescan_mu_);
    prescanned_.emplace(path, t);
  }
  run_scan(*t);  // if the walk claimed it first, wait for its result
  std::vector<std::string> subdirs;
  {
    std::unique_lock<std::mutex> l(t->mu);
    t->cv.wait(l, [&] { return t->done; });
    for (const Node& n : t->nodes) {
      if (n.type == NodeType::kDir) subdirs.push_back(n.name);
    }
  }
  for (const auto& name : subdirs) prescan(base::path_join(path, name));
}

void Archiver::start_prescan() {
  // Not where a directory's scan depends on what only the walk knows: the devices of
  // --one-file-system and the tag files of --exclude-if-present (warned about once).
  if (opts_.stdin_file || opts_.one_file_system || !opts_.exclude_if_present.empty()) return;
  std::vector<std::string> dirs;
  for (const auto& target : opts_.targets) {
    std::string clean = clean_path(target);
    std::string path;
    std::vector<std::string> parts = target_parts(clean, &path);
    if (parts.empty()) path = clean;
    for (const auto& part : parts) path = base::path_join(path, part);
    auto info = env_.lstat(path);
    if (!info.ok() || info->type != base::FileType::kDir) continue;
    if (opts_.excludes && opts_.excludes->matches(abs_of(clean))) continue;
    dirs.push_back(path);
  }
  if (dirs.empty()) return;
  prescanner_ = std::thread([this, dirs] {
    for (const auto& d : dirs) prescan(d);
  });
}

void Archiver::stop_prescan() {
  stop_prescan_ = true;
  if (prescanner_.joinable()) prescanner_.join();
}

std::shared_ptr<ScanTask> Archiver::scan_ahead(const std::string& path) {
  if (auto t = take_prescanned(path)) return t;
  auto t = std::make_shared<ScanTask>();
  t->path = path;
  scan_pool_.submit([this, t] { run_scan(*t); });
  return t;
}

void Archiver::walk(Dir& d) {
  if (!d.scan) d.scan = take_prescanned(d.path);
  if (d.scan) {
    run_scan(*d.scan);  // not started yet: scan it here rather than wait for the pool
    std::unique_lock<std::mutex> l(d.scan->mu);
    d.scan->cv.wait(l, [&] { return d.scan->done; });
    d.nodes = std::move(d.scan->nodes);
    d.unreadable = d.scan->unreadable;
    d.handle = std::move(d.scan->handle);
    l.unlock();
    d.scan.reset();
  } else {
    d.nodes = scan_dir(d.path, &d.unreadable, &d.handle);
  }
  d.failed.assign(d.nodes.size(), 0);
  // The parent trees of all subdirectories load on the tree pool while this thread walks the
  // first of them.
  std::vector<TreeFuture> prefetched(d.nodes.size());
  std::vector<std::shared_ptr<ScanTask>> scans(d.nodes.size());
  for (size_t i = 0; i < d.nodes.size(); ++i) {
    if (d.nodes[i].type != NodeType::kDir) continue;
    scans[i] = scan_ahead(base::path_join(d.path, d.nodes[i].name));
    if (const Node* old = parent_dir_node(find_by_name(d.parent_nodes, d.nodes[i].name))) {
      prefetched[i] = prefetch_tree(*old->subtree);
    }
  }
  for (size_t i = 0; i < d.nodes.size(); ++i) {
    Node& n = d.nodes[i];
    if (n.type == NodeType::kFile) {
      schedule_file(d, i, base::path_join(d.path, n.name), /*xattrs_pending=*/true);
    } else if (n.type == NodeType::kDir) {
      auto sub = std::make_unique<Dir>();
      sub->path = base::path_join(d.path, n.name);
      sub->parent = &d;
      sub->scan = std::move(scans[i]);
      d.pending++;
      attach_parent(*sub, find_by_name(d.parent_nodes, n.name), &prefetched[i]);
      prefetched[i] = {};
      walk(*sub);
      if (sub->unreadable) d.failed[i] = 1;
      Dir* walked = sub.get();
      d.subdirs.emplace_back(i, std::move(sub));
      release_from_walk(*walked);
    }
  }
  // Everything reused from the parent is copied by now; the file jobs hold the directory.
  std::vector<Node>().swap(d.parent_nodes);
  d.handle.reset();
}

void Archiver::schedule_file(Dir& d, size_t i, const std::string& path, bool xattrs_pending) {
  Node& n = d.nodes[i];
  if (!opts_.scan_totals) {
    progress_->total_files++;
    progress_->total_bytes += n.size;
  }
  const Node* old = opts_.force ? nullptr : find_by_name(d.parent_nodes, n.name);
  // restic's fileChanged: --ignore-inode implies --ignore-ctime.
  bool check_ctime = !opts_.ignore_ctime && !opts_.ignore_inode;
  if (old && old->type == NodeType::kFile && same_time(old->mtime, n.mtime) &&
      (!check_ctime || same_time(old->ctime, n.ctime)) && old->size == n.size &&
      (opts_.ignore_inode || old->inode == n.inode)) {
    bool all_known = true;
    for (const Id& id : old->content) {
      if (!repo_->has_blob(BlobType::kData, id)) {
        all_known = false;
        break;
      }
    }
    if (all_known && xattrs_pending) {
      if (check_ctime) {
        // Changing an extended attribute changes ctime, so an unchanged file still has the
        // attributes its parent node recorded: no listxattr per unchanged file.
        n.xattrs = old->xattrs;
      } else {
        auto xattrs = repo::read_xattrs(env_, path);
        if (!xattrs.ok()) {
          report(abs_of(path), xattrs.status());
          d.failed[i] = 1;
          return;
        }
        n.xattrs = std::move(*xattrs);
      }
    }
    if (all_known) {
      n.content = old->content;
      files_unmodified_++;
      if (opts_.report_items) report_item({snapshot_item(path), BackupItem::Change::kUnchanged});
      progress_->files_done++;
      progress_->bytes_done += n.size;
      return;
    }
  }
  std::atomic<uint64_t>* counter = old ? &files_changed_ : &files_new_;
  char* failed = &d.failed[i];
  d.pending++;
  Dir* dir = &d;
  enter_queue();
  group_.run([this, path, &n, failed, dir, counter, xattrs_pending,
              handle = d.handle]() -> base::Status {
    leave_queue();
    // restic's current_files, kept only when something displays them.
    std::string item = opts_.scan_totals ? snapshot_item(path) : std::string();
    if (opts_.scan_totals) {
      std::lock_guard<std::mutex> l(progress_->current_mu);
      progress_->current_files.insert(item);
    }
    const auto t0 = std::chrono::steady_clock::now();
    BackupItem tally;
    base::Status st = save_file(path, n, xattrs_pending, handle.get(),
                                opts_.report_items ? &tally : nullptr);
    if (st.ok() && opts_.report_items) {
      tally.path = snapshot_item(path);
      tally.change = counter == &files_changed_ ? BackupItem::Change::kModified
                                                : BackupItem::Change::kNew;
      tally.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      report_item(std::move(tally));
    }
    if (opts_.scan_totals) {
      std::lock_guard<std::mutex> l(progress_->current_mu);
      progress_->current_files.erase(item);
    }
    progress_->files_done++;
    // A file that could not be read is not in the snapshot: neither new nor changed.
    if (st.ok()) (*counter)++;
    // A source file that cannot be read is reported and left out; a repository error ends
    // the backup.
    if (!st.ok() &&
        (st.code() == base::Code::kPermissionDenied || st.code() == base::Code::kNotFound ||
         st.code() == base::Code::kDataLoss || st.code() == base::Code::kInvalidArgument) &&
        st.message().find(path) != std::string::npos) {
      report(abs_of(path), st);  // restic names the file by its absolute path
      *failed = 1;
      st = base::ok_status();
    }
    release(*dir);
    return st;
  });
}

void Archiver::enter_queue() {
  std::unique_lock<std::mutex> l(queue_mu_);
  // Once full, wait for half to drain: one wake-up per few hundred jobs, not one per job.
  if (queued_jobs_ >= kMaxQueuedJobs) {
    queue_cv_.wait(l, [&] { return queued_jobs_ <= kMaxQueuedJobs / 2; });
  }
  ++queued_jobs_;
}

void Archiver::leave_queue() {
  std::lock_guard<std::mutex> l(queue_mu_);
  if (--queued_jobs_ == kMaxQueuedJobs / 2) queue_cv_.notify_one();
}

void Archiver::release(Dir& d) {
  if (d.pending.fetch_sub(1, std::memory_order_acq_rel) == 1) complete(d);
}

void Archiver::release_from_walk(Dir& d) {
  if (d.pending.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  Dir* dp = &d;
  enter_queue();
  group_.run([this, dp] {
    leave_queue();
    complete(*dp);
    return base::ok_status();
  });
}

void Archiver::complete(Dir& d) {
  Dir* parent = d.parent;  // finishing the parent may free d
  base::Status st = finish_one(d);
  if (!st.ok()) {
    std::lock_guard<std::mutex> l(err_mu_);
    if (tree_error_.ok()) tree_error_ = st;
  }
  if (parent) release(*parent);
}

base::Status Archiver::emit_chunk(base::ByteSpan chunk, Node& node,
                                  const std::shared_ptr<base::Bytes>& owner, BackupItem* tally) {
  Id id = repo::hash_id(chunk);
  node.content.push_back(id);
  progress_->bytes_done += chunk.size();
  if (opts_.dry_run) {
    if (repo_->has_blob(BlobType::kData, id)) return base::ok_status();
    std::lock_guard<std::mutex> l(dry_mu_);
    if (dry_seen_.insert(id).second) {
      data_blobs_++;
      data_added_ += chunk.size();
      if (tally) tally->data_size += chunk.size();
    }
    return base::ok_status();
  }
  if (owner && !tally && !repo_->has_blob(BlobType::kData, id)) {
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
      chunk_group_.run([this, id, chunk, buffer = owner]() mutable -> base::Status {
        auto added = repo_->save_blob(BlobType::kData, id, chunk);
        // The buffer goes back to the pool now, while the pool surely exists (the task
        // object itself may be destroyed after the Archiver stopped waiting for it).
        buffer.reset();
        {
          std::lock_guard<std::mutex> l(chunk_mu_);
          chunk_bytes_in_flight_ -= chunk.size();
        }
        if (!added.ok()) return added.status();
        if (*added) {
          data_blobs_++;
          data_added_ += chunk.size();
        }
        return base::ok_status();
      });
      return base::ok_status();
    }
  }
  repo::SaveBlobOptions save;
  uint64_t stored = 0;
  if (tally) save.stored_size = &stored;
  ASSIGN_OR_RETURN(bool added, repo_->save_blob(BlobType::kData, id, chunk, save));
  if (added) {
    data_blobs_++;
    data_added_ += chunk.size();
    if (tally) {
      tally->data_size += chunk.size();
      tally->data_stored += stored;
    }
  }
  return base::ok_status();
}

// Source read errors carry the path in their message; they are reported, not fatal.
base::Status Archiver::save_file(const std::string& path, Node& node, bool xattrs_pending,
                                 base::Directory* dir, BackupItem* tally) {
  ASSIGN_OR_RETURN(auto f, dir ? dir->open_read(node.name) : env_.open_read(path));
  ASSIGN_OR_RETURN(base::FileInfo info, f->stat());
  if (info.type != base::FileType::kFile || info.inode != node.inode) {
    return base::invalid_argument("read " + path + ": file was replaced during the backup");
  }
  if (xattrs_pending) {
    auto xattrs = repo::read_xattrs(*f, path);
    // Whatever the cause, reported and the file left out, as restic does with a node it
    // cannot describe (its message names the path, so the caller reports it).
    if (!xattrs.ok()) return base::data_loss(xattrs.status().message());
    node.xattrs = std::move(*xattrs);
  }
  return save_stream(*f, path, node, tally);
}

base::Status Archiver::save_stream(base::ReadableFile& f, const std::string& path, Node& node,
                                   BackupItem* tally) {
  (void)path;
  node.content.clear();
  thread_local base::Bytes small;
  thread_local std::unique_ptr<chunker::Chunker> chunker;
  thread_local std::shared_ptr<const chunker::Tables> chunker_tables;
  if (!chunker || chunker_tables != tables_) {
    chunker = std::make_unique<chunker::Chunker>(tables_);
    chunker_tables = tables_;
  }
  chunker->reset();
  // Files up to 1 MiB (nearly all) use a small buffer each thread keeps; a larger one reads
  // into a buffer of the shared pool, which its chunks' compression jobs keep alive.
  if (small.size() != kSmallReadBufferSize) base::Bytes(kSmallReadBufferSize).swap(small);
  std::shared_ptr<base::Bytes> big;
  base::Bytes* bufp = &small;
  if (node.size + (1u << 20) + 1 > kSmallReadBufferSize) {
    big = big_buffers_.get();
    bufp = big.get();
  }
  uint64_t total = 0;
  size_t start = 0, scan = 0, end = 0;
  bool eof = false;
  // Large files (and standard input once it is large) keep every core busy with their
  // chunks; a small file's one or two chunks are not worth a hand-off.
  auto large = [&] { return total >= kHandOffFileSize || node.size >= kHandOffFileSize; };

  // Small files are one chunk: read them with one call and skip the chunker.
  if (node.size > 0 && node.size <= chunker::kMinSize) {
    ASSIGN_OR_RETURN(size_t n, f.read(base::MutableByteSpan(bufp->data(), node.size + 1)));
    if (n <= chunker::kMinSize) {
      if (n > 0) RETURN_IF_ERROR(emit_chunk(base::ByteSpan(bufp->data(), n), node, nullptr, tally));
      node.size = n;
      return base::ok_status();
    }
    end = n;  // it grew while we looked: chunk it normally
    total = n;
  }

  for (;;) {
    if (scan == end) {
      if (eof) break;
      if (start > 0 && bufp->size() - end < (1u << 20)) {
        if (big && big.use_count() > 1) {
          // Jobs still compress chunks of this buffer: what is left moves to another one.
          auto next = big_buffers_.get();
          std::memcpy(next->data(), bufp->data() + start, end - start);
          big = std::move(next);
          bufp = big.get();
        } else {
          std::memmove(bufp->data(), bufp->data() + start, end - start);
        }
        end -= start;
        scan -= start;
        start = 0;
      }
      // The file grew past the size we sized for: room for the longest chunk.
      if (bufp->size() - end < (1u << 20) && bufp == &small) {
        big = big_buffers_.get();
        std::memcpy(big->data(), small.data(), end);
        bufp = big.get();
      }
      ASSIGN_OR_RETURN(size_t n, f.read(base::MutableByteSpan(bufp->data() + end, bufp->size() - end)));
      if (n == 0) eof = true;
      end += n;
      total += n;
      continue;
    }
    size_t cut = chunker->next_cut(base::ByteSpan(bufp->data() + scan, end - scan));
    if (cut == chunker::kNoCut) {
      scan = end;
      continue;
    }
    scan += cut;
    RETURN_IF_ERROR(emit_chunk(base::ByteSpan(bufp->data() + start, scan - start), node,
                               large() ? big : nullptr, tally));
    start = scan;
  }
  if (end > start) {
    RETURN_IF_ERROR(emit_chunk(base::ByteSpan(bufp->data() + start, end - start), node,
                               large() ? big : nullptr, tally));
  }
  node.size = total;
  return base::ok_status();
}

base::StatusOr<Id> Archiver::finish(Dir& root) {
  {
    std::lock_guard<std::mutex> l(err_mu_);
    RETURN_IF_ERROR(tree_error_);
  }
  // Walked directories are written by now; what is left is the chain of virtual ones.
  std::vector<std::vector<Dir*>> levels;
  std::vector<std::pair<Dir*, size_t>> stack;
  if (root.virtual_dir) stack.emplace_back(&root, 0);
  while (!stack.empty()) {
    auto [d, depth] = stack.back();
    stack.pop_back();
    if (levels.size() <= depth) levels.resize(depth + 1);
    levels[depth].push_back(d);
    for (auto& [i, sub] : d->subdirs) {
      if (sub->virtual_dir) stack.emplace_back(sub.get(), depth + 1);
    }
  }
  for (size_t k = levels.size(); k-- > 0;) {
    for (Dir* d : levels[k]) RETURN_IF_ERROR(finish_one(*d));
  }
  return root.tree_id;
}

base::Status Archiver::finish_one(Dir& d) {
  // Left out of its parent (restic stores neither the node nor a tree for it); a target
  // that cannot be listed is still stored, empty, so the snapshot says it was there.
  if (d.unreadable && d.parent) return base::ok_status();
  for (auto& [i, sub] : d.subdirs) d.nodes[i].subtree = sub->tree_id;
  std::vector<Node> kept;
  kept.reserve(d.nodes.size());
  for (size_t i = 0; i < d.nodes.size(); ++i) {
    if (i < d.failed.size() && d.failed[i]) continue;
    kept.push_back(std::move(d.nodes[i]));
  }
  ASSIGN_OR_RETURN(base::Bytes json, repo::encode_valid_tree(kept));
  Id id = repo::hash_id(json);
  // restic counts the directories above the targets too, all but the root.
  BackupItem item;
  item.change = !d.parent_tree ? BackupItem::Change::kNew
                : *d.parent_tree == id ? BackupItem::Change::kUnchanged
                                       : BackupItem::Change::kModified;
  if (&d != root_) {
    switch (item.change) {
      case BackupItem::Change::kNew: dirs_new_++; break;
      case BackupItem::Change::kUnchanged: dirs_unmodified_++; break;
      case BackupItem::Change::kModified: dirs_changed_++; break;
    }
  }
  // restic's "added" counts tree blobs with the data blobs (plaintext size of both).
  if (opts_.dry_run) {
    bool added = false;
    if (!repo_->has_blob(BlobType::kTree, id)) {
      std::lock_guard<std::mutex> l(dry_mu_);
      added = dry_trees_seen_.insert(id).second;
    }
    if (added) {
      tree_blobs_++;
      data_added_ += json.size();
      item.metadata_size = json.size();
    }
  } else {
    repo::SaveBlobOptions save;
    save.stored_size = &item.metadata_stored;
    ASSIGN_OR_RETURN(bool added, repo_->save_blob(BlobType::kTree, id, json, save));
    if (added) {
      tree_blobs_++;
      data_added_ += json.size();
      item.metadata_size = json.size();
    }
  }
  if (opts_.report_items && &d != root_) {
    item.path = snapshot_item(d.path);
    if (item.path.empty() || item.path.back() != '/') item.path += '/';
    if (item.change == BackupItem::Change::kUnchanged) {
      item.metadata_size = item.metadata_stored = 0;
    } else {
      item.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - d.started).count();
    }
    report_item(std::move(item));
  }
  d.tree_id = id;
  // Free memory as soon as a level is written (the children's ids are in the tree now).
  std::vector<Node>().swap(d.nodes);
  d.subdirs.clear();
  return base::ok_status();
}

// Creates the chain of directory nodes leading to a target (restic records the real metadata
// of every directory on the way: backing up /tmp/x/data gives tmp -> x -> data).
// A cleaned target's path components below its base, and the base: "/" for an absolute
// path, "../" once per leading "..", else "" (so lstat sees the real path).
std::vector<std::string> target_parts(const std::string& clean, std::string* base) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < clean.size();) {
    size_t j = clean.find('/', i);
    if (j == std::string::npos) j = clean.size();
    std::string part = clean.substr(i, j - i);
    if (!part.empty() && part != "." && part != "..") parts.push_back(part);
    i = j + 1;
  }
  *base = !clean.empty() && clean[0] == '/' ? "/" : "";
  if (clean.empty() || clean[0] != '/') {
    size_t ups = 0;
    while (clean.compare(ups * 3, 3, "../") == 0 || clean.substr(ups * 3) == "..") ++ups;
    for (size_t k = 0; k < ups; ++k) *base += "../";
  }
  return parts;
}

base::Status Archiver::place_target(Dir& root, const std::string& target) {
  std::string clean = clean_path(target);
  std::string prefix;
  std::vector<std::string> parts = target_parts(clean, &prefix);
  // A "/" or "." target makes the root a walked directory: nothing can join it.
  if (!root.virtual_dir || (parts.empty() && !root.nodes.empty())) {
    return base::invalid_argument("backup target " + target +
                                  ": \"/\" or \".\" cannot be combined with other targets");
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
    release_from_walk(root);
    return base::ok_status();
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
        // A target below this one came first: the whole folder is walked instead of the
        // chain that led to it.
        d->is_target[idx] = 1;
        std::erase_if(d->subdirs, [&](const auto& s) { return s.first == idx; });
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

base::Status Archiver::backup_stdin(Dir& root, const std::string& snapshot_path,
                                   const repo::NodeTime& time) {
  std::vector<std::string> parts;
  for (size_t i = 1; i < snapshot_path.size();) {
    size_t j = snapshot_path.find('/', i);
    if (j == std::string::npos) j = snapshot_path.size();
    parts.push_back(snapshot_path.substr(i, j - i));
    i = j + 1;
  }
  // restic makes each directory of the name a node of its own: mode 0755, owned by us, with
  // the time it was made.
  base::Timespec now = repo_->deps().clock->now();
  repo::NodeTime dir_time{now.sec, static_cast<int32_t>(now.nsec), repo_->deps().clock->utc_offset(now.sec)};
  Dir* d = &root;
  for (size_t k = 0; k + 1 < parts.size(); ++k) {
    Node dir;
    dir.name = parts[k];
    dir.type = NodeType::kDir;
    dir.mode = repo::kGoModeDir | 0755;
    dir.mtime = dir.atime = dir.ctime = dir_time;
    dir.uid = opts_.uid;
    dir.gid = opts_.gid;
    d->nodes.push_back(std::move(dir));
    d->failed.push_back(0);
    auto sub = std::make_unique<Dir>();
    sub->virtual_dir = true;
    Dir* next = sub.get();
    d->subdirs.emplace_back(d->nodes.size() - 1, std::move(sub));
    d = next;
  }
  Node n;
  n.name = parts.back();
  n.type = NodeType::kFile;
  n.mode = 0644;
  n.mtime = n.atime = n.ctime = time;
  n.uid = opts_.uid;
  n.gid = opts_.gid;
  // Unknown length: treat it as large (chunks go to the compression pool).
  n.size = UINT64_MAX;
  d->nodes.push_back(std::move(n));
  d->failed.push_back(0);
  Node& file = d->nodes.back();
  progress_->total_files++;
  const auto t0 = std::chrono::steady_clock::now();
  BackupItem tally;
  base::Status st = save_stream(*opts_.stdin_file, snapshot_path, file,
                                opts_.report_items ? &tally : nullptr);
  progress_->files_done++;
  if (!st.ok()) return st.with_context("read " + snapshot_path);
  // A failed producer (pg_dump ... | kura backup --stdin) leaves an empty stream: restic
  // reports it and writes no snapshot, and so does kura.
  if (file.size == 0) {
    report(snapshot_path, base::data_loss("read " + snapshot_path + ": no data read"));
    return base::failed_precondition("unable to save snapshot: snapshot is empty");
  }
  files_new_++;
  if (opts_.report_items) {
    tally.path = snapshot_path;
    tally.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report_item(std::move(tally));
  }
  return base::ok_status();
}

// Starts the walk below the targets once every target's chain of directories is in place.
// restic applies the exclusion rules to the targets too (not --one-file-system: the
// targets define the file systems).
bool Archiver::target_excluded(const std::string& path, const Node& n) {
  std::string abs = abs_of(clean_path(path));
  if (opts_.excludes && opts_.excludes->matches(abs)) return true;
  if (n.type != NodeType::kDir && opts_.exclude_larger_than && n.size > *opts_.exclude_larger_than) {
    return true;
  }
  return !kept_by_tags(tag_files_holding(base::path_dirname(abs), true), n.name);
}

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
    if (target_excluded(path, n)) {
      d.failed[i] = 1;  // restic keeps the folders above an excluded target
      continue;
    }
    if (n.type == NodeType::kFile) {
      schedule_file(d, i, path, /*xattrs_pending=*/false);
    } else if (n.type == NodeType::kDir) {
      auto walked = std::make_unique<Dir>();
      walked->path = path;
      attach_parent(*walked, old);
      walk(*walked);
      Dir* w = walked.get();
      d.subdirs.emplace_back(i, std::move(walked));
      release_from_walk(*w);
    }
  }
}

base::StatusOr<BackupResult> Archiver::run() {
  BackupResult result;
  base::Timespec start = opts_.time ? base::Timespec{*opts_.time, 0} : repo_->deps().clock->now();

  repo::Snapshot& sn = result.snapshot;
  sn.time = {start.sec, start.nsec, repo_->deps().clock->utc_offset(start.sec)};
  sn.hostname = opts_.hostname;
  sn.username = opts_.username;
  sn.uid = opts_.uid;
  sn.gid = opts_.gid;
  sn.tags = opts_.tags;
  if (opts_.excludes) sn.excludes = opts_.excludes->originals();
  std::string stdin_path;
  if (opts_.stdin_file) {
    ASSIGN_OR_RETURN(stdin_path, stdin_snapshot_path(opts_.stdin_filename));
    sn.paths.push_back(stdin_path);
  } else {
    if (opts_.targets.empty()) return base::invalid_argument("nothing to back up: no paths given");
    for (const auto& t : opts_.targets) {
      std::string abs = abs_of(clean_path(t));
      if (std::find(sn.paths.begin(), sn.paths.end(), abs) == sn.paths.end()) sn.paths.push_back(abs);
    }
  }

  // Parent: explicit, or the newest snapshot of this host with the same paths that is not
  // newer than this one (restic's rule; --stdin backups have none).
  if (opts_.stdin_file || opts_.force) {
    // none: --force overrides --parent too, as restic's
  } else if (opts_.parent) {
    result.parent = opts_.parent;
  } else {
    ASSIGN_OR_RETURN(auto all, load_snapshots(*repo_));
    std::vector<std::string> want = sn.paths;
    std::sort(want.begin(), want.end());
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      std::vector<std::string> have = it->sn.paths;
      std::sort(have.begin(), have.end());
      if (it->sn.hostname == sn.hostname && have == want &&
          (it->sn.time.sec < sn.time.sec ||
           (it->sn.time.sec == sn.time.sec && it->sn.time.nsec <= sn.time.nsec))) {
        result.parent = it->id;
        break;
      }
    }
  }
  Dir root;
  root.virtual_dir = true;
  root_ = &root;
  if (result.parent) {
    sn.parent = result.parent;
    ASSIGN_OR_RETURN(base::Bytes pjson, repo_->load_unpacked(backend::FileKind::kSnapshot, *result.parent));
    auto psn = repo::decode_snapshot(pjson);
    if (!psn.ok()) return psn.status().with_context("parent snapshot " + result.parent->hex());
    Node fake;
    fake.type = NodeType::kDir;
    fake.subtree = psn->tree;
    attach_parent(root, &fake);
  }

  if (opts_.stdin_file) {
    RETURN_IF_ERROR(backup_stdin(root, stdin_path, sn.time));
  } else {
    if (opts_.scan_totals) scanner_ = std::thread([this] { count_totals(); });
    for (const auto& t : opts_.targets) {
      base::Status st = place_target(root, t);
      if (!st.ok()) {
        if (opts_.targets.size() == 1) return st;
        report(t, st);
      }
    }
    if (root.virtual_dir) start_virtual(root);
  }
  if (!opts_.scan_totals) progress_->scan_done = true;
  RETURN_IF_ERROR(group_.wait());
  RETURN_IF_ERROR(chunk_group_.wait());
  if (scanner_.joinable()) scanner_.join();
  ASSIGN_OR_RETURN(sn.tree, finish(root));
  if (!opts_.dry_run) {
    RETURN_IF_ERROR(repo_->flush());
    ASSIGN_OR_RETURN(result.snapshot_id,
                     repo_->save_unpacked(backend::FileKind::kSnapshot, repo::encode_snapshot(sn)));
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
  s.data_added_packed = repo_->added_packed_bytes();
  s.total_files_processed = s.files_new + s.files_changed + s.files_unmodified;  // as restic
  s.total_bytes_processed = progress_->bytes_done;
  result.errors = std::move(errors_);
  return result;
}

}  // namespace

base::StatusOr<std::string> stdin_snapshot_path(const std::string& name) {
  std::string p = clean_path("/" + name);
  if (p == "/") {
    return base::invalid_argument("--stdin-filename \"" + name + "\": not a file name");
  }
  if (p.find('\0') != std::string::npos) {
    return base::invalid_argument("--stdin-filename: a file name cannot hold a NUL byte");
  }
  return p;
}

base::StatusOr<ExcludeIfPresent> parse_exclude_if_present(const std::string& spec) {
  if (spec.empty()) return base::invalid_argument("--exclude-if-present: name for exclusion tagfile is empty");
  size_t colon = spec.find(':');
  if (colon == 0) return base::invalid_argument("--exclude-if-present " + spec + ": no name for exclusion tagfile provided");
  if (colon == std::string::npos) return ExcludeIfPresent{spec, ""};
  return ExcludeIfPresent{spec.substr(0, colon), spec.substr(colon + 1)};
}

ExcludeIfPresent cachedir_tag_rule() {
  return {"CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55"};
}

struct BackupRun::Impl {
  Impl(base::Env& env, const BackupOptions& opts, BackupProgress* progress, BackupObserver* observer)
      : archiver(env, opts, progress, observer) {}
  Archiver archiver;
};

BackupRun::BackupRun(base::Env& env, const BackupOptions& opts, BackupProgress* progress,
                     BackupObserver* observer)
    : impl_(std::make_unique<Impl>(env, opts, progress, observer)), opts_(opts) {}

BackupRun::~BackupRun() = default;

void BackupRun::start_prescan() {
  if (prescan_started_) return;
  prescan_started_ = true;
  impl_->archiver.start_prescan();
}

base::StatusOr<BackupResult> BackupRun::run(repo::Repository& repo) {
  impl_->archiver.attach(repo);
  if (opts_.load_index) {
    // The file system is scanned while the index loads: both cores busy from the start.
    start_prescan();
    base::Status loaded = repo.load_index();
    impl_->archiver.stop_prescan();
    RETURN_IF_ERROR(loaded);
  } else {
    impl_->archiver.stop_prescan();
  }
  return impl_->archiver.run();
}

base::StatusOr<BackupResult> run_backup(repo::Repository& repo, base::Env& env,
                                        const BackupOptions& opts, BackupProgress* progress,
                                        BackupObserver* observer) {
  BackupRun b(env, opts, progress, observer);
  return b.run(repo);
}

}  // namespace kura::ops
