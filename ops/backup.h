// backup: walks the targets, stores changed files as deduplicated, compressed, encrypted blobs,
// writes the trees bottom-up and then the snapshot (data -> index -> snapshot, so a crash at
// any point leaves a valid repository). Files are read on all cores; files unchanged since the
// parent snapshot (same size, mtime, ctime, inode) reuse their content list unread.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"
#include "ops/filter.h"
#include "repo/repository.h"
#include "repo/snapshot.h"

namespace kura::ops {

struct BackupOptions {
  std::vector<std::string> targets;  // as given on the command line
  const Filter* excludes = nullptr;
  bool one_file_system = false;
  bool exclude_caches = false;
  std::vector<std::string> tags;
  std::string hostname, username;
  uint32_t uid = 0, gid = 0;
  std::optional<repo::Id> parent;  // explicit parent; otherwise the latest with same host+paths
  bool force = false;              // read every file, use no parent
  bool dry_run = false;            // read and hash, store nothing
  bool with_atime = false;
  int threads = 0;  // 0: number of CPUs
  // Back up this stream as one file named stdin_filename instead of targets.
  base::ReadableFile* stdin_file = nullptr;
  std::string stdin_filename = "stdin";
};

struct BackupStats {
  uint64_t files_new = 0, files_changed = 0, files_unmodified = 0;
  uint64_t dirs_new = 0, dirs_changed = 0, dirs_unmodified = 0;
  uint64_t data_blobs = 0, tree_blobs = 0;
  uint64_t data_added = 0;         // plaintext bytes of new blobs
  uint64_t data_added_packed = 0;  // stored bytes of new packs
  uint64_t total_files_processed = 0, total_bytes_processed = 0;
};

// Live counters for a progress display; written by the backup, read by anyone.
struct BackupProgress {
  std::atomic<uint64_t> files_done{0}, bytes_done{0};
  std::atomic<uint64_t> total_files{0}, total_bytes{0};
  std::atomic<bool> scan_done{false};
  std::atomic<uint64_t> errors{0};
};

struct BackupError {
  std::string path;
  std::string message;
};

struct BackupResult {
  repo::Id snapshot_id;  // zero for a dry run
  repo::Snapshot snapshot;
  std::optional<repo::Id> parent;
  BackupStats stats;
  std::vector<BackupError> errors;  // source files that could not be read (exit code 3)
};

class BackupObserver {
 public:
  virtual ~BackupObserver() = default;
  // Called from any thread.
  virtual void on_error(const std::string& path, const base::Status& st) = 0;
};

// The repository must have its index loaded.
base::StatusOr<BackupResult> run_backup(repo::Repository& repo, base::Env& env,
                                        const BackupOptions& opts, BackupProgress* progress,
                                        BackupObserver* observer);

}  // namespace kura::ops
