// FaultEnv: wraps another Env and injects faults, to test that errors surface clearly and
// nothing is lost: failing calls, torn writes and a disk that fills up.
#pragma once

#include <atomic>
#include <mutex>
#include <vector>

#include "base/env.h"

namespace kura::base {

enum class EnvOp { kAny, kStat, kList, kOpenRead, kRead, kOpenWrite, kWrite, kSync, kRename, kRemove, kMkdir, kXattr };

class FaultEnv : public Env {
 public:
  explicit FaultEnv(Env* target) : target_(target) {}

  // The calls of `op` on paths containing `path_part` fail with `status`, after `skip`
  // successful ones, `times` times (-1: forever).
  void fail(EnvOp op, std::string path_part, Status status, int skip = 0, int times = -1);
  // After `bytes` more bytes are written, writes store only what fits and then fail with
  // "No space left on device" (a torn write, as a real full disk gives).
  void set_free_space(uint64_t bytes);
  void clear();
  uint64_t bytes_written() const { return written_.load(); }

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

  // Used by the file wrappers.
  Status check(EnvOp op, const std::string& path);
  // Returns how many of `want` bytes may be written (all, unless the disk is "full").
  uint64_t reserve(uint64_t want);

 private:
  struct Rule {
    EnvOp op;
    std::string path_part;
    Status status;
    int skip;
    int times;
  };
  Env* target_;
  std::mutex mu_;
  std::vector<Rule> rules_;
  bool limited_ = false;
  uint64_t free_ = 0;
  std::atomic<uint64_t> written_{0};
};

}  // namespace kura::base
