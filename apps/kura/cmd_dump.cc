// kura dump
#include <unistd.h>

#include "apps/kura/cli.h"
#include "ops/dump.h"
#include "ops/snapshots.h"

namespace kura::cli {
namespace {

struct DumpFlags {
  std::vector<std::string> args;
  std::string archive = "tar";
  ops::SnapshotFilter filter;
};

int run(Cli& cli, const DumpFlags& f) {
  if (f.args.size() != 2) return cli.fail(base::invalid_argument(cli.msg().get("dump.err_args")));
  auto format = ops::parse_archive_format(f.archive);
  if (!format.ok()) return cli.fail(base::invalid_argument(cli.tr("dump.err_format", f.archive)));
  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  repo::Repository& repo = **r;
  auto lock = cli.lock(repo, false);
  if (!lock.ok()) return cli.fail(lock.status());
  auto sn = ops::find_snapshot(repo, f.args[0], f.filter);
  if (!sn.ok()) return cli.fail(sn.status());
  if (auto st = repo.load_index(); !st.ok()) return cli.fail(st);

  ops::DumpPathError why;
  auto target = ops::resolve_dump_path(repo, sn->sn.tree, f.args[1], &why);
  if (!target.ok()) {
    switch (why.kind) {
      case ops::DumpPathError::kNotFound:
        return cli.fail(base::not_found(cli.tr("dump.err_not_found", why.path)));
      case ops::DumpPathError::kNotADir:
        return cli.fail(base::invalid_argument(cli.tr("dump.err_not_dir", why.path, why.type)));
      case ops::DumpPathError::kNotAFile:
        return cli.fail(base::invalid_argument(cli.tr("dump.err_not_file", why.path, why.type)));
      case ops::DumpPathError::kNone:
        break;
    }
    return cli.fail(target.status());
  }
  if (target->archive && cli.stdout_is_tty()) return cli.fail(base::invalid_argument(cli.msg().get("dump.err_tty")));

  ops::DumpOptions o;
  o.format = *format;
  o.threads = cli.g.threads;
  std::fflush(stdout);
  ops::FdSink out(STDOUT_FILENO);
  if (auto st = ops::dump(repo, *target, out, o); !st.ok()) {
    return cli.fail(base::Status(st.code(), cli.tr("dump.failed", target->path, st.message())));
  }
  return kExitOk;
}

}  // namespace

void add_dump_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("dump", cli.msg().get("cmd.dump"));
  auto f = std::make_shared<DumpFlags>();
  cmd->add_option("args", f->args, cli.msg().get("dump.arg_snapshot_path"));
  cmd->add_option("-a,--archive", f->archive, cli.msg().get("dump.flag_archive"));
  cmd->add_option("-H,--host", f->filter.hosts, cli.msg().get("dump.flag_host"))->allow_extra_args(false);
  cmd->add_option("--tag", f->filter.tags, cli.msg().get("dump.flag_tag"))->allow_extra_args(false);
  cmd->add_option("--path", f->filter.paths, cli.msg().get("dump.flag_path"))->allow_extra_args(false);
  cmd->callback([&cli, f] { exit_code() = run(cli, *f); });
}

}  // namespace kura::cli
