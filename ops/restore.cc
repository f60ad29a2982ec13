#include "ops/restore.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "base/thread_pool.h"
#include "crypto/sha256.h"
#include "repo/mode.h"
#include "repo/tree.h"
#include "ops/walk.h"

namespace kura::ops {
namespace {

using repo::Id;
using repo::Node;
using repo::NodeType;

base::Timespec to_ts(const repo::NodeTime& t) { return {t.sec, t.nsec}; }

bool all_zero(base::ByteSpan b) {
  static const uint8_t zeros[4096] = {};
  size_t i = 0;
  for (; i + sizeof zeros <= b.size(); i += sizeof zeros) {
    if (std::memcmp(b.data() + i, zeros, sizeof zeros) != 0) return false;
  }
  return std::memcmp(b.data() + i, zeros, b.size() - i) == 0;
}

struct FilePlan {
  std::string path;
  size_t name_at = 0;  // where the file's name starts in path
  Node node;
  size_t remaining = 0;  // blob writes still to do
  uint64_t written_end = 0;  // end of the furthest blob written (sparse zeros are not)
  bool failed = false;
  bool owner_and_mode_set = false;  // created with them (create_file), no chown/chmod needed
  std::unique_ptr<base::WritableFile> out;
  std::mutex mu;
};

struct BlobTarget {
  FilePlan* file;
  uint64_t file_offset;
  repo::PackedBlob blob;
};

// Blobs of one pack that planned files need and no worker has been given yet.
struct PackBatch {
  uint32_t pack = 0;
  std::vector<BlobTarget> targets;
  uint64_t last_use = 0;  // planned_stored_ when a file last added to it
  std::list<uint32_t>::iterator lru;
};

// Loads skip unneeded ranges wider than this, as restic 0.14's StreamPack does
// (maxUnusedRange).
constexpr uint64_t kMaxGap = 4ull << 20;

// The most recently used directories of the target, open, so that files are created in them by
// name (openat) rather than by walking the whole target path for each file. Files are
// restored roughly directory by directory (packs hold them in backup order), so a few suffice.
class DirHandles {
 public:
  explicit DirHandles(base::Env& env) : env_(env) {}

  // The open directory, or null when it cannot be opened (the caller goes by path then and
  // reports that error, if it is one, with the file).
  std::shared_ptr<base::Directory> get(std::string_view path) {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = open_.begin(); it != open_.end(); ++it) {
      if (it->first == path) {
        if (it != open_.begin()) open_.splice(open_.begin(), open_, it);
        return open_.front().second;
      }
    }
    auto dir = env_.open_directory(std::string(path));
    if (!dir.ok()) return nullptr;
    if (open_.size() == kCapacity) open_.pop_back();
    open_.emplace_front(std::string(path), std::move(*dir));
    return open_.front().second;
  }

 private:
  static constexpr size_t kCapacity = 16;
  base::Env& env_;
  std::mutex mu_;
  std::list<std::pair<std::string, std::shared_ptr<base::Directory>>> open_;  // newest first
};

struct DirPlan {
  std::string path;
  Node node;
  size_t depth;
};

class Restorer {
 public:
  Restorer(repo::Repository& repo, base::Env& env, const RestoreOptions& opts,
           RestoreProgress* progress, RestoreObserver* observer)
      : repo_(repo), env_(env), opts_(opts), progress_(progress ? progress : &own_), observer_(observer),
        dir_handles_(env) {
    is_root_ = ::geteuid() == 0;
  }

  base::StatusOr<RestoreResult> run(const Id& tree);

 private:
  void report(const std::string& path, const base::Status& st) {
    std::lock_guard<std::mutex> l(err_mu_);
    result_.errors.push_back({path, st.message()});
    if (observer_) observer_->on_error(path, st);
  }
  base::Status plan(const Id& tree);
  base::Status plan_node(const std::string& rel, const Node& n, size_t depth);
  base::Status ensure_parent(const std::string& path);
  void create_empty(FilePlan& f);
  void add_target(uint32_t pack, const BlobTarget& t);
  void dispatch_stale();
  void dispatch(uint32_t pack);
  base::Status restore_part(uint32_t pack, const BlobTarget* begin, const BlobTarget* end);
  base::Status write_blob(const BlobTarget& t, base::ByteSpan plain);
  void finish_file(FilePlan& f);
  base::Status set_metadata(const std::string& path, const Node& n);
  base::Status set_metadata(base::WritableFile& out, const Node& n, bool owner_and_mode_set);
  // Creates (or truncates) f's file for writing.
  base::StatusOr<std::unique_ptr<base::WritableFile>> create_file(FilePlan& f);
  // Whether files can be created with their final mode and owner (see create_file).
  void check_fresh_target(bool target_was_empty);
  base::Status verify_file(FilePlan& f);

