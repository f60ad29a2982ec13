// kura tag
#include "apps/kura/cli.h"
#include "apps/kura/repocmds.h"
#include "ops/snapshots.h"
#include "ops/tag.h"

namespace kura::cli {
namespace {

struct TagFlags {
  std::vector<std::string> snapshots;
  std::vector<std::string> set, add, remove;
  ops::SnapshotFilter filter;
};

int run_tag(Cli& cli, const TagFlags& f) {
  if (f.set.empty() && f.add.empty() && f.remove.empty()) {
    return cli.fail(base::invalid_argument(cli.msg().get("tag.err.nothing_to_do")));
  }
  if (!f.set.empty() && (!f.add.empty() || !f.remove.empty())) {
    return cli.fail(base::invalid_argument(cli.msg().get("tag.err.set_and_add")));
  }
  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  auto lock = lock_repo(cli, **r, true);
  if (!lock.ok()) return cli.fail(lock.status());

  ops::TagChange change{ops::flatten_tag_lists(f.set), ops::flatten_tag_lists(f.add),
                        ops::flatten_tag_lists(f.remove)};
  auto sel = ops::select_snapshots(**r, f.filter, f.snapshots);
  if (!sel.ok()) return cli.fail(sel.status());
  report_selection(cli, *sel);
  int changed = 0;
  for (const ops::SnapshotEntry& e : sel->snapshots) {
    auto id = ops::change_tags(**r, e, change);
    if (!id.ok()) {
      cli.error(cli.tr("tag.warn.failed", e.id.hex(), id.status().message()));
      continue;
    }
    if (*id) {
      ++changed;
      cli.verbose(cli.tr("tag.rewritten", e.id.short_hex(), (*id)->short_hex()) + "\n");
    }
  }
  if (changed == 0) {
    cli.print(cli.msg().get("tag.none_modified") + "\n");
  } else {
    cli.print(cli.tr("tag.modified", changed) + "\n");
  }
  return kExitOk;
}

}  // namespace

void add_tag_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("tag", cli.msg().get("cmd.tag"));
  auto f = std::make_shared<TagFlags>();
  cmd->add_option("snapshots", f->snapshots, cli.msg().get("tag.arg.snapshots"));
  cmd->add_option("--set", f->set, cli.msg().get("tag.flag.set"))->allow_extra_args(false);
  cmd->add_option("--add", f->add, cli.msg().get("tag.flag.add"))->allow_extra_args(false);
  cmd->add_option("--remove", f->remove, cli.msg().get("tag.flag.remove"))->allow_extra_args(false);
  add_snapshot_filter_flags(cmd, cli, f->filter);
  cmd->callback([&cli, f] { exit_code() = run_tag(cli, *f); });
}

}  // namespace kura::cli
