// LocalBackend: a repository in a local directory, laid out exactly like restic's local
// backend (RESTIC_FORMAT.md §1): config, keys/, locks/, snapshots/, index/, and data/00..ff/
// holding packs as data/<first 2 hex>/<id>. Files are written to a temp file in the same
// directory, synced and then linked into place (never overwriting), with mode 0400;
// directories get 0700. Stray files (temp files, other names) are ignored by list(); the temp
// files of interrupted saves ("<name>-tmp-<random>", restic's are named alike) are listed by
// list_temp_files() and removed by remove_temp_file().
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "base/env.h"

namespace kura::backend {

// No file system access happens here; create() makes the layout. env must outlive the result.
base::StatusOr<std::unique_ptr<Backend>> open_local(base::Env* env, std::string path);

// The path of h relative to the repository root: "config", "keys/<id>", "data/ab/ab…".
std::string local_relative_path(const Handle& h);

}  // namespace kura::backend
