// The local store: repositories in restic's local layout below a root folder. Reads, lists and
// the layout go through backend::open_local for the repository's folder; uploads have their own
// writer, which streams into "<final path>-tmp-<16 hex>" and links it into place on commit.
//
// Crash safety: an object becomes visible only by link(2) of a complete, fsynced temp file, and
// commit() returns only after the folder is fsynced too. A crash at any other moment leaves at
// most a temp file, which list() never shows (backend::is_temp_name) and sweep_temp_files
// removes.
#include <algorithm>
#include <cstdio>
#include <mutex>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "backend/local_backend.h"
#include "crypto/random.h"
#include "objstore/object_store.h"

namespace kura::objstore {
namespace {

using backend::FileKind;
using backend::Handle;

constexpr uint32_t kDirMode = 0700;
constexpr uint32_t kFileMode = 0400;
// Comparing a re-upload with the stored object reads both in pieces of this size.
constexpr size_t kCompareChunk = 256 << 10;
constexpr std::string_view kConfigTempPrefix = "config-tmp-";

std::string random_temp_suffix() {
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "-tmp-%016llx",
                static_cast<unsigned long long>(crypto::system_random()->next_u64()));
  return suffix;
}

// "config-tmp-<1 to 32 hex>": the temp file of an interrupted config upload (the other kinds'
// temp files are backend::is_temp_name).
bool is_config_temp_name(std::string_view name) {
  if (!name.starts_with(kConfigTempPrefix)) return false;
  std::string_view rest = name.substr(kConfigTempPrefix.size());
  if (rest.empty() || rest.size() > 32) return false;
  for (char c : rest) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The reason in an Env error, without the absolute path it names: "create /srv/kura/t/r/keys/
// ab…-tmp-…: No space left on device" → "No space left on device". Clients see these messages;
// the region's layout on disk is none of their business.
std::string reason(const base::Status& st, const std::string& root) {
  const std::string& m = st.message();
  size_t at = m.rfind(root);
  size_t colon = at == std::string::npos ? at : m.find(": ", at);
  return colon == std::string::npos ? m : m.substr(colon + 2);
}

// The temp files of open writers, which sweep_temp_files must not remove however old they
// are (a slow upload). Shared with the writers, which may outlive the store.
class LiveTemps {
 public:
  void add(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    paths_.insert(path);
  }
  void erase(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    paths_.erase(path);
  }
  bool contains(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    return paths_.count(path) != 0;
  }

 private:
  std::mutex mu_;
  std::set<std::string> paths_;
};

class LocalWriter : public ObjectWriter {
 public:
  LocalWriter(base::Env* env, std::string root, std::shared_ptr<LiveTemps> live, std::string what,
              std::string final_path, std::string temp_path)
      : env_(env),
        root_(std::move(root)),
        live_(std::move(live)),
        what_(std::move(what)),
        final_(std::move(final_path)),
        temp_(std::move(temp_path)) {}
  ~LocalWriter() override { discard(); }

  // Creates the temp file; the writer is unusable unless this succeeds.
  base::Status open() {
    base::WriteOptions opts;
    opts.exclusive = true;
    opts.mode = kFileMode;
    live_->add(temp_);
    auto out = env_->open_write(temp_, opts);
    if (!out.ok()) {
      live_->erase(temp_);
      return out.status();
    }
    out_ = *std::move(out);
    return base::ok_status();
  }

  base::Status append(base::ByteSpan data) override {
    if (done_) return finished("append");
    if (!broken_.ok()) return broken_;
    base::Status st = out_->append(data);
    if (!st.ok()) {
      broken_ = named(st, "write");
      return broken_;
    }
    size_ += data.size();
    return base::ok_status();
  }

  uint64_t size() const override { return size_; }

  base::Status commit(bool* existed) override {
    if (done_) return finished("commit");
    *existed = false;
    base::Status st = broken_.ok() ? publish(existed) : broken_;
    discard();
    return st;
  }

 private:
  base::Status finished(std::string_view op) const {
    return base::failed_precondition(std::string(op) + " " + what_ + ": upload already finished");
  }

  base::Status named(const base::Status& st, std::string_view op) const {
    if (st.ok()) return st;
    return base::Status(st.code(), std::string(op) + " " + what_ + ": " + reason(st, root_));
  }

  base::Status publish(bool* existed) {
    base::Status st = out_->sync();
    base::Status closed = out_->close();
    out_.reset();
    if (st.ok()) st = closed;
    RETURN_IF_ERROR(named(st, "commit"));
    // Twice at most: the stored object may be removed between a failed link and the comparison.
    for (int attempt = 0;; ++attempt) {
      st = link_into_place();
      if (st.code() != base::Code::kAlreadyExists) {
        RETURN_IF_ERROR(named(st, "commit"));
        break;
      }
      auto same = same_as_stored();
      if (same.status().code() == base::Code::kNotFound && attempt == 0) continue;
      if (!same.ok()) return same.status();
      if (!*same) {
        return base::already_exists("commit " + what_ +
                                    ": an object of this name exists with different content");
      }
      *existed = true;
      break;
    }
    // Also when it existed: its writer may not have synced the folder yet.
    return named(env_->sync_dir(base::path_dirname(final_)), "commit");
  }

  // A hard link fails atomically if the name exists. On file systems without hard links, fall
  // back to check-then-rename (as backend/local_backend does); two uploads of one name racing
  // there can replace each other, which for content-addressed names stores the same bytes.
  base::Status link_into_place() {
    base::Status st = env_->make_hardlink(temp_, final_);
    if (st.ok() || st.code() == base::Code::kAlreadyExists) return st;
    if (st.code() != base::Code::kPermissionDenied && st.code() != base::Code::kUnimplemented &&
        st.code() != base::Code::kInternal) {
      return st;
    }
    if (env_->lstat(final_).ok()) return base::already_exists("file exists");
    return env_->rename(temp_, final_);
  }

  // Compares the upload with the stored object piece by piece (both may be 64 MiB packs).
  base::StatusOr<bool> same_as_stored() {
    auto stored = env_->open_read(final_);
    if (!stored.ok()) return named(stored.status(), "compare with stored");
    auto info = (*stored)->stat();
    if (!info.ok()) return named(info.status(), "compare with stored");
    if (info->size != size_) return false;
    auto upload = env_->open_read(temp_);
    if (!upload.ok()) return named(upload.status(), "compare with stored");
    base::Bytes a(kCompareChunk), b(kCompareChunk);
    for (uint64_t off = 0; off < size_;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(kCompareChunk, size_ - off));
      auto got_a = (*stored)->read_at(off, base::MutableByteSpan(a.data(), n));
      if (!got_a.ok()) return named(got_a.status(), "compare with stored");
      auto got_b = (*upload)->read_at(off, base::MutableByteSpan(b.data(), n));
      if (!got_b.ok()) return named(got_b.status(), "compare with stored");
      if (*got_a != n || *got_b != n) {
        return base::data_loss("compare " + what_ + " with stored: a file shrank while reading");
      }
      if (!std::equal(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n), b.begin())) {
        return false;
      }
      off += n;
    }
    return true;
  }

