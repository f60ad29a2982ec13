// The real file system, through POSIX calls. Every error names the path and the call.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/env.h"

namespace kura::base {
namespace {

FileType type_from_mode(mode_t m) {
  switch (m & S_IFMT) {
    case S_IFREG: return FileType::kFile;
    case S_IFDIR: return FileType::kDir;
    case S_IFLNK: return FileType::kSymlink;
    case S_IFBLK: return FileType::kBlockDev;
    case S_IFCHR: return FileType::kCharDev;
    case S_IFIFO: return FileType::kFifo;
    case S_IFSOCK: return FileType::kSocket;
    default: return FileType::kUnknown;
  }
}

FileInfo info_from_stat(const struct stat& st) {
  FileInfo fi;
  fi.type = type_from_mode(st.st_mode);
  fi.mode = st.st_mode & 07777;
  fi.uid = st.st_uid;
  fi.gid = st.st_gid;
  fi.inode = st.st_ino;
  fi.device = st.st_dev;
  fi.rdev = st.st_rdev;
  fi.nlink = st.st_nlink;
  fi.size = static_cast<uint64_t>(st.st_size);
  fi.blocks = static_cast<uint64_t>(st.st_blocks);
  fi.mtime = {st.st_mtim.tv_sec, static_cast<int32_t>(st.st_mtim.tv_nsec)};
  fi.atime = {st.st_atim.tv_sec, static_cast<int32_t>(st.st_atim.tv_nsec)};
  fi.ctime = {st.st_ctim.tv_sec, static_cast<int32_t>(st.st_ctim.tv_nsec)};
  return fi;
}

Status err(std::string_view op, const std::string& path) {
  int e = errno;
  std::string what(op);
  what += ' ';
  what += path;
  return errno_status(e, what);
}

// `list(buf, size)` is llistxattr or flistxattr bound to one file: the names, grown into a
// larger buffer while they do not fit. A file system without xattrs has none.
template <typename List>
StatusOr<std::vector<std::string>> xattr_names(List list, const std::string& path) {
  std::vector<char> buf(256);
  for (;;) {
    ssize_t n = list(buf.data(), buf.size());
    if (n < 0) {
      if (errno == ERANGE) {
        ssize_t need = list(nullptr, 0);
        if (need < 0) return err("list xattrs of", path);
        buf.resize(static_cast<size_t>(need) + 64);
        continue;
      }
      if (errno == ENOTSUP) return std::vector<std::string>{};
      return err("list xattrs of", path);
    }
    std::vector<std::string> names;
    for (ssize_t i = 0; i < n;) {
      std::string name(buf.data() + i);
      i += static_cast<ssize_t>(name.size()) + 1;
      if (!name.empty()) names.push_back(std::move(name));
    }
    return names;
  }
}

// The same for one value: `get(buf, size)` is lgetxattr or fgetxattr bound to file and name.
template <typename Get>
StatusOr<Bytes> xattr_value(Get get, const std::string& name, const std::string& path) {
  Bytes buf(256);
  for (;;) {
    ssize_t n = get(buf.data(), buf.size());
    if (n >= 0) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    if (errno != ERANGE) return err("get xattr " + name + " of", path);
    ssize_t need = get(nullptr, 0);
    if (need < 0) return err("get xattr " + name + " of", path);
    buf.resize(static_cast<size_t>(need) + 64);
  }
}

// Entries of an open directory stream, without "." and ".."; closes it.
StatusOr<std::vector<DirEntry>> read_entries(DIR* d, const std::string& path) {
  std::vector<DirEntry> out;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    DirEntry de;
    de.name = e->d_name;
    switch (e->d_type) {
      case DT_REG: de.type = FileType::kFile; break;
      case DT_DIR: de.type = FileType::kDir; break;
      case DT_LNK: de.type = FileType::kSymlink; break;
      case DT_BLK: de.type = FileType::kBlockDev; break;
      case DT_CHR: de.type = FileType::kCharDev; break;
      case DT_FIFO: de.type = FileType::kFifo; break;
      case DT_SOCK: de.type = FileType::kSocket; break;
      default: de.type = FileType::kUnknown;
    }
    out.push_back(std::move(de));
    errno = 0;
  }
  Status st = errno != 0 ? err("read directory", path) : ok_status();
  ::closedir(d);
  if (!st.ok()) return st;
  return out;
}

class PosixReadableFile : public ReadableFile {
 public:
  PosixReadableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixReadableFile() override { ::close(fd_); }

