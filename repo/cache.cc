#include "repo/cache.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <unordered_set>

#include "crypto/sha256.h"
#include "repo/id.h"
#include "repo/index.h"

namespace kura::repo {
namespace {

using backend::FileKind;
using backend::Handle;

constexpr int kCacheVersion = 1;
constexpr uint32_t kDirMode = 0700;
constexpr char kCacheDirTag[] = "Signature: 8a477f597d28d172789f06886806bc55\n";
constexpr int64_t kStaleTempSec = 3600;
constexpr size_t kCopyChunk = 1 << 20;

const char* getenv_nonempty(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

// Unique among processes and threads: the pid, a per-process random and a counter.
std::string temp_name() {
  static const uint64_t seed = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(::getpid());
  }();
  static std::atomic<uint64_t> counter{0};
  char buf[48];
  std::snprintf(buf, sizeof buf, "tmp-%016llx%04llx",
                static_cast<unsigned long long>(seed + counter.fetch_add(1) * 0x9e3779b97f4a7c15ull),
                static_cast<unsigned long long>(::getpid() & 0xffff));
  return buf;
}

bool is_not_found(const base::Status& st) { return st.code() == base::Code::kNotFound; }

base::Status write_cachedir_tag(base::Env& env, const std::string& base) {
  std::string tag = base::path_join(base, "CACHEDIR.TAG");
  if (env.exists(tag)) return base::ok_status();  // also where the folder is read-only
  base::WriteOptions o;
  o.exclusive = true;
  auto f = env.open_write(tag, o);
  if (!f.ok()) {
    return f.status().code() == base::Code::kAlreadyExists ? base::ok_status() : f.status();
  }
  std::string_view sig = kCacheDirTag;
  base::Status st = (*f)->append({reinterpret_cast<const uint8_t*>(sig.data()), sig.size()});
  base::Status cst = (*f)->close();
  return st.ok() ? cst : st;
}

// 0 when there is no version file yet.
base::StatusOr<int> read_version(base::Env& env, const std::string& dir) {
  auto data = env.read_file(base::path_join(dir, "version"));
  if (!data.ok()) {
    if (is_not_found(data.status())) return 0;
    return data.status();
  }
  std::string s(data->begin(), data->end());
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < 0) {
    return base::data_loss("cache " + dir + ": invalid version file");
  }
  return static_cast<int>(v);
}

base::Status hash_file_matches(base::Env& env, const std::string& path, std::string_view name) {
  ASSIGN_OR_RETURN(auto f, env.open_read(path));
  crypto::Sha256 h;
  std::vector<uint8_t> buf(kCopyChunk);
  uint64_t off = 0;
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, f->read_at(off, buf));
    if (n == 0) break;
    h.update({buf.data(), n});
    off += n;
  }
  if (Id::from_span(h.finish()).hex() != name) {
    return base::data_loss("cached file " + path + " does not match its name");
  }
  return base::ok_status();
}

}  // namespace

base::StatusOr<std::string> default_cache_dir() {
  for (const char* var : {"KURA_CACHE_DIR", "RESTIC_CACHE_DIR"}) {
    if (const char* v = getenv_nonempty(var)) return std::string(v);
  }
  if (const char* x = getenv_nonempty("XDG_CACHE_HOME")) return base::path_join(x, "kura");
  if (const char* h = getenv_nonempty("HOME")) return base::path_join(h, ".cache/kura");
  return base::invalid_argument(
      "unable to locate cache directory: neither $XDG_CACHE_HOME nor $HOME is defined");
}

bool is_cache_dir_name(std::string_view name) {
  if (backend::is_valid_name(name)) return true;
  for (std::string_view prefix : {"kura-check-cache-", "restic-check-cache-"}) {
    if (name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix &&
        std::all_of(name.begin() + prefix.size(), name.end(),
                    [](char c) { return std::isalnum(static_cast<unsigned char>(c)); })) {
      return true;
    }
  }
  return false;
}

