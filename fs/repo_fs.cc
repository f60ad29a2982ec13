#include "fs/repo_fs.h"

#include <sys/stat.h>

#include <algorithm>

#include "repo/mode.h"
#include "repo/tree.h"

namespace kura::fs {

uint64_t dynamic_inode(uint64_t parent, std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto feed = [&h](uint8_t b) {
    h ^= b;
    h *= 0x100000001b3ull;
  };
  for (int i = 0; i < 8; ++i) feed(static_cast<uint8_t>(parent >> (8 * i)));
  for (char c : name) feed(static_cast<uint8_t>(c));
  while (h <= 1) feed('x');
  return h;
}

namespace {

// Go's filepath.Base: restic lists a node under the last element of its name.
std::string base_name(std::string name) {
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  if (name.empty()) return ".";
  if (name == "/") return "/";
  size_t slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

uint32_t type_bits(repo::NodeType t) {
  switch (t) {
    case repo::NodeType::kFile: return S_IFREG;
    case repo::NodeType::kDir: return S_IFDIR;
    case repo::NodeType::kSymlink: return S_IFLNK;
    case repo::NodeType::kDev: return S_IFBLK;
    case repo::NodeType::kCharDev: return S_IFCHR;
    case repo::NodeType::kFifo: return S_IFIFO;
    case repo::NodeType::kSocket: return S_IFSOCK;
    case repo::NodeType::kIrregular: return 0;
  }
  return 0;
}

// restic's Lookup serves these types; others (irregular, unknown) are listed but not found.
bool servable(repo::NodeType t) { return t != repo::NodeType::kIrregular; }

bool recent(int64_t last, int64_t now, int64_t interval) { return now - last < interval; }

}  // namespace

struct RepoFs::DirItems {
  std::map<std::string, repo::Node> items;
  uint32_t subdirs = 0;
};

struct RepoFs::OpenFile {
  std::vector<repo::Id> content;
  std::vector<uint64_t> cumsize;  // cumsize[i]: bytes before blob i; back(): the file's size
};

struct RepoFs::Resolved {
  enum Kind { kVirtualDir, kLink, kNode } kind = kVirtualDir;
  uint64_t ino = 1, parent_ino = 1;
  const VirtualEntry* entry = nullptr;  // kVirtualDir, kLink
  repo::Node node;                       // kNode; a snapshot's directory is a made-up dir node
  std::shared_ptr<const SnapshotDirs> dirs;  // keeps entry alive
};

RepoFs::RepoFs(repo::Repository& repo, FsOptions opts, base::Clock* clock)
    : repo_(repo), opts_(std::move(opts)), clock_(clock), blobs_(opts_.blob_cache_bytes) {
  if (opts_.path_templates.empty()) opts_.path_templates = default_path_templates();
  base::Timespec now = clock_->now();
  start_time_ = {now.sec, now.nsec, 0};
}

RepoFs::~RepoFs() = default;

base::Status RepoFs::refresh() { return update_snapshots(true); }

bool RepoFs::snapshots_fresh(int64_t now) {
  return dirs_ && last_check_ && recent(*last_check_, now, opts_.reload_seconds);
}

base::Status RepoFs::update_snapshots(bool force) {
  int64_t now = clock_->now().sec;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!force && snapshots_fresh(now)) return base::ok_status();
  }
  // One reload at a time (load_index must not run twice at once); a request that waited for
  // another's reload uses its result.
  std::lock_guard<std::mutex> reload(reload_mu_);
  std::unique_lock<std::mutex> l(mu_);
  if (!force && snapshots_fresh(now)) return base::ok_status();
  std::shared_ptr<const SnapshotDirs> old = dirs_;
  l.unlock();

