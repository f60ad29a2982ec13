#include "base/mem_env.h"

#include <algorithm>
#include <cstring>

namespace kura::base {

struct MemEnv::Inode {
  FileInfo info;
  Bytes data;
  std::string link_target;
  std::vector<std::pair<std::string, Bytes>> xattrs;
};

namespace {

std::string normalize(const std::string& path) {
  std::string out;
  bool absolute = !path.empty() && path[0] == '/';
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string_view part(path.data() + i, j - i);
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    i = j;
  }
  if (absolute) out.insert(out.begin(), '/');
  if (out.empty()) out = absolute ? "/" : ".";
  return out;
}

std::string parent_of(const std::string& norm) { return normalize(path_dirname(norm)); }

Status not_found_at(const char* op, const std::string& path) {
  return not_found(std::string(op) + " " + path + ": No such file or directory");
}

std::vector<std::string> xattr_names(const MemEnv::Inode& n) {
  std::vector<std::string> out;
  for (const auto& x : n.xattrs) out.push_back(x.first);
  return out;
}

// `where` follows the attribute's name in the error (" of PATH", or "" through an open file).
StatusOr<Bytes> xattr_value(const MemEnv::Inode& n, const std::string& name,
                            const std::string& where) {
  for (const auto& x : n.xattrs) {
    if (x.first == name) return x.second;
  }
  return not_found("get xattr " + name + where + ": No data available");
}

// Shares the inode with MemEnv so writes are visible to readers, as on a real file system.
class MemReadable : public ReadableFile {
 public:
  MemReadable(std::shared_ptr<MemEnv::Inode> n, std::mutex* mu) : node_(std::move(n)), mu_(mu) {}
  StatusOr<size_t> read_at(uint64_t offset, MutableByteSpan buf) override {
    std::lock_guard<std::mutex> l(*mu_);
    if (offset >= node_->data.size()) return size_t{0};
    size_t n = std::min<size_t>(buf.size(), node_->data.size() - offset);
    std::memcpy(buf.data(), node_->data.data() + offset, n);
    return n;
  }
  StatusOr<size_t> read(MutableByteSpan buf) override {
    ASSIGN_OR_RETURN(size_t n, read_at(pos_, buf));
    pos_ += n;
    return n;
  }
  StatusOr<FileInfo> stat() override {
    std::lock_guard<std::mutex> l(*mu_);
    return node_->info;
  }
  StatusOr<std::vector<std::string>> list_xattrs() override {
    std::lock_guard<std::mutex> l(*mu_);
    return xattr_names(*node_);
  }
  StatusOr<Bytes> get_xattr(const std::string& name) override {
    std::lock_guard<std::mutex> l(*mu_);
    return xattr_value(*node_, name, "");
  }

 private:
  std::shared_ptr<MemEnv::Inode> node_;
  std::mutex* mu_;
  uint64_t pos_ = 0;
};

void put_xattr(MemEnv::Inode& n, const std::string& name, ByteSpan value) {
  for (auto& x : n.xattrs) {
    if (x.first == name) {
      x.second.assign(value.begin(), value.end());
      return;
    }
  }
  n.xattrs.emplace_back(name, Bytes(value.begin(), value.end()));
}

class MemWritable : public WritableFile {
 public:
  MemWritable(std::shared_ptr<MemEnv::Inode> n, std::mutex* mu) : node_(std::move(n)), mu_(mu) {}
  Status append(ByteSpan data) override {
    std::lock_guard<std::mutex> l(*mu_);
    node_->data.insert(node_->data.end(), data.begin(), data.end());
    node_->info.size = node_->data.size();
    return ok_status();
  }
  Status write_at(uint64_t offset, ByteSpan data) override {
    std::lock_guard<std::mutex> l(*mu_);
    if (node_->data.size() < offset + data.size()) node_->data.resize(offset + data.size());
    std::copy(data.begin(), data.end(), node_->data.begin() + static_cast<ptrdiff_t>(offset));
    node_->info.size = node_->data.size();
    return ok_status();
  }
  Status truncate(uint64_t size) override {
    std::lock_guard<std::mutex> l(*mu_);
    node_->data.resize(size);
    node_->info.size = size;
    return ok_status();
  }
  Status sync() override { return ok_status(); }
  Status close() override { return ok_status(); }
  Status set_owner(uint32_t uid, uint32_t gid) override {
    std::lock_guard<std::mutex> l(*mu_);
    node_->info.uid = uid;
    node_->info.gid = gid;
    return ok_status();
  }
  Status set_mode(uint32_t mode) override {
    std::lock_guard<std::mutex> l(*mu_);
    node_->info.mode = mode & 07777;
    return ok_status();
  }
  Status set_xattr(const std::string& name, ByteSpan value) override {
    std::lock_guard<std::mutex> l(*mu_);
    put_xattr(*node_, name, value);
    return ok_status();
  }
  Status set_times(Timespec atime, Timespec mtime) override {
    std::lock_guard<std::mutex> l(*mu_);
    node_->info.atime = atime;
    node_->info.mtime = mtime;
    return ok_status();
  }

