// RepoFs: a repository's snapshots as a read-only file tree, in the layout restic 0.14's mount
// shows (ids/, snapshots/, hosts/<host>/, tags/<tag>/, "latest" links, each snapshot directory
// holding its tree). Paths in, attributes, listings, link targets, extended attributes and file
// bytes out; no FUSE here (fuse_mount.h serves it), so tests drive it directly.
//
// Attributes follow restic's: inode numbers are bazil's GenerateDynamicInode(parent, name)
// (root 1), so they equal restic's; file blocks are size/512+1; a directory's link count is 2
// plus its subdirectories once it has been listed; snapshot directories are 0555 and owned by
// uid 0; the sticky bit is not shown (restic drops it); the directories above them belong to the mounting user (root with owner_root) and
// carry the mount's start time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/status.h"
#include "fs/blob_cache.h"
#include "fs/go_time.h"
#include "fs/snapshot_dirs.h"
#include "ops/snapshots.h"
#include "repo/node.h"
#include "repo/repository.h"

namespace kura::fs {

struct FsOptions {
  ops::SnapshotFilter filter;
  std::vector<std::string> path_templates;  // empty: default_path_templates()
  std::string time_template = kDefaultTimeTemplate;
  bool owner_root = false;  // files and dirs owned by root instead of their recorded owners
  uint32_t uid = 0, gid = 0;  // owner of the directories above the snapshots
  // How often listing the snapshot directories looks for new or removed snapshots (restic: at
  // most once a minute).
  int64_t reload_seconds = 60;
  size_t blob_cache_bytes = 64u << 20;
};

struct Attr {
  uint64_t ino = 0;
  uint32_t mode = 0;  // st_mode: type and permission bits
  uint32_t nlink = 1;
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;  // 512-byte units
  uint32_t blksize = 0;  // 0: the kernel's default
  repo::NodeTime atime, mtime, ctime;
};

struct DirEntry {
  std::string name;
  uint64_t ino = 0;
  uint32_t type = 0;  // S_IFDIR, S_IFREG, S_IFLNK, or 0 (unknown)
};

// Errors: not_found (no such name: ENOENT), invalid_argument (a path through something that
// is not a directory: ENOTDIR; a non-directory listed or a non-file read: EISDIR/EINVAL),
// others (repository damage: EIO). Thread-safe: requests may come from several threads.
class RepoFs {
 public:
  RepoFs(repo::Repository& repo, FsOptions opts, base::Clock* clock = base::system_clock());
  ~RepoFs();

  base::StatusOr<Attr> getattr(std::string_view path);
  // "." and ".." first, then the names.
  base::StatusOr<std::vector<DirEntry>> readdir(std::string_view path);
  base::StatusOr<std::string> readlink(std::string_view path);
  base::StatusOr<std::vector<std::string>> listxattr(std::string_view path);
  // nullopt: the node has no such attribute (ENODATA).
  base::StatusOr<std::optional<base::Bytes>> getxattr(std::string_view path, std::string_view name);

  // A handle for read(); the file's blob sizes are looked up in the index now (a blob that
  // is not indexed fails the open, as in restic).
  base::StatusOr<uint64_t> open(std::string_view path);
  // Up to `size` bytes from `offset`; fewer only at the end of the file.
  base::StatusOr<base::Bytes> read(uint64_t handle, uint64_t offset, size_t size);
  void release(uint64_t handle);

  // Reads the snapshot list now (as if the reload interval had passed).
  base::Status refresh();
  const BlobCache& blob_cache() const { return blobs_; }

 private:
  struct Resolved;
  struct DirItems;
  struct OpenFile;

  base::StatusOr<Resolved> resolve(std::string_view path);
  base::Status update_snapshots(bool force);
  bool snapshots_fresh(int64_t now);  // mu_ held
  base::StatusOr<std::shared_ptr<const DirItems>> dir_items(const repo::Id& tree);
  std::shared_ptr<const DirItems> cached_dir_items(const repo::Id& tree);
  Attr node_attr(const Resolved& r);
  using BlobResult = base::StatusOr<std::shared_ptr<const base::Bytes>>;
  BlobResult blob(const repo::Id& id);

  repo::Repository& repo_;
  FsOptions opts_;
  base::Clock* clock_;
  repo::NodeTime start_time_;

  std::mutex reload_mu_;  // taken before mu_
  std::mutex mu_;
  std::shared_ptr<const SnapshotDirs> dirs_;
  std::optional<int64_t> last_check_;
  std::unordered_map<repo::Id, std::shared_ptr<const DirItems>, repo::IdHash> trees_;
  std::map<uint64_t, std::shared_ptr<const OpenFile>> open_files_;
  uint64_t next_handle_ = 1;
  std::unordered_map<repo::Id, std::shared_future<BlobResult>, repo::IdHash> loading_;

  BlobCache blobs_;
};

// bazil.org/fuse's GenerateDynamicInode: FNV-1a of the parent inode (8 bytes, little endian)
// and the name, never 0 or 1.
uint64_t dynamic_inode(uint64_t parent, std::string_view name);

}  // namespace kura::fs
