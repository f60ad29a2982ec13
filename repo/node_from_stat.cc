#include "repo/node_from_stat.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <vector>

#include "repo/mode.h"

namespace kura::repo {
namespace {

// Calls getpwuid_r/getgrgid_r-style `lookup(buf, size, &found)` with a growing buffer.
template <typename Lookup>
std::string lookup_name(Lookup lookup) {
  long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  size_t size = hint > 0 ? size_t(hint) : 1024;
  std::vector<char> buf;
  while (size <= (size_t(1) << 24)) {
    buf.resize(size);
    std::string name;
    int err = lookup(buf.data(), buf.size(), name);
    if (err == ERANGE) {
      size *= 2;
      continue;
    }
    return err == 0 ? name : std::string();
  }
  return std::string();
}

uint32_t st_type_bits(base::FileType type) {
  switch (type) {
    case base::FileType::kFile: return S_IFREG;
    case base::FileType::kDir: return S_IFDIR;
    case base::FileType::kSymlink: return S_IFLNK;
    case base::FileType::kBlockDev: return S_IFBLK;
    case base::FileType::kCharDev: return S_IFCHR;
    case base::FileType::kFifo: return S_IFIFO;
    case base::FileType::kSocket: return S_IFSOCK;
    case base::FileType::kUnknown: break;
  }
  return 0;
}

std::optional<NodeType> node_type_of(base::FileType type) {
  switch (type) {
    case base::FileType::kFile: return NodeType::kFile;
    case base::FileType::kDir: return NodeType::kDir;
    case base::FileType::kSymlink: return NodeType::kSymlink;
    case base::FileType::kBlockDev: return NodeType::kDev;
    case base::FileType::kCharDev: return NodeType::kCharDev;
    case base::FileType::kFifo: return NodeType::kFifo;
    case base::FileType::kSocket: return NodeType::kSocket;
    case base::FileType::kUnknown: break;
  }
  return std::nullopt;
}

template <typename List, typename Get>
base::StatusOr<std::vector<ExtendedAttribute>> read_xattrs_with(List list, Get get,
                                                                const std::string& path) {
  std::vector<ExtendedAttribute> out;
  auto names = list();
  if (!names.ok()) {
    if (names.status().code() == base::Code::kUnimplemented) return out;
    return names.status().with_context("node_from_lstat: " + path + ": listxattr");
  }
  out.reserve(names->size());
  for (std::string& name : *names) {
    auto value = get(name);
    if (!value.ok()) continue;  // gone or unreadable: restic warns and goes on
    out.push_back(ExtendedAttribute{std::move(name), std::move(*value)});
  }
  return out;
}

}  // namespace

base::StatusOr<std::vector<ExtendedAttribute>> read_xattrs(base::Env& env, const std::string& path) {
  return read_xattrs_with([&] { return env.list_xattrs(path); },
                          [&](const std::string& name) { return env.get_xattr(path, name); },
                          path);
}

base::StatusOr<std::vector<ExtendedAttribute>> read_xattrs(base::ReadableFile& file,
                                                           const std::string& path) {
  return read_xattrs_with([&] { return file.list_xattrs(); },
                          [&](const std::string& name) { return file.get_xattr(name); }, path);
}

std::string NameCache::user_name(uint32_t uid) {
  {
    std::lock_guard lock(mu_);
    if (auto it = users_.find(uid); it != users_.end()) return it->second;
  }
  std::string name = lookup_name([uid](char* buf, size_t size, std::string& out) {
    struct passwd pw;
    struct passwd* result = nullptr;
    int err = getpwuid_r(uid, &pw, buf, size, &result);
    if (err == 0 && result != nullptr) out = result->pw_name;
    return err;
  });
  std::lock_guard lock(mu_);
  return users_.emplace(uid, std::move(name)).first->second;
}

std::string NameCache::group_name(uint32_t gid) {
  {
    std::lock_guard lock(mu_);
    if (auto it = groups_.find(gid); it != groups_.end()) return it->second;
  }
  std::string name = lookup_name([gid](char* buf, size_t size, std::string& out) {
    struct group gr;
    struct group* result = nullptr;
    int err = getgrgid_r(gid, &gr, buf, size, &result);
    if (err == 0 && result != nullptr) out = result->gr_name;
    return err;
  });
  std::lock_guard lock(mu_);
  return groups_.emplace(gid, std::move(name)).first->second;
}

NodeTime local_node_time(base::Timespec ts) {
  NodeTime t{ts.sec, ts.nsec, 0};
  time_t sec = time_t(ts.sec);
  struct tm tm;
  if (localtime_r(&sec, &tm) != nullptr) t.offset = int32_t(tm.tm_gmtoff);
  return t;
}

base::StatusOr<Node> node_from_lstat(base::Env& env, const std::string& path,
                                     const std::string& name, const base::FileInfo& info,
                                     NameCache& names, const NodeFromStatOptions& opts) {
  auto type = node_type_of(info.type);
  if (!type) return base::invalid_argument("node_from_lstat: " + path + ": unknown file type");
  Node node;
  node.name = name;
  node.type = *type;
  node.mode = go_mode_from_st_mode(st_type_bits(info.type) | (info.mode & 07777));
  node.mtime = local_node_time(info.mtime);
  node.atime = opts.with_atime ? local_node_time(info.atime) : node.mtime;
  node.ctime = local_node_time(info.ctime);
  node.uid = info.uid;
  node.gid = info.gid;
  node.user = names.user_name(info.uid);
  node.group = names.group_name(info.gid);
  node.inode = info.inode;
  node.device_id = info.device;
  switch (node.type) {
    case NodeType::kFile:
      node.size = info.size;
      node.links = info.nlink;
      break;
    case NodeType::kSymlink: {
      node.links = info.nlink;
      auto target = env.read_link(path);
      if (!target.ok()) return target.status().with_context("node_from_lstat: " + path);
      node.linktarget = std::move(*target);
      break;
    }
    case NodeType::kDev:
    case NodeType::kCharDev:
      node.device = info.rdev;
      node.links = info.nlink;
      break;
    default:
      break;
  }
  const bool left_to_caller = node.type == NodeType::kFile && !opts.file_xattrs;
  if (node.type != NodeType::kSymlink && !left_to_caller) {
    ASSIGN_OR_RETURN(node.xattrs, read_xattrs(env, path));
  }
  return node;
}

}  // namespace kura::repo
