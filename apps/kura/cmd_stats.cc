// kura stats
#include "apps/kura/cli.h"
#include "ops/snapshots.h"
#include "ops/stats.h"

namespace kura::cli {
namespace {

struct StatsFlags {
  std::vector<std::string> snapshots;
  std::string mode = "restore-size";
  ops::SnapshotFilter filter;
};

// Go's encoding/json float64: shortest representation that reads back the same.
std::string go_float(double v) { return fmt::format("{}", v); }

void report_selection(const Cli& cli, const ops::SnapshotSelection& sel) {
  for (const auto& s : sel.skipped) cli.error(cli.tr("select.ignoring", s.ref, s.error.message()));
  for (const auto& u : sel.unreadable) {
    cli.error(cli.tr("warn.snapshot_unreadable", u.id.short_hex(), u.error.message()));
  }
  if (sel.filter_ignored) cli.error(cli.msg().get("select.filters_ignored"));
}

int run(Cli& cli, const StatsFlags& f) {
  auto mode = ops::parse_stats_mode(f.mode);
  if (!mode.ok()) return cli.fail(base::invalid_argument(cli.tr("stats.err_mode", f.mode)));
  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  repo::Repository& repo = **r;
  auto lock = cli.lock(repo, false);
  if (!lock.ok()) return cli.fail(lock.status());
  if (auto st = repo.load_index(); !st.ok()) return cli.fail(st);
  cli.print(cli.msg().get("stats.scanning") + "\n");

  auto sel = ops::select_snapshots(repo, f.filter, f.snapshots);
  if (!sel.ok()) return cli.fail(sel.status());
  report_selection(cli, *sel);
  std::vector<repo::Id> trees;
  for (const auto& e : sel->snapshots) trees.push_back(e.sn.tree);
  auto res = ops::compute_stats(repo, trees, *mode, cli.g.threads);
  if (!res.ok()) return cli.fail(res.status());

  if (cli.g.json) {
    std::string out = fmt::format(R"({{"total_size":{})", res->total_size);
    if (res->total_uncompressed_size) out += fmt::format(R"(,"total_uncompressed_size":{})", res->total_uncompressed_size);
    if (res->compression_ratio) out += R"(,"compression_ratio":)" + go_float(res->compression_ratio);
    if (res->compression_progress) out += R"(,"compression_progress":)" + go_float(res->compression_progress);
    if (res->compression_space_saving) out += R"(,"compression_space_saving":)" + go_float(res->compression_space_saving);
    out += fmt::format(R"(,"total_file_count":{})", res->total_file_count);
    if (res->total_blob_count) out += fmt::format(R"(,"total_blob_count":{})", res->total_blob_count);
    out += fmt::format(R"(,"snapshots_count":{}}})", res->snapshots_count);
    cli.print_data(out + "\n");
    return kExitOk;
  }
  std::string out = cli.tr("stats.header", ops::stats_mode_name(*mode)) + "\n";
  if (res->total_uncompressed_size == 0) {
    // restic 0.14's layout
    out += cli.tr("stats.snapshots", res->snapshots_count) + "\n";
    if (res->total_blob_count) out += cli.tr("stats.blob_count", res->total_blob_count) + "\n";
    if (res->total_file_count) out += cli.tr("stats.file_count", res->total_file_count) + "\n";
    out += cli.tr("stats.total_size", format_bytes(res->total_size)) + "\n";
  } else {
    // raw-data of a v2 repository: restic 0.16's layout, with the compression figures
    out += cli.tr("stats.v2_snapshots", res->snapshots_count) + "\n";
    if (res->total_blob_count) out += cli.tr("stats.v2_blob_count", res->total_blob_count) + "\n";
    if (res->total_file_count) out += cli.tr("stats.v2_file_count", res->total_file_count) + "\n";
    out += cli.tr("stats.v2_uncompressed", format_bytes(res->total_uncompressed_size)) + "\n";
    out += cli.tr("stats.v2_total_size", format_bytes(res->total_size)) + "\n";
    if (res->compression_progress > 0) out += cli.tr("stats.v2_progress", res->compression_progress) + "\n";
    if (res->compression_ratio > 0) out += cli.tr("stats.v2_ratio", res->compression_ratio) + "\n";
    if (res->compression_space_saving > 0) out += cli.tr("stats.v2_saving", res->compression_space_saving) + "\n";
  }
  cli.print_data(out);
  return kExitOk;
}

}  // namespace

void add_stats_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("stats", cli.msg().get("cmd.stats"));
  auto f = std::make_shared<StatsFlags>();
  cmd->add_option("snapshots", f->snapshots, cli.msg().get("arg.snapshot_ids"));
  cmd->add_option("--mode", f->mode, cli.msg().get("stats.flag_mode"));
  cmd->add_option("-H,--host", f->filter.hosts, cli.msg().get("flag.filter_host"))->allow_extra_args(false);
  cmd->add_option("--tag", f->filter.tags, cli.msg().get("flag.filter_tag"))->allow_extra_args(false);
  cmd->add_option("--path", f->filter.paths, cli.msg().get("flag.filter_path"))->allow_extra_args(false);
  cmd->callback([&cli, f] { exit_code() = run(cli, *f); });
}

}  // namespace kura::cli