base::StatusOr<std::vector<CacheDirInfo>> list_cache_dirs(base::Env& env, const std::string& base) {
  auto entries = env.list_dir(base);
  if (!entries.ok()) {
    if (is_not_found(entries.status())) return std::vector<CacheDirInfo>{};
    return entries.status();
  }
  std::vector<CacheDirInfo> out;
  for (const auto& e : *entries) {
    if (!is_cache_dir_name(e.name)) continue;
    auto fi = env.lstat(base::path_join(base, e.name));
    if (!fi.ok() || fi->type != base::FileType::kDir) continue;
    out.push_back({e.name, fi->mtime.sec});
  }
  std::sort(out.begin(), out.end(), [](const CacheDirInfo& a, const CacheDirInfo& b) {
    return a.mtime_sec != b.mtime_sec ? a.mtime_sec < b.mtime_sec : a.name < b.name;
  });
  return out;
}

base::StatusOr<std::vector<CacheDirInfo>> old_cache_dirs(base::Env& env, const std::string& base,
                                                         int64_t now_sec, int64_t max_age_sec) {
  ASSIGN_OR_RETURN(auto all, list_cache_dirs(env, base));
  std::vector<CacheDirInfo> old;
  for (auto& d : all) {
    if (d.mtime_sec <= now_sec - max_age_sec) old.push_back(std::move(d));
  }
  return old;
}

base::StatusOr<uint64_t> dir_size(base::Env& env, const std::string& path) {
  ASSIGN_OR_RETURN(auto entries, env.list_dir(path));
  uint64_t total = 0;
  for (const auto& e : entries) {
    std::string p = base::path_join(path, e.name);
    ASSIGN_OR_RETURN(base::FileInfo fi, env.lstat(p));
    if (fi.type == base::FileType::kDir) {
      ASSIGN_OR_RETURN(uint64_t sub, dir_size(env, p));
      total += sub;
    } else {
      total += fi.size;
    }
  }
  return total;
}

// --- Cache ---

base::StatusOr<std::unique_ptr<Cache>> Cache::open(base::Env* env, base::Clock* clock,
                                                   const std::string& base,
                                                   const std::string& repo_id) {
  if (!backend::is_valid_name(repo_id)) {
    return base::invalid_argument("invalid repository id for the cache: \"" + repo_id + "\"");
  }
  RETURN_IF_ERROR(env->make_dirs(base, kDirMode));
  RETURN_IF_ERROR(write_cachedir_tag(*env, base));
  std::string path = base::path_join(base, repo_id);
  ASSIGN_OR_RETURN(int version, read_version(*env, path));
  if (version > kCacheVersion) return base::failed_precondition("cache version is newer");
  std::unique_ptr<Cache> c(new Cache(env, clock, base, path));
  auto fi = env->lstat(path);
  if (!fi.ok()) {
    if (!is_not_found(fi.status())) return fi.status();
    RETURN_IF_ERROR(env->make_dirs(path, kDirMode));
    c->created_ = true;
  }
  // The folder's mtime says when it was last used (old caches are found by it).
  base::Timespec now = clock->now();
  RETURN_IF_ERROR(env->set_times(path, now, now));
  if (version < kCacheVersion) {
    std::string v = std::to_string(kCacheVersion);
    RETURN_IF_ERROR(env->write_file_atomic(base::path_join(path, "version"),
                                           {reinterpret_cast<const uint8_t*>(v.data()), v.size()},
                                           0644));
  }
  for (FileKind k : {FileKind::kIndex, FileKind::kSnapshot, FileKind::kPack}) {
    RETURN_IF_ERROR(env->make_dirs(c->kind_path(k), kDirMode));
  }
  return c;
}

bool Cache::cacheable(FileKind kind) {
  return kind == FileKind::kIndex || kind == FileKind::kSnapshot || kind == FileKind::kPack;
}

std::string Cache::kind_path(FileKind kind) const {
  return base::path_join(path_, backend::kind_dir(kind));
}

std::string Cache::file_path(const Handle& h) const {
  return base::path_join(base::path_join(kind_path(h.kind), h.name.substr(0, 2)), h.name);
}

bool Cache::has(const Handle& h) {
  if (!cacheable(h.kind) || !backend::is_valid_name(h.name)) return false;
  auto fi = env_->stat(file_path(h));
  return fi.ok() && fi->type == base::FileType::kFile;
}

base::StatusOr<base::Bytes> Cache::read_verified(const Handle& h) {
  std::string p = file_path(h);
  ASSIGN_OR_RETURN(base::Bytes data, env_->read_file(p));
  if (hash_id(data).hex() != h.name) {
    remove(h).ignore();
    return base::data_loss("cached file " + p + " does not match its name, removed");
  }
  return data;
}

