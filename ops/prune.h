// prune: removes data no snapshot needs (restic 0.14 semantics, RESTIC_FORMAT.md §11).
//
// plan_prune finds the blobs the snapshots use (walking every tree once, in parallel) and sorts
// the packs: fully used ones are kept, fully unused ones deleted, partly used ones repacked
// while the unused space left is above --max-unused (and the repacked bytes below
// --max-repack-size). Duplicate blobs count once; packs no index lists are deleted.
//
// execute_prune changes the repository in the crash-safe order: delete unreferenced packs;
// write the blobs still needed from the packs being repacked into new packs (each blob read and
// verified first); write a complete new index; delete the old index files; delete the obsolete
// packs last. A crash at any point leaves a repository whose index lists only packs that exist
// and whose snapshots are complete; at worst some packs are left unreferenced, and the next
// prune deletes them.
//
// Prune also deletes the temporary files that interrupted uploads left behind (a backup killed
// while a local backend was writing "data/ab/<id>-tmp-<random>"), once they have not changed for
// a day: a younger one may belong to a save still under way. No index lists them, so nothing
// can need them; backends that leave none (REST) report none.
//
// Both need the index loaded (Repository::load_index) and an exclusive lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "backend/backend.h"
#include "repo/repository.h"

namespace kura::ops {

// --max-unused: "unlimited", "<p>%" (of the used size after pruning) or a size.
struct MaxUnused {
  enum class Kind { kUnlimited, kPercent, kBytes };
  Kind kind = Kind::kPercent;
  double percent = 5;
  uint64_t bytes = 0;
  // Unused bytes tolerated after pruning when `used` bytes are in use.
  uint64_t limit(uint64_t used) const;
};
base::StatusOr<MaxUnused> parse_max_unused(std::string_view s);

// restic's sizes: a number with an optional suffix b/B, k/K, m/M, g/G, t/T (powers of 1024).
base::StatusOr<uint64_t> parse_size(std::string_view s);

struct PruneOptions {
  MaxUnused max_unused;
  uint64_t max_repack_bytes = UINT64_MAX;
  bool repack_cacheable_only = false;  // only repack tree packs
  bool repack_small = false;           // also repack packs below 80% of pack_size
  bool repack_uncompressed = false;    // v2: repack packs holding uncompressed data blobs
  uint64_t pack_size = 16 * 1024 * 1024;  // target size of new packs
  repo::CompressionMode compression = repo::CompressionMode::kAuto;
  // Snapshots being forgotten in this run: not counted as users even if still listed.
  std::vector<repo::Id> ignore_snapshots;
  int threads = 0;  // 0: from the backend's parallelism
  // Temporary files of interrupted uploads are deleted once unchanged for this long (measured
  // with the repository's clock against the files' modification times).
  int64_t temp_file_min_age_sec = 24 * 60 * 60;
  // restic's --unsafe-recover-no-free-space: for a repository whose disk is full, the old
  // index files and packs are deleted *before* the new index is written (freeing space
  // first). A crash in between leaves a repository that needs rebuild-index.
  bool unsafe_recovery = false;
};

struct BlobHandle {
  repo::Id id;
  repo::BlobType type = repo::BlobType::kData;
  friend bool operator==(const BlobHandle&, const BlobHandle&) = default;
};
struct BlobHandleHash {
  size_t operator()(const BlobHandle& h) const {
    return repo::IdHash()(h.id) ^ static_cast<size_t>(h.type);
  }
};
using BlobSet = std::unordered_set<BlobHandle, BlobHandleHash>;

// restic's pruneStats. Sizes are stored bytes (what the blobs take in their packs).
struct PruneStats {
  struct {
    uint64_t used = 0, duplicate = 0, unused = 0, remove = 0, repack = 0, repackrm = 0;
  } blobs;
  struct {
    uint64_t used = 0, duplicate = 0, unused = 0, remove = 0, repack = 0, repackrm = 0, unref = 0;
  } size;
  struct {
    uint64_t used = 0, unused = 0, partly_used = 0, unref = 0, keep = 0, repack = 0, remove = 0;
  } packs;
  struct {
    uint64_t count = 0, size = 0;  // not part of the sizes above: no index lists them
  } stale_temp_files;

