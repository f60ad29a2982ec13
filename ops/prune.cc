#include "ops/prune.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "base/thread_pool.h"
#include "crypto/crypto.h"
#include "ops/rebuild_index.h"
#include "ops/walk.h"
#include "repo/compress.h"
#include "repo/pack.h"
#include "repo/snapshot.h"

namespace kura::ops {
namespace {

using backend::FileKind;
using repo::BlobType;
using repo::Id;
using IdSet = std::unordered_set<Id, repo::IdHash>;

// A pack's constant overhead: the header's crypto overhead and the 4-byte length field.
constexpr uint64_t kPackHeaderOverhead = 4 + crypto::kCiphertextOverhead;

uint64_t entry_size(const repo::PackedBlob& b) {
  return b.compressed() ? repo::kCompressedHeaderEntrySize : repo::kHeaderEntrySize;
}

uint64_t saturating_sub(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

int thread_count(repo::Repository& repo, int threads) {
  return threads > 0 ? threads : std::max(2, repo.backend()->parallelism());
}

void start_phase(PruneObserver* obs, PruneProgress* prog, PrunePhase phase, uint64_t total) {
  if (obs) obs->on_phase_end();
  if (prog) {
    prog->done = 0;
    prog->total = total;
  }
  if (obs) obs->on_phase(phase, total);
}

void tick(PruneProgress* prog) {
  if (prog) ++prog->done;
}

enum class PackType : int8_t { kUnset = -1, kData = 0, kTree = 1, kMixed = 2 };

struct PackInfo {
  uint64_t used_blobs = 0, unused_blobs = 0;
  uint64_t used_size = kPackHeaderOverhead, unused_size = 0;
  PackType type = PackType::kUnset;
  bool uncompressed = false;  // after classification: "must be recompressed"
  uint64_t total() const { return used_size + unused_size; }
};

struct Candidate {
  Id id;
  PackInfo info;
};

// Deletes files in parallel. checked: the first failure is returned (restic's
// DeleteFilesChecked); otherwise failures go to the observer and the rest is deleted anyway.
base::Status delete_files(repo::Repository& repo, FileKind kind, const std::vector<Id>& ids,
                          bool checked, int threads, PruneObserver* obs, PruneProgress* prog,
                          PruneResult* res) {
  // Nothing is deleted under a lock that is no longer surely ours.
  RETURN_IF_ERROR(repo.check_commit_gate());
  std::mutex mu;
  base::ThreadPool pool(threads);
  base::TaskGroup group(&pool);
  for (const Id& id : ids) {
    group.run([&, id]() -> base::Status {
      backend::Handle h{kind, id.hex()};
      base::Status st = repo.backend()->remove(h);
      std::lock_guard<std::mutex> l(mu);
      tick(prog);
      if (st.ok()) {
        if (kind == FileKind::kPack) ++res->packs_deleted;
        if (kind == FileKind::kIndex) ++res->index_files_deleted;
        return st;
      }
      if (checked) return st.with_context("remove " + h.to_string());
      ++res->delete_failures;
      if (obs) obs->on_delete_failed(h, st);
      return base::ok_status();
    });
  }
  return group.wait();
}

// Whether a blob stored uncompressed must be re-encoded when repacked: in v2, trees always
// are compressed and data unless --compression off (restic re-encodes every blob it repacks).
bool must_compress(const repo::Repository& repo, const PruneOptions& opts, BlobType type, size_t plain_size) {
  return repo.version() >= 2 && plain_size > 0 &&
         (type == BlobType::kTree || opts.compression != repo::CompressionMode::kOff);
}

// Copies the blobs of `keep` found in `packs` into new packs through the repository's pack
// path (which indexes them in memory and writes index files for them on flush); erases what
// it copied from keep. Returns the number of packs written.
base::StatusOr<uint64_t> repack(repo::Repository& repo, const std::vector<Id>& packs, BlobSet& keep,
                                const PruneOptions& opts, int threads, PruneProgress* prog) {
  std::unordered_map<Id, std::vector<repo::PackedBlob>, repo::IdHash> todo;
  for (const Id& p : packs) todo[p];
  repo.with_index([&](const repo::Index& idx) {
    idx.for_each([&](const repo::IndexEntry& e) {
      auto it = todo.find(idx.pack_id(e.pack));
      if (it != todo.end() && keep.count({e.id, e.type})) it->second.push_back(e.blob());
    });
  });

  repo::WriteOptions w;
  w.pack_size = opts.pack_size;
  w.compression = opts.compression;
  repo.set_write_options(w);
  uint64_t packs_before = repo.added_packs();
  const repo::SaveBlobOptions duplicate{true};  // the old copy is being deleted
  std::mutex keep_mu;
  {
    base::ThreadPool pool(threads);
    base::TaskGroup group(&pool);
    for (auto& [pack_id, pack_blobs] : todo) {
      group.run([&, pack = pack_id, blobs = std::move(pack_blobs)]() mutable -> base::Status {
        if (group.failed() || blobs.empty()) {
          tick(prog);
          return base::ok_status();
        }
        std::sort(blobs.begin(), blobs.end(),
                  [](const repo::PackedBlob& a, const repo::PackedBlob& b) { return a.offset < b.offset; });
        uint64_t start = blobs.front().offset, end = 0;
        for (const auto& b : blobs) end = std::max<uint64_t>(end, uint64_t{b.offset} + b.length);
        backend::Handle h{FileKind::kPack, pack.hex()};
        auto data = repo.backend()->load(h, start, end - start);
        for (const auto& b : blobs) {
          base::ByteSpan stored;
          base::StatusOr<base::Bytes> plain = base::internal_error("unreachable");
          if (data.ok()) {
            stored = base::ByteSpan(*data).subspan(b.offset - start, b.length);
            plain = repo.decode_blob(b, stored);
          } else {
            plain = data.status().with_context("load " + h.to_string());
          }
          bool verified = plain.ok();
          if (!verified) {
            // Another copy may be intact (restic does the same).
            auto other = repo.load_blob(b.type, b.id);
            if (!other.ok()) return plain.status().with_context("repack " + h.to_string());
            plain = std::move(other);
          }
          {
            std::lock_guard<std::mutex> l(keep_mu);
            if (keep.erase({b.id, b.type}) == 0) continue;  // another pack had it too
          }
          if (verified && (b.compressed() || !must_compress(repo, opts, b.type, plain->size()))) {
            RETURN_IF_ERROR(repo.save_sealed_blob(b.type, b.id, stored, b.uncompressed_length, duplicate).status());
          } else {
            RETURN_IF_ERROR(repo.save_blob(b.type, b.id, *plain, duplicate).status());
          }
        }
        tick(prog);
        return base::ok_status();
      });
    }
    RETURN_IF_ERROR(group.wait());
  }
  RETURN_IF_ERROR(repo.flush());
  return repo.added_packs() - packs_before;
}

// Writes index files for every pack the in-memory index lists except `drop` (the new packs
// of the repack are in it already).
base::Status write_full_index(repo::Repository& repo, const IdSet& drop, PruneProgress* prog,
                              PruneResult* res) {
  std::unordered_map<Id, std::vector<repo::PackedBlob>, repo::IdHash> by_pack;
  repo.with_index([&](const repo::Index& idx) {
    idx.for_each([&](const repo::IndexEntry& e) {
      const Id& pack = idx.pack_id(e.pack);
      if (!drop.count(pack)) by_pack[pack].push_back(e.blob());
    });
  });
  std::vector<repo::IndexPack> packs;
  packs.reserve(by_pack.size());
  for (auto& [id, blobs] : by_pack) {
    std::sort(blobs.begin(), blobs.end(),
              [](const repo::PackedBlob& a, const repo::PackedBlob& b) { return a.offset < b.offset; });
    packs.push_back({id, std::move(blobs)});
  }
  std::sort(packs.begin(), packs.end(),
            [](const repo::IndexPack& a, const repo::IndexPack& b) { return a.id < b.id; });
  if (prog) prog->total = packs.size();
  ASSIGN_OR_RETURN(uint64_t files, write_index_files(repo, std::move(packs), prog ? &prog->done : nullptr));
  res->index_files_written += files;
  return base::ok_status();
}

}  // namespace

// --- options ---

uint64_t MaxUnused::limit(uint64_t used) const {
  switch (kind) {
    case Kind::kUnlimited: return UINT64_MAX;
    case Kind::kBytes: return bytes;
    case Kind::kPercent: return static_cast<uint64_t>(percent / (100 - percent) * static_cast<double>(used));
  }
  return 0;
}

base::StatusOr<uint64_t> parse_size(std::string_view s) {
  if (s.empty()) return base::invalid_argument("expected a size, got an empty string");
  uint64_t unit = 1;
  std::string_view num = s.substr(0, s.size() - 1);
  switch (s.back()) {
    case 'b': case 'B': break;
    case 'k': case 'K': unit = 1ull << 10; break;
    case 'm': case 'M': unit = 1ull << 20; break;
    case 'g': case 'G': unit = 1ull << 30; break;
    case 't': case 'T': unit = 1ull << 40; break;
    default: num = s;
  }
  uint64_t v = 0;
  auto r = std::from_chars(num.data(), num.data() + num.size(), v);
  if (num.empty() || r.ec != std::errc() || r.ptr != num.data() + num.size()) {
    return base::invalid_argument("invalid size \"" + std::string(s) + "\"");
  }
  if (v > UINT64_MAX / unit) return base::invalid_argument("size \"" + std::string(s) + "\" is too large");
  return v * unit;
}

base::StatusOr<MaxUnused> parse_max_unused(std::string_view in) {
  std::string s(in);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
  MaxUnused m;
  if (s.empty()) return base::invalid_argument("invalid value for --max-unused: \"" + std::string(in) + "\"");
  if (s == "unlimited") {
    m.kind = MaxUnused::Kind::kUnlimited;
    return m;
  }
  if (s.back() == '%') {
    s.pop_back();
    char* end = nullptr;
    double p = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || p != p) {
      return base::invalid_argument("invalid percentage \"" + std::string(in) + "\" for --max-unused");
    }
    if (p < 0) return base::invalid_argument("percentage for --max-unused must be positive");
    if (p >= 100) return base::invalid_argument("percentage for --max-unused must be below 100%");
    m.kind = MaxUnused::Kind::kPercent;
    m.percent = p;
    return m;
  }
  auto bytes = parse_size(s);
  if (!bytes.ok()) return bytes.status().with_context("--max-unused");
  m.kind = MaxUnused::Kind::kBytes;
  m.bytes = *bytes;
  return m;
}

uint64_t PruneStats::unused_after() const {
  return saturating_sub(unused_size(), size.remove + size.repackrm);
}

// --- finding used blobs ---

base::StatusOr<BlobSet> find_used_blobs(repo::Repository& repo, const std::vector<Id>& trees,
                                        int threads, std::atomic<uint64_t>* trees_done,
                                        std::atomic<uint64_t>* roots_done) {
  BlobSet used;
  std::mutex mu;
  base::ThreadPool pool(thread_count(repo, threads));
  base::TaskGroup group(&pool);
  // Per root: the trees of its walk still queued or loading; the root is done at zero.
  using Pending = std::shared_ptr<std::atomic<uint64_t>>;
  auto finished = [roots_done](const Pending& pending) {
    if (pending->fetch_sub(1) == 1 && roots_done) ++*roots_done;
  };
  std::function<void(const Id&, Pending)> visit = [&](const Id& tree, Pending pending) {
    group.run([&, tree, pending]() -> base::Status {
      if (group.failed()) return base::ok_status();
      ASSIGN_OR_RETURN(auto nodes, load_tree(repo, tree));
      std::vector<Id> children;
      {
        std::lock_guard<std::mutex> l(mu);
        for (const auto& n : nodes) {
          if (n.type == repo::NodeType::kFile) {
            for (const Id& c : n.content) used.insert({c, BlobType::kData});
          } else if (n.type == repo::NodeType::kDir) {
            if (!n.subtree) {
              return base::data_loss("tree " + tree.hex() + ": directory \"" + n.name + "\" has no subtree");
            }
            if (used.insert({*n.subtree, BlobType::kTree}).second) children.push_back(*n.subtree);
          }
        }
      }
      if (trees_done) ++*trees_done;
      pending->fetch_add(children.size());
      for (const Id& c : children) visit(c, pending);
      finished(pending);
      return base::ok_status();
    });
  };
  for (const Id& t : trees) {
    bool fresh;
    {
      std::lock_guard<std::mutex> l(mu);
      fresh = used.insert({t, BlobType::kTree}).second;
    }
    if (fresh) {
      visit(t, std::make_shared<std::atomic<uint64_t>>(1));
    } else if (roots_done) {
      ++*roots_done;  // walked already, for an earlier root
    }
  }
  RETURN_IF_ERROR(group.wait());
  return used;
}

// --- planning ---

namespace {

// Step 1: the trees of every snapshot not being forgotten.
base::StatusOr<std::vector<Id>> snapshot_trees(repo::Repository& repo, const PruneOptions& opts,
                                               int threads) {
  ASSIGN_OR_RETURN(auto listed, repo.list_ids(FileKind::kSnapshot));
  IdSet ignore(opts.ignore_snapshots.begin(), opts.ignore_snapshots.end());
  std::vector<Id> ids;
  for (const Id& id : listed) {
    if (!ignore.count(id)) ids.push_back(id);
  }
  std::vector<Id> trees(ids.size());
  base::ThreadPool pool(threads);
  base::TaskGroup group(&pool);
  for (size_t i = 0; i < ids.size(); ++i) {
    group.run([&, i]() -> base::Status {
      std::string what = "snapshot " + ids[i].hex();
      auto json = repo.load_unpacked(FileKind::kSnapshot, ids[i]);
      if (!json.ok()) return json.status().with_context("load " + what);
      auto sn = repo::decode_snapshot(*json);
      if (!sn.ok()) return sn.status().with_context(what);
      trees[i] = sn->tree;
      return base::ok_status();
    });
  }
  RETURN_IF_ERROR(group.wait());
  return trees;
}

// Step 2: every blob the trees use.
base::StatusOr<BlobSet> used_blobs(repo::Repository& repo, const std::vector<Id>& trees, int threads,
                                   PruneProgress* prog) {
  auto used = find_used_blobs(repo, trees, threads, nullptr, prog ? &prog->done : nullptr);
  if (used.ok()) return used;
  // A tree the snapshots need cannot be read: the repository is damaged, not the request.
  base::Status st = used.status();
  if (st.code() == base::Code::kNotFound) st = base::data_loss(st.message());
  return st.with_context("find the data still in use");
}

// What step 3 learns about the indexed blobs.
struct BlobUse {
  BlobSet keep;  // used blobs
  // used blobs stored more than once -> copies left to assign (255 at most)
  std::unordered_map<BlobHandle, uint8_t, BlobHandleHash> duplicates;
};

// Step 3: every indexed blob is used, a duplicate of a used one, or unused (restic's
// packInfoFromIndex, first pass). A used blob the index lacks stops the prune.
base::StatusOr<BlobUse> classify_blobs(repo::Repository& repo, BlobSet used, PruneStats& st) {
  BlobUse use;
  repo.with_index([&](const repo::Index& idx) {
    idx.for_each([&](const repo::IndexEntry& e) {
      BlobHandle h{e.id, e.type};
      if (used.erase(h)) {
        use.keep.insert(h);
        st.size.used += e.length;
        ++st.blobs.used;
      } else if (use.keep.count(h)) {
        auto [it, fresh] = use.duplicates.emplace(h, 2);  // this is already the second copy
        if (!fresh && it->second < 255) ++it->second;
        st.size.duplicate += e.length;
        ++st.blobs.duplicate;
      } else {
        st.size.unused += e.length;
        ++st.blobs.unused;
      }
    });
  });
  if (!used.empty()) {
    const BlobHandle& h = *used.begin();
    return base::data_loss(std::to_string(used.size()) +
                           " blob(s) used by snapshots are not in the index (e.g. " +
                           std::string(repo::blob_type_name(h.type)) + " " + h.id.hex() +
                           "): data seems to be missing; not pruning, to prevent further data loss");
  }
  return use;
}

using PackInfos = std::unordered_map<Id, PackInfo, repo::IdHash>;

// Step 4: used and unused blobs and bytes per pack. One copy of each duplicate counts as used,
// preferably one in a pack that has used blobs anyway.
PackInfos pack_infos(repo::Repository& repo, BlobUse& use) {
  PackInfos packs;
  repo.with_index([&](const repo::Index& idx) {
    idx.for_each([&](const repo::IndexEntry& e) {
      PackInfo& p = packs[idx.pack_id(e.pack)];
      p.used_size += entry_size(e.blob());
      PackType t = e.type == BlobType::kTree ? PackType::kTree : PackType::kData;
      if (p.type == PackType::kUnset) p.type = t;
      if (p.type != t) p.type = PackType::kMixed;
      BlobHandle h{e.id, e.type};
      if (use.duplicates.count(h)) {
        // decided below
      } else if (use.keep.count(h)) {
        p.used_size += e.length;
        ++p.used_blobs;
      } else {
        p.unused_size += e.length;
        ++p.unused_blobs;
      }
      if (!e.blob().compressed()) p.uncompressed = true;
    });
    if (use.duplicates.empty()) return;
    idx.for_each([&](const repo::IndexEntry& e) {
      auto it = use.duplicates.find({e.id, e.type});
      if (it == use.duplicates.end()) return;
      PackInfo& p = packs[idx.pack_id(e.pack)];
      if (it->second == 0) {
        p.unused_size += e.length;
        ++p.unused_blobs;
      } else if (p.used_blobs > 0 || it->second == 1) {
        p.used_size += e.length;
        ++p.used_blobs;
        it->second = 0;
      } else {
        p.unused_size += e.length;
        ++p.unused_blobs;
        --it->second;
      }
    });
  });
  return packs;
}

// Packs that may be repacked, and small full ones (repacked only if there are enough).
struct RepackCandidates {
  std::vector<Candidate> candidates, small;
};

// Step 5: each stored pack is unreferenced (deleted first), unused (deleted), kept, or a
// candidate for repacking (restic's decidePackAction). Erases the stored ones from `packs`,
// so what is left there is indexed but missing.
base::StatusOr<RepackCandidates> sort_stored_packs(repo::Repository& repo, const PruneOptions& opts,
                                                   uint64_t target, PackInfos& packs, PrunePlan& plan,
                                                   PruneProgress* prog) {
  PruneStats& st = plan.stats;
  RepackCandidates out;
  RETURN_IF_ERROR(repo.backend()->list(FileKind::kPack, [&](const backend::FileEntry& fe) -> base::Status {
    auto id = Id::parse(fe.name);
    if (!id.ok()) return base::ok_status();
    auto it = packs.find(*id);
    if (it == packs.end()) {
      plan.remove_packs_first.push_back(*id);
      st.size.unref += fe.size;
      return base::ok_status();
    }
    PackInfo p = it->second;
    packs.erase(it);
    tick(prog);
    if (p.total() != fe.size && p.used_blobs != 0) {
      return base::data_loss("pack " + id->hex() + ": size " + std::to_string(fe.size) +
                             " does not match the size " + std::to_string(p.total()) +
                             " computed from the index");
    }
    if (p.used_blobs == 0) {
      ++st.packs.unused;
    } else if (p.unused_blobs == 0) {
      ++st.packs.used;
    } else {
      ++st.packs.partly_used;
    }
    p.uncompressed = repo.version() >= 2 && p.uncompressed &&
                     (p.type == PackType::kTree || opts.repack_uncompressed);
    if (p.used_blobs == 0) {
      plan.remove_packs.push_back(*id);
      st.blobs.remove += p.unused_blobs;
      st.size.remove += p.unused_size;
    } else if (opts.repack_cacheable_only && p.type == PackType::kData) {
      ++st.packs.keep;
    } else if (p.unused_blobs == 0 && p.type != PackType::kMixed && !p.uncompressed) {
      if (fe.size >= target) {
        ++st.packs.keep;
      } else {
        out.small.push_back({*id, p});
      }
    } else {
      out.candidates.push_back({*id, p});
    }
    return base::ok_status();
  }));
  return out;
}

// Step 6: leftovers of interrupted uploads, old enough that no save can still be writing them.
base::Status find_stale_temp_files(repo::Repository& repo, const PruneOptions& opts, PrunePlan& plan) {
  int64_t now = repo.deps().clock->now().sec;
  for (FileKind kind : backend::kListableKinds) {
    RETURN_IF_ERROR(repo.backend()->list_temp_files(kind, [&](const backend::TempFileEntry& f) {
      if (now - f.mtime_sec < opts.temp_file_min_age_sec) return base::ok_status();
      plan.stale_temp_files.push_back({kind, f});
      ++plan.stats.stale_temp_files.count;
      plan.stats.stale_temp_files.size += f.size;
      return base::ok_status();
    }).with_context("list temporary files"));
  }
  return base::ok_status();
}

// Step 7: packs indexed but not stored. Unneeded ones are dropped from the index; a needed
// one stops the prune.
base::Status handle_missing_packs(const PackInfos& missing, PrunePlan& plan, PruneObserver* obs) {
  std::vector<Id> missing_needed;
  for (const auto& [id, p] : missing) {
    if (p.used_blobs == 0) {
      plan.ignore_packs.push_back(id);
      plan.stats.blobs.remove += p.unused_blobs;
      plan.stats.size.remove += p.unused_size;
    } else {
      missing_needed.push_back(id);
    }
  }
  if (!missing_needed.empty()) {
    std::sort(missing_needed.begin(), missing_needed.end());
    std::string list;
    for (size_t i = 0; i < missing_needed.size() && i < 10; ++i) list += (i ? ", " : "") + missing_needed[i].hex();
    return base::data_loss("the index references " + std::to_string(missing_needed.size()) +
                           " needed pack file(s) missing from the repository: " + list);
  }
  std::sort(plan.ignore_packs.begin(), plan.ignore_packs.end());
  if (obs) {
    for (const Id& id : plan.ignore_packs) obs->on_forget_missing_pack(id);
  }
  return base::ok_status();
}

// Step 8: which candidates to repack, within --max-unused and --max-repack-size.
void choose_repacks(const PruneOptions& opts, uint64_t target, RepackCandidates c, PrunePlan& plan) {
  PruneStats& st = plan.stats;
  std::vector<Candidate>& candidates = c.candidates;
  // Too few small packs are not worth it, and this stops a lone small pack being repacked
  // by every run.
  if (c.small.size() < 10) {
    st.packs.keep += c.small.size();
  } else {
    candidates.insert(candidates.end(), c.small.begin(), c.small.end());
  }
  // Tree and mixed packs first, then packs below target, then the highest unused share.
  std::sort(candidates.begin(), candidates.end(), [&](const Candidate& a, const Candidate& b) {
    int ad = a.info.type == PackType::kData, bd = b.info.type == PackType::kData;
    if (ad != bd) return ad < bd;
    int al = a.info.total() >= target, bl = b.info.total() >= target;
    if (al != bl) return al < bl;
    // unused/used descending, cross-multiplied (sizes < 2^32 each, so no overflow).
    uint64_t x = a.info.unused_size * b.info.used_size, y = b.info.unused_size * a.info.used_size;
    if (x != y) return x > y;
    return a.id < b.id;
  });
  uint64_t max_unused_after = opts.max_unused.limit(st.size.used);
  for (const Candidate& cand : candidates) {
    // Duplicates count as unused here (restic 0.14 left them out, which could underflow).
    bool reached_unused = st.unused_after() < max_unused_after;
    bool reached_repack = opts.max_repack_bytes == UINT64_MAX
                              ? false
                              : st.size.repack + cand.info.total() >= opts.max_repack_bytes;
    bool large = cand.info.total() >= target;
    bool repack_it;
    if (reached_repack) {
      repack_it = false;
    } else if (cand.info.type != PackType::kData || cand.info.uncompressed) {
      repack_it = true;  // only limited by --max-repack-size
    } else {
      repack_it = !(reached_unused && large);
    }
    if (!repack_it) {
      ++st.packs.keep;
      continue;
    }
    plan.repack_packs.push_back(cand.id);
    st.blobs.repack += cand.info.unused_blobs + cand.info.used_blobs;
    st.size.repack += cand.info.total();
    st.blobs.repackrm += cand.info.unused_blobs;
    st.size.repackrm += cand.info.unused_size;
  }
  std::sort(plan.remove_packs_first.begin(), plan.remove_packs_first.end());
  std::sort(plan.remove_packs.begin(), plan.remove_packs.end());
  std::sort(plan.repack_packs.begin(), plan.repack_packs.end());
  st.packs.unref = plan.remove_packs_first.size();
  st.packs.repack = plan.repack_packs.size();
  st.packs.remove = plan.remove_packs.size();
}

// Step 9: only used blobs with no copy in a pack that stays need repacking.
BlobSet blobs_to_repack(repo::Repository& repo, const PrunePlan& plan, BlobSet keep) {
  if (plan.repack_packs.empty()) return {};
  IdSet gone(plan.remove_packs.begin(), plan.remove_packs.end());
  gone.insert(plan.repack_packs.begin(), plan.repack_packs.end());
  gone.insert(plan.ignore_packs.begin(), plan.ignore_packs.end());
  repo.with_index([&](const repo::Index& idx) {
    idx.for_each([&](const repo::IndexEntry& e) {
      if (!gone.count(idx.pack_id(e.pack))) keep.erase({e.id, e.type});
    });
  });
  return keep;
}

}  // namespace

base::StatusOr<PrunePlan> plan_prune(repo::Repository& repo, const PruneOptions& opts,
                                     PruneObserver* obs, PruneProgress* prog) {
  PrunePlan plan;
  int threads = thread_count(repo, opts.threads);

  start_phase(obs, prog, PrunePhase::kLoadingSnapshots, 0);
  ASSIGN_OR_RETURN(std::vector<Id> trees, snapshot_trees(repo, opts, threads));
  plan.snapshots = trees.size();

  start_phase(obs, prog, PrunePhase::kFindingUsedBlobs, trees.size());
  ASSIGN_OR_RETURN(BlobSet used, used_blobs(repo, trees, threads, prog));

  start_phase(obs, prog, PrunePhase::kSearchingUsedPacks, 0);
  ASSIGN_OR_RETURN(BlobUse use, classify_blobs(repo, std::move(used), plan.stats));
  PackInfos packs = pack_infos(repo, use);

  start_phase(obs, prog, PrunePhase::kCollectingPacks, packs.size());
  uint64_t target = opts.repack_small ? opts.pack_size / 5 * 4 : opts.pack_size / 25;
  ASSIGN_OR_RETURN(RepackCandidates candidates, sort_stored_packs(repo, opts, target, packs, plan, prog));
  RETURN_IF_ERROR(find_stale_temp_files(repo, opts, plan));
  RETURN_IF_ERROR(handle_missing_packs(packs, plan, obs));  // what is left was not stored
  choose_repacks(opts, target, std::move(candidates), plan);
  plan.keep_blobs = blobs_to_repack(repo, plan, std::move(use.keep));
  return plan;
}

// --- doing it ---


base::StatusOr<PruneResult> execute_prune(repo::Repository& repo, PrunePlan plan,
                                          const PruneOptions& opts, PruneObserver* obs,
                                          PruneProgress* prog) {
  PruneResult res;
  int threads = thread_count(repo, opts.threads);

  if (!plan.stale_temp_files.empty()) {
    start_phase(obs, prog, PrunePhase::kDeletingTempFiles, plan.stale_temp_files.size());
    for (const StaleTempFile& t : plan.stale_temp_files) {
      base::Status st = repo.backend()->remove_temp_file(t.kind, t.file.name);
      tick(prog);
      if (st.ok()) {
        ++res.temp_files_deleted;
        continue;
      }
      ++res.delete_failures;
      if (obs) obs->on_delete_failed(backend::Handle{t.kind, t.file.name}, st);
    }
  }

  // Unreferenced packs: no index lists them, so nothing can need them.
  if (!plan.remove_packs_first.empty()) {
    start_phase(obs, prog, PrunePhase::kDeletingUnreferenced, plan.remove_packs_first.size());
    RETURN_IF_ERROR(delete_files(repo, FileKind::kPack, plan.remove_packs_first, false, threads,
                                 obs, prog, &res));
  }

  if (!plan.repack_packs.empty()) {
    start_phase(obs, prog, PrunePhase::kRepacking, plan.repack_packs.size());
    ASSIGN_OR_RETURN(res.packs_written, repack(repo, plan.repack_packs, plan.keep_blobs, opts, threads, prog));
    if (!plan.keep_blobs.empty()) {
      return base::internal_error("prune: " + std::to_string(plan.keep_blobs.size()) +
                                  " needed blob(s) were not repacked (e.g. " +
                                  plan.keep_blobs.begin()->id.hex() + "); nothing was deleted");
    }
    plan.remove_packs.insert(plan.remove_packs.end(), plan.repack_packs.begin(), plan.repack_packs.end());
  }

  IdSet drop(plan.ignore_packs.begin(), plan.ignore_packs.end());
  drop.insert(plan.remove_packs.begin(), plan.remove_packs.end());
  std::vector<Id> old_index = repo.index_files();
  auto write_new_index = [&]() -> base::Status {
    start_phase(obs, prog, PrunePhase::kRebuildingIndex, 0);
    return write_full_index(repo, drop, prog, &res);
  };
  auto delete_old_index = [&]() -> base::Status {
    start_phase(obs, prog, PrunePhase::kDeletingIndex, old_index.size());
    return delete_files(repo, FileKind::kIndex, old_index, true, threads, obs, prog, &res)
        .with_context("delete old index files");
  };
  auto remove_packs = [&]() -> base::Status {
    if (plan.remove_packs.empty()) return base::ok_status();
    start_phase(obs, prog, PrunePhase::kRemovingPacks, plan.remove_packs.size());
    return delete_files(repo, FileKind::kPack, plan.remove_packs, false, threads, obs, prog, &res);
  };
  if (opts.unsafe_recovery) {
    // restic's --unsafe-recover-no-free-space: free the space first; the in-memory index still
    // has everything the new index needs.
    RETURN_IF_ERROR(delete_old_index());
    RETURN_IF_ERROR(remove_packs());
    RETURN_IF_ERROR(write_new_index());
  } else {
    // The new index must be complete before any old index file goes, and the old ones must
    // all be gone before a pack they list is deleted.
    if (!drop.empty()) {
      RETURN_IF_ERROR(write_new_index());
      RETURN_IF_ERROR(delete_old_index());
    }
    RETURN_IF_ERROR(remove_packs());
  }
  start_phase(obs, prog, PrunePhase::kDone, 0);
  return res;
}

}  // namespace kura::ops