base::Status Cache::verify(const Handle& h) {
  base::Status st = hash_file_matches(*env_, file_path(h), h.name);
  if (st.code() == base::Code::kDataLoss) remove(h).ignore();
  return st;
}

base::StatusOr<uint64_t> Cache::size(const Handle& h) {
  ASSIGN_OR_RETURN(base::FileInfo fi, env_->stat(file_path(h)));
  return fi.size;
}

base::Status Cache::read_at(const Handle& h, uint64_t offset, base::MutableByteSpan out) {
  ASSIGN_OR_RETURN(auto f, env_->open_read(file_path(h)));
  size_t done = 0;
  while (done < out.size()) {
    ASSIGN_OR_RETURN(size_t n, f->read_at(offset + done, out.subspan(done)));
    if (n == 0) return base::data_loss("cached file " + file_path(h) + " is too short");
    done += n;
  }
  return base::ok_status();
}

Cache::PendingFile::~PendingFile() {
  if (file_) {
    file_->close().ignore();
    env_->remove_file(tmp_).ignore();
  }
}

base::Status Cache::PendingFile::append(base::ByteSpan data) { return file_->append(data); }

base::Status Cache::PendingFile::commit() {
  base::Status st = file_->close();
  file_.reset();
  if (st.ok()) st = env_->rename(tmp_, final_);
  if (!st.ok()) env_->remove_file(tmp_).ignore();
  return st;
}

base::StatusOr<std::unique_ptr<Cache::PendingFile>> Cache::begin_write(const Handle& h) {
  if (!cacheable(h.kind) || !backend::is_valid_name(h.name)) {
    return base::invalid_argument("cannot cache " + h.to_string());
  }
  std::string final_path = file_path(h);
  std::string dir = base::path_dirname(final_path);
  RETURN_IF_ERROR(env_->make_dirs(dir, kDirMode));
  std::string tmp = base::path_join(dir, temp_name());
  base::WriteOptions o;
  o.exclusive = true;
  o.mode = 0600;
  ASSIGN_OR_RETURN(auto f, env_->open_write(tmp, o));
  return std::unique_ptr<PendingFile>(new PendingFile(env_, tmp, final_path, std::move(f)));
}

base::Status Cache::write(const Handle& h, base::ByteSpan data) {
  ASSIGN_OR_RETURN(auto pending, begin_write(h));
  RETURN_IF_ERROR(pending->append(data));
  return pending->commit();
}

base::Status Cache::remove(const Handle& h) {
  if (!cacheable(h.kind) || !backend::is_valid_name(h.name)) return base::ok_status();
  base::Status st = env_->remove_file(file_path(h));
  return is_not_found(st) ? base::ok_status() : st;
}

