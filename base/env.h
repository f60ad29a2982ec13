// Env: the file system behind one interface (LevelDB style). The real implementation is
// posix_env(); tests use MemEnv (in memory) and FaultEnv (injects errors, torn writes, full
// disks). Paths are byte strings, absolute or relative to the process's working directory.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace kura::base {

enum class FileType : uint8_t { kUnknown, kFile, kDir, kSymlink, kBlockDev, kCharDev, kFifo, kSocket };

struct Timespec {
  int64_t sec = 0;
  int32_t nsec = 0;
  friend bool operator==(const Timespec&, const Timespec&) = default;
};

struct FileInfo {
  FileType type = FileType::kUnknown;
  uint32_t mode = 0;  // st_mode permission and special bits (07777), no type bits
  uint32_t uid = 0, gid = 0;
  uint64_t inode = 0, device = 0, rdev = 0, nlink = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;  // 512-byte blocks actually allocated
  Timespec mtime, atime, ctime;
};

struct DirEntry {
  std::string name;
  FileType type = FileType::kUnknown;  // from d_type; kUnknown means "lstat to find out"
};

class ReadableFile {
 public:
  virtual ~ReadableFile() = default;
  // Reads up to buf.size() bytes at offset; returns the count (0 at end of file).
  virtual StatusOr<size_t> read_at(uint64_t offset, MutableByteSpan buf) = 0;
  // Sequential read from the current position.
  virtual StatusOr<size_t> read(MutableByteSpan buf) = 0;
  virtual StatusOr<FileInfo> stat() = 0;
  // The open file's extended attributes (names in the file system's order, and one value),
  // without a path lookup. unimplemented where the file has none to offer (e.g. a pipe).
  virtual StatusOr<std::vector<std::string>> list_xattrs();
  virtual StatusOr<Bytes> get_xattr(const std::string& name);
};


class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status append(ByteSpan data) = 0;
  virtual Status write_at(uint64_t offset, ByteSpan data) = 0;
  // Sets the size (extending leaves a hole where the file system supports it).
  virtual Status truncate(uint64_t size) = 0;
  virtual Status sync() = 0;
  virtual Status close() = 0;
  // Metadata through the open file, without a path lookup per call (restore sets a file's
  // metadata before closing it). Times go last: a later write would change mtime again.
  virtual Status set_owner(uint32_t uid, uint32_t gid) = 0;
  virtual Status set_mode(uint32_t mode) = 0;
  virtual Status set_xattr(const std::string& name, ByteSpan value) = 0;
  virtual Status set_times(Timespec atime, Timespec mtime) = 0;
};


struct WriteOptions {
  bool exclusive = false;  // fail if it exists
  bool truncate = true;
  uint32_t mode = 0644;
};

// An open directory whose entries are looked up by name (fstatat, openat), not by walking the
// whole path again for each of them. Names are single path components. Errors name the
// entry's full path, as Env's calls do.
class Directory {
 public:
  virtual ~Directory() = default;
  virtual StatusOr<std::vector<DirEntry>> list() = 0;
  virtual StatusOr<FileInfo> lstat(const std::string& name) = 0;
  // As Env::open_read / open_write of path_join(directory, name).
  virtual StatusOr<std::unique_ptr<ReadableFile>> open_read(const std::string& name) = 0;
  virtual StatusOr<std::unique_ptr<WritableFile>> open_write(const std::string& name,
                                                             const WriteOptions& opts) = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  virtual StatusOr<FileInfo> lstat(const std::string& path) = 0;
  virtual StatusOr<FileInfo> stat(const std::string& path) = 0;
  virtual StatusOr<std::vector<DirEntry>> list_dir(const std::string& path) = 0;
  // The directory at path, open for lookups below it. The default works through the path
  // calls above (so test Envs need nothing more); posix_env() keeps a directory descriptor.
  virtual StatusOr<std::unique_ptr<Directory>> open_directory(const std::string& path);

  virtual StatusOr<std::unique_ptr<ReadableFile>> open_read(const std::string& path) = 0;
  virtual StatusOr<std::unique_ptr<WritableFile>> open_write(const std::string& path,
                                                             const WriteOptions& opts) = 0;

  virtual Status make_dir(const std::string& path, uint32_t mode) = 0;
  virtual Status remove_file(const std::string& path) = 0;
  virtual Status remove_dir(const std::string& path) = 0;
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  // fsync of a directory, so a rename inside it is durable.
  virtual Status sync_dir(const std::string& path) = 0;

  virtual StatusOr<std::string> read_link(const std::string& path) = 0;
  virtual Status make_symlink(const std::string& target, const std::string& path) = 0;
  virtual Status make_hardlink(const std::string& existing, const std::string& path) = 0;
  // Device nodes, fifos and sockets: `type` decides which; `rdev` for devices.
  virtual Status make_node(const std::string& path, FileType type, uint32_t mode,
                           uint64_t rdev) = 0;

  // The metadata setters never follow a final symlink.
  virtual Status set_owner(const std::string& path, uint32_t uid, uint32_t gid) = 0;
  virtual Status set_mode(const std::string& path, uint32_t mode) = 0;
  virtual Status set_times(const std::string& path, Timespec atime, Timespec mtime) = 0;

  virtual StatusOr<std::vector<std::string>> list_xattrs(const std::string& path) = 0;
  virtual StatusOr<Bytes> get_xattr(const std::string& path, const std::string& name) = 0;
  virtual Status set_xattr(const std::string& path, const std::string& name, ByteSpan value) = 0;

  // A file the user named (a password file, --files-from, --exclude-file ...), read as Go's
  // os.ReadFile reads it: symlinks followed, so /dev/stdin and a shell's <(command) work, and
  // a pipe read to its end. The default is read_file (test Envs have no pipes).
  virtual StatusOr<Bytes> read_named_file(const std::string& path) { return read_file(path); }

  // Helpers built on the primitives above.
  StatusOr<Bytes> read_file(const std::string& path);
  // Writes to "<path>.tmp-<random>", syncs, renames over path, syncs the directory.
  Status write_file_atomic(const std::string& path, ByteSpan data, uint32_t mode);
  Status write_file(const std::string& path, ByteSpan data);
  // Creates every missing directory of path (like mkdir -p); a path that is a directory
  // already (or a symlink to one) is fine.
  Status make_dirs(const std::string& path, uint32_t mode);
  bool exists(const std::string& path);
  // Removes a directory tree (rm -rf). Missing path is fine.
  Status remove_all(const std::string& path);
};

// The process's real file system. Thread-safe; lives forever.
Env* posix_env();

// The process's file mode creation mask, read from /proc/self/status (umask() itself would
// have to change it, racing other threads); nullopt where the kernel does not say.
std::optional<uint32_t> process_umask();

// Standard input as a file (a duplicate of fd 0: closing it leaves stdin open).
StatusOr<std::unique_ptr<ReadableFile>> open_stdin();

// Joins path pieces with exactly one '/' between them.
std::string path_join(std::string_view a, std::string_view b);
std::string path_dirname(std::string_view path);
std::string path_basename(std::string_view path);

}  // namespace kura::base