  // Removes the temp file (after a link it is a second name of the object; after the rename
  // fallback it is gone already).
  void discard() {
    if (done_) return;
    done_ = true;
    if (out_) {
      out_->close().ignore();
      out_.reset();
    }
    env_->remove_file(temp_).ignore();
    live_->erase(temp_);
  }

  base::Env* env_;
  std::string root_;
  std::shared_ptr<LiveTemps> live_;
  std::string what_;   // "clinic-a/main/data/ab/ab12…", for messages
  std::string final_;  // absolute paths
  std::string temp_;
  std::unique_ptr<base::WritableFile> out_;
  uint64_t size_ = 0;
  base::Status broken_;
  bool done_ = false;
};

class LocalStore : public ObjectStore {
 public:
  LocalStore(base::Env* env, std::string root, base::Clock* clock)
      : env_(env), root_(std::move(root)), clock_(clock) {}

  std::string location() const override { return root_; }

  base::Status create_repo(const RepoRef& repo) override {
    RETURN_IF_ERROR(check_repo(repo));
    base::Status st = repo_backend(repo)->create();
    // The new folders' names are durable before any object in them is acknowledged.
    std::string dir = repo_dir(repo);
    for (const std::string& d : {dir + "/data", dir, base::path_dirname(dir), root_}) {
      if (st.ok()) st = env_->sync_dir(d);
    }
    if (st.ok()) return st;
    return base::Status(st.code(),
                        "create repository " + to_string(repo) + ": " + reason(st, root_));
  }

