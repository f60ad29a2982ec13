#include "base/env.h"

#include <atomic>
#include <chrono>
#include <cstdio>

namespace kura::base {
namespace {

// Env::open_directory's default: every lookup goes through the Env's path calls.
class PathDirectory : public Directory {
 public:
  PathDirectory(Env* env, std::string path) : env_(env), path_(std::move(path)) {}
  StatusOr<std::vector<DirEntry>> list() override { return env_->list_dir(path_); }
  StatusOr<FileInfo> lstat(const std::string& name) override {
    return env_->lstat(path_join(path_, name));
  }
  StatusOr<std::unique_ptr<ReadableFile>> open_read(const std::string& name) override {
    return env_->open_read(path_join(path_, name));
  }
  StatusOr<std::unique_ptr<WritableFile>> open_write(const std::string& name,
                                                     const WriteOptions& opts) override {
    return env_->open_write(path_join(path_, name), opts);
  }

 private:
  Env* env_;
  std::string path_;
};

}  // namespace

StatusOr<std::vector<std::string>> ReadableFile::list_xattrs() {
  return unimplemented("extended attributes are not supported here");
}

StatusOr<Bytes> ReadableFile::get_xattr(const std::string& name) {
  return unimplemented("extended attribute " + name + ": not supported here");
}

StatusOr<std::unique_ptr<Directory>> Env::open_directory(const std::string& path) {
  // Nothing to open: list() reports a missing or unreadable directory as list_dir does.
  return std::unique_ptr<Directory>(new PathDirectory(this, path));
}


StatusOr<Bytes> Env::read_file(const std::string& path) {
  ASSIGN_OR_RETURN(auto file, open_read(path));
  ASSIGN_OR_RETURN(FileInfo info, file->stat());
  Bytes out(info.size);
  ASSIGN_OR_RETURN(size_t n, file->read_at(0, out));
  if (n != out.size()) {
    // The file changed size under us; read the rest sequentially.
    out.resize(n);
    uint8_t buf[65536];
    for (;;) {
      ASSIGN_OR_RETURN(size_t m, file->read_at(out.size(), buf));
      if (m == 0) break;
      out.insert(out.end(), buf, buf + m);
    }
  }
  return out;
}

Status Env::write_file(const std::string& path, ByteSpan data) {
  ASSIGN_OR_RETURN(auto file, open_write(path, WriteOptions{}));
  RETURN_IF_ERROR(file->append(data));
  return file->close();
}

Status Env::write_file_atomic(const std::string& path, ByteSpan data, uint32_t mode) {
  static std::atomic<uint64_t> counter{0};
  uint64_t nonce = counter.fetch_add(1) ^
                   static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  char suffix[40];
  std::snprintf(suffix, sizeof suffix, ".tmp-%016llx", static_cast<unsigned long long>(nonce));
  std::string tmp = path + suffix;
  {
    WriteOptions opts;
    opts.exclusive = true;
    opts.mode = mode;
    ASSIGN_OR_RETURN(auto file, open_write(tmp, opts));
    Status st = file->append(data);
    if (st.ok()) st = file->sync();
    Status cst = file->close();
    if (st.ok()) st = cst;
    if (!st.ok()) {
      remove_file(tmp).ignore();
      return st;
    }
  }
  Status st = rename(tmp, path);
  if (!st.ok()) {
    remove_file(tmp).ignore();
    return st;
  }
  return sync_dir(path_dirname(path));
}

Status Env::make_dirs(const std::string& path, uint32_t mode) {
  if (path.empty() || path == "/" || path == ".") return ok_status();
  // Mostly the folder is new and the one above it is there (a restore makes folders top
  // down): one mkdir, no lookups first.
  Status st = make_dir(path, mode);
  if (st.code() == Code::kNotFound) {
    RETURN_IF_ERROR(make_dirs(path_dirname(path), mode));
    st = make_dir(path, mode);
  }
  if (st.code() != Code::kAlreadyExists) return st;
  // There already (or made meanwhile by someone else): fine if it is a folder.
  ASSIGN_OR_RETURN(FileInfo info, stat(path));
  if (info.type == FileType::kDir) return ok_status();
  return already_exists("mkdir " + path + ": exists and is not a directory");
}

bool Env::exists(const std::string& path) { return lstat(path).ok(); }

Status Env::remove_all(const std::string& path) {
  auto info = lstat(path);
  if (!info.ok()) {
    if (info.status().code() == Code::kNotFound) return ok_status();
    return info.status();
  }
  if (info->type != FileType::kDir) return remove_file(path);
  ASSIGN_OR_RETURN(auto entries, list_dir(path));
  for (const auto& e : entries) RETURN_IF_ERROR(remove_all(path_join(path, e.name)));
  return remove_dir(path);
}

std::string path_join(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  std::string out(a);
  if (out.back() != '/') out += '/';
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  out += b;
  return out;
}

std::string path_dirname(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string path_basename(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return std::string(path);
  return std::string(path.substr(slash + 1));
}

}  // namespace kura::base
