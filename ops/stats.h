// stats: what snapshots hold, counted in one of restic's four modes (restic `stats`).
#pragma once

#include <string_view>
#include <vector>

#include "repo/repository.h"

namespace kura::ops {

enum class StatsMode {
  kRestoreSize,      // every node of every snapshot; a hard-linked inode's size once per snapshot
  kFilesByContents,  // nodes unique by their content list
  kRawData,          // unique blobs, as stored in the repository
  kBlobsPerFile,     // unique-content files, and their unique blobs per path
};

// "restore-size", "files-by-contents", "raw-data", "blobs-per-file"; invalid_argument otherwise.
base::StatusOr<StatsMode> parse_stats_mode(std::string_view name);
std::string_view stats_mode_name(StatsMode mode);

struct StatsResult {
  uint64_t total_size = 0;  // raw-data: stored bytes; otherwise plaintext bytes
  uint64_t total_file_count = 0;
  uint64_t total_blob_count = 0;
  uint64_t snapshots_count = 0;
  // raw-data on a format v2 repository (as restic 0.16+ reports them): the stored size the
  // blobs would have uncompressed, and how well compression did.
  uint64_t total_uncompressed_size = 0;
  double compression_ratio = 0;         // uncompressed / stored, over the compressed blobs
  double compression_progress = 0;      // percent of the data (uncompressed) that is compressed
  double compression_space_saving = 0;  // percent saved overall
};

// Counts over the snapshots with these root trees, in this order. The index must be loaded.
// restore-size counts every node (folders too, as restic does); its hard-link rule is by inode
// number within each snapshot.
base::StatusOr<StatsResult> compute_stats(repo::Repository& repo, const std::vector<repo::Id>& trees,
                                          StatsMode mode, int threads = 0);

}  // namespace kura::ops