  uint64_t total_blobs() const { return blobs.used + blobs.unused + blobs.duplicate; }
  uint64_t total_size() const { return size.used + size.duplicate + size.unused + size.unref; }
  uint64_t unused_size() const { return size.duplicate + size.unused; }
  uint64_t prune_blobs() const { return blobs.remove + blobs.repackrm; }
  uint64_t prune_size() const { return size.remove + size.repackrm + size.unref; }
  uint64_t unused_after() const;
};

// A temporary file an interrupted upload left behind (Backend::list_temp_files).
struct StaleTempFile {
  backend::FileKind kind = backend::FileKind::kPack;
  backend::TempFileEntry file;
};

struct PrunePlan {
  PruneStats stats;
  size_t snapshots = 0;                      // snapshots whose blobs were kept
  std::vector<repo::Id> remove_packs_first;  // in no index: deleted first
  std::vector<repo::Id> repack_packs;
  std::vector<repo::Id> remove_packs;        // no used blob left
  std::vector<repo::Id> ignore_packs;        // indexed, missing, not needed: dropped from the index
  BlobSet keep_blobs;                        // used blobs to copy out of repack_packs
  std::vector<StaleTempFile> stale_temp_files;  // old enough to delete
};

enum class PrunePhase {
  kLoadingSnapshots,
  kFindingUsedBlobs,  // total: number of snapshots; progress counts trees loaded
  kSearchingUsedPacks,
  kCollectingPacks,
  kDeletingTempFiles,     // total: stale temporary files
  kDeletingUnreferenced,  // total: packs
  kRepacking,             // total: packs
  kRebuildingIndex,       // total: packs listed in the new index
  kDeletingIndex,         // total: index files
  kRemovingPacks,         // total: packs
  kDone,
};

class PruneObserver {
 public:
  virtual ~PruneObserver() = default;
  // The phase before ends (its progress still holds its last counts), then the next starts.
  virtual void on_phase_end() {}
  virtual void on_phase(PrunePhase phase, uint64_t total) {
    (void)phase;
    (void)total;
  }
  // A pack the index lists is missing but holds nothing needed: its entries are dropped.
  virtual void on_forget_missing_pack(const repo::Id& pack) { (void)pack; }
  // Deleting a pack (or a stale temporary file) failed; it is left behind (harmless) and
  // pruning goes on, as restic.
  virtual void on_delete_failed(const backend::Handle& h, const base::Status& st) {
    (void)h;
    (void)st;
  }
};

// Work done in the current phase, for a progress display (reset at each phase).
struct PruneProgress {
  std::atomic<uint64_t> done{0}, total{0};
};

base::StatusOr<PrunePlan> plan_prune(repo::Repository& repo, const PruneOptions& opts,
                                     PruneObserver* observer = nullptr,
                                     PruneProgress* progress = nullptr);

struct PruneResult {
  uint64_t packs_written = 0, packs_deleted = 0;
  uint64_t index_files_written = 0, index_files_deleted = 0;
  uint64_t temp_files_deleted = 0;
  uint64_t delete_failures = 0;  // files that could not be deleted (left for the next prune)
};

// Carries out a plan (not for a dry run: just don't call it).
base::StatusOr<PruneResult> execute_prune(repo::Repository& repo, PrunePlan plan,
                                          const PruneOptions& opts,
                                          PruneObserver* observer = nullptr,
                                          PruneProgress* progress = nullptr);

// Every blob the trees below `trees` reference (the trees themselves included), each tree
// loaded once, in parallel. `roots_done` counts the entries of `trees` whose walk ended (a
// subtree shared with another root counts for the root that reached it first, as restic's
// "snapshots" counter goes).
base::StatusOr<BlobSet> find_used_blobs(repo::Repository& repo, const std::vector<repo::Id>& trees,
                                        int threads, std::atomic<uint64_t>* trees_done = nullptr,
                                        std::atomic<uint64_t>* roots_done = nullptr);

}  // namespace kura::ops