base::StatusOr<std::vector<std::string>> Cache::list(FileKind kind) {
  std::vector<std::string> out;
  auto subdirs = env_->list_dir(kind_path(kind));
  if (!subdirs.ok()) {
    if (is_not_found(subdirs.status())) return out;
    return subdirs.status();
  }
  for (const auto& sd : *subdirs) {
    auto entries = env_->list_dir(base::path_join(kind_path(kind), sd.name));
    if (!entries.ok()) continue;  // a stray file, or removed meanwhile
    for (const auto& e : *entries) {
      if (backend::is_valid_name(e.name)) out.push_back(e.name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

base::StatusOr<size_t> Cache::retain(FileKind kind,
                                     const std::function<bool(const std::string&)>& keep) {
  size_t removed = 0;
  auto subdirs = env_->list_dir(kind_path(kind));
  if (!subdirs.ok()) {
    if (is_not_found(subdirs.status())) return size_t{0};
    return subdirs.status();
  }
  int64_t now = clock_->now().sec;
  for (const auto& sd : *subdirs) {
    std::string dir = base::path_join(kind_path(kind), sd.name);
    auto entries = env_->list_dir(dir);
    if (!entries.ok()) continue;
    for (const auto& e : *entries) {
      std::string p = base::path_join(dir, e.name);
      bool drop = false;
      if (backend::is_valid_name(e.name)) {
        drop = !keep(e.name);
      } else if (e.name.rfind("tmp-", 0) == 0) {
        auto fi = env_->lstat(p);
        drop = fi.ok() && fi->mtime.sec < now - kStaleTempSec;
      }
      if (!drop) continue;
      base::Status st = env_->remove_file(p);
      if (!st.ok() && !is_not_found(st)) return st;
      ++removed;
    }
  }
  return removed;
}

// --- CacheBackend ---

CacheBackend::CacheBackend(std::unique_ptr<Cache> cache, backend::Backend* inner,
                           std::function<void(const base::Status&)> warn)
    : ForwardingBackend(inner), cache_(std::move(cache)), warn_(std::move(warn)) {}

bool CacheBackend::auto_cached(const Handle& h) {
  return h.kind == FileKind::kIndex || h.kind == FileKind::kSnapshot ||
         (h.kind == FileKind::kPack && h.tree_pack);
}

void CacheBackend::cache_failed(const base::Status& st) {
  if (!warned_.exchange(true) && warn_) warn_(st);
}

void CacheBackend::mark_verified(const Handle& h) {
  std::lock_guard<std::mutex> l(mu_);
  verified_.insert(h.to_string());
}

void CacheBackend::retain_tree_packs(const Index& index) {
  std::vector<bool> holds_trees(index.pack_count());
  index.for_each([&](const IndexEntry& e) {
    if (e.type == BlobType::kTree) holds_trees[e.pack] = true;
  });
  std::unordered_set<std::string> keep;
  for (uint32_t i = 0; i < holds_trees.size(); ++i) {
    if (holds_trees[i]) keep.insert(index.pack_id(i).hex());
  }
  auto st = cache_->retain(FileKind::kPack, [&](const std::string& n) { return keep.count(n) > 0; });
  if (!st.ok()) cache_failed(st.status());
}

base::StatusOr<uint64_t> CacheBackend::stat(const Handle& h) {
  auto size = ForwardingBackend::stat(h);
  if (!size.ok() && is_not_found(size.status())) cache_->remove(h).ignore();
  return size;
}

base::Status CacheBackend::save(const Handle& h, base::ByteSpan data) {
  RETURN_IF_ERROR(ForwardingBackend::save(h, data));
  if (!auto_cached(h)) return base::ok_status();
  base::Status st = cache_->write(h, data);
  if (st.ok()) {
    mark_verified(h);
  } else {
    cache_failed(st);
  }
  return base::ok_status();
}

base::Status CacheBackend::save_staged(const Handle& h, backend::StagedFile& file) {
  if (!auto_cached(h)) return ForwardingBackend::save_staged(h, file);
  // Copied before the save: a local repository moves the staged file into place.
  std::unique_ptr<Cache::PendingFile> pending;
  base::Status st;
  auto begun = cache_->begin_write(h);
  if (begun.ok()) {
    pending = std::move(*begun);
    std::vector<uint8_t> buf(std::min<uint64_t>(kCopyChunk, file.size()));
    for (uint64_t off = 0; st.ok() && off < file.size();) {
      auto n = file.read_at(off, buf);
      if (!n.ok()) {
        st = n.status();
      } else if (*n == 0) {
        st = base::data_loss("staged file ends early");
      } else {
        st = pending->append({buf.data(), *n});
        off += *n;
      }
    }
  } else {
    st = begun.status();
  }
  if (!st.ok()) {
    pending.reset();
    cache_failed(st);
  }
  RETURN_IF_ERROR(ForwardingBackend::save_staged(h, file));
  if (pending) {
    st = pending->commit();
    if (st.ok()) {
      mark_verified(h);
    } else {
      cache_failed(st);
    }
  }
  return base::ok_status();
}

std::optional<base::Bytes> CacheBackend::load_cached(const Handle& h, uint64_t offset,
                                                     uint64_t length) {
  if (!cache_->has(h)) return std::nullopt;
  std::string key = h.to_string();
  bool checked;
  {
    std::lock_guard<std::mutex> l(mu_);
    checked = verified_.count(key) > 0;
  }
  auto damaged = [&] {
    ++stats_.damaged;
    std::lock_guard<std::mutex> l(mu_);
    verified_.erase(key);
  };
  if (!checked && offset == 0 && length == 0) {
    auto whole = cache_->read_verified(h);
    if (!whole.ok()) {
      if (whole.status().code() == base::Code::kDataLoss) damaged();
      return std::nullopt;
    }
    mark_verified(h);
    ++stats_.hits;
    return std::move(*whole);
  }
  if (!checked) {
    base::Status st = cache_->verify(h);
    if (!st.ok()) {
      if (st.code() == base::Code::kDataLoss) damaged();
      return std::nullopt;
    }
    mark_verified(h);
  }
  auto size = cache_->size(h);
  if (!size.ok()) return std::nullopt;
  auto n = backend::range_length(h, *size, offset, length);
  if (!n.ok()) {
    cache_->remove(h).ignore();
    damaged();
    return std::nullopt;
  }
  base::Bytes out(*n);
  base::Status st = cache_->read_at(h, offset, out);
  if (!st.ok()) {
    if (st.code() == base::Code::kDataLoss) {
      cache_->remove(h).ignore();
      damaged();
    }
    return std::nullopt;
  }
  ++stats_.hits;
  return out;
}

base::StatusOr<base::Bytes> CacheBackend::fetch_whole(const Handle& h) {
  ++stats_.misses;
  ASSIGN_OR_RETURN(base::Bytes whole, ForwardingBackend::load(h, 0, 0));
  stats_.fetched_bytes += whole.size();
  // A file that does not match its name is returned (the caller reports it), never cached.
  if (hash_id(whole).hex() != h.name) return whole;
  base::Status st = cache_->write(h, whole);
  if (st.ok()) {
    mark_verified(h);
  } else {
    cache_failed(st);
  }
  return whole;
}

base::StatusOr<base::Bytes> CacheBackend::load(const Handle& h, uint64_t offset, uint64_t length) {
  if (!Cache::cacheable(h.kind)) {
    ASSIGN_OR_RETURN(base::Bytes data, ForwardingBackend::load(h, offset, length));
    stats_.fetched_bytes += data.size();
    return data;
  }
  std::string key = h.to_string();
  // Whoever fetches a file first does so for all: the others wait, then read the cache.
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return in_progress_.count(key) == 0; });
    }
    if (auto cached = load_cached(h, offset, length)) return std::move(*cached);
    if (!auto_cached(h)) {
      ASSIGN_OR_RETURN(base::Bytes data, ForwardingBackend::load(h, offset, length));
      stats_.fetched_bytes += data.size();
      return data;
    }
    std::lock_guard<std::mutex> l(mu_);
    if (in_progress_.insert(key).second) break;
  }
  auto whole = fetch_whole(h);
  {
    std::lock_guard<std::mutex> l(mu_);
    in_progress_.erase(key);
  }
  cv_.notify_all();
  if (!whole.ok()) return whole.status();
  ASSIGN_OR_RETURN(uint64_t n, backend::range_length(h, whole->size(), offset, length));
  if (offset == 0 && n == whole->size()) return whole;
  return base::Bytes(whole->begin() + static_cast<ptrdiff_t>(offset),
                     whole->begin() + static_cast<ptrdiff_t>(offset + n));
}

