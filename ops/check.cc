#include "ops/check.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_set>

#include "base/thread_pool.h"
#include "crypto/sha256.h"
#include "repo/pack.h"
#include "repo/snapshot.h"
#include "repo/tree.h"

namespace kura::ops {

using backend::FileKind;
using repo::BlobType;
using repo::Id;
using repo::PackedBlob;

namespace {

constexpr uint32_t kMaxBuckets = 256;  // restic groups packs by their first id byte

bool blob_less(const PackedBlob& a, const PackedBlob& b) {
  return std::tie(a.offset, a.id, a.type, a.length, a.uncompressed_length) <
         std::tie(b.offset, b.id, b.type, b.length, b.uncompressed_length);
}

// Lower layers prefix errors with the file they concern ("index/<hex>: ..."); the issue names
// the file already.
std::string strip_context(const std::string& msg, const std::string& prefix) {
  if (msg.rfind(prefix + ": ", 0) == 0) return msg.substr(prefix.size() + 2);
  return msg;
}

std::string child_path(const std::string& dir, std::string_view name) {
  std::string p = dir == "/" ? "/" : dir + "/";
  p.append(name);
  return p;
}

struct PackInfo {
  std::vector<PackedBlob> blobs;  // sorted by offset, duplicates removed
  std::vector<Id> index_files;
  uint64_t expected_size = 0;
  std::optional<uint64_t> stored_size;  // from the backend's listing; none: missing
};

// Pack bytes are read this many at a time: small enough to stay in the CPU cache from the
// read to the hash and the blobs' verification, large enough to keep requests few.
constexpr size_t kReadPiece = 1 << 20;
// A window or blob buffer larger than this (a rare huge blob) is given back after the pack.
constexpr size_t kKeptWindow = 32ull << 20;
// Repository::read_pack_header's first guess at the header's size.
constexpr uint64_t kTailBytes = 16 * 1024;

// The bytes [start(), end()) of a file read front to back, in a buffer that is reused: bytes
// before a given offset are dropped when the next piece needs room.
class PackWindow {
 public:
  explicit PackWindow(base::ScratchBuffer& buf) : buf_(buf) {}
  uint64_t start() const { return start_; }
  uint64_t end() const { return start_ + len_; }
  base::ByteSpan bytes(uint64_t offset, uint64_t length) const {
    return base::ByteSpan(buf_.data() + (offset - start_), length);
  }
  // Room for the next n bytes of the file (at end()); the bytes before `keep` (start() <= keep
  // <= end()) may be dropped to make it.
  base::MutableByteSpan append(uint64_t keep, size_t n) {
    if (len_ + n > buf_.capacity()) {
      size_t drop = static_cast<size_t>(std::clamp(keep, start_, end()) - start_);
      size_t kept = len_ - drop;
      if (kept + n <= buf_.capacity()) {
        std::memmove(buf_.data(), buf_.data() + drop, kept);
      } else {
        base::ScratchBuffer bigger;
        bigger.reserve(std::max(2 * buf_.capacity(), kept + n));
        std::memcpy(bigger.data(), buf_.data() + drop, kept);
        buf_ = std::move(bigger);
      }
      start_ += drop;
      len_ = kept;
    }
    base::MutableByteSpan out(buf_.data() + len_, n);
    len_ += n;
    return out;
  }

 private:
  base::ScratchBuffer& buf_;
  uint64_t start_ = 0;
  size_t len_ = 0;
};

struct TreeJob {
  Id id;
  size_t root = 0;
  std::string path;
};

class Checker {
 public:
  Checker(repo::Repository& repo, const CheckOptions& opts, CheckProgress* progress,
          CheckObserver* observer)
      : repo_(repo), be_(repo.backend()), opts_(opts), progress_(progress), observer_(observer) {}