  repo::Repository& repo_;
  base::Env& env_;
  const RestoreOptions& opts_;
  RestoreProgress own_;
  RestoreProgress* progress_;
  RestoreObserver* observer_;
  bool is_root_ = false;
  // Set by check_fresh_target: the umask, when every file is created in a directory this
  // restore made below a target that hands new files exactly the requested permission bits;
  // and the owner such a new file gets, when that is surely our effective uid and gid.
  std::optional<uint32_t> fresh_umask_;
  std::optional<std::pair<uint32_t, uint32_t>> fresh_owner_;
  DirHandles dir_handles_;

  std::vector<std::unique_ptr<FilePlan>> files_;
  std::vector<DirPlan> dirs_;
  base::TaskGroup* group_ = nullptr;
  size_t workers_ = 1;
  std::atomic<size_t> parts_in_flight_{0};  // loads handed to the workers, not yet done
  std::unordered_map<uint32_t, PackBatch> open_;  // by pack
  std::list<uint32_t> lru_;                        // packs in open_, least recently used first
  uint64_t planned_stored_ = 0;
  std::vector<std::pair<uint32_t, BlobTarget>> found_;  // plan_node's scratch: (pack, target)
  std::map<std::pair<uint64_t, uint64_t>, std::string> hardlinks_;  // (dev, inode) -> first path
  std::vector<std::pair<std::string, std::string>> links_to_make_;   // (existing, new)
  std::vector<std::pair<std::string, Node>> links_meta_;
  std::unordered_map<std::string, bool> made_dirs_;

