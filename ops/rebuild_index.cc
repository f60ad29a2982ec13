#include "ops/rebuild_index.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>

#include "base/thread_pool.h"
#include "crypto/crypto.h"
#include "repo/pack.h"

namespace kura::ops {
namespace {

using backend::FileKind;
using repo::Id;
using PackMap = std::unordered_map<Id, std::vector<repo::PackedBlob>, repo::IdHash>;

size_t index_max_blobs(int version) { return version >= 2 ? 150000 : 50000; }

void start_phase(RebuildIndexObserver* obs, RebuildIndexProgress* prog, RebuildIndexPhase phase,
                 uint64_t total) {
  if (obs) obs->on_phase_end();
  if (prog) {
    prog->done = 0;
    prog->total = total;
  }
  if (obs) obs->on_phase(phase, total);
}

// Adds a pack's blobs from one index file; a pack listed in several files keeps each blob
// (same offset) once.
void merge_pack(PackMap& packs, repo::IndexPack p) {
  auto& blobs = packs[p.id];
  if (blobs.empty()) {
    blobs = std::move(p.blobs);
    return;
  }
  for (auto& b : p.blobs) {
    bool dup = std::any_of(blobs.begin(), blobs.end(), [&](const repo::PackedBlob& o) {
      return o.offset == b.offset && o.id == b.id && o.type == b.type;
    });
    if (!dup) blobs.push_back(b);
  }
}

// Reads every index file that can be read; the others are reported and dropped.
PackMap load_index_files(repo::Repository& repo, const std::vector<Id>& files,
                         RebuildIndexObserver* obs, RebuildIndexProgress* prog) {
  PackMap packs;
  for (const Id& id : files) {
    auto json = repo.load_unpacked(FileKind::kIndex, id);
    base::StatusOr<std::vector<repo::IndexPack>> decoded =
        json.ok() ? repo::decode_index_json(*json) : base::StatusOr<std::vector<repo::IndexPack>>(json.status());
    if (prog) ++prog->done;
    if (!decoded.ok()) {
      if (obs) obs->on_invalid_index(id, decoded.status());
      continue;
    }
    for (auto& p : *decoded) merge_pack(packs, std::move(p));
  }
  return packs;
}

// Reads the headers of `todo` (pack -> stored size) in parallel into `packs`.
base::Status read_pack_headers(repo::Repository& repo, const std::map<Id, uint64_t>& todo,
                               int threads, PackMap& packs, RebuildIndexObserver* obs,
                               RebuildIndexProgress* prog, RebuildIndexResult& res) {
  std::mutex mu;
  base::ThreadPool pool(threads);
  base::TaskGroup group(&pool);
  for (const auto& [id, size] : todo) {
    group.run([&, id = id, size = size]() -> base::Status {
      auto blobs = size == 0 ? base::StatusOr<std::vector<repo::PackedBlob>>(
                                   base::data_loss("pack " + id.hex() + ": empty file"))
                             : repo.read_pack_header(id, size);
      std::lock_guard<std::mutex> l(mu);
      if (prog) ++prog->done;
      if (!blobs.ok()) {
        ++res.packs_skipped;
        if (obs) obs->on_pack_unreadable(id, blobs.status());
        return base::ok_status();
      }
      ++res.packs_read;
      packs[id] = std::move(*blobs);
      return base::ok_status();
    });
  }
  return group.wait();
}

}  // namespace

uint64_t pack_size_from_blobs(const std::vector<repo::PackedBlob>& blobs) {
  uint64_t size = 4 + crypto::kCiphertextOverhead;
  for (const auto& b : blobs) {
    size += b.length + (b.compressed() ? repo::kCompressedHeaderEntrySize : repo::kHeaderEntrySize);
  }
  return size;
}

base::StatusOr<uint64_t> write_index_files(repo::Repository& repo, std::vector<repo::IndexPack> packs,
                                           std::atomic<uint64_t>* done) {
  size_t limit = index_max_blobs(repo.version());
  uint64_t files = 0;
  std::vector<repo::IndexPack> chunk;
  size_t chunk_blobs = 0;
  auto write_chunk = [&]() -> base::Status {
    if (chunk.empty()) return base::ok_status();
    RETURN_IF_ERROR(repo.write_index(chunk).status().with_context("write index"));
    ++files;
    if (done) *done += chunk.size();
    chunk.clear();
    chunk_blobs = 0;
    return base::ok_status();
  };
  for (auto& p : packs) {
    if (!chunk.empty() && chunk_blobs + p.blobs.size() > limit) RETURN_IF_ERROR(write_chunk());
    chunk_blobs += p.blobs.size();
    chunk.push_back(std::move(p));
  }
  RETURN_IF_ERROR(write_chunk());
  return files;
}

base::StatusOr<RebuildIndexResult> rebuild_index(repo::Repository& repo,
                                                 const RebuildIndexOptions& opts,
                                                 RebuildIndexObserver* obs,
                                                 RebuildIndexProgress* prog) {
  RebuildIndexResult res;
  int threads = opts.threads > 0 ? opts.threads : std::max(2, repo.backend()->parallelism());
  ASSIGN_OR_RETURN(std::vector<Id> old_index, repo.list_ids(FileKind::kIndex));
  PackMap packs;
  if (!opts.read_all_packs) {
    start_phase(obs, prog, RebuildIndexPhase::kLoadingIndex, old_index.size());
    packs = load_index_files(repo, old_index, obs, prog);
  }

  start_phase(obs, prog, RebuildIndexPhase::kListingPacks, 0);
  std::map<Id, uint64_t> to_read;
  std::unordered_map<Id, bool, repo::IdHash> stored;
  RETURN_IF_ERROR(repo.backend()->list(FileKind::kPack, [&](const backend::FileEntry& e) {
    auto id = Id::parse(e.name);
    if (!id.ok()) return base::ok_status();
    stored[*id] = true;
    auto it = packs.find(*id);
    if (it == packs.end()) {
      if (obs) obs->on_pack_added(*id);
      to_read[*id] = e.size;
    } else if (uint64_t expect = pack_size_from_blobs(it->second); expect != e.size) {
      if (obs) obs->on_pack_size_mismatch(*id, e.size, expect);
      packs.erase(it);
      to_read[*id] = e.size;
    }
    return base::ok_status();
  }));
  for (auto it = packs.begin(); it != packs.end();) {
    if (stored.count(it->first)) {
      ++it;
      continue;
    }
    if (obs) obs->on_pack_missing(it->first);
    it = packs.erase(it);
  }

  if (!to_read.empty()) {
    start_phase(obs, prog, RebuildIndexPhase::kReadingPacks, to_read.size());
    RETURN_IF_ERROR(read_pack_headers(repo, to_read, threads, packs, obs, prog, res));
  }

  std::vector<repo::IndexPack> all;
  all.reserve(packs.size());
  for (auto& [id, blobs] : packs) {
    std::sort(blobs.begin(), blobs.end(),
              [](const repo::PackedBlob& a, const repo::PackedBlob& b) { return a.offset < b.offset; });
    all.push_back({id, std::move(blobs)});
  }
  std::sort(all.begin(), all.end(), [](const repo::IndexPack& a, const repo::IndexPack& b) { return a.id < b.id; });
  start_phase(obs, prog, RebuildIndexPhase::kWritingIndex, all.size());
  ASSIGN_OR_RETURN(res.index_files_written, write_index_files(repo, std::move(all), prog ? &prog->done : nullptr));

  // Every old file goes, the unreadable ones too: the new files list all that is stored.
  start_phase(obs, prog, RebuildIndexPhase::kDeletingIndex, old_index.size());
  RETURN_IF_ERROR(repo.check_commit_gate());
  for (const Id& id : old_index) {
    RETURN_IF_ERROR(repo.backend()->remove({FileKind::kIndex, id.hex()}).with_context("remove index/" + id.hex()));
    ++res.index_files_deleted;
    if (prog) ++prog->done;
  }
  start_phase(obs, prog, RebuildIndexPhase::kDone, 0);
  return res;
}

}  // namespace kura::ops