  base::StatusOr<bool> repo_exists(const RepoRef& repo) override {
    RETURN_IF_ERROR(check_repo(repo));
    auto info = env_->stat(repo_dir(repo));
    if (info.status().code() == base::Code::kNotFound) return false;
    if (!info.ok()) return named(info.status(), "look up repository", to_string(repo));
    if (info->type != base::FileType::kDir) {
      return base::failed_precondition("look up repository " + to_string(repo) + ": not a folder");
    }
    return true;
  }

  base::StatusOr<uint64_t> stat(const RepoRef& repo, const Handle& h) override {
    RETURN_IF_ERROR(check_repo(repo));
    auto size = repo_backend(repo)->stat(h);
    if (!size.ok()) return size.status().with_context(to_string(repo));
    return *size;
  }

  base::Status read(const RepoRef& repo, const Handle& h, uint64_t offset,
                    base::MutableByteSpan out) override {
    RETURN_IF_ERROR(check_repo(repo));
    if (out.empty()) {  // load_into would not even look at the file
      ASSIGN_OR_RETURN(uint64_t size, stat(repo, h));
      if (offset <= size) return base::ok_status();
      return base::data_loss("read " + object_path(repo, h) + ": object has " +
                             std::to_string(size) + " bytes, cannot read at offset " +
                             std::to_string(offset));
    }
    return repo_backend(repo)->load_into(h, offset, out).with_context(to_string(repo));
  }

  base::StatusOr<std::unique_ptr<ObjectWriter>> begin_write(const RepoRef& repo,
                                                            const Handle& h) override {
    RETURN_IF_ERROR(check_repo(repo));
    RETURN_IF_ERROR(backend::check_handle(h).with_context(to_string(repo)));
    std::string what = object_path(repo, h);
    std::string final_path = base::path_join(root_, what);
    auto writer = std::make_unique<LocalWriter>(env_, root_, live_, what, final_path,
                                                final_path + random_temp_suffix());
    base::Status st = writer->open();
    if (st.code() == base::Code::kNotFound) {
      // A folder is missing: data/ab of a repository made by another tool, or the repository.
      ASSIGN_OR_RETURN(bool exists, repo_exists(repo));
      if (!exists) {
        return base::not_found("write " + what + ": repository " + to_string(repo) +
                               " does not exist");
      }
      std::string folder = base::path_dirname(final_path);
      st = env_->make_dirs(folder, kDirMode);
      if (st.ok()) st = env_->sync_dir(base::path_dirname(folder));
      if (st.ok()) st = writer->open();
    }
    if (!st.ok()) return named(st, "write", what);
    return std::unique_ptr<ObjectWriter>(std::move(writer));
  }

  base::Status remove(const RepoRef& repo, const Handle& h) override {
    RETURN_IF_ERROR(check_repo(repo));
    return repo_backend(repo)->remove(h).with_context(to_string(repo));
  }

  base::Status list(const RepoRef& repo, FileKind kind,
                    const std::function<base::Status(const backend::FileEntry&)>& fn) override {
    if (kind == FileKind::kConfig) return base::invalid_argument("list: config is not a folder");
    RETURN_IF_ERROR(require_repo(repo, "list"));
    return repo_backend(repo)->list(kind, fn).with_context(to_string(repo));
  }

