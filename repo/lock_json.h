// Lock files (`locks/<id>`, RESTIC_FORMAT.md §9): the JSON of one lock. Taking, refreshing and
// checking locks is elsewhere; this is only the file format.
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "repo/node.h"

namespace kura::repo {

struct Lock {
  NodeTime time;
  bool exclusive = false;
  std::string hostname, username;
  uint32_t uid = 0, gid = 0;
  int64_t pid = 0;
  friend bool operator==(const Lock&, const Lock&) = default;
};

// `{"time":…,"exclusive":…,"hostname":…,"username":…,"pid":…}` plus "uid"/"gid" when non-zero,
// as restic writes it (no trailing newline).
base::Bytes encode_lock(const Lock& lock);

// Ignores unknown fields; missing fields take zero values. Errors are data_loss ("lock: ...").
base::StatusOr<Lock> decode_lock(base::ByteSpan json);

}  // namespace kura::repo
