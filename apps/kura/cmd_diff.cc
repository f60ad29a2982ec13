// kura diff
#include "apps/kura/cli.h"
#include "ops/diff.h"
#include "ops/snapshots.h"
#include "repo/gojson.h"

namespace kura::cli {
namespace {

struct DiffFlags {
  std::vector<std::string> snapshots;
  bool metadata = false;
};

// {"files":..,"dirs":..,...} as restic's DiffStat.
std::string stat_json(const ops::DiffStat& s) {
  return fmt::format(R"({{"files":{},"dirs":{},"others":{},"data_blobs":{},"tree_blobs":{},"bytes":{}}})",
                     s.files, s.dirs, s.others, s.data_blobs, s.tree_blobs, s.bytes);
}

int run(Cli& cli, const DiffFlags& f) {
  if (f.snapshots.size() != 2) return cli.fail(base::invalid_argument(cli.tr("diff.err_two_ids")));
  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  repo::Repository& repo = **r;
  auto lock = cli.lock(repo, false);
  if (!lock.ok()) return cli.fail(lock.status());
  auto sn1 = ops::find_snapshot(repo, f.snapshots[0]);
  if (!sn1.ok()) return cli.fail(sn1.status());
  auto sn2 = ops::find_snapshot(repo, f.snapshots[1]);
  if (!sn2.ok()) return cli.fail(sn2.status());
  cli.print(cli.tr("diff.comparing", sn1->id.short_hex(), sn2->id.short_hex()) + "\n");
  if (auto st = repo.load_index(); !st.ok()) return cli.fail(st);

  ops::DiffOptions o;
  o.metadata = f.metadata;
  o.threads = cli.g.threads;
  auto on_change = [&](const ops::DiffChange& c) {
    if (cli.g.quiet) return;
    if (cli.g.json) {
      std::string line = R"({"message_type":"change","path":)";
      repo::append_json_string(line, c.path);
      line += R"(,"modifier":)";
      repo::append_json_string(line, c.modifier);
      cli.print_data(line + "}\n");
    } else {
      cli.print_data(fmt::format("{:<5}{}\n", c.modifier, c.path));
    }
  };
  auto res = ops::diff_trees(repo, sn1->sn.tree, sn2->sn.tree, o, on_change);
  if (!res.ok()) return cli.fail(res.status());
  for (const auto& w : res->warnings) cli.error(cli.tr("diff.warning", w));

  // Like restic, the statistics are printed even with --quiet.
  if (cli.g.json) {
    std::string out = R"({"message_type":"statistics","source_snapshot":)";
    repo::append_json_string(out, f.snapshots[0]);
    out += R"(,"target_snapshot":)";
    repo::append_json_string(out, f.snapshots[1]);
    out += fmt::format(R"(,"changed_files":{},"added":{},"removed":{}}})", res->changed_files,
                       stat_json(res->added), stat_json(res->removed));
    cli.print_data(out + "\n");
    return kExitOk;
  }
  const auto& a = res->added;
  const auto& d = res->removed;
  std::string out = "\n";
  out += cli.tr("diff.files", a.files, d.files, res->changed_files) + "\n";
  out += cli.tr("diff.dirs", a.dirs, d.dirs) + "\n";
  out += cli.tr("diff.others", a.others, d.others) + "\n";
  out += cli.tr("diff.data_blobs", a.data_blobs, d.data_blobs) + "\n";
  out += cli.tr("diff.tree_blobs", a.tree_blobs, d.tree_blobs) + "\n";
  out += cli.tr("diff.added", format_bytes(a.bytes)) + "\n";
  out += cli.tr("diff.removed", format_bytes(d.bytes)) + "\n";
  cli.print_data(out);
  return kExitOk;
}

}  // namespace

void add_diff_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("diff", cli.msg().get("cmd.diff"));
  auto f = std::make_shared<DiffFlags>();
  cmd->add_option("snapshots", f->snapshots, cli.msg().get("diff.arg_snapshots"));
  cmd->add_flag("--metadata", f->metadata, cli.msg().get("diff.flag_metadata"));
  cmd->callback([&cli, f] { exit_code() = run(cli, *f); });
}

}  // namespace kura::cli