 private:
  std::shared_ptr<MemEnv::Inode> node_;
  std::mutex* mu_;
};

}  // namespace

MemEnv::MemEnv() {
  for (const char* root : {"/", "."}) {
    auto dir = std::make_shared<Inode>();
    dir->info.type = FileType::kDir;
    dir->info.mode = 0755;
    dir->info.inode = next_inode_++;
    dir->info.nlink = 2;
    nodes_[root] = dir;
  }
}
MemEnv::~MemEnv() = default;

StatusOr<std::shared_ptr<MemEnv::Inode>> MemEnv::find(const std::string& norm, const char* op) {
  auto it = nodes_.find(norm);
  if (it == nodes_.end()) return not_found_at(op, norm);
  return it->second;
}

Status MemEnv::check_parent(const std::string& norm, const char* op) {
  auto it = nodes_.find(parent_of(norm));
  if (it == nodes_.end()) return not_found_at(op, norm);
  if (it->second->info.type != FileType::kDir) {
    return not_found(std::string(op) + " " + norm + ": Not a directory");
  }
  return ok_status();
}

Status MemEnv::add(const std::string& norm, std::shared_ptr<Inode> node, const char* op) {
  RETURN_IF_ERROR(check_parent(norm, op));
  if (nodes_.count(norm)) return already_exists(std::string(op) + " " + norm + ": File exists");
  node->info.inode = next_inode_++;
  if (node->info.nlink == 0) node->info.nlink = 1;
  nodes_[norm] = std::move(node);
  return ok_status();
}

StatusOr<FileInfo> MemEnv::lstat(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(auto n, find(normalize(path), "lstat"));
  return n->info;
}

StatusOr<FileInfo> MemEnv::stat(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  std::string norm = normalize(path);
  for (int hops = 0; hops < 40; ++hops) {
    ASSIGN_OR_RETURN(auto n, find(norm, "stat"));
    if (n->info.type != FileType::kSymlink) return n->info;
    const std::string& t = n->link_target;
    norm = normalize(!t.empty() && t[0] == '/' ? t : path_join(parent_of(norm), t));
  }
  return invalid_argument("stat " + path + ": Too many levels of symbolic links");
}

StatusOr<std::vector<DirEntry>> MemEnv::list_dir(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  std::string norm = normalize(path);
  ASSIGN_OR_RETURN(auto n, find(norm, "open directory"));
  if (n->info.type != FileType::kDir) return not_found("open directory " + norm + ": Not a directory");
  std::vector<DirEntry> out;
  std::string prefix = norm == "/" ? "/" : (norm == "." ? "" : norm + "/");
  for (auto it = nodes_.lower_bound(prefix); it != nodes_.end(); ++it) {
    const std::string& p = it->first;
    if (p.compare(0, prefix.size(), prefix) != 0) break;
    if (p == "/" || p == ".") continue;
    std::string rest = p.substr(prefix.size());
    if (rest.empty() || rest.find('/') != std::string::npos) continue;
    if (norm == "." && p[0] == '/') continue;
    out.push_back({rest, it->second->info.type});
  }
  return out;
}

StatusOr<std::unique_ptr<ReadableFile>> MemEnv::open_read(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  std::string norm = normalize(path);
  ASSIGN_OR_RETURN(auto n, find(norm, "open"));
  if (n->info.type == FileType::kSymlink) {
    return invalid_argument("open " + norm + ": Too many levels of symbolic links");
  }
  if (n->info.type == FileType::kDir) return invalid_argument("open " + norm + ": Is a directory");
  return std::unique_ptr<ReadableFile>(new MemReadable(n, &mu_));
}

StatusOr<std::unique_ptr<WritableFile>> MemEnv::open_write(const std::string& path,
                                                           const WriteOptions& opts) {
  std::lock_guard<std::mutex> l(mu_);
  std::string norm = normalize(path);
  auto it = nodes_.find(norm);
  if (it != nodes_.end()) {
    if (opts.exclusive) return already_exists("create " + norm + ": File exists");
    if (it->second->info.type != FileType::kFile) {
      return invalid_argument("create " + norm + ": not a regular file");
    }
    if (opts.truncate) {
      it->second->data.clear();
      it->second->info.size = 0;
    }
    return std::unique_ptr<WritableFile>(new MemWritable(it->second, &mu_));
  }
  auto n = std::make_shared<Inode>();
  n->info.type = FileType::kFile;
  n->info.mode = opts.mode & 07777;
  RETURN_IF_ERROR(add(norm, n, "create"));
  return std::unique_ptr<WritableFile>(new MemWritable(n, &mu_));
}

