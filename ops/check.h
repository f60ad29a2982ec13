// Checking a repository for damage, as `restic check` (0.14) does (RESTIC_FORMAT.md §11):
//   1. load every index file (unreadable ones are errors; then the check stops, as restic's);
//   2. compare the packs the index lists with the packs the backend holds (missing and
//      wrong-sized packs are errors, unreferenced packs only hints);
//   3. walk every snapshot's trees (each tree once), checking that they decode and that the
//      blobs and subtrees they name exist;
//   4. optionally read (a subset of) the packs: hash, header, every blob.
// Problems are reported as CheckIssue values: kinds plus the objects they concern, so that the
// caller words them (in its message catalogs). The caller should hold an exclusive lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "repo/id.h"
#include "repo/repository.h"

namespace kura::ops {

enum class CheckIssueKind {
  // --- index files (field `id` = index file) ---
  kIndexUnreadable,  // error: cannot load, decrypt or decode (detail)
  kDuplicatePack,    // hint: pack `pack` listed in several index files (`ids`)
  kMixedPack,        // hint: pack `pack` holds tree and data blobs
  // --- packs in the backend versus the index (field `pack`) ---
  kPackMissing,       // error: listed in the index, absent from the backend
  kPackSizeMismatch,  // error: `actual` bytes stored, `expected` from the index
  kPackUnreferenced,  // hint: stored but listed in no index (restic: non-critical)
  // --- snapshots and trees (field `id` = snapshot or tree; `snapshot`, `path` = where the tree
  // was first reached; `name` = the node's path) ---
  kSnapshotUnreadable,  // error: snapshot file cannot be loaded or decoded (detail)
  kTreeMissing,         // error: tree blob in no index
  kTreeUnreadable,      // error: tree blob cannot be loaded, decrypted or decoded (detail)
  kFileNullContent,     // error: file node whose content is null or missing
  kBlobNullId,          // error: content[`index`] of a file is the null id
  kBlobNotInIndex,      // error: data blob `blob` of a file is in no index
  kBlobInBrokenPack,    // error: every copy of data blob `blob` sits in a missing/truncated pack
  kDirNoSubtree,        // error: dir node without subtree
  kDirNullSubtree,      // error: dir node whose subtree is the null id
  kInvalidNodeType,     // error: node of unknown type (detail = the type)
  kEmptyName,           // error: node with an empty name
  // --- reading packs (field `pack`) ---
  kPackUnreadable,        // error: download failed (detail)
  kPackHashMismatch,      // error: SHA-256 of the content is `blob` (the actual hash)
  kPackIndexGaps,         // error: the index's blobs of this pack leave gaps or overlap
  kPackHeaderUnreadable,  // error: header cannot be decrypted or decoded (detail)
  kPackBlobNotInIndex,    // error: header lists `blob`, index does not (at that position)
  kIndexBlobNotInPack,    // error: index lists `blob` in this pack, header does not
  kBlobDamaged,           // error: `blob` fails to decrypt/decompress or hash (detail)
};

struct CheckIssue {
  CheckIssueKind kind = CheckIssueKind::kIndexUnreadable;
  bool error = true;  // false: a hint (non-critical, does not fail the check)
  repo::Id id;        // index file, snapshot or tree
  repo::Id pack;
  repo::Id blob;
  std::vector<repo::Id> ids;  // kDuplicatePack: the index files
  repo::Id snapshot;          // tree issues: a snapshot reaching the tree
  std::string path;           // tree issues: the tree's path in that snapshot ("/" = root)
  std::string name;           // node issues: the node's full path
  uint64_t actual = 0, expected = 0, index = 0;
  std::string detail;  // underlying error text
};

enum class CheckPhase { kLoadIndex, kCheckPacks, kCheckSnapshots, kReadData };

// Counters the caller may read from another thread while the check runs.
struct CheckProgress {
  std::atomic<int> phase{0};  // a CheckPhase
  std::atomic<uint64_t> snapshots_total{0}, snapshots_done{0};
  std::atomic<uint64_t> trees_done{0};
  std::atomic<uint64_t> packs_indexed{0};               // packs the index lists
  std::atomic<uint64_t> packs_total{0}, packs_done{0};  // packs to read
  std::atomic<uint64_t> bytes_total{0}, bytes_done{0};
  std::atomic<uint64_t> errors{0};
};

class CheckObserver {
 public:
  virtual ~CheckObserver() = default;
  virtual void on_phase(CheckPhase) {}
  // Calls are serialized. Issues arrive while the check runs.
  virtual void on_issue(const CheckIssue&) {}
};

// Which packs --read-data / --read-data-subset read.
struct ReadDataSelection {
  enum class Mode { kNone, kAll, kBucket, kPercent, kSize };
  Mode mode = Mode::kNone;
  uint32_t bucket = 1, total_buckets = 1;  // kBucket: "n/t"
  double percent = 0;                      // kPercent: "x%"
  uint64_t size = 0;                       // kSize: "500M"
};

// Parses a --read-data-subset value: "n/t" (1 <= n <= t <= 256), "x%" / "x.y%" (0 < x <= 100)
// or a size with optional suffix b/B, k/K, m/M, g/G, t/T (binary units). Errors are
// invalid_argument.
base::StatusOr<ReadDataSelection> parse_read_data_subset(std::string_view s);

struct PackSize {
  repo::Id id;
  uint64_t size = 0;
};

// The packs a selection reads, out of all indexed packs (sorted by id). kBucket takes the
// packs whose first id byte % t == n-1 (restic's groups); kPercent picks max(1, floor(count *
// x/100)) packs at random (`seed`); kSize picks the same share of packs as `size` is of the
// total. Result sorted by id.
std::vector<PackSize> select_packs(const std::vector<PackSize>& packs, const ReadDataSelection& sel,
                                   uint64_t seed);

struct CheckOptions {
  ReadDataSelection read_data;
  uint64_t seed = 0;  // random selection; 0: from the system's entropy
  int threads = 0;    // tree checking, reading packs; 0: one per CPU (at least the backend's
                      // parallelism)
};

struct CheckResult {
  std::vector<CheckIssue> issues;
  uint64_t errors = 0, hints = 0;
  // Index files could not be loaded: the other checks did not run (restic stops there too).
  bool index_damaged = false;
  uint64_t index_files = 0, packs = 0, unreferenced_packs = 0, snapshots = 0, trees = 0;
  uint64_t packs_read = 0, bytes_read = 0;
  // Packs found missing, wrong-sized or damaged, sorted.
  std::vector<repo::Id> broken_packs;
  bool ok() const { return errors == 0; }
};

// Runs the checks. The Status is an error only if the check itself could not run (e.g. the
// backend cannot list files); damage is reported in the result. `progress` and `observer` may
// be null. Does not use the repository's own index (it loads the index files itself).
base::StatusOr<CheckResult> run_check(repo::Repository& repo, const CheckOptions& opts,
                                      CheckProgress* progress, CheckObserver* observer);

}  // namespace kura::ops