  base::StatusOr<CheckResult> run() {
    // Read order (RESTIC_FORMAT.md §11): snapshots are listed before the index is loaded, so a
    // backup finishing meanwhile cannot make its snapshot look broken.
    ASSIGN_OR_RETURN(std::vector<Id> snapshot_ids, repo_.list_ids(FileKind::kSnapshot));

    phase(CheckPhase::kLoadIndex);
    RETURN_IF_ERROR(load_index());
    if (result_.index_damaged) return finish();

    phase(CheckPhase::kCheckPacks);
    RETURN_IF_ERROR(check_packs());

    phase(CheckPhase::kCheckSnapshots);
    check_structure(snapshot_ids);

    if (opts_.read_data.mode != ReadDataSelection::Mode::kNone) {
      std::vector<PackSize> all;
      all.reserve(packs_.size());
      for (const auto& [id, info] : packs_) all.push_back({id, info.expected_size});
      uint64_t seed = opts_.seed ? opts_.seed
                                 : (static_cast<uint64_t>(std::random_device{}()) << 32) ^
                                       std::random_device{}();
      std::vector<PackSize> selected = select_packs(all, opts_.read_data, seed);
      if (progress_) {
        progress_->packs_total = selected.size();
        uint64_t bytes = 0;
        for (const auto& p : selected) bytes += p.size;
        progress_->bytes_total = bytes;
      }
      phase(CheckPhase::kReadData);
      read_packs(selected);
    }
    return finish();
  }

 private:
  void phase(CheckPhase p) {
    if (progress_) progress_->phase = static_cast<int>(p);
    std::lock_guard<std::mutex> l(mu_);
    if (observer_) observer_->on_phase(p);
  }

  void report(CheckIssue issue) {
    std::lock_guard<std::mutex> l(mu_);
    report_locked(std::move(issue));
  }

  void report_locked(CheckIssue issue) {
    if (issue.error) {
      ++result_.errors;
      if (progress_) ++progress_->errors;
    } else {
      ++result_.hints;
    }
    if (observer_) observer_->on_issue(issue);
    result_.issues.push_back(std::move(issue));
  }

  CheckResult finish() {
    std::lock_guard<std::mutex> l(mu_);
    result_.broken_packs.assign(broken_.begin(), broken_.end());
    return std::move(result_);
  }

  int io_threads() const { return std::max(1, be_->parallelism()); }

  // --- index ---

  base::Status load_index() {
    ASSIGN_OR_RETURN(std::vector<Id> ids, repo_.list_ids(FileKind::kIndex));
    result_.index_files = ids.size();
    std::vector<std::optional<std::vector<repo::IndexPack>>> loaded(ids.size());
    {
      base::ThreadPool pool(std::max(2, io_threads()));
      base::TaskGroup group(&pool);
      for (size_t i = 0; i < ids.size(); ++i) {
        group.run([&, i]() -> base::Status {
          auto fail = [&](const base::Status& st) {
            CheckIssue is;
            is.kind = CheckIssueKind::kIndexUnreadable;
            is.id = ids[i];
            is.detail = strip_context(st.message(), "index/" + ids[i].hex());
            report(std::move(is));
          };
          auto json = repo_.load_unpacked(FileKind::kIndex, ids[i]);
          if (!json.ok()) {
            fail(json.status());
            return base::ok_status();
          }
          auto packs = repo::decode_index_json(*json);
          if (!packs.ok()) {
            fail(packs.status());
            return base::ok_status();
          }
          loaded[i] = std::move(*packs);
          return base::ok_status();
        });
      }
      RETURN_IF_ERROR(group.wait());
    }
    // Sized once: growing it step by step rehashes (and zero-fills) the table again and again.
    size_t blobs = 0;
    for (const auto& packs : loaded) {
      if (!packs) continue;
      for (const auto& p : *packs) blobs += p.blobs.size();
    }
    index_.reserve(blobs);
    for (size_t i = 0; i < ids.size(); ++i) {
      if (!loaded[i]) {
        result_.index_damaged = true;
        continue;
      }
      for (const auto& p : *loaded[i]) {
        PackInfo& info = packs_[p.id];
        if (info.index_files.empty() || info.index_files.back() != ids[i]) {
          info.index_files.push_back(ids[i]);
        }
        uint32_t n = index_.intern_pack(p.id);
        for (const auto& b : p.blobs) {
          info.blobs.push_back(b);
          index_.add(b, n);
        }
      }
    }
    if (result_.index_damaged) return base::ok_status();

    for (auto& [id, info] : packs_) {
      std::sort(info.blobs.begin(), info.blobs.end(), blob_less);
      info.blobs.erase(std::unique(info.blobs.begin(), info.blobs.end()), info.blobs.end());
      bool has_tree = false, has_data = false;
      uint64_t size = 0;
      for (const auto& b : info.blobs) {
        size +=
            b.length + (b.compressed() ? repo::kCompressedHeaderEntrySize : repo::kHeaderEntrySize);
        (b.type == BlobType::kTree ? has_tree : has_data) = true;
      }
      info.expected_size = size + crypto::kCiphertextOverhead + 4;
      if (info.index_files.size() > 1) {
        CheckIssue is;
        is.kind = CheckIssueKind::kDuplicatePack;
        is.error = false;
        is.pack = id;
        is.ids = info.index_files;
        report(std::move(is));
      }
      if (has_tree && has_data) {
        CheckIssue is;
        is.kind = CheckIssueKind::kMixedPack;
        is.error = false;
        is.pack = id;
        report(std::move(is));
      }
    }
    result_.packs = packs_.size();
    if (progress_) progress_->packs_indexed = packs_.size();
    return base::ok_status();
  }