  std::mutex err_mu_;
  RestoreResult result_;
};

base::Status Restorer::ensure_parent(const std::string& path) {
  std::string dir = base::path_dirname(path);
  auto it = made_dirs_.find(dir);
  if (it != made_dirs_.end()) return base::ok_status();
  RETURN_IF_ERROR(env_.make_dirs(dir, 0700));
  made_dirs_[dir] = true;
  return base::ok_status();
}

base::Status Restorer::plan_node(const std::string& rel, const Node& n, size_t depth) {
  std::string dest = base::path_join(opts_.target, rel);
  switch (n.type) {
    case NodeType::kDir: {
      RETURN_IF_ERROR(env_.make_dirs(dest, 0700));
      made_dirs_[dest] = true;
      dirs_.push_back({dest, n, depth});
      result_.dirs++;
      return base::ok_status();
    }
    case NodeType::kFile: {
      RETURN_IF_ERROR(ensure_parent(dest));
      if (n.links > 1) {
        auto key = std::make_pair(n.device_id, n.inode);
        auto it = hardlinks_.find(key);
        if (it != hardlinks_.end()) {
          links_to_make_.emplace_back(it->second, dest);
          return base::ok_status();
        }
        hardlinks_[key] = dest;
      }
      auto f = std::make_unique<FilePlan>();
      f->path = dest;
      f->name_at = dest.rfind('/') + 1;
      f->node = n;
      // Looked up in full before any blob is handed out: a worker may finish the file as soon
      // as it has one of its batches, so `remaining` must be final by then.
      std::vector<std::pair<uint32_t, BlobTarget>>& found = found_;
      found.clear();
      uint64_t off = 0;
      bool ok = true;
      repo_.with_index([&](const repo::Index& index) {
        for (const Id& id : n.content) {
          const repo::IndexEntry* e = index.find(id, repo::BlobType::kData);
          if (!e) {
            ok = false;
            return;
          }
          found.push_back({e->pack, {f.get(), off, e->blob()}});
          off += e->blob().plain_length();
        }
      });
      if (!ok) {
        report(dest, base::not_found("restore " + dest + ": a data blob of this file is missing from the index"));
        return base::ok_status();
      }
      f->remaining = found.size();
      progress_->total_files++;
      progress_->total_bytes += off;
      FilePlan& fr = *f;
      files_.push_back(std::move(f));
      result_.files++;
      if (found.empty()) {
        create_empty(fr);
        return base::ok_status();
      }
      for (const auto& [pack, t] : found) add_target(pack, t);
      dispatch_stale();
      return base::ok_status();
    }
    case NodeType::kSymlink: {
      RETURN_IF_ERROR(ensure_parent(dest));
      env_.remove_file(dest).ignore();
      RETURN_IF_ERROR(env_.make_symlink(n.linktarget, dest));
      result_.other++;
      return set_metadata(dest, n);
    }
    case NodeType::kDev:
    case NodeType::kCharDev:
    case NodeType::kFifo: {
      RETURN_IF_ERROR(ensure_parent(dest));
      base::FileType t = n.type == NodeType::kDev       ? base::FileType::kBlockDev
                         : n.type == NodeType::kCharDev ? base::FileType::kCharDev
                                                        : base::FileType::kFifo;
      env_.remove_file(dest).ignore();
      RETURN_IF_ERROR(env_.make_node(dest, t, repo::st_mode_perm_from_go_mode(n.mode), n.device));
      result_.other++;
      return set_metadata(dest, n);
    }
    default:
      // Sockets cannot be restored meaningfully; restic skips them too.
      return base::ok_status();
  }
}

void Restorer::check_fresh_target(bool target_was_empty) {
  if (!target_was_empty) return;  // a directory already there may have its own default ACL
  auto mask = base::process_umask();
  auto info = env_.lstat(opts_.target);
  auto xattrs = env_.list_xattrs(opts_.target);
  if (!mask || !info.ok() || !xattrs.ok()) return;
  // A default ACL decides new files' permissions instead of the umask.
  for (const auto& name : *xattrs) {
    if (name == "system.posix_acl_default") return;
  }
  fresh_umask_ = mask;
  // New files get the effective gid, unless the directory is setgid (or, on a grpid mount,
  // always the directory's gid): with neither different from ours, they get ours.
  const uint32_t gid = ::getegid();
  if ((info->mode & S_ISGID) == 0 && info->gid == gid) fresh_owner_.emplace(::geteuid(), gid);
}

base::StatusOr<std::unique_ptr<base::WritableFile>> Restorer::create_file(FilePlan& f) {
  const uint32_t perm = repo::st_mode_perm_from_go_mode(f.node.mode);
  std::shared_ptr<base::Directory> dir;
  if (f.name_at > 1) dir = dir_handles_.get(std::string_view(f.path).substr(0, f.name_at - 1));
  auto open_write = [&](const base::WriteOptions& wo) {
    return dir ? dir->open_write(f.path.substr(f.name_at), wo) : env_.open_write(f.path, wo);
  };
  base::WriteOptions wo;
  // A file new in a fresh target, made with its final permissions, needs no chmod when the
  // umask keeps every bit (and as root no chown when it is ours): two system calls fewer per
  // file. Special bits are set only after the chown, as before (a chown clears them).
  if (fresh_umask_ && (perm & 07000) == 0 && (perm & ~*fresh_umask_) == perm) {
    wo.mode = perm;
    wo.exclusive = true;
    auto out = open_write(wo);
    if (out.ok()) {
      // Owned by someone else, it is chowned and then chmodded as any other file.
      f.owner_and_mode_set =
          !is_root_ || (fresh_owner_ && *fresh_owner_ == std::pair{f.node.uid, f.node.gid});
      return out;
    }
    if (out.status().code() != base::Code::kAlreadyExists) return out.status();
  }
  wo.mode = 0600;
  wo.exclusive = false;
  return open_write(wo);
}

void Restorer::create_empty(FilePlan& f) {
  auto out = create_file(f);
  if (!out.ok()) {
    f.failed = true;
    report(f.path, out.status());
    return;
  }
  f.out = std::move(*out);
  finish_file(f);
}

void Restorer::add_target(uint32_t pack, const BlobTarget& t) {
  planned_stored_ += t.blob.length;
  auto [it, added] = open_.try_emplace(pack);
  PackBatch& b = it->second;
  if (added) {
    b.pack = pack;
    b.lru = lru_.insert(lru_.end(), pack);
  } else {
    lru_.splice(lru_.end(), lru_, b.lru);
  }
  b.last_use = planned_stored_;
  b.targets.push_back(t);
}

void Restorer::dispatch_stale() {
  while (!lru_.empty()) {
    uint32_t pack = lru_.front();
    // While workers wait for work (at the start, mostly), a pack the walk left behind a
    // little ago goes out already: a later file needing it again costs one more small load,
    // an idle core costs more.
    uint64_t distance = parts_in_flight_.load(std::memory_order_relaxed) < workers_
                            ? opts_.dispatch_distance / 8
                            : opts_.dispatch_distance;
    if (planned_stored_ - open_.at(pack).last_use < distance) return;
    dispatch(pack);
  }
}

void Restorer::dispatch(uint32_t pack) {
  auto it = open_.find(pack);
  lru_.erase(it->second.lru);
  auto targets = std::make_shared<std::vector<BlobTarget>>(std::move(it->second.targets));
  open_.erase(it);
  std::sort(targets->begin(), targets->end(),
            [](const BlobTarget& a, const BlobTarget& b) { return a.blob.offset < b.blob.offset; });
  // Cut into loads; the targets of one blob (same offset) stay in one part.
  size_t begin = 0;
  uint64_t lo = (*targets)[0].blob.offset, hi = lo;
  for (size_t i = 0; i <= targets->size(); ++i) {
    if (i < targets->size()) {
      const repo::PackedBlob& b = (*targets)[i].blob;
      uint64_t end = uint64_t(b.offset) + b.length;
      bool same_blob = b.offset < hi;
      if (i == begin || same_blob || (b.offset - hi <= kMaxGap && end - lo <= opts_.part_span)) {
        hi = std::max(hi, end);
        continue;
      }
    }
    const BlobTarget* first = targets->data() + begin;
    const BlobTarget* last = targets->data() + i;
    parts_in_flight_++;
    group_->run([this, pack, targets, first, last] {
      base::Status st = restore_part(pack, first, last);
      parts_in_flight_--;
      return st;
    });
    if (i < targets->size()) {
      begin = i;
      lo = (*targets)[i].blob.offset;
      hi = lo + (*targets)[i].blob.length;
    }
  }
}

base::Status Restorer::plan(const Id& tree) {
  WalkCallbacks cb;
  cb.visit = [&](const WalkItem& item) -> base::StatusOr<Visit> {
    const std::string& path = item.path;
    const Node& n = item.node;
    if (!repo::is_safe_node_name(n.name)) {
      report(path, base::data_loss("refusing to restore a node with an unsafe name"));
      return Visit::kSkip;
    }
    if (opts_.exclude && opts_.exclude->matches(path)) return Visit::kSkip;
    if (opts_.include && !opts_.include->matches(path)) {
      // A child may still match: descend without creating this directory.
      return n.type == NodeType::kDir ? Visit::kDescend : Visit::kSkip;
    }
    size_t depth = static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
    base::Status st = plan_node(path, n, depth);
    if (!st.ok()) {
      report(base::path_join(opts_.target, path), st);
      return Visit::kSkip;
    }
    return Visit::kDescend;
  };
  return walk_tree_ahead(repo_, tree, cb, io_threads(repo_, opts_.threads));
}

base::Status Restorer::set_metadata(const std::string& path, const Node& n) {
  base::Status first;
  auto keep = [&](base::Status st) {
    if (!st.ok() && first.ok()) first = st;
  };
  if (is_root_) keep(env_.set_owner(path, n.uid, n.gid));
  if (n.type != NodeType::kSymlink) {
    keep(env_.set_mode(path, repo::st_mode_perm_from_go_mode(n.mode)));
  }
  for (const auto& x : n.xattrs) keep(env_.set_xattr(path, x.name, x.value));
  keep(env_.set_times(path, to_ts(n.atime), to_ts(n.mtime)));
  return first;
}

// Through the open file: no path lookups, and one syscall fewer per call.
base::Status Restorer::set_metadata(base::WritableFile& out, const Node& n,
                                    bool owner_and_mode_set) {
  base::Status first;
  auto keep = [&](base::Status st) {
    if (!st.ok() && first.ok()) first = st;
  };
  if (!owner_and_mode_set) {
    if (is_root_) keep(out.set_owner(n.uid, n.gid));
    keep(out.set_mode(repo::st_mode_perm_from_go_mode(n.mode)));
  }
  for (const auto& x : n.xattrs) keep(out.set_xattr(x.name, x.value));
  keep(out.set_times(to_ts(n.atime), to_ts(n.mtime)));
  return first;
}

void Restorer::finish_file(FilePlan& f) {
  base::Status st;
  // Written up to its end (the usual case) the file already has its size; a trailing hole
  // left by --sparse, or a file that shrank, needs the truncate.
  if (f.written_end != f.node.size) st = f.out->truncate(f.node.size);
  if (st.ok()) st = set_metadata(*f.out, f.node, f.owner_and_mode_set);
  base::Status cst = f.out->close();
  f.out.reset();
  if (st.ok()) st = cst;
  if (!st.ok()) {
    f.failed = true;
    report(f.path, st);
  }
  progress_->files_done++;
}

base::Status Restorer::write_blob(const BlobTarget& t, base::ByteSpan plain) {
  FilePlan& f = *t.file;
  std::lock_guard<std::mutex> l(f.mu);
  if (f.failed) return base::ok_status();
  base::Status st;
  if (!f.out) {
    auto out = create_file(f);
    if (!out.ok()) {
      st = out.status();
    } else {
      f.out = std::move(*out);
    }
  }
  if (st.ok() && !(opts_.sparse && all_zero(plain))) {
    st = f.out->write_at(t.file_offset, plain);
    f.written_end = std::max<uint64_t>(f.written_end, t.file_offset + plain.size());
  }
  if (!st.ok()) {
    f.failed = true;
    f.out.reset();
    report(f.path, st);
    progress_->files_done++;
    return base::ok_status();
  }
  progress_->bytes_done += plain.size();
  if (--f.remaining == 0) finish_file(f);
  return base::ok_status();
}

// [begin, end) sorted by offset.
base::Status Restorer::restore_part(uint32_t pack, const BlobTarget* begin, const BlobTarget* end) {
  std::span<const BlobTarget> targets(begin, end);
  Id pack_id = repo_.with_index([&](const repo::Index& i) { return i.pack_id(pack); });
  uint64_t lo = targets.front().blob.offset, hi = 0;
  for (const auto& t : targets) hi = std::max<uint64_t>(hi, uint64_t(t.blob.offset) + t.blob.length);
  // Read into a buffer each thread keeps (no allocation, zero-fill or fresh pages per load);
  // one that a rare large blob grew past two loads is given back afterwards.
  thread_local base::ScratchBuffer packed;
  packed.reserve(hi - lo);
  struct Trim {
    size_t keep;
    ~Trim() { packed.trim(keep); }
  } trim{2 * opts_.part_span};
  base::ByteSpan data(packed.data(), hi - lo);
  base::Status loaded =
      repo_.backend()->load_into({backend::FileKind::kPack, pack_id.hex()}, lo, {packed.data(), hi - lo});
  auto fail_all = [&](const base::Status& st) {
    for (const auto& t : targets) {
      FilePlan& f = *t.file;
      std::lock_guard<std::mutex> l(f.mu);
      if (!f.failed) {
        f.failed = true;
        f.out.reset();
        report(f.path, st);
        progress_->files_done++;
      }
    }
  };
  if (!loaded.ok()) {
    fail_all(loaded.with_context("load pack " + pack_id.hex()));
    return base::ok_status();
  }
  // Grown, never shrunk, never zero-filled: one plaintext buffer per thread.
  thread_local base::ScratchBuffer buf;
  for (size_t i = 0; i < targets.size();) {
    const repo::PackedBlob& b = targets[i].blob;
    buf.reserve(b.plain_length());
    base::MutableByteSpan plain(buf.data(), b.plain_length());
    base::ByteSpan stored(data.data() + (b.offset - lo), b.length);
    base::Status st = repo_.decode_blob_into(b, stored, plain);
    size_t j = i;
    for (; j < targets.size() && targets[j].blob.offset == b.offset; ++j) {
      if (st.ok()) {
        RETURN_IF_ERROR(write_blob(targets[j], plain));
      } else {
        FilePlan& f = *targets[j].file;
        std::lock_guard<std::mutex> l(f.mu);
        if (!f.failed) {
          f.failed = true;
          f.out.reset();
          report(f.path, st.with_context("pack " + pack_id.short_hex()));
          progress_->files_done++;
        }
      }
    }
    i = j;
  }
  return base::ok_status();
}

base::Status Restorer::verify_file(FilePlan& f) {
  ASSIGN_OR_RETURN(auto in, env_.open_read(f.path));
  thread_local base::Bytes buf;
  for (const Id& id : f.node.content) {
    auto e = repo_.with_index([&](const repo::Index& i) { return i.find(id, repo::BlobType::kData); });
    if (!e) return base::not_found("verify " + f.path + ": blob " + id.short_hex() + " not indexed");
    buf.resize(e->blob().plain_length());
    ASSIGN_OR_RETURN(size_t n, in->read(buf));
    Id got;
    got.bytes = crypto::sha256(base::ByteSpan(buf.data(), n));
    if (n != buf.size() || got != id) {
      return base::data_loss("verify " + f.path + ": restored content differs from the snapshot");
    }
  }
  uint8_t extra;
  ASSIGN_OR_RETURN(size_t more, in->read(base::MutableByteSpan(&extra, 1)));
  if (more) return base::data_loss("verify " + f.path + ": restored file is longer than in the snapshot");
  return base::ok_status();
}

base::StatusOr<RestoreResult> Restorer::run(const Id& tree) {
  auto before = env_.list_dir(opts_.target);
  const bool target_was_empty =
      before.ok() ? before->empty() : before.status().code() == base::Code::kNotFound;
  RETURN_IF_ERROR(env_.make_dirs(opts_.target, 0700));
  check_fresh_target(target_was_empty);

  // As many workers as restic's (one per backend connection), and at least one per core.
  int threads = io_threads(repo_, opts_.threads);
  {
    // Packs are restored while the walk plans the rest, so the pool exists first.
    base::ThreadPool pool(threads);
    base::TaskGroup group(&pool);
    group_ = &group;
    workers_ = static_cast<size_t>(threads);
    base::Status planned = plan(tree);
    // A walk that failed part way fails the restore as before; what the workers already have
    // is finished first, nothing more is started.
    if (planned.ok()) {
      while (!lru_.empty()) dispatch(lru_.front());
    }
    base::Status restored = group.wait();
    group_ = nullptr;
    RETURN_IF_ERROR(planned);
    RETURN_IF_ERROR(restored);
  }
  result_.total_files = result_.files;
  result_.files = 0;
  for (auto& f : files_) {
    if (f->failed) continue;
    result_.bytes += f->node.size;
    result_.files++;
  }
  // Every further name of a hard-linked file is a file restored too (restic counts each).
  result_.total_files += links_to_make_.size();
  for (const auto& [existing, link] : links_to_make_) {
    env_.remove_file(link).ignore();
    base::Status st = env_.make_hardlink(existing, link);
    if (!st.ok()) {
      report(link, st);
      continue;
    }
    result_.files++;
  }
  if (opts_.verify) {
    for (auto& f : files_) {
      if (f->failed) continue;
      base::Status st = verify_file(*f);
      if (!st.ok()) {
        report(f->path, st);
      } else {
        result_.verified_files++;
      }
    }
  }
  std::stable_sort(dirs_.begin(), dirs_.end(),
                   [](const DirPlan& a, const DirPlan& b) { return a.depth > b.depth; });
  for (const auto& d : dirs_) {
    base::Status st = set_metadata(d.path, d.node);
    if (!st.ok()) report(d.path, st);
  }
  return std::move(result_);
}

}  // namespace

base::StatusOr<RestoreResult> run_restore(repo::Repository& repo, base::Env& env,
                                          const repo::Id& tree, const RestoreOptions& opts,
                                          RestoreProgress* progress, RestoreObserver* observer) {
  Restorer r(repo, env, opts, progress, observer);
  return r.run(tree);
}

}  // namespace kura::ops