  base::Status usage(const RepoRef& repo, uint64_t* bytes, uint64_t* objects) override {
    RETURN_IF_ERROR(require_repo(repo, "usage of"));
    uint64_t total = 0, count = 0;
    auto config = stat(repo, Handle{FileKind::kConfig, ""});
    if (config.ok()) {
      total += *config;
      ++count;
    } else if (config.status().code() != base::Code::kNotFound) {
      return config.status();
    }
    auto b = repo_backend(repo);
    for (FileKind kind : backend::kListableKinds) {
      RETURN_IF_ERROR(b->list(kind, [&](const backend::FileEntry& e) {
                         total += e.size;
                         ++count;
                         return base::ok_status();
                       }).with_context(to_string(repo)));
    }
    *bytes = total;
    *objects = count;
    return base::ok_status();
  }

  base::StatusOr<uint64_t> sweep_temp_files(const RepoRef& repo, int64_t max_age_sec) override {
    RETURN_IF_ERROR(require_repo(repo, "sweep"));
    int64_t now = clock_->now().sec;
    auto old = [&](int64_t mtime) { return now - mtime > max_age_sec; };
    uint64_t removed = 0;
    auto b = repo_backend(repo);
    for (FileKind kind : backend::kListableKinds) {
      std::vector<std::string> gone;
      RETURN_IF_ERROR(b->list_temp_files(kind, [&](const backend::TempFileEntry& e) {
                         std::string path = base::path_join(
                             root_, object_path(repo, Handle{kind, e.name.substr(0, 64)}) +
                                        e.name.substr(64));
                         if (old(e.mtime_sec) && !live_->contains(path)) gone.push_back(e.name);
                         return base::ok_status();
                       }).with_context(to_string(repo)));
      for (const std::string& name : gone) {
        RETURN_IF_ERROR(b->remove_temp_file(kind, name).with_context(to_string(repo)));
        ++removed;
      }
    }
    ASSIGN_OR_RETURN(uint64_t configs, sweep_config_temps(repo, old));
    return removed + configs;
  }

 private:
  std::string repo_dir(const RepoRef& repo) const {
    return base::path_join(root_, to_string(repo));
  }

  // The repository as restic's local backend sees it (no file system access to make one).
  std::unique_ptr<backend::Backend> repo_backend(const RepoRef& repo) const {
    return *backend::open_local(env_, repo_dir(repo));
  }

  base::Status named(const base::Status& st, std::string_view op, const std::string& what) const {
    return base::Status(st.code(), std::string(op) + " " + what + ": " + reason(st, root_));
  }

  base::Status require_repo(const RepoRef& repo, std::string_view op) {
    ASSIGN_OR_RETURN(bool exists, repo_exists(repo));
    if (exists) return base::ok_status();
    return base::not_found(std::string(op) + " repository " + to_string(repo) +
                           ": it does not exist");
  }

  template <typename Old>
  base::StatusOr<uint64_t> sweep_config_temps(const RepoRef& repo, const Old& old) {
    std::string dir = repo_dir(repo);
    auto entries = env_->list_dir(dir);
    if (!entries.ok()) return named(entries.status(), "sweep", to_string(repo));
    uint64_t removed = 0;
    for (const base::DirEntry& e : *entries) {
      if (!is_config_temp_name(e.name)) continue;
      std::string path = base::path_join(dir, e.name);
      auto info = env_->lstat(path);
      if (!info.ok() || info->type != base::FileType::kFile) continue;
      if (!old(info->mtime.sec) || live_->contains(path)) continue;
      base::Status st = env_->remove_file(path);
      if (st.code() == base::Code::kNotFound) continue;
      if (!st.ok()) return named(st, "sweep", to_string(repo) + "/" + e.name);
      ++removed;
    }
    return removed;
  }

  base::Env* env_;
  std::string root_;
  base::Clock* clock_;
  std::shared_ptr<LiveTemps> live_ = std::make_shared<LiveTemps>();
};

}  // namespace

std::unique_ptr<ObjectStore> open_local_store(base::Env* env, std::string root) {
  return open_local_store(env, std::move(root), base::system_clock());
}

std::unique_ptr<ObjectStore> open_local_store(base::Env* env, std::string root,
                                              base::Clock* clock) {
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root.empty()) root = ".";
  return std::make_unique<LocalStore>(env, std::move(root), clock);
}

}  // namespace kura::objstore