  // --- packs in the backend ---

  base::Status check_packs() {
    std::map<Id, uint64_t> stored;
    RETURN_IF_ERROR(be_->list(FileKind::kPack, [&](const backend::FileEntry& e) {
      auto id = Id::parse(e.name);
      if (id.ok()) stored[*id] = e.size;
      return base::ok_status();
    }));
    for (auto& [id, info] : packs_) {
      auto it = stored.find(id);
      if (it == stored.end()) {
        CheckIssue is;
        is.kind = CheckIssueKind::kPackMissing;
        is.pack = id;
        mark_broken(id);
        report(std::move(is));
        continue;
      }
      info.stored_size = it->second;
      if (it->second != info.expected_size) {
        CheckIssue is;
        is.kind = CheckIssueKind::kPackSizeMismatch;
        is.pack = id;
        is.actual = it->second;
        is.expected = info.expected_size;
        mark_broken(id);
        report(std::move(is));
      }
      stored.erase(it);
    }
    for (const auto& [id, size] : stored) {
      CheckIssue is;
      is.kind = CheckIssueKind::kPackUnreferenced;
      is.error = false;
      is.pack = id;
      is.actual = size;
      ++result_.unreferenced_packs;
      report(std::move(is));
    }
    return base::ok_status();
  }

  void mark_broken(const Id& pack) {
    std::lock_guard<std::mutex> l(broken_mu_);
    broken_.insert(pack);
  }

  // --- snapshots and trees ---

  void check_structure(const std::vector<Id>& snapshot_ids) {
    std::vector<std::optional<repo::Snapshot>> snaps(snapshot_ids.size());
    {
      base::ThreadPool pool(std::max(2, io_threads()));
      base::TaskGroup group(&pool);
      for (size_t i = 0; i < snapshot_ids.size(); ++i) {
        group.run([&, i]() -> base::Status {
          const Id& id = snapshot_ids[i];
          base::Status st;
          auto json = repo_.load_unpacked(FileKind::kSnapshot, id);
          if (json.ok()) {
            auto sn = repo::decode_snapshot(*json);
            if (sn.ok()) {
              snaps[i] = std::move(*sn);
              return base::ok_status();
            }
            st = sn.status();
          } else {
            st = json.status();
          }
          CheckIssue is;
          is.kind = CheckIssueKind::kSnapshotUnreadable;
          is.id = id;
          is.detail = strip_context(st.message(), "snapshots/" + id.hex());
          report(std::move(is));
          return base::ok_status();
        });
      }
      group.wait().ignore();
    }
    for (size_t i = 0; i < snaps.size(); ++i) {
      if (snaps[i]) roots_.push_back({snapshot_ids[i], snaps[i]->tree});
    }
    result_.snapshots = roots_.size();
    if (progress_) progress_->snapshots_total = roots_.size();

    pending_per_root_.assign(roots_.size(), 0);
    int threads = opts_.threads > 0
                      ? opts_.threads
                      : std::max<int>(io_threads(), std::thread::hardware_concurrency());
    pool_ = std::make_unique<base::ThreadPool>(std::max(2, threads));
    for (size_t r = 0; r < roots_.size(); ++r) {
      std::unique_lock<std::mutex> l(tree_mu_);
      ++pending_per_root_[r];  // keeps the root open while it is being queued
      l.unlock();
      enqueue({roots_[r].tree, r, "/"});
      release_root(r);
    }
    {
      std::unique_lock<std::mutex> l(tree_mu_);
      tree_cv_.wait(l, [&] { return outstanding_ == 0; });
    }
    pool_.reset();
    result_.trees = seen_.size();
  }

