// backup: walks the targets, stores changed files as deduplicated, compressed, encrypted blobs,
// writes the trees bottom-up and then the snapshot (data -> index -> snapshot, so a crash at
// any point leaves a valid repository). Files are read on all cores; files unchanged since the
// parent snapshot (same size, mtime, ctime, inode) reuse their content list unread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/env.h"
#include "ops/filter.h"
#include "repo/repository.h"
#include "repo/snapshot.h"

namespace kura::ops {

// --exclude-if-present name[:header]: a directory holding a file `name` (that starts with
// `header`, when one is given) is kept with that file only.
struct ExcludeIfPresent {
  std::string name;
  std::string header;
};

// Parses "name" or "name:header" as restic does; an empty name is invalid_argument.
base::StatusOr<ExcludeIfPresent> parse_exclude_if_present(const std::string& spec);
// The CACHEDIR.TAG rule that --exclude-caches stands for.
ExcludeIfPresent cachedir_tag_rule();

struct BackupOptions {
  std::vector<std::string> targets;  // as given on the command line; all must exist
  const Filter* excludes = nullptr;
  bool one_file_system = false;
  std::vector<ExcludeIfPresent> exclude_if_present;  // --exclude-caches adds cachedir_tag_rule()
  std::optional<uint64_t> exclude_larger_than;       // files (not dirs) above this are skipped
  // Which changes make a file with the parent's size and mtime "changed" (restic:
  // --ignore-inode implies --ignore-ctime).
  bool ignore_inode = false, ignore_ctime = false;
  // The snapshot's time (--time, seconds since the epoch); also the newest parent allowed.
  std::optional<int64_t> time;
  std::vector<std::string> tags;
  std::string hostname, username;
  uint32_t uid = 0, gid = 0;
  std::optional<repo::Id> parent;  // explicit parent; otherwise the latest with same host+paths
  bool force = false;              // read every file, use no parent
  bool dry_run = false;            // read and hash, store nothing
  bool with_atime = false;
  int threads = 0;  // 0: number of CPUs
  // Back up this stream as one file instead of targets. stdin_filename may hold directories
  // ("db/x.sql": a directory node "db" holds "x.sql", as restic does); ".." cannot climb
  // above the root. An empty stream is an error, and no snapshot is written.
  base::ReadableFile* stdin_file = nullptr;
  std::string stdin_filename = "stdin";
  // Count the files and bytes below the targets ahead of the backup (a second, lstat-only
  // walk, as restic's scanner), so a progress display can show a percentage and an ETA.
  bool scan_totals = false;
  // Report each file and folder once saved (BackupObserver::on_item; restic's -vv lines).
  // Chunks are then compressed by the file's reader, so a file's figures are final when it is.
  bool report_items = false;
  // Load the repository's index first (Repository::load_index), scanning the targets
  // meanwhile; without it the caller has loaded the index.
  bool load_index = false;
};

struct BackupStats {
  uint64_t files_new = 0, files_changed = 0, files_unmodified = 0;
  uint64_t dirs_new = 0, dirs_changed = 0, dirs_unmodified = 0;
  uint64_t data_blobs = 0, tree_blobs = 0;
  // restic's "Added to the repository": plaintext bytes of the new data and tree blobs.
  uint64_t data_added = 0;
  // Its "stored": bytes of the packs this backup wrote (compressed, encrypted, headers).
  uint64_t data_added_packed = 0;
  uint64_t total_files_processed = 0, total_bytes_processed = 0;
};

// Live counters for a progress display; written by the backup, read by anyone.
struct BackupProgress {
  std::atomic<uint64_t> files_done{0}, bytes_done{0};
  std::atomic<uint64_t> total_files{0}, total_bytes{0};
  std::atomic<bool> scan_done{false};
  std::atomic<uint64_t> errors{0};
  // The files being read now, by their path in the snapshot (restic's current_files); kept
  // only with BackupOptions::scan_totals (a display that shows them).
  std::mutex current_mu;
  std::set<std::string> current_files;  // guarded by current_mu
};

// One file or folder saved (BackupOptions::report_items), as restic's -vv reports it.
struct BackupItem {
  enum class Change { kNew, kModified, kUnchanged };
  std::string path;  // in the snapshot; a folder's ends in "/"
  Change change = Change::kNew;
  double seconds = 0;           // from the start of its reading (a folder: its walk) to saved
  uint64_t data_size = 0;       // plaintext of its data blobs new to the repository
  uint64_t data_stored = 0;     // the same in the packs (compressed, encrypted)
  uint64_t metadata_size = 0;   // a folder: its tree blob, when new
  uint64_t metadata_stored = 0;
};

struct BackupError {
  std::string path;
  std::string message;
};

// The snapshot path of a --stdin backup: "/" + name, cleaned ("../../x" -> "/x"). A name
// that leaves nothing ("", "/", "..") is invalid_argument.
base::StatusOr<std::string> stdin_snapshot_path(const std::string& name);

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
  // Something the user should know that is not an error (restic's warnings): a tag file with
  // a wrong signature, for one.
  virtual void on_warning(const std::string& message) { (void)message; }
  // The count of the totals ahead of the backup (BackupOptions::scan_totals): a folder it
  // could not read (by its absolute path; the backup itself reports it again), and its end.
  virtual void on_scan_error(const std::string& path, const base::Status& st) {
    (void)path;
    (void)st;
  }
  virtual void on_scan_finished(double seconds, uint64_t files, uint64_t bytes) {
    (void)seconds;
    (void)files;
    (void)bytes;
  }
  // Each file and folder once saved, with BackupOptions::report_items. Called from any thread.
  virtual void on_item(const BackupItem& item) { (void)item; }
};

// The repository must have its index loaded.
// One backup in two steps, so the file system scan can start before the repository is open
// (its key's scrypt keeps one core busy for ~0.2 s, the index load ~0.1 s more): construct,
// start_prescan() once the password is known, open the repository, run(). The options,
// progress and observer must outlive it.
class BackupRun {
 public:
  BackupRun(base::Env& env, const BackupOptions& opts, BackupProgress* progress = nullptr,
            BackupObserver* observer = nullptr);
  ~BackupRun();
  // Scans the target directories on a thread of its own until run() has loaded the index
  // (at most a few thousand directories, kept for the walk). Called again: nothing.
  void start_prescan();
  base::StatusOr<BackupResult> run(repo::Repository& repo);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  const BackupOptions& opts_;
  bool prescan_started_ = false;
};

base::StatusOr<BackupResult> run_backup(repo::Repository& repo, base::Env& env,
                                        const BackupOptions& opts, BackupProgress* progress,
                                        BackupObserver* observer);

}  // namespace kura::ops