  ASSIGN_OR_RETURN(ops::SnapshotSelection sel, ops::select_snapshots(repo_, opts_.filter, {}));
  std::vector<ops::SnapshotEntry> newest_first(sel.snapshots.rbegin(), sel.snapshots.rend());
  // restic rebuilds when the number of snapshots changed; a changed set of ids is the same
  // idea without missing a forget followed by a backup.
  bool same = old && old->snapshots().size() == newest_first.size() &&
              std::equal(newest_first.begin(), newest_first.end(), old->snapshots().begin(),
                         [](const ops::SnapshotEntry& a, const ops::SnapshotEntry& b) { return a.id == b.id; });
  std::shared_ptr<const SnapshotDirs> fresh;
  if (!same) {
    RETURN_IF_ERROR(repo_.load_index());  // new snapshots bring new index files
    fresh = std::make_shared<const SnapshotDirs>(std::move(newest_first), opts_.path_templates,
                                                 opts_.time_template);
  }
  l.lock();
  if (fresh) dirs_ = std::move(fresh);
  last_check_ = now;
  return base::ok_status();
}

std::shared_ptr<const RepoFs::DirItems> RepoFs::cached_dir_items(const repo::Id& tree) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = trees_.find(tree);
  return it == trees_.end() ? nullptr : it->second;
}

base::StatusOr<std::shared_ptr<const RepoFs::DirItems>> RepoFs::dir_items(const repo::Id& tree) {
  if (auto cached = cached_dir_items(tree)) return cached;
  ASSIGN_OR_RETURN(base::Bytes json, repo_.load_blob(repo::BlobType::kTree, tree));
  ASSIGN_OR_RETURN(std::vector<repo::Node> nodes, repo::decode_tree(json));
  auto items = std::make_shared<DirItems>();
  for (auto& n : nodes) {
    // restic shows the contents of a "." or "/" directory node in its place.
    if (n.type == repo::NodeType::kDir && n.subtree && (n.name == "." || n.name == "/")) {
      ASSIGN_OR_RETURN(base::Bytes sub_json, repo_.load_blob(repo::BlobType::kTree, *n.subtree));
      ASSIGN_OR_RETURN(std::vector<repo::Node> sub, repo::decode_tree(sub_json));
      for (auto& s : sub) items->items[base_name(s.name)] = std::move(s);
      continue;
    }
    items->items[base_name(n.name)] = std::move(n);
  }
  for (const auto& [name, n] : items->items) items->subdirs += n.type == repo::NodeType::kDir;
  std::lock_guard<std::mutex> l(mu_);
  constexpr size_t kMaxCachedTrees = 4096;
  if (trees_.size() >= kMaxCachedTrees) trees_.clear();
  trees_[tree] = items;
  return std::shared_ptr<const DirItems>(items);
}

base::StatusOr<RepoFs::Resolved> RepoFs::resolve(std::string_view path) {
  RETURN_IF_ERROR(update_snapshots(false));
  Resolved r;
  {
    std::lock_guard<std::mutex> l(mu_);
    r.dirs = dirs_;
  }
  r.entry = r.dirs->find("");
  for (const std::string& name : split_path(path)) {
    uint64_t ino = dynamic_inode(r.ino, name);
    if (r.kind == Resolved::kLink) return base::invalid_argument(name + ": not a directory");
    if (r.kind == Resolved::kVirtualDir) {
      auto it = r.entry->names.find(name);
      if (it == r.entry->names.end()) return base::not_found(name);
      r.entry = it->second;
      if (r.entry->is_link()) {
        r.kind = Resolved::kLink;
      } else if (r.entry->is_snapshot_dir()) {
        r.kind = Resolved::kNode;
        const repo::Snapshot& sn = r.entry->snapshot->sn;
        r.node = repo::Node{};
        r.node.type = repo::NodeType::kDir;
        r.node.mode = repo::kGoModeDir | 0555;
        r.node.atime = r.node.mtime = r.node.ctime = sn.time;
        r.node.subtree = sn.tree;
      }
    } else {
      if (r.node.type != repo::NodeType::kDir || !r.node.subtree) {
        return base::invalid_argument(name + ": not a directory");
      }
      ASSIGN_OR_RETURN(auto items, dir_items(*r.node.subtree));
      auto it = items->items.find(name);
      if (it == items->items.end() || !servable(it->second.type)) return base::not_found(name);
      r.node = it->second;
    }
    r.parent_ino = r.ino;
    r.ino = ino;
  }
  return r;
}