  void enqueue(TreeJob job) {
    {
      std::lock_guard<std::mutex> l(tree_mu_);
      if (!seen_.insert(job.id).second) return;
      ++outstanding_;
      ++pending_per_root_[job.root];
    }
    pool_->submit([this, job = std::move(job)] {
      check_tree(job);
      if (progress_) ++progress_->trees_done;
      release_root(job.root);
      std::lock_guard<std::mutex> l(tree_mu_);
      if (--outstanding_ == 0) tree_cv_.notify_all();
    });
  }

  void release_root(size_t root) {
    std::lock_guard<std::mutex> l(tree_mu_);
    if (--pending_per_root_[root] == 0 && progress_) ++progress_->snapshots_done;
  }

  CheckIssue tree_issue(CheckIssueKind kind, const TreeJob& job) const {
    CheckIssue is;
    is.kind = kind;
    is.id = job.id;
    is.snapshot = roots_[job.root].snapshot;
    is.path = job.path;
    return is;
  }

  base::StatusOr<base::Bytes> load_tree_blob(const Id& id, bool& missing) {
    std::vector<std::pair<Id, PackedBlob>> where;
    for (const repo::IndexEntry* e : index_.find_all(id, BlobType::kTree)) {
      where.emplace_back(index_.pack_id(e->pack), e->blob());
    }
    missing = where.empty();
    if (missing) return base::not_found("tree " + id.hex() + " is not in the index");
    base::Status last;
    for (const auto& [pack, blob] : where) {
      auto stored = be_->load({FileKind::kPack, pack.hex(), true}, blob.offset, blob.length);
      if (!stored.ok()) {
        last = stored.status();
        continue;
      }
      auto plain = repo_.decode_blob(blob, *stored);
      if (plain.ok()) return plain;
      last = plain.status().with_context("pack " + pack.hex());
    }
    return last;
  }

  void check_tree(const TreeJob& job) {
    bool missing = false;
    auto json = load_tree_blob(job.id, missing);
    if (!json.ok()) {
      CheckIssue is =
          tree_issue(missing ? CheckIssueKind::kTreeMissing : CheckIssueKind::kTreeUnreadable, job);
      if (!missing) is.detail = json.status().message();
      report(std::move(is));
      return;
    }
    // decode_tree is what restore uses; the raw JSON scan below sees what it normalises away
    // (a null content list, a null subtree) and goes on past a bad node, as restic's check.
    auto decoded = repo::decode_tree(*json);
    std::vector<CheckIssue> issues;
    std::vector<TreeJob> children;
    std::string scan_error =
        scan_tree(job, *json, decoded.ok() ? &*decoded : nullptr, issues, children);
    if (!scan_error.empty()) {
      CheckIssue is = tree_issue(CheckIssueKind::kTreeUnreadable, job);
      is.detail = scan_error;
      issues.push_back(std::move(is));
    } else if (!decoded.ok() && issues.empty()) {
      CheckIssue is = tree_issue(CheckIssueKind::kTreeUnreadable, job);
      is.detail = decoded.status().message();
      issues.push_back(std::move(is));
    }
    for (auto& c : children) enqueue(std::move(c));
    if (!issues.empty()) {
      std::lock_guard<std::mutex> l(mu_);
      for (auto& is : issues) report_locked(std::move(is));
    }
  }

