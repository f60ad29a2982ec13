#define FUSE_USE_VERSION 35
#include "fs/fuse_mount.h"

#include <fcntl.h>
#include <fuse.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>

namespace kura::fs {
namespace {

struct Served {
  RepoFs* fs;
  const FuseOptions* opts;
};

Served& served() { return *static_cast<Served*>(fuse_get_context()->private_data); }

// `invalid` is the errno for invalid_argument, which means "wrong kind of node" for this call.
int fail(const char* path, const base::Status& st, int invalid) {
  switch (st.code()) {
    case base::Code::kNotFound: return -ENOENT;
    case base::Code::kInvalidArgument: return -invalid;
    default:
      if (served().opts->on_error) served().opts->on_error(path, st);
      return -EIO;
  }
}

timespec to_timespec(const repo::NodeTime& t) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(t.sec);
  ts.tv_nsec = t.nsec;
  return ts;
}

void* on_init(fuse_conn_info* conn, fuse_config* cfg) {
  cfg->use_ino = 1;       // restic's inode numbers
  cfg->kernel_cache = 1;  // a snapshot never changes
  conn->max_readahead = 128 * 1024;
  return fuse_get_context()->private_data;
}

int on_getattr(const char* path, struct stat* st, fuse_file_info*) {
  auto a = served().fs->getattr(path);
  if (!a.ok()) return fail(path, a.status(), ENOTDIR);
  std::memset(st, 0, sizeof *st);
  st->st_ino = a->ino;
  st->st_mode = a->mode;
  st->st_nlink = a->nlink;
  st->st_uid = a->uid;
  st->st_gid = a->gid;
  st->st_size = static_cast<off_t>(a->size);
  st->st_blocks = static_cast<blkcnt_t>(a->blocks);
  st->st_blksize = a->blksize;
  st->st_atim = to_timespec(a->atime);
  st->st_mtim = to_timespec(a->mtime);
  st->st_ctim = to_timespec(a->ctime);
  return 0;
}

int on_readlink(const char* path, char* buf, size_t size) {
  auto target = served().fs->readlink(path);
  if (!target.ok()) return fail(path, target.status(), EINVAL);
  if (size == 0) return -EINVAL;
  size_t n = std::min(size - 1, target->size());
  std::memcpy(buf, target->data(), n);
  buf[n] = '\0';
  return 0;
}

int on_open(const char* path, fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY) return -EROFS;
  auto h = served().fs->open(path);
  if (!h.ok()) return fail(path, h.status(), EISDIR);
  fi->fh = *h;
  fi->keep_cache = 1;
  return 0;
}

int on_read(const char* path, char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  if (offset < 0) return -EINVAL;
  auto data = served().fs->read(fi->fh, static_cast<uint64_t>(offset), size);
  if (!data.ok()) return fail(path ? path : "", data.status(), EINVAL);
  std::memcpy(buf, data->data(), data->size());
  return static_cast<int>(data->size());
}

int on_release(const char*, fuse_file_info* fi) {
  served().fs->release(fi->fh);
  return 0;
}

int on_readdir(const char* path, void* buf, fuse_fill_dir_t filler, off_t, fuse_file_info*,
               fuse_readdir_flags) {
  auto entries = served().fs->readdir(path);
  if (!entries.ok()) return fail(path, entries.status(), ENOTDIR);
  for (const DirEntry& e : *entries) {
    struct stat st {};
    st.st_ino = e.ino;
    st.st_mode = e.type;
    if (filler(buf, e.name.c_str(), &st, 0, static_cast<fuse_fill_dir_flags>(0)) != 0) break;
  }
  return 0;
}

int on_getxattr(const char* path, const char* name, char* value, size_t size) {
  auto v = served().fs->getxattr(path, name);
  if (!v.ok()) return fail(path, v.status(), ENODATA);
  if (!*v) return -ENODATA;
  const base::Bytes& bytes = **v;
  if (size == 0) return static_cast<int>(bytes.size());
  if (size < bytes.size()) return -ERANGE;
  std::memcpy(value, bytes.data(), bytes.size());
  return static_cast<int>(bytes.size());
}

int on_listxattr(const char* path, char* list, size_t size) {
  auto names = served().fs->listxattr(path);
  if (!names.ok()) return fail(path, names.status(), ENOTSUP);
  std::string all;
  for (const auto& n : *names) all.append(n).push_back('\0');
  if (size == 0) return static_cast<int>(all.size());
  if (size < all.size()) return -ERANGE;
  std::memcpy(list, all.data(), all.size());
  return static_cast<int>(all.size());
}

fuse_operations operations() {
  fuse_operations ops{};
  ops.init = on_init;
  ops.getattr = on_getattr;
  ops.readlink = on_readlink;
  ops.open = on_open;
  ops.read = on_read;
  ops.release = on_release;
  ops.readdir = on_readdir;
  ops.getxattr = on_getxattr;
  ops.listxattr = on_listxattr;
  return ops;
}

// fuse_args that free themselves.
struct Args {
  fuse_args args = FUSE_ARGS_INIT(0, nullptr);
  ~Args() { fuse_opt_free_args(&args); }
  void add(const std::string& a) { fuse_opt_add_arg(&args, a.c_str()); }
};

}  // namespace

base::Status serve_fuse(RepoFs& fs, const std::string& mountpoint, const FuseOptions& opts) {
  Args args;
  args.add("kura");
  std::string o = "ro,fsname=" + opts.fsname;
  if (opts.allow_other) {
    o += ",allow_other";
    if (!opts.no_default_permissions) o += ",default_permissions";
  }
  args.add("-o");
  args.add(o);

  Served served{&fs, &opts};
  fuse_operations ops = operations();
  std::unique_ptr<fuse, decltype(&fuse_destroy)> f(fuse_new(&args.args, &ops, sizeof ops, &served),
                                                   &fuse_destroy);
  if (!f) return base::invalid_argument("libfuse could not set up the file system");
  if (fuse_mount(f.get(), mountpoint.c_str()) != 0) {
    return base::unavailable("libfuse could not mount it");
  }
  fuse_session* se = fuse_get_session(f.get());
  // libfuse only takes over signals left at their default. A shell starts background jobs
  // with SIGINT ignored; the mount must still end on Ctrl-C / kill -INT (Go's signal.Notify,
  // and so restic, does the same). SIGHUP stays ignored under nohup.
  for (int sig : {SIGINT, SIGTERM}) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) std::signal(sig, SIG_DFL);
  }
  if (fuse_set_signal_handlers(se) != 0) {
    fuse_unmount(f.get());
    return base::internal_error("libfuse could not install its signal handlers");
  }
  if (opts.on_ready) opts.on_ready();
  fuse_loop_config loop{};
  loop.clone_fd = 0;
  loop.max_idle_threads = 10;
  int rc = fuse_loop_mt(f.get(), &loop);
  fuse_remove_signal_handlers(se);
  fuse_unmount(f.get());
  // fuse_loop returns the signal's number when one ended it: that is a normal end.
  if (rc < 0) return base::errno_status(-rc, "fuse: serving " + mountpoint);
  return base::ok_status();
}

}  // namespace kura::fs
