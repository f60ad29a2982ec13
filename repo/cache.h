// The local cache (restic's layout, cache version 1): index files, snapshots and the packs
// that hold tree blobs, kept per repository id so that a second run over a slow link
// (REST) reads them from local disk. It holds only what the repository stores: encrypted.
//
//   <base>/CACHEDIR.TAG                      so that backup tools skip the whole folder
//   <base>/<repository id>/version           "1"
//   <base>/<repository id>/index/ab/ab12…    the file as stored, named by its SHA-256
//   <base>/<repository id>/snapshots/ab/ab12…
//   <base>/<repository id>/data/ab/ab12…     tree packs only
//
// The folder's mtime is set on every open: folders not used for 30 days are "old" and
// `kura cache --cleanup` (or --cleanup-cache) removes them. Every entry is checked against its
// name (SHA-256) before it is trusted, once per process; a damaged one is removed and fetched
// again. Files are written to a temporary name and renamed, so any number of processes can
// share one cache; a cache that cannot be written (read-only, full) costs speed, never a
// command.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backend/forwarding_backend.h"
#include "base/clock.h"
#include "base/env.h"

namespace kura::repo {

class Index;

// 30 days: a cache folder not opened for longer is old.
inline constexpr int64_t kMaxCacheAgeSec = 30 * 24 * 3600;

// The cache base folder when --cache-dir is not given: $KURA_CACHE_DIR, $RESTIC_CACHE_DIR,
// $XDG_CACHE_HOME/kura, else $HOME/.cache/kura. invalid_argument if none can be found.
base::StatusOr<std::string> default_cache_dir();

// A folder of the cache base: a repository's cache (64 hex digits) or a check's temporary
// one ("kura-check-cache-…", "restic-check-cache-…").
struct CacheDirInfo {
  std::string name;
  int64_t mtime_sec = 0;  // last use
};
bool is_cache_dir_name(std::string_view name);
// Every cache folder under base, oldest first; none when base does not exist.
base::StatusOr<std::vector<CacheDirInfo>> list_cache_dirs(base::Env& env, const std::string& base);
// The folders not used for more than max_age_sec before now_sec, oldest first.
base::StatusOr<std::vector<CacheDirInfo>> old_cache_dirs(base::Env& env, const std::string& base,
                                                         int64_t now_sec, int64_t max_age_sec);
// Bytes in the files below path.
base::StatusOr<uint64_t> dir_size(base::Env& env, const std::string& path);

class Cache {
 public:
  // Opens (creating if needed) the cache of repository repo_id under base.
  static base::StatusOr<std::unique_ptr<Cache>> open(base::Env* env, base::Clock* clock,
                                                     const std::string& base,
                                                     const std::string& repo_id);

  const std::string& base() const { return base_; }
  const std::string& path() const { return path_; }
  bool created() const { return created_; }  // this open made the repository's folder

  // Index, snapshot and pack files can be cached; nothing else.
  static bool cacheable(backend::FileKind kind);
  std::string file_path(const backend::Handle& h) const;
  bool has(const backend::Handle& h);
  base::StatusOr<uint64_t> size(const backend::Handle& h);

  // The whole cached file, checked against its name; not_found if absent, data_loss (and
  // the file removed) if damaged.
  base::StatusOr<base::Bytes> read_verified(const backend::Handle& h);
  // Reads out.size() bytes at offset; not_found if absent, data_loss if too short.
  base::Status read_at(const backend::Handle& h, uint64_t offset, base::MutableByteSpan out);
  // Checks a cached file's content against its name (removing it if damaged).
  base::Status verify(const backend::Handle& h);

  // A file being written under a temporary name; commit() renames it into place, destroying
  // it uncommitted removes it.
  class PendingFile {
   public:
    ~PendingFile();
    base::Status append(base::ByteSpan data);
    base::Status commit();

