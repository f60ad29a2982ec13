#include "ops/stats.h"

#include <unordered_map>
#include <unordered_set>

#include "crypto/crypto.h"
#include "ops/walk.h"

namespace kura::ops {
namespace {

using repo::Id;
using repo::Node;
using repo::NodeType;

// Identifies a node by its content list (restic's makeFileIDByContents).
Id content_key(const Node& n) {
  base::Bytes b;
  b.reserve(n.content.size() * 32);
  for (const Id& id : n.content) b.insert(b.end(), id.bytes.begin(), id.bytes.end());
  return repo::hash_id(b);
}

class Counter {
 public:
  Counter(repo::Repository& repo, StatsMode mode, int threads)
      : repo_(repo), mode_(mode), threads_(threads) {}

  base::Status add_snapshot(const Id& tree) {
    ++result_.snapshots_count;
    if (mode_ == StatsMode::kRawData) return add_used_blobs(tree);
    std::unordered_set<uint64_t> inodes;  // restore-size: per snapshot
    IdSet walked;                         // other modes: each tree once per snapshot
    WalkCallbacks cb;
    cb.visit = [&](const WalkItem& it) -> base::StatusOr<Visit> {
      const Node& n = it.node;
      if (mode_ == StatsMode::kRestoreSize) {
        ++result_.total_file_count;
        if (n.inode == 0 || inodes.insert(n.inode).second) result_.total_size += n.size;
        return Visit::kDescend;
      }
      if (n.type == NodeType::kDir && !walked.insert(*n.subtree).second) return Visit::kSkip;
      if (!unique_files_.insert(content_key(n)).second) return Visit::kDescend;
      if (mode_ == StatsMode::kFilesByContents) {
        result_.total_size += n.size;
        ++result_.total_file_count;
        return Visit::kDescend;
      }
      for (const Id& blob : n.content) {
        auto [seen, fresh] = file_blobs_.try_emplace(it.path);
        if (fresh) ++result_.total_file_count;
        if (!seen->second.insert(blob).second) continue;
        auto size = plain_size(blob, repo::BlobType::kData);
        if (!size) {
          return base::not_found("data blob " + blob.hex() + " of " + it.path + " (tree " +
                                 it.tree.hex() + ") is not in the index");
        }
        result_.total_size += *size;
        ++result_.total_blob_count;
      }
      return Visit::kDescend;
    };
    return walk_tree_ahead(repo_, tree, cb, threads_).with_context("snapshot tree " + tree.hex());
  }

  base::StatusOr<StatsResult> finish() {
    if (mode_ != StatsMode::kRawData) return result_;
    uint64_t compressed = 0, compressed_uncompressed = 0;
    bool v2 = repo_.version() >= 2;
    base::Status missing;
    auto count = [&](const Id& id, repo::BlobType type, const repo::Index& idx) {
      const repo::IndexEntry* e = idx.find(id, type);
      if (!e) {
        if (missing.ok()) {
          missing = base::not_found(std::string(repo::blob_type_name(type)) + " blob " + id.hex() +
                                    " is not in the index");
        }
        return;
      }
      repo::PackedBlob b = e->blob();
      result_.total_size += b.length;
      if (v2) {
        uint64_t full = uint64_t(b.plain_length()) + crypto::kCiphertextOverhead;
        result_.total_uncompressed_size += full;
        if (b.compressed()) {
          compressed += b.length;
          compressed_uncompressed += full;
        }
      }
      ++result_.total_blob_count;
    };
    repo_.with_index([&](const repo::Index& idx) {
      for (const Id& id : trees_seen_) count(id, repo::BlobType::kTree, idx);
      for (const Id& id : data_seen_) count(id, repo::BlobType::kData, idx);
      return 0;
    });
    RETURN_IF_ERROR(missing);
    if (compressed > 0) result_.compression_ratio = double(compressed_uncompressed) / double(compressed);
    if (result_.total_uncompressed_size > 0) {
      double total = double(result_.total_uncompressed_size);
      result_.compression_progress = double(compressed_uncompressed) / total * 100;
      result_.compression_space_saving = (1 - double(result_.total_size) / total) * 100;
    }
    return result_;
  }

 private:
  base::Status add_used_blobs(const Id& tree) {
    return visit_trees(repo_, {tree}, &trees_seen_, [&](const Id&, const std::vector<Node>& nodes) {
      for (const Node& n : nodes) {
        if (n.type == NodeType::kFile) data_seen_.insert(n.content.begin(), n.content.end());
      }
      return true;
    }, threads_);
  }

  std::optional<uint64_t> plain_size(const Id& id, repo::BlobType type) {
    return repo_.with_index([&](const repo::Index& idx) -> std::optional<uint64_t> {
      const repo::IndexEntry* e = idx.find(id, type);
      if (!e) return std::nullopt;
      return e->blob().plain_length();
    });
  }

  repo::Repository& repo_;
  StatsMode mode_;
  int threads_;
  StatsResult result_;
  IdSet unique_files_;
  std::unordered_map<std::string, IdSet> file_blobs_;
  IdSet trees_seen_, data_seen_;
};

}  // namespace

base::StatusOr<StatsMode> parse_stats_mode(std::string_view name) {
  if (name == "restore-size") return StatsMode::kRestoreSize;
  if (name == "files-by-contents") return StatsMode::kFilesByContents;
  if (name == "raw-data") return StatsMode::kRawData;
  if (name == "blobs-per-file") return StatsMode::kBlobsPerFile;
  return base::invalid_argument("unknown counting mode \"" + std::string(name) + "\"");
}

std::string_view stats_mode_name(StatsMode mode) {
  switch (mode) {
    case StatsMode::kRestoreSize: return "restore-size";
    case StatsMode::kFilesByContents: return "files-by-contents";
    case StatsMode::kRawData: return "raw-data";
    case StatsMode::kBlobsPerFile: return "blobs-per-file";
  }
  return "";
}

base::StatusOr<StatsResult> compute_stats(repo::Repository& repo, const std::vector<Id>& trees,
                                          StatsMode mode, int threads) {
  Counter c(repo, mode, threads);
  for (const Id& t : trees) RETURN_IF_ERROR(c.add_snapshot(t));
  return c.finish();
}

}  // namespace kura::ops
