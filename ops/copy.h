// copy: copies snapshots from one repository into another, as restic 0.14's `copy` does.
// Blobs the destination lacks are read from the source (by pack, each blob verified),
// re-encrypted with the destination's key and stored through its normal pack path; the
// snapshot is written only after its packs and index are. The copy keeps every field but
// the parent and records the source snapshot as `original`, so that a later copy recognises
// it (a destination snapshot with the same original and the same time, tree, host, user,
// ids, paths, excludes and tags) and skips it.
//
// Both repositories need their index loaded. Data deduplicates against what the destination
// already has only if both use the same chunker polynomial (init --copy-chunker-params).
#pragma once

#include <atomic>
#include <optional>
#include <vector>

#include "ops/snapshots.h"
#include "repo/repository.h"

namespace kura::ops {

class CopyObserver {
 public:
  virtual ~CopyObserver() = default;
  virtual void on_snapshot(const SnapshotEntry&) {}
  // The source snapshot was copied before, as `copy`.
  virtual void on_already_copied(const SnapshotEntry& /*source*/, const repo::Id& /*copy*/) {}
  virtual void on_copy_started(const SnapshotEntry&) {}
  virtual void on_saved(const SnapshotEntry& /*source*/, const repo::Id& /*copy*/) {}
};

// Per snapshot: the source packs read for its blobs (restic's "packs copied").
struct CopyProgress {
  std::atomic<uint64_t> packs_done{0}, packs_total{0};
};

struct CopyResult {
  uint64_t copied = 0, skipped = 0;
  uint64_t blobs_copied = 0;
};

// restic's similarSnapshots: everything but parent and original equal (paths and tags as sets
// of the same size, excludes in order).
bool similar_snapshots(const repo::Snapshot& a, const repo::Snapshot& b);

// Copies `snapshots` (from src) into dst, skipping those `dst_snapshots` already holds a copy of.
base::StatusOr<CopyResult> copy_snapshots(repo::Repository& src, repo::Repository& dst,
                                          const std::vector<SnapshotEntry>& snapshots,
                                          const std::vector<SnapshotEntry>& dst_snapshots,
                                          int threads = 0, CopyObserver* observer = nullptr,
                                          CopyProgress* progress = nullptr);

}  // namespace kura::ops
