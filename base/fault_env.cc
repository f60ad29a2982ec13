#include "base/fault_env.h"

namespace kura::base {
namespace {

class FaultReadable : public ReadableFile {
 public:
  FaultReadable(FaultEnv* env, std::unique_ptr<ReadableFile> f, std::string path)
      : env_(env), f_(std::move(f)), path_(std::move(path)) {}
  StatusOr<size_t> read_at(uint64_t offset, MutableByteSpan buf) override {
    RETURN_IF_ERROR(env_->check(EnvOp::kRead, path_));
    return f_->read_at(offset, buf);
  }
  StatusOr<size_t> read(MutableByteSpan buf) override {
    RETURN_IF_ERROR(env_->check(EnvOp::kRead, path_));
    return f_->read(buf);
  }
  StatusOr<FileInfo> stat() override {
    RETURN_IF_ERROR(env_->check(EnvOp::kStat, path_));
    return f_->stat();
  }
  StatusOr<std::vector<std::string>> list_xattrs() override {
    RETURN_IF_ERROR(env_->check(EnvOp::kXattr, path_));
    return f_->list_xattrs();
  }
  StatusOr<Bytes> get_xattr(const std::string& name) override {
    RETURN_IF_ERROR(env_->check(EnvOp::kXattr, path_));
    return f_->get_xattr(name);
  }

 private:
  FaultEnv* env_;
  std::unique_ptr<ReadableFile> f_;
  std::string path_;
};

class FaultWritable : public WritableFile {
 public:
  FaultWritable(FaultEnv* env, std::unique_ptr<WritableFile> f, std::string path)
      : env_(env), f_(std::move(f)), path_(std::move(path)) {}
  Status append(ByteSpan data) override {
    RETURN_IF_ERROR(env_->check(EnvOp::kWrite, path_));
    uint64_t ok = env_->reserve(data.size());
    RETURN_IF_ERROR(f_->append(data.first(ok)));
    if (ok < data.size()) return full();
    return ok_status();
  }
  Status write_at(uint64_t offset, ByteSpan data) override {
    RETURN_IF_ERROR(env_->check(EnvOp::kWrite, path_));
    uint64_t ok = env_->reserve(data.size());
    RETURN_IF_ERROR(f_->write_at(offset, data.first(ok)));
    if (ok < data.size()) return full();
    return ok_status();
  }
  Status truncate(uint64_t size) override {
    RETURN_IF_ERROR(env_->check(EnvOp::kWrite, path_));
    return f_->truncate(size);
  }
  Status sync() override {
    RETURN_IF_ERROR(env_->check(EnvOp::kSync, path_));
    return f_->sync();
  }
  Status close() override { return f_->close(); }
  // Same fault classes as the path-based calls of FaultEnv.
  Status set_owner(uint32_t uid, uint32_t gid) override {
    RETURN_IF_ERROR(env_->check(EnvOp::kWrite, path_));
    return f_->set_owner(uid, gid);
  }
  Status set_mode(uint32_t mode) override {
    RETURN_IF_ERROR(env_->check(EnvOp::kWrite, path_));
    return f_->set_mode(mode);
  }
  Status set_xattr(const std::string& name, ByteSpan value) override {
    RETURN_IF_ERROR(env_->check(EnvOp::kXattr, path_));
    return f_->set_xattr(name, value);
  }
  Status set_times(Timespec atime, Timespec mtime) override {
    RETURN_IF_ERROR(env_->check(EnvOp::kWrite, path_));
    return f_->set_times(atime, mtime);
  }

 private:
  Status full() { return resource_exhausted("write " + path_ + ": No space left on device"); }
  FaultEnv* env_;
  std::unique_ptr<WritableFile> f_;
  std::string path_;
};

}  // namespace

void FaultEnv::fail(EnvOp op, std::string path_part, Status status, int skip, int times) {
  std::lock_guard<std::mutex> l(mu_);
  rules_.push_back({op, std::move(path_part), std::move(status), skip, times});
}

void FaultEnv::set_free_space(uint64_t bytes) {
  std::lock_guard<std::mutex> l(mu_);
  limited_ = true;
  free_ = bytes;
}

void FaultEnv::clear() {
  std::lock_guard<std::mutex> l(mu_);
  rules_.clear();
  limited_ = false;
}

Status FaultEnv::check(EnvOp op, const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& r : rules_) {
    if (r.op != EnvOp::kAny && r.op != op) continue;
    if (path.find(r.path_part) == std::string::npos) continue;
    if (r.times == 0) continue;
    if (r.skip > 0) {
      --r.skip;
      continue;
    }
    if (r.times > 0) --r.times;
    return r.status;
  }
  return ok_status();
}

