// Serves a RepoFs through libfuse3 (high-level, path based API), read-only, until the process
// gets SIGINT, SIGTERM or SIGHUP or the mount point is unmounted (fusermount3 -u); then
// unmounts. Requests are served by several threads (libfuse's multi-threaded loop), so one
// large copy does not hold up a listing in another window.
#pragma once

#include <functional>
#include <string>

#include "base/status.h"
#include "fs/repo_fs.h"

namespace kura::fs {

struct FuseOptions {
  bool allow_other = false;
  // With allow_other the kernel checks permissions (default_permissions) unless this is set.
  bool no_default_permissions = false;
  std::string fsname = "kura";
  // Called once the file system is mounted.
  std::function<void()> on_ready;
  // A request that failed for another reason than a missing name (damaged data, ...): the
  // caller says so; the reader gets EIO.
  std::function<void(const std::string& path, const base::Status& st)> on_error;
};

// Errors: the mount failed (libfuse has printed why), or serving stopped on an error.
base::Status serve_fuse(RepoFs& fs, const std::string& mountpoint, const FuseOptions& opts);

}  // namespace kura::fs
