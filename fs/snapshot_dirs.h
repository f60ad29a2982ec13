// The directories above the snapshots in a mount (ids/, snapshots/, hosts/<host>/,
// tags/<tag>/ and their "latest" links), built from path templates exactly as restic 0.14's
// SnapshotsDirStructure.makeDirs builds them, so that both show the same names.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ops/snapshots.h"

namespace kura::fs {

// restic's default templates.
std::vector<std::string> default_path_templates();

// One name in the structure: a directory of further names, a snapshot's directory, or a
// symlink to a sibling snapshot directory ("latest").
struct VirtualEntry {
  const ops::SnapshotEntry* snapshot = nullptr;  // set: a snapshot directory or a link
  std::string link_target;                       // non-empty: a symlink
  std::map<std::string, const VirtualEntry*> names;
  bool is_link() const { return !link_target.empty(); }
  bool is_snapshot_dir() const { return !is_link() && snapshot != nullptr; }
};

class SnapshotDirs {
 public:
  // `snapshots` newest first, as restic sorts them before building.
  SnapshotDirs(std::vector<ops::SnapshotEntry> snapshots, const std::vector<std::string>& path_templates,
               const std::string& time_template);
  SnapshotDirs(const SnapshotDirs&) = delete;
  SnapshotDirs& operator=(const SnapshotDirs&) = delete;

  // "" is the root, "/snapshots", "/tags/t1", ... nullptr if there is no such entry.
  const VirtualEntry* find(const std::string& path) const;
  const std::vector<ops::SnapshotEntry>& snapshots() const { return snapshots_; }

 private:
  void mount(const std::string& path, const ops::SnapshotEntry* sn, const std::string& link_target,
             const std::string& child_name, const VirtualEntry* child);

  std::vector<ops::SnapshotEntry> snapshots_;
  std::map<std::string, VirtualEntry> entries_;  // node addresses stay put
};

// The part of a template before its first verb's directory ("tags" for "tags/%t/%T").
std::string static_prefix(const std::string& path_template);
// The names a template gives a snapshot, and the time suffix when it ends in %T.
struct TemplatePaths {
  std::vector<std::string> paths;
  std::string time_suffix;
};
TemplatePaths paths_from_snapshot(const std::string& path_template, const std::string& time_template,
                                  const ops::SnapshotEntry& sn);

}  // namespace kura::fs