  // Returns a non-empty error if the JSON is not a tree at all.
  std::string scan_tree(const TreeJob& job, const base::Bytes& json,
                        const std::vector<repo::Node>* decoded, std::vector<CheckIssue>& issues,
                        std::vector<TreeJob>& children) {
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (auto err = parser.parse(reinterpret_cast<const char*>(json.data()), json.size()).get(root);
        err) {
      return std::string("invalid JSON: ") + simdjson::error_message(err);
    }
    simdjson::dom::array nodes;
    auto nodes_field = root["nodes"];
    if (nodes_field.error() == simdjson::NO_SUCH_FIELD || nodes_field.is_null()) return {};
    if (nodes_field.get_array().get(nodes)) return "\"nodes\" is not a list";
    bool have_names = decoded && decoded->size() == nodes.size();
    size_t i = 0;
    for (simdjson::dom::element n : nodes) {
      size_t idx = i++;
      std::string_view raw_name, type;
      if (n["name"].get_string().get(raw_name)) raw_name = {};
      std::string name = have_names ? (*decoded)[idx].name : std::string(raw_name);
      std::string path = child_path(job.path, name);
      auto node_issue = [&](CheckIssueKind kind) {
        CheckIssue is = tree_issue(kind, job);
        is.name = path;
        return is;
      };
      if (n["type"].get_string().get(type)) type = {};
      if (type == "file") {
        simdjson::dom::array content;
        auto c = n["content"];
        if (c.error() || c.is_null() || c.get_array().get(content)) {
          issues.push_back(node_issue(CheckIssueKind::kFileNullContent));
        } else {
          uint64_t k = 0;
          bool broken_reported = false;
          for (simdjson::dom::element b : content) {
            uint64_t pos = k++;
            std::string_view hex;
            if (b.get_string().get(hex)) continue;  // decode_tree reports it
            auto id = Id::parse(hex);
            if (!id.ok()) continue;
            if (id->is_zero()) {
              CheckIssue is = node_issue(CheckIssueKind::kBlobNullId);
              is.index = pos;
              issues.push_back(std::move(is));
              continue;
            }
            auto where = index_.find_all(*id, BlobType::kData);
            if (where.empty()) {
              CheckIssue is = node_issue(CheckIssueKind::kBlobNotInIndex);
              is.blob = *id;
              is.index = pos;
              issues.push_back(std::move(is));
              continue;
            }
            if (!broken_reported && !broken_.empty()) {
              bool all_broken =
                  std::all_of(where.begin(), where.end(), [&](const repo::IndexEntry* e) {
                    return broken_.count(index_.pack_id(e->pack)) != 0;
                  });
              if (all_broken) {
                CheckIssue is = node_issue(CheckIssueKind::kBlobInBrokenPack);
                is.blob = *id;
                is.pack = index_.pack_id(where.front()->pack);
                is.index = pos;
                issues.push_back(std::move(is));
                broken_reported = true;
              }
            }
          }
        }
      } else if (type == "dir") {
        std::string_view hex;
        auto s = n["subtree"];
        if (s.error() || s.is_null() || s.get_string().get(hex)) {
          issues.push_back(node_issue(CheckIssueKind::kDirNoSubtree));
        } else if (auto id = Id::parse(hex); id.ok()) {
          if (id->is_zero()) {
            issues.push_back(node_issue(CheckIssueKind::kDirNullSubtree));
          } else {
            children.push_back({*id, job.root, path});
          }
        }
      } else if (type == "symlink" || type == "socket" || type == "chardev" || type == "dev" ||
                 type == "fifo" || type == "irregular") {
        // nothing to check
      } else {
        CheckIssue is = node_issue(CheckIssueKind::kInvalidNodeType);
        is.detail = std::string(type);
        issues.push_back(std::move(is));
      }
      if (raw_name.empty()) issues.push_back(node_issue(CheckIssueKind::kEmptyName));
    }
    return {};
  }

  // --- reading packs ---

  void read_packs(const std::vector<PackSize>& selected) {
    // Verifying is CPU work: one worker per core, and at least one per backend connection.
    int threads = opts_.threads > 0
                      ? opts_.threads
                      : std::max<int>(io_threads(), std::thread::hardware_concurrency());
    base::ThreadPool pool(std::max(1, threads));
    base::TaskGroup group(&pool);
    for (const auto& p : selected) {
      group.run([this, &p]() -> base::Status {
        read_pack(p.id, packs_.at(p.id));
        if (progress_) ++progress_->packs_done;
        return base::ok_status();
      });
    }
    group.wait().ignore();
  }

