// kura check
#include <cstdio>
#include <mutex>

#include "apps/kura/cli.h"
#include "apps/kura/json_out.h"
#include "apps/kura/progress.h"
#include "ops/check.h"

namespace kura::cli {
namespace {

using Kind = ops::CheckIssueKind;

struct CheckFlags {
  bool read_data = false;
  std::string read_data_subset;
  bool with_cache = false;
  bool check_unused = false;
};

std::string join_ids(const std::vector<repo::Id>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? ", " : "") + ids[i].hex();
  return s;
}

// One line naming the object and what is wrong with it.
std::string issue_text(const Cli& cli, const ops::CheckIssue& is) {
  std::string tree = cli.tr("check.tree_where", is.id.hex(), is.snapshot.short_hex(), is.path);
  switch (is.kind) {
    case Kind::kIndexUnreadable:
      return cli.tr("check.issue.index_unreadable", is.id.hex(), is.detail);
    case Kind::kDuplicatePack:
      return cli.tr("check.issue.duplicate_pack", is.pack.hex(), join_ids(is.ids));
    case Kind::kMixedPack:
      return cli.tr("check.issue.mixed_pack", is.pack.hex());
    case Kind::kPackMissing:
      return cli.tr("check.issue.pack_missing", is.pack.hex());
    case Kind::kPackSizeMismatch:
      return cli.tr("check.issue.pack_size", is.pack.hex(), is.actual, is.expected);
    case Kind::kPackUnreferenced:
      return cli.tr("check.issue.pack_unreferenced", is.pack.hex());
    case Kind::kSnapshotUnreadable:
      return cli.tr("check.issue.snapshot_unreadable", is.id.hex(), is.detail);
    case Kind::kTreeMissing:
      return cli.tr("check.issue.tree_missing", tree);
    case Kind::kTreeUnreadable:
      return cli.tr("check.issue.tree_unreadable", tree, is.detail);
    case Kind::kFileNullContent:
      return cli.tr("check.issue.file_null_content", tree, is.name);
    case Kind::kBlobNullId:
      return cli.tr("check.issue.blob_null_id", tree, is.name, is.index);
    case Kind::kBlobNotInIndex:
      return cli.tr("check.issue.blob_not_in_index", tree, is.name, is.blob.hex());
    case Kind::kBlobInBrokenPack:
      return cli.tr("check.issue.blob_in_broken_pack", tree, is.name, is.blob.hex(), is.pack.hex());
    case Kind::kDirNoSubtree:
      return cli.tr("check.issue.dir_no_subtree", tree, is.name);
    case Kind::kDirNullSubtree:
      return cli.tr("check.issue.dir_null_subtree", tree, is.name);
    case Kind::kInvalidNodeType:
      return cli.tr("check.issue.invalid_type", tree, is.name, is.detail);
    case Kind::kEmptyName:
      return cli.tr("check.issue.empty_name", tree);
    case Kind::kPackUnreadable:
      return cli.tr("check.issue.pack_unreadable", is.pack.hex(), is.detail);
    case Kind::kPackHashMismatch:
      return cli.tr("check.issue.pack_hash", is.pack.hex(), is.blob.hex());
    case Kind::kPackIndexGaps:
      return cli.tr("check.issue.pack_gaps", is.pack.hex());
    case Kind::kPackHeaderUnreadable:
      return cli.tr("check.issue.pack_header", is.pack.hex(), is.detail);
    case Kind::kPackBlobNotInIndex:
      return cli.tr("check.issue.pack_blob_not_in_index", is.pack.hex(), is.blob.hex());
    case Kind::kIndexBlobNotInPack:
      return cli.tr("check.issue.index_blob_not_in_pack", is.pack.hex(), is.blob.hex());
    case Kind::kBlobDamaged:
      return cli.tr("check.issue.blob_damaged", is.pack.hex(), is.blob.hex(), is.detail);
  }
  return is.detail;
}

class Reporter : public ops::CheckObserver {
 public:
  Reporter(const Cli& cli, const ops::ReadDataSelection& sel, const ops::CheckProgress& progress)
      : cli_(cli), sel_(sel), progress_(progress) {}

  void on_phase(ops::CheckPhase p) override {
    end_counter();
    std::string out;
    switch (p) {
      case ops::CheckPhase::kLoadIndex:
        out = cli_.msg().get("check.phase.load_index");
        break;
      case ops::CheckPhase::kCheckPacks:
        if (duplicates_) out += cli_.msg().get("check.note.duplicate") + "\n";
        if (mixed_) out += cli_.msg().get("check.note.mixed") + "\n";
        out += cli_.msg().get("check.phase.packs");
        break;
      case ops::CheckPhase::kCheckSnapshots:
        if (unreferenced_) out += cli_.tr("check.note.unreferenced", unreferenced_) + "\n";
        out += cli_.msg().get("check.phase.snapshots");
        break;
      case ops::CheckPhase::kReadData:
        switch (sel_.mode) {
          case ops::ReadDataSelection::Mode::kBucket:
            out = cli_.tr("check.phase.read_group", sel_.bucket, progress_.packs_total.load(),
                          progress_.packs_indexed.load(), sel_.total_buckets);
            break;
          case ops::ReadDataSelection::Mode::kPercent:
            out = cli_.tr("check.phase.read_percent", sel_.percent);
            break;
          case ops::ReadDataSelection::Mode::kSize:
            out = cli_.tr("check.phase.read_size", format_bytes(sel_.size));
            break;
          default:
            out = cli_.msg().get("check.phase.read_all");
        }
        break;
    }
    {
      StatusPause pause(cli_);
      cli_.print(out + "\n");
    }
    // restic's counters: "N / M snapshots" while the trees are checked, "N / M packs" while
    // the data is read.
    if (p == ops::CheckPhase::kCheckSnapshots) {
      bar_ = counter_bar(cli_, progress_.snapshots_done, progress_.snapshots_total, "check.progress.snapshots");
    } else if (p == ops::CheckPhase::kReadData) {
      bar_ = counter_bar(cli_, progress_.packs_done, progress_.packs_total, "check.progress.packs");
    }
  }
  // Ends the current counter (leaving its last state as a line).
  void end_counter() { bar_.reset(); }

