// kura migrate
#include <cstdlib>

#include "apps/kura/cli.h"
#include "apps/kura/repocmds.h"
#include "crypto/random.h"
#include "ops/migrate.h"

namespace kura::cli {
namespace {

struct MigrateFlags {
  std::vector<std::string> names;
  bool force = false;
};

int list_migrations(Cli& cli, const repo::Repository& repo) {
  std::string out = cli.msg().get("migrate.available") + "\n";
  bool found = false;
  for (const ops::Migration& m : ops::all_migrations()) {
    if (!ops::migration_applies(repo, m.name)) continue;
    out += "  " + m.name + "\t" + m.description + "\n";
    found = true;
  }
  if (!found) out += cli.msg().get("migrate.none");  // restic ends it without a newline
  cli.print_data(out);
  return kExitOk;
}

// restic runs a full check first, with check's own output; a repository with errors is not
// migrated (check has said why).
bool check_before(Cli& cli, repo::Repository& repo) {
  cli.print_data(cli.msg().get("migrate.checking") + "\n");
  return check_repository(cli, repo) == kExitOk;
}

std::string backup_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = tmp && *tmp ? tmp : "/tmp";
  return dir + "/kura-migrate-upgrade-repo-v2-" + std::to_string(crypto::system_random()->next_u64());
}

int apply_migrations(Cli& cli, repo::Repository& repo, const MigrateFlags& f) {
  base::Status first;
  for (const std::string& name : f.names) {
    for (const ops::Migration& m : ops::all_migrations()) {
      if (m.name != name) continue;
      if (!ops::migration_applies(repo, m.name)) {
        if (!f.force) {
          cli.error(cli.tr("migrate.warn.cannot_apply", m.name));
          continue;
        }
        cli.error(cli.tr("migrate.warn.forced", m.name));
      }
      if (m.needs_repo_check) {
        if (!check_before(cli, repo)) return kExitFatal;
      }
      cli.print_data(cli.tr("migrate.applying", m.name) + "\n");
      base::Status st = ops::upgrade_repo_v2(repo, *cli.env, backup_dir());
      if (!st.ok()) {
        cli.error(cli.tr("migrate.warn.failed", m.name, st.message()));
        if (first.ok()) first = st;
        continue;
      }
      cli.print_data(cli.tr("migrate.success", m.name) + "\n");
    }
  }
  return first.ok() ? kExitOk : cli.fail(first);
}

int run_migrate(Cli& cli, const MigrateFlags& f) {
  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  auto lock = cli.lock(**r, true);
  if (!lock.ok()) return cli.fail(lock.status());
  if (f.names.empty()) return list_migrations(cli, **r);
  return apply_migrations(cli, **r, f);
}

}  // namespace

void add_migrate_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("migrate", cli.msg().get("cmd.migrate"));
  auto f = std::make_shared<MigrateFlags>();
  cmd->add_option("name", f->names, cli.msg().get("migrate.arg.names"));
  cmd->add_flag("-f,--force", f->force, cli.msg().get("migrate.flag.force"));
  cmd->callback([&cli, f] { exit_code() = run_migrate(cli, *f); });
}

}  // namespace kura::cli
