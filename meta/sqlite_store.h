// The SQLite MetaStore: one database file (WAL mode) that the server and the local admin CLI
// open at the same time. The schema and its migrations are documented at the top of
// sqlite_store.cc.
#pragma once

#include <memory>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "meta/meta_store.h"

namespace kura::meta {

struct SqliteOptions {
  // How long a statement waits for another process's write lock before kUnavailable.
  int busy_timeout_ms = 5000;
  // Where created_unix comes from when a caller leaves it 0. nullptr: the system clock.
  base::Clock* clock = nullptr;
  // Migrate only up to this schema version (0 = the newest this build knows). Tests use it to
  // build an old database; everything else leaves it 0.
  int migrate_to = 0;
};

// The newest schema version this build writes and reads.
int sqlite_schema_version_latest();

// Opens (creating and migrating) a SQLite database file; ":memory:" for tests. WAL mode,
// foreign keys on, busy timeout (several processes: the server and the local admin CLI run
// at the same time on the same file), synchronous=NORMAL under WAL. Refuses a database whose
// schema version is newer than this build knows (kFailedPrecondition with both versions), a
// file that is not SQLite (kDataLoss) and a SQLite database that is not kura's
// (kFailedPrecondition). A new file is created with mode 0600 (it holds password hashes).
base::StatusOr<std::unique_ptr<MetaStore>> open_sqlite(const std::string& path);
base::StatusOr<std::unique_ptr<MetaStore>> open_sqlite(const std::string& path,
                                                       const SqliteOptions& options);

}  // namespace kura::meta
