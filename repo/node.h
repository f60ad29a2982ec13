// A tree node: one entry of a directory as restic stores it (RESTIC_FORMAT.md §7).
// Encoding to and from the exact JSON bytes restic 0.14 writes lives in tree.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/env.h"
#include "repo/id.h"

namespace kura::repo {

// kIrregular is written by newer restic (e.g. for Windows reparse points); kura only reads it.
enum class NodeType : uint8_t { kFile, kDir, kSymlink, kDev, kCharDev, kFifo, kSocket, kIrregular };

struct ExtendedAttribute {
  std::string name;
  base::Bytes value;
  friend bool operator==(const ExtendedAttribute&, const ExtendedAttribute&) = default;
};

// A point in time as restic records it: UTC instant plus the local UTC offset used to print it.
struct NodeTime {
  int64_t sec = 0;     // seconds since the Unix epoch (UTC)
  int32_t nsec = 0;    // 0..999999999
  // Seconds east of UTC (tm_gmtoff). Keep the full value: Go prints the wall clock with all of it
  // but the offset truncated to minutes (LMT zones such as +05:53:28 before 1900).
  int32_t offset = 0;
  friend bool operator==(const NodeTime&, const NodeTime&) = default;
};

struct Node {
  std::string name;  // raw bytes of the file name (may be invalid UTF-8)
  NodeType type = NodeType::kFile;
  uint32_t mode = 0;  // Go os.FileMode bits (RESTIC_FORMAT.md §7.4), not st_mode
  NodeTime mtime, atime, ctime;
  uint32_t uid = 0, gid = 0;
  std::string user, group;  // empty: omitted
  uint64_t inode = 0;
  uint64_t device_id = 0;
  uint64_t size = 0;
  uint64_t links = 0;
  std::string linktarget;  // raw bytes
  std::vector<ExtendedAttribute> xattrs;
  uint64_t device = 0;       // st_rdev for dev/chardev
  std::vector<Id> content;   // file: data blob ids ([] for an empty file)
  std::optional<Id> subtree; // dir: tree id
  std::string error;         // newer restic: why the node could not be read; empty: omitted
  friend bool operator==(const Node&, const Node&) = default;
};

}  // namespace kura::repo
