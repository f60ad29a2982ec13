#include "ops/migrate.h"

#include "crypto/crypto.h"
#include "repo/config.h"

namespace kura::ops {

const std::vector<Migration>& all_migrations() {
  static const std::vector<Migration> kAll = {
      {"upgrade_repo_v2", "upgrade a repository to version 2", true},
  };
  return kAll;
}

bool migration_applies(const repo::Repository& repo, const std::string& name) {
  if (name == "upgrade_repo_v2") return repo.version() == 1;
  return false;
}

base::Status upgrade_repo_v2(repo::Repository& repo, base::Env& env, const std::string& backup_dir) {
  const backend::Handle h{backend::FileKind::kConfig, ""};
  backend::Backend* be = repo.backend();
  ASSIGN_OR_RETURN(base::Bytes raw, be->load(h, 0, 0));
  std::string backup = backup_dir + "/config";
  RETURN_IF_ERROR(env.make_dirs(backup_dir, 0700).with_context("create " + backup_dir));
  RETURN_IF_ERROR(env.write_file(backup, raw).with_context("write config file backup to " + backup_dir));

  repo::Config cfg = repo.config();
  cfg.version = 2;
  base::Bytes sealed = crypto::seal(repo.key(), repo::encode_config(cfg), *repo.deps().random);
  base::Status st = be->remove(h);
  if (!st.ok()) st = st.with_context("remove config failed");
  if (st.ok()) st = be->save(h, sealed).with_context("save new config file failed");
  if (!st.ok()) {
    (void)be->remove(h);
    base::Status again = be->save(h, raw);
    if (!again.ok()) {
      return base::internal_error("error uploading config (" + st.message() +
                                  "), re-uploading old config failed as well (" +
                                  again.message() + "), but there is a backup of the config file in " + backup);
    }
    return base::internal_error("error uploading config (" + st.message() +
                                "), re-uploaded old config was successful, there is a backup of the config file in " +
                                backup);
  }
  (void)env.remove_file(backup);
  (void)env.remove_dir(backup_dir);
  return base::ok_status();
}

}  // namespace kura::ops
