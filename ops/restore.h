// restore: writes a snapshot (or part of it) into a folder. Works pack by pack: each needed
// pack is read once (one request for the range holding the needed blobs), its blobs are
// decrypted and decompressed on all cores and written straight to their files at their
// offsets. All-zero blobs are not written, so sparse files stay sparse. Metadata (owner when
// root, mode, xattrs, times) is set after the content; directories last, deepest first.
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
  int threads = 0;
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