Status MemEnv::make_dir(const std::string& path, uint32_t mode) {
  std::lock_guard<std::mutex> l(mu_);
  auto n = std::make_shared<Inode>();
  n->info.type = FileType::kDir;
  n->info.mode = mode & 07777;
  n->info.nlink = 2;
  return add(normalize(path), n, "mkdir");
}

Status MemEnv::remove_file(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  std::string norm = normalize(path);
  ASSIGN_OR_RETURN(auto n, find(norm, "remove"));
  if (n->info.type == FileType::kDir) return invalid_argument("remove " + norm + ": Is a directory");
  if (n->info.nlink > 0) --n->info.nlink;
  nodes_.erase(norm);
  return ok_status();
}

Status MemEnv::remove_dir(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  std::string norm = normalize(path);
  ASSIGN_OR_RETURN(auto n, find(norm, "remove directory"));
  if (n->info.type != FileType::kDir) return not_found("remove directory " + norm + ": Not a directory");
  auto it = nodes_.upper_bound(norm + "/");
  if (it != nodes_.end() && it->first.compare(0, norm.size() + 1, norm + "/") == 0) {
    return already_exists("remove directory " + norm + ": Directory not empty");
  }
  nodes_.erase(norm);
  return ok_status();
}

Status MemEnv::rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  std::string f = normalize(from), t = normalize(to);
  ASSIGN_OR_RETURN(auto n, find(f, "rename"));
  RETURN_IF_ERROR(check_parent(t, "rename"));
  if (n->info.type == FileType::kDir) {
    std::vector<std::pair<std::string, std::shared_ptr<Inode>>> moved;
    for (auto it = nodes_.lower_bound(f + "/"); it != nodes_.end() &&
                                                 it->first.compare(0, f.size() + 1, f + "/") == 0;) {
      moved.emplace_back(t + it->first.substr(f.size()), it->second);
      it = nodes_.erase(it);
    }
    for (auto& m : moved) nodes_[m.first] = m.second;
  }
  nodes_.erase(f);
  nodes_[t] = n;
  return ok_status();
}

Status MemEnv::sync_dir(const std::string&) { return ok_status(); }

StatusOr<std::string> MemEnv::read_link(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  std::string norm = normalize(path);
  ASSIGN_OR_RETURN(auto n, find(norm, "readlink"));
  if (n->info.type != FileType::kSymlink) return invalid_argument("readlink " + norm + ": Invalid argument");
  return n->link_target;
}

Status MemEnv::make_symlink(const std::string& target, const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  auto n = std::make_shared<Inode>();
  n->info.type = FileType::kSymlink;
  n->info.mode = 0777;
  n->info.size = target.size();
  n->link_target = target;
  return add(normalize(path), n, "symlink");
}

Status MemEnv::make_hardlink(const std::string& existing, const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  std::string e = normalize(existing), p = normalize(path);
  ASSIGN_OR_RETURN(auto n, find(e, "link"));
  if (n->info.type == FileType::kDir) return permission_denied("link " + p + ": Operation not permitted");
  RETURN_IF_ERROR(check_parent(p, "link"));
  if (nodes_.count(p)) return already_exists("link " + p + ": File exists");
  ++n->info.nlink;
  nodes_[p] = n;
  return ok_status();
}

Status MemEnv::make_node(const std::string& path, FileType type, uint32_t mode, uint64_t rdev) {
  std::lock_guard<std::mutex> l(mu_);
  auto n = std::make_shared<Inode>();
  n->info.type = type;
  n->info.mode = mode & 07777;
  n->info.rdev = rdev;
  return add(normalize(path), n, "mknod");
}

Status MemEnv::set_owner(const std::string& path, uint32_t uid, uint32_t gid) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(auto n, find(normalize(path), "chown"));
  n->info.uid = uid;
  n->info.gid = gid;
  return ok_status();
}

Status MemEnv::set_mode(const std::string& path, uint32_t mode) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(auto n, find(normalize(path), "chmod"));
  n->info.mode = mode & 07777;
  return ok_status();
}

Status MemEnv::set_times(const std::string& path, Timespec atime, Timespec mtime) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(auto n, find(normalize(path), "set times of"));
  n->info.atime = atime;
  n->info.mtime = mtime;
  return ok_status();
}

StatusOr<std::vector<std::string>> MemEnv::list_xattrs(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(auto n, find(normalize(path), "list xattrs of"));
  return xattr_names(*n);
}

StatusOr<Bytes> MemEnv::get_xattr(const std::string& path, const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(auto n, find(normalize(path), "get xattr of"));
  return xattr_value(*n, name, " of " + path);
}

Status MemEnv::set_xattr(const std::string& path, const std::string& name, ByteSpan value) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(auto n, find(normalize(path), "set xattr of"));
  put_xattr(*n, name, value);
  return ok_status();
}

}  // namespace kura::base
