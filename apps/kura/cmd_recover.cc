// kura recover
#include <unistd.h>

#include "apps/kura/cli.h"
#include "apps/kura/repocmds.h"
#include "ops/recover.h"

namespace kura::cli {
namespace {

class Reporter : public ops::RecoverObserver {
 public:
  Reporter(const Cli& cli, std::atomic<uint64_t>& done, std::atomic<uint64_t>& total)
      : cli_(cli), done_(done), total_(total) {}
  void on_loading_trees(uint64_t total) override {
    total_ = total;
    cli_.print(cli_.tr("recover.loading_trees", total) + "\n");
    bar_ = counter_bar(cli_, done_, total_, "recover.progress.trees");
  }
  void on_tree_unreadable(const repo::Id& id, const base::Status& st) override {
    cli_.error(cli_.tr("recover.warn.tree", id.short_hex(), st.message()));
  }
  void on_loading_snapshots() override {
    bar_.reset();
    cli_.print(cli_.msg().get("recover.loading_snapshots") + "\n");
  }

 private:
  const Cli& cli_;
  std::atomic<uint64_t>& done_;
  std::atomic<uint64_t>& total_;
  std::unique_ptr<ProgressPrinter> bar_;
};

int run_recover(Cli& cli) {
  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  repo::Repository& repo = **r;
  auto lock = cli.lock(repo, false);
  if (!lock.ok()) return cli.fail(lock.status());
  cli.print(cli.msg().get("recover.loading_index") + "\n");
  if (auto st = repo.load_index(); !st.ok()) return cli.fail(st);

  std::atomic<uint64_t> done{0}, total{0};
  std::vector<repo::Id> roots;
  {
    Reporter reporter(cli, done, total);
    auto found = ops::find_root_trees(repo, cli.g.threads, &reporter, &done);
    if (!found.ok()) return cli.fail(found.status());
    roots = std::move(*found);
  }
  cli.print(cli.msg().get("recover.done_loading") + "\n");
  if (cli.g.verbose >= 2) {
    for (const repo::Id& id : roots) cli.verbose(cli.tr("recover.found_root", id.short_hex()) + "\n");
  }
  cli.print_data("\n" + cli.tr("recover.found", roots.size()) + "\n");
  if (roots.empty()) {
    cli.print(cli.msg().get("recover.nothing") + "\n");
    return kExitOk;
  }
  ops::RecoverSnapshotInfo info{cli.hostname(), cli.username(), static_cast<uint32_t>(::getuid()),
                                static_cast<uint32_t>(::getgid())};
  auto saved = ops::save_recovery_snapshot(repo, roots, info);
  if (!saved.ok()) return cli.fail(saved.status());
  cli.print_data(cli.tr("recover.saved", saved->snapshot.short_hex()) + "\n");
  return kExitOk;
}

}  // namespace

void add_recover_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("recover", cli.msg().get("cmd.recover"));
  cmd->callback([&cli] { exit_code() = run_recover(cli); });
}

}  // namespace kura::cli
