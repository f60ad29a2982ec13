// migrate: restic 0.14's repository migrations. kura knows the one that applies to the
// backends it has: upgrade_repo_v2 (a version 1 repository becomes version 2, which allows
// compressed blobs and index/snapshot files; nothing stored is rewritten). s3_layout concerns
// only S3, which kura does not support.
#pragma once

#include <string>
#include <vector>

#include "base/env.h"
#include "repo/repository.h"

namespace kura::ops {

struct Migration {
  std::string name, description;
  // Whether a repository check must pass before it is applied.
  bool needs_repo_check = false;
};

// Every migration kura knows.
const std::vector<Migration>& all_migrations();

// Whether `name` applies to this repository (restic's Check).
bool migration_applies(const repo::Repository& repo, const std::string& name);

// upgrade_repo_v2: the raw config file is first copied to `backup_dir` (created, on `env`);
// then the config is replaced by one with version 2. Backends cannot replace a file
// atomically, so the old config is removed first; if the new one cannot be stored, the old
// bytes are stored again, and the error names the backup copy. On success the copy is
// deleted. The Repository object keeps its old config: reopen it to use the new version.
base::Status upgrade_repo_v2(repo::Repository& repo, base::Env& env, const std::string& backup_dir);

}  // namespace kura::ops