  void on_issue(const ops::CheckIssue& is) override {
    if (is.kind == Kind::kDuplicatePack) duplicates_ = true;
    if (is.kind == Kind::kMixedPack) mixed_ = true;
    if (is.kind == Kind::kPackUnreferenced) ++unreferenced_;
    std::string text = issue_text(cli_, is);
    if (cli_.g.json) {
      if (!is.error) return;  // restic's JSON output has errors only
      JsonObject j;
      j.str("message_type", "error").str("message", text);
      std::string line = j.done() + "\n";
      std::fwrite(line.data(), 1, line.size(), stderr);
      return;
    }
    StatusPause pause(cli_);
    if (is.error) {
      // Errors go to stderr even with --quiet, as restic's.
      text += "\n";
      std::fflush(stdout);
      std::fwrite(text.data(), 1, text.size(), stderr);
    } else {
      cli_.print(text + "\n");
    }
  }

  bool suggest_repair_index() const { return duplicates_; }
  bool suggest_prune() const { return mixed_ || unreferenced_ > 0; }

 private:
  const Cli& cli_;
  const ops::ReadDataSelection& sel_;
  const ops::CheckProgress& progress_;
  std::unique_ptr<ProgressPrinter> bar_;
  bool duplicates_ = false, mixed_ = false;
  uint64_t unreferenced_ = 0;
};

// The check of an open (and locked) repository, reported as kura check does; the exit code.
// `lock`, if set, is confirmed before the summary.
int check_and_report(Cli& cli, repo::Repository& repo, const ops::CheckOptions& opts,
                     repo::RepoLock* lock = nullptr) {
  ops::CheckProgress progress;
  Reporter reporter(cli, opts.read_data, progress);
  auto result = ops::run_check(repo, opts, &progress, &reporter);
  reporter.end_counter();
  if (lock) {
    base::Status confirmed = lock->confirm();
    if (!confirmed.ok()) return cli.fail(confirmed.with_context(cli.msg().get("err.lock")));
  }
  if (!result.ok()) return cli.fail(result.status());

  if (cli.g.json) {
    JsonObject j;
    j.str("message_type", "summary").num("num_errors", result->errors);
    if (result->broken_packs.empty()) {
      j.raw("broken_packs", "null");
    } else {
      std::string packs = "[";
      for (size_t i = 0; i < result->broken_packs.size(); ++i) {
        packs += (i ? "," : "") + json_string(result->broken_packs[i].hex());
      }
      j.raw("broken_packs", packs + "]");
    }
    j.boolean("suggest_repair_index", reporter.suggest_repair_index() || result->index_damaged);
    j.boolean("suggest_prune", reporter.suggest_prune());
    cli.print_data(j.done() + "\n");
  }
  if (result->index_damaged) return cli.fail(base::data_loss(cli.msg().get("check.fatal_index")));
  if (!result->ok()) return cli.fail(base::data_loss(cli.msg().get("check.fatal")));
  cli.print(cli.msg().get("check.no_errors") + "\n");
  return kExitOk;
}

int run(Cli& cli, const CheckFlags& f) {
  ops::CheckOptions opts;
  if (f.read_data && !f.read_data_subset.empty()) {
    return cli.fail(base::invalid_argument(cli.msg().get("check.err_both")));
  }
  if (f.read_data) opts.read_data.mode = ops::ReadDataSelection::Mode::kAll;
  if (!f.read_data_subset.empty()) {
    auto sel = ops::parse_read_data_subset(f.read_data_subset);
    if (!sel.ok())
      return cli.fail(base::invalid_argument(cli.tr("check.err_subset", f.read_data_subset)));
    opts.read_data = *sel;
  }
  opts.threads = cli.g.threads;

  auto temp_cache = f.with_cache ? nullptr : use_temporary_cache(cli);
  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  if (!cli.g.no_lock) cli.print(cli.msg().get("check.lock") + "\n");
  // check only reads, so it starts while the lock's second look is pending.
  auto lock = cli.lock(**r, true, /*confirm_later=*/true);
  if (!lock.ok()) return cli.fail(lock.status());

  return check_and_report(cli, **r, opts, lock->get());
}

}  // namespace

int check_repository(Cli& cli, repo::Repository& repo) {
  ops::CheckOptions opts;
  opts.threads = cli.g.threads;
  return check_and_report(cli, repo, opts);
}

void add_check_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("check", cli.msg().get("cmd.check"));
  auto f = std::make_shared<CheckFlags>();
  cmd->add_flag("--read-data", f->read_data, cli.msg().get("check.flag_read_data"));
  cmd->add_option("--read-data-subset", f->read_data_subset,
                  cli.msg().get("check.flag_read_data_subset"));
  cmd->add_flag("--with-cache", f->with_cache, cli.msg().get("check.flag_with_cache"));
  // Deprecated (and ignored) by restic 0.14; accepted so that scripts keep working.
  cmd->add_flag("--check-unused", f->check_unused, cli.msg().get("check.flag_check_unused"))
      ->group("");
  cmd->callback([&cli, f] { exit_code() = run(cli, *f); });
}

}  // namespace kura::cli
