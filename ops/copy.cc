#include "ops/copy.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "base/thread_pool.h"
#include "ops/walk.h"
#include "repo/snapshot.h"

namespace kura::ops {
namespace {

using repo::BlobType;
using repo::Id;

struct NeededBlob {
  Id id;
  BlobType type;
};

// Blobs below `root` the destination lacks; trees already in `visited` (copied for an earlier
// snapshot of this run) are not entered again.
base::StatusOr<std::vector<NeededBlob>> blobs_to_copy(repo::Repository& src, repo::Repository& dst,
                                                      const Id& root, IdSet& visited, int threads) {
  std::vector<NeededBlob> out;
  std::unordered_set<Id, repo::IdHash> queued;
  auto need = [&](const Id& id, BlobType type) {
    if (!dst.has_blob(type, id) && queued.insert(id).second) out.push_back({id, type});
  };
  RETURN_IF_ERROR(visit_trees(
      src, {root}, &visited,
      [&](const Id& tree, const std::vector<repo::Node>& nodes) {
        need(tree, BlobType::kTree);
        for (const auto& n : nodes) {
          for (const Id& d : n.content) need(d, BlobType::kData);
        }
        return true;
      },
      threads));
  return out;
}

// Reads each source pack's needed blobs in one range and stores them in dst.
base::Status copy_blobs(repo::Repository& src, repo::Repository& dst, const std::vector<NeededBlob>& blobs,
                        int threads, CopyProgress* prog, uint64_t& copied) {
  std::map<Id, std::vector<repo::PackedBlob>> by_pack;
  std::vector<NeededBlob> unindexed;
  src.with_index([&](const repo::Index& idx) {
    for (const NeededBlob& b : blobs) {
      const repo::IndexEntry* e = idx.find(b.id, b.type);
      if (e) {
        by_pack[idx.pack_id(e->pack)].push_back(e->blob());
      } else {
        unindexed.push_back(b);
      }
    }
  });
  if (!unindexed.empty()) {
    return base::data_loss(std::string(repo::blob_type_name(unindexed.front().type)) + " blob " +
                           unindexed.front().id.hex() + " is not in the source repository's index");
  }
  std::mutex mu;
  if (prog) prog->packs_total = by_pack.size();
  base::ThreadPool pool(threads);
  base::TaskGroup group(&pool);
  for (auto& [pack_id, pack_blobs] : by_pack) {
    group.run([&, pack = pack_id, list = std::move(pack_blobs)]() mutable -> base::Status {
      if (group.failed()) return base::ok_status();
      std::sort(list.begin(), list.end(),
                [](const repo::PackedBlob& a, const repo::PackedBlob& b) { return a.offset < b.offset; });
      uint64_t start = list.front().offset, end = 0;
      for (const auto& b : list) end = std::max<uint64_t>(end, uint64_t{b.offset} + b.length);
      auto data = src.backend()->load({backend::FileKind::kPack, pack.hex()}, start, end - start);
      for (const auto& b : list) {
        base::StatusOr<base::Bytes> plain = base::internal_error("unreachable");
        if (data.ok() && b.offset - start + b.length <= data->size()) {
          plain = src.decode_blob(b, base::ByteSpan(*data).subspan(b.offset - start, b.length));
        }
        // Another copy of the blob may be intact.
        if (!plain.ok()) plain = src.load_blob(b.type, b.id);
        if (!plain.ok()) return plain.status().with_context("copy from pack " + pack.short_hex());
        ASSIGN_OR_RETURN(bool stored, dst.save_blob(b.type, b.id, *plain));
        std::lock_guard<std::mutex> l(mu);
        if (stored) ++copied;
      }
      if (prog) ++prog->packs_done;
      return base::ok_status();
    });
  }
  return group.wait();
}

// The destination snapshots each source snapshot id may have been copied to.
std::unordered_map<Id, std::vector<const SnapshotEntry*>, repo::IdHash> by_original(
    const std::vector<SnapshotEntry>& dst_snapshots) {
  std::unordered_map<Id, std::vector<const SnapshotEntry*>, repo::IdHash> out;
  for (const SnapshotEntry& e : dst_snapshots) {
    if (e.sn.original && !e.sn.original->is_zero()) out[*e.sn.original].push_back(&e);
    out[e.id].push_back(&e);  // a byte-identical copy
  }
  return out;
}

bool same_set(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& x : b) {
    if (std::find(a.begin(), a.end(), x) == a.end()) return false;
  }
  return true;
}

}  // namespace

bool similar_snapshots(const repo::Snapshot& a, const repo::Snapshot& b) {
  return a.time.sec == b.time.sec && a.time.nsec == b.time.nsec && a.tree == b.tree &&
         a.hostname == b.hostname && a.username == b.username && a.uid == b.uid && a.gid == b.gid &&
         same_set(a.paths, b.paths) && same_set(a.tags, b.tags) && a.excludes == b.excludes;
}

base::StatusOr<CopyResult> copy_snapshots(repo::Repository& src, repo::Repository& dst,
                                          const std::vector<SnapshotEntry>& snapshots,
                                          const std::vector<SnapshotEntry>& dst_snapshots, int threads,
                                          CopyObserver* obs, CopyProgress* prog) {
  CopyResult res;
  auto copies = by_original(dst_snapshots);
  IdSet visited;
  int n = io_threads(src, threads);
  for (const SnapshotEntry& e : snapshots) {
    if (obs) obs->on_snapshot(e);
    Id original = e.sn.original ? *e.sn.original : e.id;
    const SnapshotEntry* copy = nullptr;
    if (auto it = copies.find(original); it != copies.end()) {
      for (const SnapshotEntry* c : it->second) {
        if (similar_snapshots(c->sn, e.sn)) {
          copy = c;
          break;
        }
      }
    }
    if (copy) {
      ++res.skipped;
      if (obs) obs->on_already_copied(e, copy->id);
      continue;
    }
    if (obs) obs->on_copy_started(e);
    ASSIGN_OR_RETURN(auto blobs, blobs_to_copy(src, dst, e.sn.tree, visited, n));
    if (prog) {
      prog->packs_done = 0;
      prog->packs_total = 0;
    }
    RETURN_IF_ERROR(copy_blobs(src, dst, blobs, n, prog, res.blobs_copied));
    RETURN_IF_ERROR(dst.flush());

    repo::Snapshot sn = e.sn;
    sn.parent.reset();  // means nothing in the destination
    if (!sn.original) sn.original = e.id;
    ASSIGN_OR_RETURN(Id id, dst.save_unpacked(backend::FileKind::kSnapshot, repo::encode_snapshot(sn)));
    ++res.copied;
    if (obs) obs->on_saved(e, id);
  }
  return res;
}

}  // namespace kura::ops