   private:
    friend class Cache;
    PendingFile(base::Env* env, std::string tmp, std::string final_path,
                std::unique_ptr<base::WritableFile> file)
        : env_(env), tmp_(std::move(tmp)), final_(std::move(final_path)), file_(std::move(file)) {}
    base::Env* env_;
    std::string tmp_, final_;
    std::unique_ptr<base::WritableFile> file_;
  };
  base::StatusOr<std::unique_ptr<PendingFile>> begin_write(const backend::Handle& h);
  base::Status write(const backend::Handle& h, base::ByteSpan data);

  // Removes a cached file; a missing one is fine.
  base::Status remove(const backend::Handle& h);
  // Names of the cached files of a kind.
  base::StatusOr<std::vector<std::string>> list(backend::FileKind kind);
  // Removes the cached files of a kind that keep() rejects, and temporary files that crashed
  // writers left (older than an hour). Returns how many files were removed.
  base::StatusOr<size_t> retain(backend::FileKind kind,
                                const std::function<bool(const std::string&)>& keep);

 private:
  Cache(base::Env* env, base::Clock* clock, std::string base, std::string path)
      : env_(env), clock_(clock), base_(std::move(base)), path_(std::move(path)) {}
  std::string kind_path(backend::FileKind kind) const;

  base::Env* env_;
  base::Clock* clock_;
  std::string base_, path_;
  bool created_ = false;
};

// What a CacheBackend did (tests, verbose output).
struct CacheStats {
  std::atomic<uint64_t> hits{0};           // loads answered from the cache
  std::atomic<uint64_t> misses{0};         // loads of cacheable files fetched from the backend
  std::atomic<uint64_t> damaged{0};        // cached files that failed their check
  std::atomic<uint64_t> fetched_bytes{0};  // bytes loaded from the backend, all kinds
};

// A Backend wrapper (restic's cache.Backend): index and snapshot files, and packs whose
// handle says they hold trees, are stored in the cache when saved or first loaded; loads of
// cached files are answered from it; removals and listings keep it in step with the
// repository. A failing cache write is reported once through warn and otherwise ignored.
class CacheBackend : public backend::ForwardingBackend {
 public:
  CacheBackend(std::unique_ptr<Cache> cache, backend::Backend* inner,
               std::function<void(const base::Status&)> warn);

  Cache& cache() const { return *cache_; }
  const CacheStats& stats() const { return stats_; }

  // Drops cached packs that the index does not list as holding trees (restic's PrepareCache).
  void retain_tree_packs(const Index& index);

  base::StatusOr<uint64_t> stat(const backend::Handle& h) override;
  base::Status save(const backend::Handle& h, base::ByteSpan data) override;
  base::Status save_staged(const backend::Handle& h, backend::StagedFile& file) override;
  base::StatusOr<base::Bytes> load(const backend::Handle& h, uint64_t offset,
                                   uint64_t length) override;
  base::Status load_into(const backend::Handle& h, uint64_t offset,
                         base::MutableByteSpan out) override;
  base::Status remove(const backend::Handle& h) override;
  base::Status list(backend::FileKind kind,
                    const std::function<base::Status(const backend::FileEntry&)>& fn) override;

 private:
  static bool auto_cached(const backend::Handle& h);
  // The range from the cache, or nullopt after a miss (a damaged entry counts as a miss).
  std::optional<base::Bytes> load_cached(const backend::Handle& h, uint64_t offset,
                                         uint64_t length);
  // Fetches the whole file into the cache (once, however many threads ask) and returns it.
  base::StatusOr<base::Bytes> fetch_whole(const backend::Handle& h);
  void cache_failed(const base::Status& st);
  void mark_verified(const backend::Handle& h);

  std::unique_ptr<Cache> cache_;
  std::function<void(const base::Status&)> warn_;
  std::atomic<bool> warned_{false};
  CacheStats stats_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> in_progress_;  // "kind/name" being fetched
  std::set<std::string> verified_;     // "kind/name" checked in this process
};

}  // namespace kura::repo
