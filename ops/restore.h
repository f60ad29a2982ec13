// restore: writes a snapshot (or part of it) into a folder. One thread walks the trees (loaded
// ahead on several threads), makes the folders and plans each file's blobs by pack; packs go
// to the workers while the walk goes on (see RestoreOptions::dispatch_distance), each read in
// a few ranges of the needed blobs, decrypted, decompressed, checked against their ids and
// written straight to their files at their offsets. All-zero blobs are not written, so sparse
// files stay sparse. A file's metadata (owner when root, mode, xattrs, times) is set once its
// last blob is written; directories last, deepest first.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "base/env.h"
#include "ops/filter.h"
#include "repo/repository.h"

namespace kura::ops {

struct RestoreOptions {
  std::string target;
  const Filter* include = nullptr;  // only these paths (and what is below them)
  const Filter* exclude = nullptr;
  bool verify = false;  // read restored files back and check every blob's hash
  bool sparse = true;
  int threads = 0;  // 0: as many as the backend and the cores can use
  // Tuning (tests make them tiny to exercise the split paths). A pack goes to the workers once
  // the walk has planned this many stored bytes without needing it: a backup writes packs
  // roughly in walk order, so by then the files that need it are almost always planned. A
  // file planned later that needs the pack again gets a batch of its own (one more load).
  uint64_t dispatch_distance = 32ull << 20;
  // One load covers at most this span of a pack (or one blob, if larger). restic 0.14 streams
  // a pack through a 4 MiB buffer; loads this size keep kura's buffers as small, stay in cache
  // from read to decode, and let all workers share the last packs.
  uint64_t part_span = 4ull << 20;
};

struct RestoreProgress {
  std::atomic<uint64_t> total_files{0}, total_bytes{0};
  std::atomic<uint64_t> files_done{0}, bytes_done{0};
};

struct RestoreError {
  std::string path;
  std::string message;
};

struct RestoreResult {
  uint64_t files = 0;        // regular files restored (failed ones are in errors)
  uint64_t total_files = 0;  // regular files the snapshot selection holds
  uint64_t dirs = 0, other = 0, bytes = 0;
  uint64_t verified_files = 0;
  std::vector<RestoreError> errors;
};

class RestoreObserver {
 public:
  virtual ~RestoreObserver() = default;
  virtual void on_error(const std::string& path, const base::Status& st) = 0;
};

// Restores tree `tree` (a snapshot's root) below opts.target. Returns an error only when the
// restore as a whole could not proceed; per-file problems are in result.errors.
base::StatusOr<RestoreResult> run_restore(repo::Repository& repo, base::Env& env,
                                          const repo::Id& tree, const RestoreOptions& opts,
                                          RestoreProgress* progress, RestoreObserver* observer);

}  // namespace kura::ops