Attr RepoFs::node_attr(const Resolved& r) {
  Attr a;
  a.ino = r.ino;
  if (r.kind == Resolved::kVirtualDir) {
    a.mode = S_IFDIR | 0555;
    a.uid = opts_.uid;
    a.gid = opts_.gid;
    a.atime = a.mtime = a.ctime = start_time_;
    return a;
  }
  if (r.kind == Resolved::kLink) {
    a.mode = S_IFLNK | 0777;
    a.uid = opts_.uid;
    a.gid = opts_.gid;
    a.size = r.entry->link_target.size();
    a.blocks = 1 + a.size / 512;
    a.atime = a.mtime = a.ctime = r.entry->snapshot->sn.time;
    return a;
  }
  const repo::Node& n = r.node;
  // restic's mount (bazil.org/fuse) passes setuid and setgid on but not the sticky bit.
  a.mode = type_bits(n.type) | (repo::st_mode_perm_from_go_mode(n.mode) & ~static_cast<uint32_t>(S_ISVTX));
  if (!opts_.owner_root) {
    a.uid = n.uid;
    a.gid = n.gid;
  }
  a.atime = n.atime;
  a.mtime = n.mtime;
  a.ctime = n.ctime;
  a.nlink = static_cast<uint32_t>(n.links);
  switch (n.type) {
    case repo::NodeType::kFile:
      a.size = n.size;
      a.blocks = n.size / 512 + 1;
      a.blksize = 512;
      break;
    case repo::NodeType::kSymlink:
      a.size = n.linktarget.size();
      a.blocks = 1 + a.size / 512;
      break;
    case repo::NodeType::kDir: {
      auto items = n.subtree ? cached_dir_items(*n.subtree) : nullptr;
      a.nlink = 2 + (items ? items->subdirs : 0);
      break;
    }
    default:
      break;
  }
  return a;
}

base::StatusOr<Attr> RepoFs::getattr(std::string_view path) {
  ASSIGN_OR_RETURN(Resolved r, resolve(path));
  return node_attr(r);
}

base::StatusOr<std::vector<DirEntry>> RepoFs::readdir(std::string_view path) {
  ASSIGN_OR_RETURN(Resolved r, resolve(path));
  std::vector<DirEntry> out = {{".", r.ino, S_IFDIR}, {"..", r.parent_ino, S_IFDIR}};
  if (r.kind == Resolved::kVirtualDir) {
    for (const auto& [name, e] : r.entry->names) {
      out.push_back({name, dynamic_inode(r.ino, name), static_cast<uint32_t>(e->is_link() ? S_IFLNK : S_IFDIR)});
    }
    return out;
  }
  if (r.kind != Resolved::kNode || r.node.type != repo::NodeType::kDir || !r.node.subtree) {
    return base::invalid_argument(std::string(path) + ": not a directory");
  }
  ASSIGN_OR_RETURN(auto items, dir_items(*r.node.subtree));
  for (const auto& [name, n] : items->items) {
    uint32_t type = 0;
    if (n.type == repo::NodeType::kDir || n.type == repo::NodeType::kFile ||
        n.type == repo::NodeType::kSymlink) {
      type = type_bits(n.type);
    }
    out.push_back({name, dynamic_inode(r.ino, name), type});
  }
  return out;
}

base::StatusOr<std::string> RepoFs::readlink(std::string_view path) {
  ASSIGN_OR_RETURN(Resolved r, resolve(path));
  if (r.kind == Resolved::kLink) return r.entry->link_target;
  if (r.kind == Resolved::kNode && r.node.type != repo::NodeType::kDir &&
      r.node.type != repo::NodeType::kFile) {
    return r.node.linktarget;
  }
  return base::invalid_argument(std::string(path) + ": not a symlink");
}

base::StatusOr<std::vector<std::string>> RepoFs::listxattr(std::string_view path) {
  ASSIGN_OR_RETURN(Resolved r, resolve(path));
  std::vector<std::string> names;
  // restic answers for files and directories of a snapshot only.
  if (r.kind == Resolved::kNode &&
      (r.node.type == repo::NodeType::kFile || r.node.type == repo::NodeType::kDir)) {
    for (const auto& x : r.node.xattrs) names.push_back(x.name);
  }
  return names;
}