  // Reads one pack from the repository itself (never from a cached copy: this is what the
  // check is for) piece by piece into a window the worker thread keeps; each piece is hashed
  // and the blobs it completes are verified while they are still in the CPU cache. Nothing is
  // zero-filled and no fresh memory is touched per pack.
  void read_pack(const Id& id, const PackInfo& info) {
    backend::Backend* be = repo_.cache() ? repo_.cache()->inner() : be_;
    backend::Handle h{FileKind::kPack, id.hex()};
    auto pack_issue = [&](CheckIssueKind kind) {
      CheckIssue is;
      is.kind = kind;
      is.pack = id;
      return is;
    };
    // A pack the listing did not find is still asked for, for the backend's error.
    uint64_t size = info.stored_size.value_or(info.expected_size);
    thread_local base::ScratchBuffer buffer;
    buffer.reserve(4 * kReadPiece);  // room to keep a partly read blob while reading on
    struct Trim {
      ~Trim() { buffer.trim(kKeptWindow); }
    } trim;
    PackWindow window(buffer);
    crypto::Sha256 hash;
    std::vector<CheckIssue> blob_issues;
    size_t next = 0;  // info.blobs[next] is the first blob not verified yet
    auto verify_ready = [&] {
      for (; next < info.blobs.size(); ++next) {
        const PackedBlob& b = info.blobs[next];
        uint64_t end = static_cast<uint64_t>(b.offset) + b.length;
        if (end > size) {
          blob_issues.push_back(
              blob_issue(id, b,
                         base::data_loss("lies beyond the end of the pack file (" +
                                         std::to_string(size) + " bytes)")));
        } else if (end <= window.end()) {
          base::Status st = verify_blob(b, window.bytes(b.offset, b.length));
          if (!st.ok()) blob_issues.push_back(blob_issue(id, b, st));
        } else {
          return;
        }
      }
    };
    // The last bytes stay in the window for the header, as much as read_pack_header loads.
    uint64_t tail_start = size - std::min<uint64_t>(size, kTailBytes);
    base::Status loaded;
    verify_ready();
    while (loaded.ok() && window.end() < size) {
      uint64_t keep = window.end();
      if (next < info.blobs.size()) keep = std::min<uint64_t>(keep, info.blobs[next].offset);
      keep = std::min(keep, tail_start);
      size_t n = static_cast<size_t>(std::min<uint64_t>(kReadPiece, size - window.end()));
      uint64_t at = window.end();
      base::MutableByteSpan piece = window.append(keep, n);
      loaded = be->load_into(h, at, piece);
      if (!loaded.ok()) break;
      if (progress_) progress_->bytes_done += n;
      hash.update(piece);
      verify_ready();
    }

    std::vector<CheckIssue> issues;
    std::optional<base::StatusOr<std::vector<PackedBlob>>> header;
    if (loaded.ok()) {
      header = read_header(be, h, window.bytes(window.start(), window.end() - window.start()), size,
                           loaded);
    }
    if (!loaded.ok()) {
      CheckIssue is = pack_issue(CheckIssueKind::kPackUnreadable);
      is.detail = loaded.message();
      issues.push_back(std::move(is));
    } else {
      Id actual;
      actual.bytes = hash.finish();
      if (actual != id) {
        CheckIssue is = pack_issue(CheckIssueKind::kPackHashMismatch);
        is.blob = actual;
        issues.push_back(std::move(is));
      }
      uint64_t end = 0;
      bool gaps = false;
      for (const auto& b : info.blobs) {
        if (b.offset != end) gaps = true;
        end = static_cast<uint64_t>(b.offset) + b.length;
      }
      if (gaps) issues.push_back(pack_issue(CheckIssueKind::kPackIndexGaps));
      if (!header->ok()) {
        CheckIssue is = pack_issue(CheckIssueKind::kPackHeaderUnreadable);
        is.detail = header->status().message();
        issues.push_back(std::move(is));
      } else {
        std::vector<PackedBlob> in_pack = **header;
        std::sort(in_pack.begin(), in_pack.end(), blob_less);
        for (const auto& b : in_pack) {
          if (!std::binary_search(info.blobs.begin(), info.blobs.end(), b, blob_less)) {
            CheckIssue is = pack_issue(CheckIssueKind::kPackBlobNotInIndex);
            is.blob = b.id;
            issues.push_back(std::move(is));
          }
        }
        for (const auto& b : info.blobs) {
          if (!std::binary_search(in_pack.begin(), in_pack.end(), b, blob_less)) {
            CheckIssue is = pack_issue(CheckIssueKind::kIndexBlobNotInPack);
            is.blob = b.id;
            issues.push_back(std::move(is));
          }
        }
      }
      for (auto& is : blob_issues) issues.push_back(std::move(is));
    }
    std::lock_guard<std::mutex> l(mu_);
    ++result_.packs_read;
    if (loaded.ok()) result_.bytes_read += size;
    if (!issues.empty()) mark_broken(id);
    for (auto& is : issues) report_locked(std::move(is));
  }

