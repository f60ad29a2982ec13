// Building a tree Node from lstat() data the way restic 0.14's archiver does on Linux
// (RESTIC_FORMAT.md §7.2), so that encode_tree of the result matches restic's tree bytes.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/env.h"
#include "base/status.h"
#include "repo/node.h"

namespace kura::repo {

// uid → user name and gid → group name, looked up once each (getpwuid_r / getgrgid_r), like
// restic's lookup caches. Thread-safe.
class NameCache {
 public:
  // "" when the id has no name; restic then omits the field.
  std::string user_name(uint32_t uid);
  std::string group_name(uint32_t gid);

 private:
  std::mutex mu_;
  std::unordered_map<uint32_t, std::string> users_;
  std::unordered_map<uint32_t, std::string> groups_;
};

// A file time as restic prints it: in the process's local time zone (TZ) at that instant,
// as localtime_r's tm_gmtoff gives it.
NodeTime local_node_time(base::Timespec ts);

struct NodeFromStatOptions {
  // restic's --with-atime; without it atime is recorded as mtime.
  bool with_atime = false;
  // false: a regular file's extended attributes are left for the caller, who reads them
  // through the open file (read_xattrs below) or takes them from an unchanged parent node.
  bool file_xattrs = true;
};

// A node's extended attributes as restic 0.14 reads them: every name listxattr gives, in its
// order, each with its value; an attribute that cannot be read is skipped, and a file system
// without xattr support has none. `path` names the file in errors.
base::StatusOr<std::vector<ExtendedAttribute>> read_xattrs(base::Env& env, const std::string& path);
base::StatusOr<std::vector<ExtendedAttribute>> read_xattrs(base::ReadableFile& file,
                                                           const std::string& path);

// The node for `name`, whose lstat() result is `info`, found at `path`. Fills exactly the
// fields restic 0.14 fills for the type: every node gets mode, times, uid/gid and names, inode
// and device_id; files size and links; symlinks links and linktarget (no xattrs); devices links
// and device; fifos and sockets nothing more. Extended attributes are read (in listxattr order)
// for everything but symlinks; an attribute that cannot be read is skipped, as restic does.
// File content and dir subtree are left for the archiver. Note that restic's archiver (0.14 and
// later) leaves sockets out of the tree entirely; this function still describes one if asked.
base::StatusOr<Node> node_from_lstat(base::Env& env, const std::string& path,
                                     const std::string& name, const base::FileInfo& info,
                                     NameCache& names, const NodeFromStatOptions& opts = {});

}  // namespace kura::repo