uint64_t FaultEnv::reserve(uint64_t want) {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t ok = want;
  if (limited_) {
    ok = std::min(want, free_);
    free_ -= ok;
  }
  written_ += ok;
  return ok;
}

#define KURA_FAULT(op, path) RETURN_IF_ERROR(check(op, path))

StatusOr<FileInfo> FaultEnv::lstat(const std::string& p) {
  KURA_FAULT(EnvOp::kStat, p);
  return target_->lstat(p);
}
StatusOr<FileInfo> FaultEnv::stat(const std::string& p) {
  KURA_FAULT(EnvOp::kStat, p);
  return target_->stat(p);
}
StatusOr<std::vector<DirEntry>> FaultEnv::list_dir(const std::string& p) {
  KURA_FAULT(EnvOp::kList, p);
  return target_->list_dir(p);
}
StatusOr<std::unique_ptr<ReadableFile>> FaultEnv::open_read(const std::string& p) {
  KURA_FAULT(EnvOp::kOpenRead, p);
  ASSIGN_OR_RETURN(auto f, target_->open_read(p));
  return std::unique_ptr<ReadableFile>(new FaultReadable(this, std::move(f), p));
}
StatusOr<std::unique_ptr<WritableFile>> FaultEnv::open_write(const std::string& p,
                                                             const WriteOptions& o) {
  KURA_FAULT(EnvOp::kOpenWrite, p);
  ASSIGN_OR_RETURN(auto f, target_->open_write(p, o));
  return std::unique_ptr<WritableFile>(new FaultWritable(this, std::move(f), p));
}
Status FaultEnv::make_dir(const std::string& p, uint32_t mode) {
  KURA_FAULT(EnvOp::kMkdir, p);
  return target_->make_dir(p, mode);
}
Status FaultEnv::remove_file(const std::string& p) {
  KURA_FAULT(EnvOp::kRemove, p);
  return target_->remove_file(p);
}
Status FaultEnv::remove_dir(const std::string& p) {
  KURA_FAULT(EnvOp::kRemove, p);
  return target_->remove_dir(p);
}
Status FaultEnv::rename(const std::string& from, const std::string& to) {
  KURA_FAULT(EnvOp::kRename, to);
  return target_->rename(from, to);
}
Status FaultEnv::sync_dir(const std::string& p) {
  KURA_FAULT(EnvOp::kSync, p);
  return target_->sync_dir(p);
}
StatusOr<std::string> FaultEnv::read_link(const std::string& p) {
  KURA_FAULT(EnvOp::kStat, p);
  return target_->read_link(p);
}
Status FaultEnv::make_symlink(const std::string& t, const std::string& p) {
  KURA_FAULT(EnvOp::kOpenWrite, p);
  return target_->make_symlink(t, p);
}
Status FaultEnv::make_hardlink(const std::string& e, const std::string& p) {
  KURA_FAULT(EnvOp::kOpenWrite, p);
  return target_->make_hardlink(e, p);
}
Status FaultEnv::make_node(const std::string& p, FileType t, uint32_t m, uint64_t r) {
  KURA_FAULT(EnvOp::kOpenWrite, p);
  return target_->make_node(p, t, m, r);
}
Status FaultEnv::set_owner(const std::string& p, uint32_t u, uint32_t g) {
  KURA_FAULT(EnvOp::kWrite, p);
  return target_->set_owner(p, u, g);
}
Status FaultEnv::set_mode(const std::string& p, uint32_t m) {
  KURA_FAULT(EnvOp::kWrite, p);
  return target_->set_mode(p, m);
}
Status FaultEnv::set_times(const std::string& p, Timespec a, Timespec m) {
  KURA_FAULT(EnvOp::kWrite, p);
  return target_->set_times(p, a, m);
}
StatusOr<std::vector<std::string>> FaultEnv::list_xattrs(const std::string& p) {
  KURA_FAULT(EnvOp::kXattr, p);
  return target_->list_xattrs(p);
}
StatusOr<Bytes> FaultEnv::get_xattr(const std::string& p, const std::string& n) {
  KURA_FAULT(EnvOp::kXattr, p);
  return target_->get_xattr(p, n);
}
Status FaultEnv::set_xattr(const std::string& p, const std::string& n, ByteSpan v) {
  KURA_FAULT(EnvOp::kXattr, p);
  return target_->set_xattr(p, n, v);
}

#undef KURA_FAULT

}  // namespace kura::base