  // The pack header from the pack's last bytes `tail`, reading more if the header is longer
  // (as Repository::read_pack_header). A failed read is left in `loaded`.
  base::StatusOr<std::vector<PackedBlob>> read_header(backend::Backend* be,
                                                      const backend::Handle& h, base::ByteSpan tail,
                                                      uint64_t size, base::Status& loaded) {
    auto header = repo::parse_pack_tail(repo_.key(), tail, size, repo_.version());
    if (header.ok() || header.status().code() != base::Code::kOutOfRange) return header;
    uint64_t len = base::load_le32(tail.data() + tail.size() - 4) + 4ull;
    auto longer = be->load(h, size - len, len);
    if (!longer.ok()) {
      loaded = longer.status();
      return loaded;
    }
    return repo::parse_pack_tail(repo_.key(), *longer, size, repo_.version());
  }

  // What Repository::decode_blob checks, into buffers the worker thread keeps.
  base::Status verify_blob(const PackedBlob& b, base::ByteSpan stored) {
    if (b.length < crypto::kCiphertextOverhead) {
      return base::data_loss("blob " + b.id.hex() + ": too short");
    }
    thread_local base::ScratchBuffer plain;
    plain.reserve(b.plain_length());
    base::Status st =
        repo_.decode_blob_into(b, stored, base::MutableByteSpan(plain.data(), b.plain_length()));
    plain.trim(kKeptWindow);
    return st;
  }

  static CheckIssue blob_issue(const Id& pack, const PackedBlob& b, const base::Status& st) {
    CheckIssue is;
    is.kind = CheckIssueKind::kBlobDamaged;
    is.pack = pack;
    is.blob = b.id;
    is.detail = strip_context(st.message(),
                              std::string(repo::blob_type_name(b.type)) + " blob " + b.id.hex());
    return is;
  }

  struct Root {
    Id snapshot, tree;
  };

  repo::Repository& repo_;
  backend::Backend* be_;
  const CheckOptions& opts_;
  CheckProgress* progress_;
  CheckObserver* observer_;

  std::mutex mu_;  // result_, observer_
  CheckResult result_;

  repo::Index index_;             // read-only once loaded
  std::map<Id, PackInfo> packs_;  // read-only once loaded
  std::mutex broken_mu_;
  std::set<Id> broken_;  // written before the tree walk (read without lock there) and after

