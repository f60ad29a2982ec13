// Snapshot files (`snapshots/<id>`, RESTIC_FORMAT.md §8): Go json.Marshal of restic's Snapshot
// struct, no trailing newline. The file's ID is the hash of the encrypted file, so these bytes
// need not match restic's, but we write what restic 0.14 writes anyway (plus the 0.16/0.17
// fields when set).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "repo/id.h"
#include "repo/node.h"

namespace kura::repo {

struct Snapshot {
  NodeTime time;
  std::optional<Id> parent;
  Id tree;
  std::vector<std::string> paths;  // absolute, command-line order
  std::string hostname, username;
  uint32_t uid = 0, gid = 0;
  std::vector<std::string> excludes, tags;
  std::optional<Id> original;   // the snapshot this one was rewritten from
  std::string program_version;  // 0.16+: "restic 0.16.0"; 0.14 writes none
  // 0.17+ "summary" object, kept as compact raw JSON so a rewrite (tag change) keeps it.
  // Empty: absent.
  std::string summary_json;
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

// Field order and omission as Go writes them: parent/original/program_version/summary and
// empty hostname/username/excludes/tags and zero uid/gid omitted; empty paths as `null`.
base::Bytes encode_snapshot(const Snapshot& sn);

// Ignores unknown fields. A missing or null "tree" is an error; a missing time is Go's zero time.
// Errors are data_loss: "snapshot: field \"tree\": ...".
base::StatusOr<Snapshot> decode_snapshot(base::ByteSpan json);

}  // namespace kura::repo
