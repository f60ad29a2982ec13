// kura rebuild-index
#include "apps/kura/cli.h"
#include "apps/kura/repocmds.h"
#include "ops/rebuild_index.h"

namespace kura::cli {
namespace {

class Reporter : public ops::RebuildIndexObserver {
 public:
  Reporter(const Cli& cli, ops::RebuildIndexProgress& prog) : cli_(cli), prog_(prog) {}

  void on_phase_end() override { bar_.reset(); }
  void on_phase(ops::RebuildIndexPhase phase, uint64_t) override {
    switch (phase) {
      case ops::RebuildIndexPhase::kLoadingIndex:
        cli_.print(cli_.msg().get("rebuild.loading_index") + "\n");
        break;
      case ops::RebuildIndexPhase::kListingPacks:
        cli_.print(cli_.msg().get("rebuild.listing_packs") + "\n");
        break;
      case ops::RebuildIndexPhase::kReadingPacks:
        cli_.print(cli_.msg().get("rebuild.reading_packs") + "\n");
        bar_ = counter_bar(cli_, prog_.done, prog_.total, "rebuild.progress.packs");
        break;
      case ops::RebuildIndexPhase::kWritingIndex:
        cli_.print(cli_.msg().get("rebuild.writing_index") + "\n");
        bar_ = counter_bar(cli_, prog_.done, prog_.total, "rebuild.progress.processed");
        break;
      case ops::RebuildIndexPhase::kDeletingIndex:
        cli_.print(cli_.msg().get("rebuild.deleting_index") + "\n");
        bar_ = counter_bar(cli_, prog_.done, prog_.total, "rebuild.progress.deleted");
        break;
      case ops::RebuildIndexPhase::kDone:
        cli_.print(cli_.msg().get("rebuild.done") + "\n");
        break;
    }
  }
  // restic's Warnf: these warnings go to stderr without a prefix.
  void on_invalid_index(const repo::Id& id, const base::Status& st) override {
    cli_.notice(cli_.tr("rebuild.warn.invalid_index", id.hex(), st.message()));
  }
  void on_pack_added(const repo::Id& id) override { cli_.notice(cli_.tr("rebuild.warn.adding_pack", id.hex())); }
  void on_pack_size_mismatch(const repo::Id& id, uint64_t stored, uint64_t indexed) override {
    cli_.notice(cli_.tr("rebuild.warn.size_mismatch", id.hex(), stored, indexed));
  }
  void on_pack_missing(const repo::Id& id) override { cli_.notice(cli_.tr("rebuild.warn.pack_missing", id.hex())); }
  void on_pack_unreadable(const repo::Id& id, const base::Status& st) override {
    if (cli_.g.verbose >= 2) cli_.verbose(cli_.tr("rebuild.skipped_pack", id.hex(), st.message()) + "\n");
  }

 private:
  const Cli& cli_;
  ops::RebuildIndexProgress& prog_;
  std::unique_ptr<ProgressPrinter> bar_;
};

int run_rebuild_index(Cli& cli, bool read_all_packs) {
  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  auto lock = cli.lock(**r, true);
  if (!lock.ok()) return cli.fail(lock.status());
  ops::RebuildIndexOptions opts;
  opts.read_all_packs = read_all_packs;
  opts.threads = cli.g.threads;
  ops::RebuildIndexProgress prog;
  Reporter reporter(cli, prog);
  auto res = ops::rebuild_index(**r, opts, &reporter, &prog);
  if (!res.ok()) return cli.fail(res.status());
  return kExitOk;
}

}  // namespace

void add_rebuild_index_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("rebuild-index", cli.msg().get("cmd.rebuild_index"));
  auto read_all = std::make_shared<bool>(false);
  cmd->add_flag("--read-all-packs", *read_all, cli.msg().get("rebuild.flag.read_all_packs"));
  cmd->callback([&cli, read_all] { exit_code() = run_rebuild_index(cli, *read_all); });
}

}  // namespace kura::cli