  std::vector<Root> roots_;
  std::unique_ptr<base::ThreadPool> pool_;
  std::mutex tree_mu_;
  std::condition_variable tree_cv_;
  std::unordered_set<Id, repo::IdHash> seen_;
  std::vector<uint64_t> pending_per_root_;
  uint64_t outstanding_ = 0;
};

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

base::StatusOr<ReadDataSelection> parse_read_data_subset(std::string_view s) {
  ReadDataSelection sel;
  auto bad = [&](const std::string& why) {
    return base::invalid_argument("--read-data-subset \"" + std::string(s) + "\": " + why);
  };
  if (s.empty()) return bad("empty value");
  // restic tries "n/t" first: any list of plain numbers is meant as one, so a bare "5" is an
  // error rather than 5 bytes.
  bool all_numbers = true;
  std::vector<uint64_t> parts;
  size_t i = 0;
  while (true) {
    size_t j = s.find('/', i);
    std::string_view part =
        s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    uint64_t v = 0;
    if (!parse_u64(part, v)) {
      all_numbers = false;
      break;
    }
    parts.push_back(v);
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  if (all_numbers) {
    if (parts.size() != 2) return bad("expected n/t, x% or a size");
    if (parts[0] == 0 || parts[1] == 0 || parts[0] > parts[1]) return bad("n/t needs 1 <= n <= t");
    if (parts[1] > kMaxBuckets) return bad("t must be at most 256");
    sel.mode = ReadDataSelection::Mode::kBucket;
    sel.bucket = static_cast<uint32_t>(parts[0]);
    sel.total_buckets = static_cast<uint32_t>(parts[1]);
    return sel;
  }
  if (s.back() == '%') {
    std::string_view num = s.substr(0, s.size() - 1);
    double pct = 0;
    if (num.empty() || num[0] == '+') return bad("invalid percentage");
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), pct);
    if (ec != std::errc() || p != num.data() + num.size()) return bad("invalid percentage");
    if (!(pct > 0.0 && pct <= 100.0)) return bad("x% needs 0 < x <= 100");
    sel.mode = ReadDataSelection::Mode::kPercent;
    sel.percent = pct;
    return sel;
  }
  uint64_t unit = 1;
  std::string_view num = s.substr(0, s.size() - 1);
  switch (s.back()) {
    case 'b':
    case 'B':
      break;
    case 'k':
    case 'K':
      unit = 1ull << 10;
      break;
    case 'm':
    case 'M':
      unit = 1ull << 20;
      break;
    case 'g':
    case 'G':
      unit = 1ull << 30;
      break;
    case 't':
    case 'T':
      unit = 1ull << 40;
      break;
    default:
      num = s;
  }
  uint64_t v = 0;
  if (!parse_u64(num, v)) return bad("expected n/t, x% or a size");
  if (v == 0) return bad("the size must be above 0");
  if (v > UINT64_MAX / unit) return bad("size too large");
  sel.mode = ReadDataSelection::Mode::kSize;
  sel.size = v * unit;
  return sel;
}

std::vector<PackSize> select_packs(const std::vector<PackSize>& packs, const ReadDataSelection& sel,
                                   uint64_t seed) {
  using Mode = ReadDataSelection::Mode;
  std::vector<PackSize> sorted = packs;
  std::sort(sorted.begin(), sorted.end(),
            [](const PackSize& a, const PackSize& b) { return a.id < b.id; });
  std::vector<PackSize> out;
  double percent = sel.percent;
  switch (sel.mode) {
    case Mode::kNone:
      return out;
    case Mode::kAll:
      return sorted;
    case Mode::kBucket:
      if (sel.total_buckets == 0 || sel.bucket == 0) return out;
      for (const auto& p : sorted) {
        if (p.id.bytes[0] % sel.total_buckets == sel.bucket - 1) out.push_back(p);
      }
      return out;
    case Mode::kSize: {
      uint64_t total = 0;
      for (const auto& p : sorted) total += p.size;
      if (total == 0) return out;
      uint64_t want = std::min(sel.size, total);
      percent = static_cast<double>(want) / static_cast<double>(total) * 100.0;
      break;
    }
    case Mode::kPercent:
      break;
  }
  size_t count = static_cast<size_t>(static_cast<double>(sorted.size()) * (percent / 100.0));
  if (!sorted.empty() && count < 1) count = 1;
  count = std::min(count, sorted.size());
  std::mt19937_64 rng(seed);
  std::shuffle(sorted.begin(), sorted.end(), rng);
  out.assign(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(count));
  std::sort(out.begin(), out.end(),
            [](const PackSize& a, const PackSize& b) { return a.id < b.id; });
  return out;
}

base::StatusOr<CheckResult> run_check(repo::Repository& repo, const CheckOptions& opts,
                                      CheckProgress* progress, CheckObserver* observer) {
  Checker c(repo, opts, progress, observer);
  return c.run();
}

}  // namespace kura::ops
