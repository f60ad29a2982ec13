// kura copy

#include "apps/kura/cli.h"
#include "apps/kura/repocmds.h"
#include "fs/go_time.h"
#include "ops/copy.h"
#include "ops/snapshots.h"

namespace kura::cli {
namespace {

struct CopyFlags {
  std::vector<std::string> snapshots;
  SecondaryRepoFlags from;
  ops::SnapshotFilter filter;
};

std::string go_string_list(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + v[i];
  return s + "]";
}

class Reporter : public ops::CopyObserver {
 public:
  Reporter(const Cli& cli, ops::CopyProgress& prog) : cli_(cli), prog_(prog) {}
  void on_snapshot(const ops::SnapshotEntry& e) override {
    cli_.print("\n" + cli_.tr("copy.snapshot", e.id.short_hex(), go_string_list(e.sn.paths), fs::go_time_string(e.sn.time)) + "\n");
  }
  void on_already_copied(const ops::SnapshotEntry& e, const repo::Id& copy) override {
    cli_.print(cli_.tr("copy.skipping", e.id.short_hex(), copy.short_hex()) + "\n");
  }
  void on_copy_started(const ops::SnapshotEntry&) override {
    cli_.print(cli_.msg().get("copy.started") + "\n");
    bar_ = counter_bar(cli_, prog_.packs_done, prog_.packs_total, "copy.progress.packs");
  }
  void on_saved(const ops::SnapshotEntry&, const repo::Id& id) override {
    bar_.reset();
    cli_.print(cli_.tr("copy.saved", id.short_hex()) + "\n");
  }

 private:
  const Cli& cli_;
  ops::CopyProgress& prog_;
  std::unique_ptr<ProgressPrinter> bar_;
};

int run_copy(Cli& cli, CopyFlags& f) {
  if (auto st = resolve_secondary(cli, f.from); !st.ok()) return cli.fail(st);
  if (!has_secondary_repo(f.from)) {
    return cli.fail(base::invalid_argument(cli.msg().get("repocmds.err.no_from_repo")));
  }
  // --from-repo names the source; restic 0.13's --repo2 names the destination (-r is then
  // the source), as restic 0.14 still reads it.
  std::unique_ptr<repo::Repository> main_repo;
  SecondaryRepo other;
  if (f.from.use_legacy) {
    auto src = cli.open_repo();
    if (!src.ok()) return cli.fail(src.status());
    main_repo = std::move(*src);
    auto dst = open_secondary_repo(cli, f.from, "destination");
    if (!dst.ok()) return cli.fail(dst.status());
    other = std::move(*dst);
  } else {
    auto src = open_secondary_repo(cli, f.from, "source");
    if (!src.ok()) return cli.fail(src.status());
    other = std::move(*src);
    auto dst = cli.open_repo();
    if (!dst.ok()) return cli.fail(dst.status());
    main_repo = std::move(*dst);
  }
  repo::Repository& from = f.from.use_legacy ? *main_repo : *other.repo;
  repo::Repository& to = f.from.use_legacy ? *other.repo : *main_repo;

  std::unique_ptr<repo::RepoLock> src_lock;
  if (!cli.g.no_lock) {
    auto l = repo::RepoLock::acquire(from, false, cli.owner());
    if (!l.ok()) return cli.fail(l.status().with_context(cli.msg().get("err.lock")));
    src_lock = std::move(*l);
    cli.warn_if_lock_stays(*src_lock);
  }
  // The destination is written to: locked even with --no-lock, as restic does.
  auto dst_lock = repo::RepoLock::acquire(to, false, cli.owner());
  if (!dst_lock.ok()) return cli.fail(dst_lock.status().with_context(cli.msg().get("err.lock")));
  cli.warn_if_lock_stays(**dst_lock);

  if (auto st = from.load_index(); !st.ok()) return cli.fail(st);
  if (auto st = to.load_index(); !st.ok()) return cli.fail(st);
  auto existing = ops::select_snapshots(to, f.filter, {});
  if (!existing.ok()) return cli.fail(existing.status());
  auto sel = ops::select_snapshots(from, f.filter, f.snapshots);
  if (!sel.ok()) return cli.fail(sel.status());
  report_selection(cli, *sel);

  ops::CopyProgress prog;
  Reporter reporter(cli, prog);
  auto res = ops::copy_snapshots(from, to, sel->snapshots, existing->snapshots, cli.g.threads, &reporter, &prog);
  if (!res.ok()) return cli.fail(res.status());
  return kExitOk;
}

}  // namespace

void add_copy_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("copy", cli.msg().get("cmd.copy"));
  auto f = std::make_shared<CopyFlags>();
  cmd->add_option("snapshots", f->snapshots, cli.msg().get("copy.arg.snapshots"));
  add_secondary_repo_flags(cmd, cli, f->from, cli.msg().get("copy.from_usage"));
  add_snapshot_filter_flags(cmd, cli, f->filter);
  cmd->callback([&cli, f] { exit_code() = run_copy(cli, *f); });
}

}  // namespace kura::cli