base::StatusOr<std::optional<base::Bytes>> RepoFs::getxattr(std::string_view path, std::string_view name) {
  ASSIGN_OR_RETURN(Resolved r, resolve(path));
  if (r.kind == Resolved::kNode &&
      (r.node.type == repo::NodeType::kFile || r.node.type == repo::NodeType::kDir)) {
    for (const auto& x : r.node.xattrs) {
      if (x.name == name) return std::optional<base::Bytes>(x.value);
    }
  }
  return std::optional<base::Bytes>();
}

base::StatusOr<uint64_t> RepoFs::open(std::string_view path) {
  ASSIGN_OR_RETURN(Resolved r, resolve(path));
  if (r.kind != Resolved::kNode || r.node.type != repo::NodeType::kFile) {
    return base::invalid_argument(std::string(path) + ": not a regular file");
  }
  auto f = std::make_shared<OpenFile>();
  f->content = r.node.content;
  f->cumsize.reserve(f->content.size() + 1);
  f->cumsize.push_back(0);
  for (const repo::Id& id : f->content) {
    uint64_t size = 0;
    bool found = repo_.with_index([&](const repo::Index& idx) {
      const repo::IndexEntry* e = idx.find(id, repo::BlobType::kData);
      if (e) size = e->blob().plain_length();
      return e != nullptr;
    });
    if (!found) return base::not_found("id " + id.hex() + " not found in repository");
    f->cumsize.push_back(f->cumsize.back() + size);
  }
  std::lock_guard<std::mutex> l(mu_);
  uint64_t handle = next_handle_++;
  open_files_[handle] = std::move(f);
  return handle;
}

void RepoFs::release(uint64_t handle) {
  std::lock_guard<std::mutex> l(mu_);
  open_files_.erase(handle);
}

RepoFs::BlobResult RepoFs::blob(const repo::Id& id) {
  if (auto cached = blobs_.get(id)) return cached;
  // The kernel reads ahead in parallel, so several requests often want the same blob at
  // once: one loads it, the others wait for that load instead of decrypting it again.
  std::promise<BlobResult> promise;
  std::shared_future<BlobResult> pending;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = loading_.find(id);
    if (it != loading_.end()) {
      pending = it->second;
    } else {
      loading_[id] = promise.get_future().share();
    }
  }
  if (pending.valid()) return pending.get();
  BlobResult result = blobs_.get(id);
  if (!*result) {
    auto plain = repo_.load_blob(repo::BlobType::kData, id);
    if (plain.ok()) {
      result = std::make_shared<const base::Bytes>(std::move(*plain));
      blobs_.add(id, *result);
    } else {
      result = plain.status();
    }
  }
  promise.set_value(result);
  std::lock_guard<std::mutex> l(mu_);
  loading_.erase(id);
  return result;
}

base::StatusOr<base::Bytes> RepoFs::read(uint64_t handle, uint64_t offset, size_t size) {
  std::shared_ptr<const OpenFile> f;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = open_files_.find(handle);
    if (it == open_files_.end()) return base::invalid_argument("bad file handle");
    f = it->second;
  }
  base::Bytes out;
  uint64_t total = f->cumsize.back();
  if (offset >= total || size == 0) return out;
  out.reserve(std::min<uint64_t>(size, total - offset));
  size_t i = std::upper_bound(f->cumsize.begin(), f->cumsize.end(), offset) - f->cumsize.begin() - 1;
  uint64_t skip = offset - f->cumsize[i];
  for (; i < f->content.size() && out.size() < size; ++i) {
    ASSIGN_OR_RETURN(auto b, blob(f->content[i]));
    // The index's size is what was decoded; a blob that decodes shorter is damage.
    if (b->size() != f->cumsize[i + 1] - f->cumsize[i]) {
      return base::data_loss("blob " + f->content[i].hex() + " has an unexpected size");
    }
    size_t take = std::min<uint64_t>(b->size() - skip, size - out.size());
    out.insert(out.end(), b->begin() + skip, b->begin() + skip + take);
    skip = 0;
  }
  return out;
}

}  // namespace kura::fs
