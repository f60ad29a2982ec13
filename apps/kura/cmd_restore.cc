// kura restore
#include "apps/kura/cli.h"
#include "apps/kura/json_out.h"
#include "apps/kura/progress.h"
#include "ops/restore.h"
#include "ops/snapshots.h"

namespace kura::cli {
namespace {

struct RestoreFlags {
  std::string snapshot;
  std::string target;
  std::vector<std::string> includes, excludes, iincludes, iexcludes;
  ops::SnapshotFilter filter;
  bool verify = false;
};

class ErrorPrinter : public ops::RestoreObserver {
 public:
  explicit ErrorPrinter(const Cli& cli) : cli_(cli) {}
  void on_error(const std::string& path, const base::Status& st) override {
    std::lock_guard<std::mutex> l(mu_);
    if (cli_.g.json) {
      JsonObject o;
      o.str("message_type", "error").str("error", st.message()).str("during", "restore").str("item", path);
      cli_.print_data(o.done() + "\n");
    } else {
      cli_.error(cli_.tr("restore.error", path, st.message()));
    }
  }

 private:
  const Cli& cli_;
  std::mutex mu_;
};

int run(Cli& cli, RestoreFlags& f) {
  if (f.target.empty()) return cli.fail(base::invalid_argument(cli.msg().get("err.no_target")));
  ops::Filter include, exclude;
  for (const auto& p : f.includes) if (auto st = include.add(p, false); !st.ok()) return cli.fail(st);
  for (const auto& p : f.iincludes) if (auto st = include.add(p, true); !st.ok()) return cli.fail(st);
  for (const auto& p : f.excludes) if (auto st = exclude.add(p, false); !st.ok()) return cli.fail(st);
  for (const auto& p : f.iexcludes) if (auto st = exclude.add(p, true); !st.ok()) return cli.fail(st);

  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  auto lock = cli.lock(**r, false);
  if (!lock.ok()) return cli.fail(lock.status());
  if (auto st = (*r)->load_index(); !st.ok()) return cli.fail(st);
  auto sn = ops::find_snapshot(**r, f.snapshot, f.filter);
  if (!sn.ok()) return cli.fail(sn.status());
  cli.print(cli.tr("restore.start", sn->id.short_hex(), f.target) + "\n");

  ops::RestoreOptions o;
  o.target = f.target;
  o.include = include.empty() ? nullptr : &include;
  o.exclude = exclude.empty() ? nullptr : &exclude;
  o.verify = f.verify;
  o.threads = cli.g.threads;
  ops::RestoreProgress progress;
  ErrorPrinter errors(cli);
  ProgressPrinter printer(cli, [&](double elapsed, bool json) {
    if (json) {
      JsonObject j;
      double pct = progress.total_bytes ? static_cast<double>(progress.bytes_done) / progress.total_bytes : 0;
      j.str("message_type", "status").num("seconds_elapsed", static_cast<uint64_t>(elapsed)).dbl("percent_done", pct)
          .num("total_files", progress.total_files).num("files_restored", progress.files_done)
          .num("total_bytes", progress.total_bytes).num("bytes_restored", progress.bytes_done);
      return j.done();
    }
    return progress_line(cli, elapsed, progress.files_done, progress.bytes_done, progress.total_files,
                         progress.total_bytes, 0, true);
  });
  auto res = ops::run_restore(**r, *cli.env, sn->sn.tree, o, &progress, &errors);
  printer.stop();
  if (!res.ok()) return cli.fail(res.status());
  double elapsed = printer.elapsed();
  if (cli.g.json) {
    JsonObject j;
    j.str("message_type", "summary").num("seconds_elapsed", static_cast<uint64_t>(elapsed)).num("total_files", res->total_files)
        .num("files_restored", res->files).num("total_bytes", res->bytes).num("bytes_restored", res->bytes)
        .num("errors", res->errors.size());
    if (f.verify) j.num("files_verified", res->verified_files);
    cli.print_data(j.done() + "\n");
  } else {
    double rate = elapsed > 0 ? static_cast<double>(res->bytes) / elapsed : 0;
    cli.print(cli.tr("restore.done", res->files, res->dirs, format_bytes(res->bytes), format_duration(elapsed),
                     format_bytes(static_cast<uint64_t>(rate))) + "\n");
    if (f.verify) cli.print(cli.tr("restore.verified", res->verified_files) + "\n");
  }
  if (!res->errors.empty()) {
    cli.error(cli.tr("restore.failed", res->errors.size()));
    return kExitFatal;
  }
  return kExitOk;
}

}  // namespace

void add_restore_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("restore", cli.msg().get("cmd.restore"));
  auto f = std::make_shared<RestoreFlags>();
  cmd->add_option("snapshot", f->snapshot, cli.msg().get("arg.snapshot"))->required();
  cmd->add_option("-t,--target", f->target, cli.msg().get("flag.target"));
  cmd->add_option("-i,--include", f->includes, cli.msg().get("flag.include"));
  cmd->add_option("--iinclude", f->iincludes, cli.msg().get("flag.iinclude"));
  cmd->add_option("-e,--exclude", f->excludes, cli.msg().get("flag.restore_exclude"));
  cmd->add_option("--iexclude", f->iexcludes, cli.msg().get("flag.iexclude"));
  cmd->add_option("-H,--host", f->filter.hosts, cli.msg().get("flag.filter_host"));
  cmd->add_option("--path", f->filter.paths, cli.msg().get("flag.filter_path"));
  cmd->add_option("--tag", f->filter.tags, cli.msg().get("flag.filter_tag"));
  cmd->add_flag("--verify", f->verify, cli.msg().get("flag.verify"));
  cmd->callback([&cli, f] { exit_code() = run(cli, *f); });
}

}  // namespace kura::cli