base::Status CacheBackend::load_into(const Handle& h, uint64_t offset, base::MutableByteSpan out) {
  if (Cache::cacheable(h.kind) && (auto_cached(h) || cache_->has(h))) {
    ASSIGN_OR_RETURN(base::Bytes data, load(h, offset, out.size()));
    if (data.size() != out.size()) return base::data_loss(h.to_string() + ": short read");
    std::copy(data.begin(), data.end(), out.begin());
    return base::ok_status();
  }
  RETURN_IF_ERROR(ForwardingBackend::load_into(h, offset, out));
  stats_.fetched_bytes += out.size();
  return base::ok_status();
}

base::Status CacheBackend::remove(const Handle& h) {
  RETURN_IF_ERROR(ForwardingBackend::remove(h));
  base::Status st = cache_->remove(h);
  if (!st.ok()) cache_failed(st);
  std::lock_guard<std::mutex> l(mu_);
  verified_.erase(h.to_string());
  return base::ok_status();
}

base::Status CacheBackend::list(FileKind kind,
                                const std::function<base::Status(const backend::FileEntry&)>& fn) {
  if (!Cache::cacheable(kind)) return ForwardingBackend::list(kind, fn);
  std::unordered_set<std::string> present;
  RETURN_IF_ERROR(ForwardingBackend::list(kind, [&](const backend::FileEntry& e) {
    present.insert(e.name);
    return fn(e);
  }));
  // What the repository no longer has goes from the cache too.
  auto st = cache_->retain(kind, [&](const std::string& n) { return present.count(n) > 0; });
  if (!st.ok()) cache_failed(st.status());
  return base::ok_status();
}

}  // namespace kura::repo
