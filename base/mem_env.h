// MemEnv: a complete in-memory file system for unit tests. Paths are normalised ("a//b/" is
// "a/b"); relative and absolute paths live in the same namespace. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "base/env.h"

namespace kura::base {

class MemEnv : public Env {
 public:
  MemEnv();
  ~MemEnv() override;

  StatusOr<FileInfo> lstat(const std::string& path) override;
  StatusOr<FileInfo> stat(const std::string& path) override;
  StatusOr<std::vector<DirEntry>> list_dir(const std::string& path) override;
  StatusOr<std::unique_ptr<ReadableFile>> open_read(const std::string& path) override;
  StatusOr<std::unique_ptr<WritableFile>> open_write(const std::string& path,
                                                     const WriteOptions& opts) override;
  Status make_dir(const std::string& path, uint32_t mode) override;
  Status remove_file(const std::string& path) override;
  Status remove_dir(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status sync_dir(const std::string& path) override;
  StatusOr<std::string> read_link(const std::string& path) override;
  Status make_symlink(const std::string& target, const std::string& path) override;
  Status make_hardlink(const std::string& existing, const std::string& path) override;
  Status make_node(const std::string& path, FileType type, uint32_t mode, uint64_t rdev) override;
  Status set_owner(const std::string& path, uint32_t uid, uint32_t gid) override;
  Status set_mode(const std::string& path, uint32_t mode) override;
  Status set_times(const std::string& path, Timespec atime, Timespec mtime) override;
  StatusOr<std::vector<std::string>> list_xattrs(const std::string& path) override;
  StatusOr<Bytes> get_xattr(const std::string& path, const std::string& name) override;
  Status set_xattr(const std::string& path, const std::string& name, ByteSpan value) override;

  struct Inode;

 private:
  StatusOr<std::shared_ptr<Inode>> find(const std::string& norm, const char* op);
  Status check_parent(const std::string& norm, const char* op);
  Status add(const std::string& norm, std::shared_ptr<Inode> node, const char* op);

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Inode>> nodes_;  // normalised path -> inode
  uint64_t next_inode_ = 2;
};

}  // namespace kura::base
