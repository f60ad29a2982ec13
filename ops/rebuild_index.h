// rebuild-index: writes a new index from the packs that are stored, as restic 0.14's
// `rebuild-index` does. The index files that can be read are trusted for the packs they list
// whose stored size matches; every other stored pack has its header read (all of them with
// `read_all_packs`). The new index files are written first, then every old one is deleted, so
// a crash leaves at worst both (restic reads an index listing the same pack twice).
//
// Needs an exclusive lock. The repository's in-memory index is not used.
#pragma once

#include <atomic>
#include <vector>

#include "repo/index.h"
#include "repo/repository.h"

namespace kura::ops {

struct RebuildIndexOptions {
  bool read_all_packs = false;
  int threads = 0;  // 0: from the backend's parallelism
};

enum class RebuildIndexPhase {
  kLoadingIndex,     // total: index files
  kListingPacks,
  kReadingPacks,     // total: packs whose header is read
  kWritingIndex,     // total: packs in the new index
  kDeletingIndex,    // total: old index files
  kDone,
};

class RebuildIndexObserver {
 public:
  virtual ~RebuildIndexObserver() = default;
  // The phase before ends (its progress still holds its last counts), then the next starts.
  virtual void on_phase_end() {}
  virtual void on_phase(RebuildIndexPhase, uint64_t /*total*/) {}
  virtual void on_invalid_index(const repo::Id& /*index*/, const base::Status&) {}
  virtual void on_pack_added(const repo::Id& /*pack*/) {}
  virtual void on_pack_size_mismatch(const repo::Id& /*pack*/, uint64_t /*stored*/, uint64_t /*indexed*/) {}
  virtual void on_pack_missing(const repo::Id& /*pack*/) {}
  virtual void on_pack_unreadable(const repo::Id& /*pack*/, const base::Status&) {}
};

struct RebuildIndexProgress {
  std::atomic<uint64_t> done{0}, total{0};
};

struct RebuildIndexResult {
  uint64_t packs_read = 0, packs_skipped = 0;
  uint64_t index_files_written = 0, index_files_deleted = 0;
};

base::StatusOr<RebuildIndexResult> rebuild_index(repo::Repository& repo,
                                                 const RebuildIndexOptions& opts,
                                                 RebuildIndexObserver* observer = nullptr,
                                                 RebuildIndexProgress* progress = nullptr);

// The size a pack holding `blobs` has: blobs, header entries and the header's overhead.
uint64_t pack_size_from_blobs(const std::vector<repo::PackedBlob>& blobs);

// Writes `packs` as new index files, at most restic's number of blobs in each (50 000 for v1,
// 150 000 for v2). Adds the packs written to *done as it goes. Returns the number of files.
base::StatusOr<uint64_t> write_index_files(repo::Repository& repo, std::vector<repo::IndexPack> packs,
                                           std::atomic<uint64_t>* done = nullptr);

}  // namespace kura::ops