  StatusOr<size_t> read_at(uint64_t offset, MutableByteSpan buf) override {
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t n = ::pread(fd_, buf.data() + done, buf.size() - done,
                          static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return err("read", path_);
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }

  StatusOr<size_t> read(MutableByteSpan buf) override {
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t n = ::read(fd_, buf.data() + done, buf.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return err("read", path_);
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }

  StatusOr<FileInfo> stat() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return err("stat", path_);
    return info_from_stat(st);
  }

  StatusOr<std::vector<std::string>> list_xattrs() override {
    return xattr_names([&](char* buf, size_t size) { return ::flistxattr(fd_, buf, size); },
                       path_);
  }
  StatusOr<Bytes> get_xattr(const std::string& name) override {
    return xattr_value(
        [&](uint8_t* buf, size_t size) { return ::fgetxattr(fd_, name.c_str(), buf, size); },
        name, path_);
  }

 private:
  int fd_;
  std::string path_;
};

class PosixWritableFile : public WritableFile {
 public:
  PosixWritableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status append(ByteSpan data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return err("write", path_);
      }
      done += static_cast<size_t>(n);
    }
    return ok_status();
  }

  Status write_at(uint64_t offset, ByteSpan data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done,
                           static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return err("write", path_);
      }
      done += static_cast<size_t>(n);
    }
    return ok_status();
  }

  Status truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return err("truncate", path_);
    return ok_status();
  }

  Status sync() override {
    if (::fdatasync(fd_) != 0) return err("sync", path_);
    return ok_status();
  }

  Status close() override {
    if (fd_ < 0) return ok_status();
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return err("close", path_);
    return ok_status();
  }

  Status set_owner(uint32_t uid, uint32_t gid) override {
    if (::fchown(fd_, uid, gid) != 0) return err("chown", path_);
    return ok_status();
  }
  Status set_mode(uint32_t mode) override {
    if (::fchmod(fd_, mode & 07777) != 0) return err("chmod", path_);
    return ok_status();
  }
  Status set_xattr(const std::string& name, ByteSpan value) override {
    if (::fsetxattr(fd_, name.c_str(), value.data(), value.size(), 0) != 0) {
      return err("set xattr " + name + " of", path_);
    }
    return ok_status();
  }
  Status set_times(Timespec atime, Timespec mtime) override {
    struct timespec ts[2] = {{atime.sec, atime.nsec}, {mtime.sec, mtime.nsec}};
    if (::futimens(fd_, ts) != 0) return err("set times of", path_);
    return ok_status();
  }

 private:
  int fd_;
  std::string path_;
};

// Opens `rel` relative to dirfd (AT_FDCWD: the working directory); errors name `path`.
StatusOr<std::unique_ptr<ReadableFile>> open_read_at(int dirfd, const char* rel,
                                                     const std::string& path) {
  int fd = ::openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return err("open", path);
  return std::unique_ptr<ReadableFile>(new PosixReadableFile(fd, path));
}

StatusOr<std::unique_ptr<WritableFile>> open_write_at(int dirfd, const char* rel,
                                                      const std::string& path,
                                                      const WriteOptions& opts) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
  if (opts.exclusive) flags |= O_EXCL;
  if (opts.truncate) flags |= O_TRUNC;
  int fd = ::openat(dirfd, rel, flags, opts.mode);
  if (fd < 0) return err("create", path);
  return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, path));
}

class PosixDirectory : public Directory {
 public:
  PosixDirectory(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixDirectory() override { ::close(fd_); }

  StatusOr<std::vector<DirEntry>> list() override {
    // The stream gets a descriptor of its own (closedir closes it), from the start.
    int fd = ::openat(fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return err("open directory", path_);
    DIR* d = ::fdopendir(fd);
    if (!d) {
      Status st = err("open directory", path_);
      ::close(fd);
      return st;
    }
    return read_entries(d, path_);
  }

  StatusOr<FileInfo> lstat(const std::string& name) override {
    struct stat st;
    if (::fstatat(fd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return err("lstat", path_join(path_, name));
    }
    return info_from_stat(st);
  }

  StatusOr<std::unique_ptr<ReadableFile>> open_read(const std::string& name) override {
    return open_read_at(fd_, name.c_str(), path_join(path_, name));
  }
  StatusOr<std::unique_ptr<WritableFile>> open_write(const std::string& name,
                                                     const WriteOptions& opts) override {
    return open_write_at(fd_, name.c_str(), path_join(path_, name), opts);
  }

 private:
  int fd_;
  std::string path_;
};

class PosixEnv : public Env {
 public:
  StatusOr<FileInfo> lstat(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return err("lstat", path);
    return info_from_stat(st);
  }

  StatusOr<FileInfo> stat(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return err("stat", path);
    return info_from_stat(st);
  }

  StatusOr<std::vector<DirEntry>> list_dir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (!d) return err("open directory", path);
    return read_entries(d, path);
  }

  StatusOr<std::unique_ptr<Directory>> open_directory(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return err("open directory", path);
    return std::unique_ptr<Directory>(new PosixDirectory(fd, path));
  }

  StatusOr<std::unique_ptr<ReadableFile>> open_read(const std::string& path) override {
    return open_read_at(AT_FDCWD, path.c_str(), path);
  }

  StatusOr<Bytes> read_named_file(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return err("open", path);
    Bytes out;
    uint8_t buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Status st = err("read", path);
        ::close(fd);
        return st;
      }
      if (n == 0) break;
      out.insert(out.end(), buf, buf + n);
    }
    ::close(fd);
    return out;
  }

