#include "ops/restore.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

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
  Node node;
  size_t remaining = 0;  // blob writes still to do
  uint64_t written_end = 0;  // end of the furthest blob written (sparse zeros are not)
  bool failed = false;
  std::unique_ptr<base::WritableFile> out;
  std::mutex mu;
};

struct BlobTarget {
  size_t file;
  uint64_t file_offset;
  repo::PackedBlob blob;
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
      : repo_(repo), env_(env), opts_(opts), progress_(progress ? progress : &own_), observer_(observer) {
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
  base::Status restore_pack(uint32_t pack, std::vector<BlobTarget>& targets);
  base::Status write_blob(const BlobTarget& t, base::ByteSpan plain);
  void finish_file(FilePlan& f);
  base::Status set_metadata(const std::string& path, const Node& n);
  base::Status set_metadata(base::WritableFile& out, const Node& n);
  base::Status verify_file(FilePlan& f);

  repo::Repository& repo_;
  base::Env& env_;
  const RestoreOptions& opts_;
  RestoreProgress own_;
  RestoreProgress* progress_;
  RestoreObserver* observer_;
  bool is_root_ = false;

  std::vector<std::unique_ptr<FilePlan>> files_;
  std::vector<DirPlan> dirs_;
  std::unordered_map<uint32_t, std::vector<BlobTarget>> by_pack_;
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
      f->node = n;
      size_t idx = files_.size();
      uint64_t off = 0;
      bool ok = true;
      repo_.with_index([&](const repo::Index& index) {
        for (const Id& id : n.content) {
          const repo::IndexEntry* e = index.find(id, repo::BlobType::kData);
          if (!e) {
            ok = false;
            return;
          }
          by_pack_[e->pack].push_back({idx, off, e->blob()});
          off += e->blob().plain_length();
          f->remaining++;
        }
      });
      if (!ok) {
        report(dest, base::not_found("restore " + dest + ": a data blob of this file is missing from the index"));
        return base::ok_status();
      }
      progress_->total_files++;
      progress_->total_bytes += off;
      files_.push_back(std::move(f));
      result_.files++;
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

base::Status Restorer::plan(const Id& tree) {
  return walk_tree(repo_, tree, "", [&](const std::string& path, const Node& n) -> base::StatusOr<Visit> {
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
  });
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
base::Status Restorer::set_metadata(base::WritableFile& out, const Node& n) {
  base::Status first;
  auto keep = [&](base::Status st) {
    if (!st.ok() && first.ok()) first = st;
  };
  if (is_root_) keep(out.set_owner(n.uid, n.gid));
  keep(out.set_mode(repo::st_mode_perm_from_go_mode(n.mode)));
  for (const auto& x : n.xattrs) keep(out.set_xattr(x.name, x.value));
  keep(out.set_times(to_ts(n.atime), to_ts(n.mtime)));
  return first;
}

void Restorer::finish_file(FilePlan& f) {
  base::Status st;
  // Written up to its end (the usual case) the file already has its size; a trailing hole
  // left by --sparse, or a file that shrank, needs the truncate.
  if (f.written_end != f.node.size) st = f.out->truncate(f.node.size);
  if (st.ok()) st = set_metadata(*f.out, f.node);
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
  FilePlan& f = *files_[t.file];
  std::lock_guard<std::mutex> l(f.mu);
  if (f.failed) return base::ok_status();
  base::Status st;
  if (!f.out) {
    base::WriteOptions wo;
    wo.mode = 0600;
    auto out = env_.open_write(f.path, wo);
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

base::Status Restorer::restore_pack(uint32_t pack, std::vector<BlobTarget>& targets) {
  std::sort(targets.begin(), targets.end(),
            [](const BlobTarget& a, const BlobTarget& b) { return a.blob.offset < b.blob.offset; });
  Id pack_id = repo_.with_index([&](const repo::Index& i) { return i.pack_id(pack); });
  uint64_t lo = targets.front().blob.offset, hi = 0;
  for (const auto& t : targets) hi = std::max<uint64_t>(hi, uint64_t(t.blob.offset) + t.blob.length);
  auto data = repo_.backend()->load({backend::FileKind::kPack, pack_id.hex()}, lo, hi - lo);
  auto fail_all = [&](const base::Status& st) {
    for (const auto& t : targets) {
      FilePlan& f = *files_[t.file];
      std::lock_guard<std::mutex> l(f.mu);
      if (!f.failed) {
        f.failed = true;
        f.out.reset();
        report(f.path, st);
        progress_->files_done++;
      }
    }
  };
  if (!data.ok()) {
    fail_all(data.status().with_context("load pack " + pack_id.hex()));
    return base::ok_status();
  }
  thread_local base::Bytes plain;
  for (size_t i = 0; i < targets.size();) {
    const repo::PackedBlob& b = targets[i].blob;
    plain.resize(b.plain_length());
    base::ByteSpan stored(data->data() + (b.offset - lo), b.length);
    base::Status st = repo_.decode_blob_into(b, stored, plain);
    size_t j = i;
    for (; j < targets.size() && targets[j].blob.offset == b.offset; ++j) {
      if (st.ok()) {
        RETURN_IF_ERROR(write_blob(targets[j], plain));
      } else {
        FilePlan& f = *files_[targets[j].file];
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
  RETURN_IF_ERROR(env_.make_dirs(opts_.target, 0700));
  RETURN_IF_ERROR(plan(tree));

  int threads = opts_.threads > 0 ? opts_.threads
                                  : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  {
    base::ThreadPool pool(threads);
    base::TaskGroup group(&pool);
    // Empty files need no pack.
    for (auto& f : files_) {
      if (f->remaining == 0) {
        base::WriteOptions wo;
        wo.mode = 0600;
        auto out = env_.open_write(f->path, wo);
        if (!out.ok()) {
          f->failed = true;
          report(f->path, out.status());
          continue;
        }
        f->out = std::move(*out);
        finish_file(*f);
      }
    }
    for (auto& [pack, targets] : by_pack_) {
      uint32_t p = pack;
      auto* t = &targets;
      group.run([this, p, t] { return restore_pack(p, *t); });
    }
    RETURN_IF_ERROR(group.wait());
  }
  result_.total_files = result_.files;
  result_.files = 0;
  for (auto& f : files_) {
    if (f->failed) continue;
    result_.bytes += f->node.size;
    result_.files++;
  }
  for (const auto& [existing, link] : links_to_make_) {
    env_.remove_file(link).ignore();
    base::Status st = env_.make_hardlink(existing, link);
    if (!st.ok()) report(link, st);
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
