// find: searching snapshots for entries by name pattern, or for blob, tree and pack IDs, as
// restic's `find` does. Choosing snapshots (select_snapshots) lives in ops/snapshots.h and
// walking trees with loads ahead (walk_tree_ahead, visit_trees) in ops/walk.h; both are
// included here, so code that found them through this header still compiles.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "ops/snapshots.h"
#include "ops/walk.h"
#include "repo/node.h"
#include "repo/repository.h"

namespace kura::ops {

// ---- name patterns ----------------------------------------------------------------------------

// One pattern as restic's filter package reads it: cleaned and split at '/'; each part a Go
// filepath.Match pattern (*, ?, [...], \ escapes) for one path component; "**" any number of
// components. A pattern starting with '/' matches from the root; others match a run of
// components anywhere in the path, so "*.txt" also matches "/a.txt/b".
class NamePattern {
 public:
  // invalid_argument naming the pattern if it is empty or malformed (e.g. "[a").
  static base::StatusOr<NamePattern> parse(std::string_view pattern, bool ignore_case);
  bool matches(std::string_view path) const;
  // False when nothing below the directory `path` can match (only anchored patterns say so).
  bool child_may_match(std::string_view path) const;

 private:
  struct Part {
    std::string text;  // "" stands for "**"
    bool simple = true;
  };
  std::vector<Part> parts_;
  bool ignore_case_ = false;
};

// Go's path/filepath.Match for one component. Errors (invalid_argument) when the pattern is
// malformed.
base::StatusOr<bool> go_glob_match(std::string_view pattern, std::string_view name);

// ---- find by name -----------------------------------------------------------------------------

struct FindOptions {
  std::vector<std::string> patterns;  // any of them
  bool ignore_case = false;
  std::optional<repo::NodeTime> oldest, newest;  // modification time bounds, inclusive
};

class Finder {
 public:
  static base::StatusOr<Finder> create(const FindOptions& opts);

  using MatchFn = std::function<void(const std::string& path, const repo::Node& node)>;
  // A subtree could not be loaded: (the tree holding its dir, the error). The walk goes on.
  using TreeErrorFn = std::function<void(const repo::Id& parent, const base::Status& st)>;

  // Calls on_match for each matching node of the snapshot, in walk order. Subtrees that held
  // no match in an earlier call are not walked again (they cannot match now either).
  base::Status find_in(repo::Repository& repo, const repo::Id& tree, const MatchFn& on_match,
                       const TreeErrorFn& on_tree_error);

 private:
  bool name_matches(const std::string& path) const;
  bool child_may_match(const std::string& path) const;
  bool time_ok(const repo::Node& node) const;

  std::vector<NamePattern> patterns_;
  FindOptions opts_;
  IdSet no_match_trees_;
};

// ---- find by ID -------------------------------------------------------------------------------

enum class ObjectKind { kBlob, kTree };

struct ObjectHit {
  ObjectKind kind;
  repo::Id id;
  std::string path;
  repo::Id parent_tree;  // blobs: the tree holding the file
};

// IDs are hex: a full ID or a prefix (restic: the 8-digit short form).
class IdFinder {
 public:
  // invalid_argument for anything that is not 1 to 64 hex digits.
  static base::StatusOr<IdFinder> create(const std::vector<std::string>& blob_ids,
                                         const std::vector<std::string>& tree_ids);
  bool looking_for_blobs() const { return !blobs_.empty(); }
  // Adds full blob IDs (from --pack).
  void add_blobs(const std::vector<repo::Id>& ids);

  using HitFn = std::function<void(const ObjectHit&)>;
  base::Status find_in(repo::Repository& repo, const repo::Id& tree, const HitFn& on_hit,
                       const Finder::TreeErrorFn& on_tree_error);

  // The blob and tree IDs searched for: full ones, and prefixes that never matched.
  const std::vector<std::string>& blob_patterns() const { return blobs_; }
  const std::vector<std::string>& tree_patterns() const { return trees_; }

 private:
  // Index into `list` of the pattern matching id, or -1.
  static int match(const std::vector<std::string>& list, const std::string& hex);

  std::vector<std::string> blobs_, trees_;
  bool searching_blobs_ = false;
  size_t trees_found_ = 0;
};

struct PackBlobs {
  std::vector<repo::Id> blobs;
  // Packs missing from the backend whose blobs came from the index instead.
  std::vector<repo::Id> from_index;
};

// The blobs of the packs named by full IDs or prefixes: from each pack's header, or from the
// index when the pack file is gone. not_found listing every pack found nowhere.
base::StatusOr<PackBlobs> blobs_of_packs(repo::Repository& repo,
                                         const std::vector<std::string>& packs);

// `find --oldest/--newest`: the time formats restic accepts ("2006-01-02", "2006-01-02 15:04",
// "2006-01-02 15:04:05", with "-0700" or a zone name, "02.01.2006 ...", and Go's UnixDate-like
// "Mon Jan 2 15:04:05 -0700 MST 2006"), read in local time unless an offset is given.
base::StatusOr<repo::NodeTime> parse_find_time(std::string_view text);

}  // namespace kura::ops