  StatusOr<std::unique_ptr<WritableFile>> open_write(const std::string& path,
                                                     const WriteOptions& opts) override {
    return open_write_at(AT_FDCWD, path.c_str(), path, opts);
  }

  Status make_dir(const std::string& path, uint32_t mode) override {
    if (::mkdir(path.c_str(), mode) != 0) return err("mkdir", path);
    return ok_status();
  }
  Status remove_file(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return err("remove", path);
    return ok_status();
  }
  Status remove_dir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0) return err("remove directory", path);
    return ok_status();
  }
  Status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return err("rename to " + to + " from", from);
    return ok_status();
  }
  Status sync_dir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return err("open directory", path);
    int rc = ::fsync(fd);
    Status st = rc != 0 ? err("sync directory", path) : ok_status();
    ::close(fd);
    return st;
  }

  StatusOr<std::string> read_link(const std::string& path) override {
    std::string buf(256, '\0');
    for (;;) {
      ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
      if (n < 0) return err("readlink", path);
      if (static_cast<size_t>(n) < buf.size()) {
        buf.resize(static_cast<size_t>(n));
        return buf;
      }
      buf.resize(buf.size() * 2);
    }
  }
  Status make_symlink(const std::string& target, const std::string& path) override {
    if (::symlink(target.c_str(), path.c_str()) != 0) return err("symlink", path);
    return ok_status();
  }
  Status make_hardlink(const std::string& existing, const std::string& path) override {
    if (::link(existing.c_str(), path.c_str()) != 0) return err("link", path);
    return ok_status();
  }
  Status make_node(const std::string& path, FileType type, uint32_t mode,
                   uint64_t rdev) override {
    mode_t m = mode & 07777;
    switch (type) {
      case FileType::kBlockDev: m |= S_IFBLK; break;
      case FileType::kCharDev: m |= S_IFCHR; break;
      case FileType::kFifo: m |= S_IFIFO; break;
      case FileType::kSocket: m |= S_IFSOCK; break;
      default: return invalid_argument("make_node " + path + ": not a special file type");
    }
    if (::mknod(path.c_str(), m, static_cast<dev_t>(rdev)) != 0) return err("mknod", path);
    return ok_status();
  }

  Status set_owner(const std::string& path, uint32_t uid, uint32_t gid) override {
    if (::lchown(path.c_str(), uid, gid) != 0) return err("chown", path);
    return ok_status();
  }
  Status set_mode(const std::string& path, uint32_t mode) override {
    if (::fchmodat(AT_FDCWD, path.c_str(), mode & 07777, 0) != 0) return err("chmod", path);
    return ok_status();
  }
  Status set_times(const std::string& path, Timespec atime, Timespec mtime) override {
    struct timespec ts[2] = {{atime.sec, atime.nsec}, {mtime.sec, mtime.nsec}};
    if (::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
      return err("set times of", path);
    }
    return ok_status();
  }

  StatusOr<std::vector<std::string>> list_xattrs(const std::string& path) override {
    return xattr_names(
        [&](char* buf, size_t size) { return ::llistxattr(path.c_str(), buf, size); }, path);
  }
  StatusOr<Bytes> get_xattr(const std::string& path, const std::string& name) override {
    return xattr_value(
        [&](uint8_t* buf, size_t size) {
          return ::lgetxattr(path.c_str(), name.c_str(), buf, size);
        },
        name, path);
  }
  Status set_xattr(const std::string& path, const std::string& name, ByteSpan value) override {
    if (::lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) != 0) {
      return err("set xattr " + name + " of", path);
    }
    return ok_status();
  }
};

}  // namespace

std::optional<uint32_t> process_umask() {
  FILE* f = std::fopen("/proc/self/status", "re");
  if (!f) return std::nullopt;
  std::optional<uint32_t> mask;
  char line[256];
  while (std::fgets(line, sizeof line, f)) {
    unsigned value = 0;
    if (std::sscanf(line, "Umask: %o", &value) == 1) {
      mask = value & 0777;
      break;
    }
  }
  std::fclose(f);
  return mask;
}

StatusOr<std::unique_ptr<ReadableFile>> open_stdin() {
  int fd = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return err("open", "standard input");
  return std::unique_ptr<ReadableFile>(new PosixReadableFile(fd, "standard input"));
}

Env* posix_env() {
  static PosixEnv env;
  return &env;
}

}  // namespace kura::base
