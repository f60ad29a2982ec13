// kura backup
#include <unistd.h>

#include "apps/kura/cli.h"
#include "apps/kura/json_out.h"
#include "apps/kura/progress.h"
#include "ops/backup.h"

namespace kura::cli {
namespace {

struct BackupFlags {
  std::vector<std::string> paths;
  std::vector<std::string> excludes, iexcludes, exclude_files, iexclude_files, files_from;
  bool one_file_system = false, exclude_caches = false, force = false, dry_run = false;
  bool with_atime = false, use_stdin = false;
  std::vector<std::string> tags;
  std::string host, parent, stdin_filename = "stdin";
};

class ErrorPrinter : public ops::BackupObserver {
 public:
  explicit ErrorPrinter(const Cli& cli) : cli_(cli) {}
  void on_error(const std::string& path, const base::Status& st) override {
    std::lock_guard<std::mutex> l(mu_);
    if (cli_.g.json) {
      JsonObject o;
      o.str("message_type", "error").str("error", st.message()).str("during", "archival").str("item", path);
      cli_.print_data(o.done() + "\n");
    } else {
      if (cli_.show_progress()) std::fputs("\r\033[K", stdout);
      cli_.error(cli_.tr("backup.error", st.message()));
    }
  }

 private:
  const Cli& cli_;
  std::mutex mu_;
};

std::vector<std::string> split_tags(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& t : in) {
    size_t i = 0;
    while (i <= t.size()) {
      size_t j = t.find(',', i);
      if (j == std::string::npos) j = t.size();
      if (j > i) out.push_back(t.substr(i, j - i));
      i = j + 1;
    }
  }
  return out;
}

int run(Cli& cli, BackupFlags& f) {
  ops::Filter filter;
  for (const auto& p : f.excludes) {
    if (auto st = filter.add(p, false); !st.ok()) return cli.fail(st);
  }
  for (const auto& p : f.iexcludes) {
    if (auto st = filter.add(p, true); !st.ok()) return cli.fail(st);
  }
  for (const auto& file : f.exclude_files) {
    if (auto st = filter.add_file(*cli.env, file, false); !st.ok()) return cli.fail(st);
  }
  for (const auto& file : f.iexclude_files) {
    if (auto st = filter.add_file(*cli.env, file, true); !st.ok()) return cli.fail(st);
  }
  std::vector<std::string> targets = f.paths;
  for (const auto& file : f.files_from) {
    auto data = ops::read_flag_file(*cli.env, "--files-from", file);
    if (!data.ok()) return cli.fail(data.status());
    std::string text(data->begin(), data->end());
    size_t i = 0;
    while (i < text.size()) {
      size_t j = text.find('\n', i);
      if (j == std::string::npos) j = text.size();
      std::string line = text.substr(i, j - i);
      i = j + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty() && line[0] != '#') targets.push_back(line);
    }
  }
  if (!f.use_stdin && targets.empty()) return cli.fail(base::invalid_argument(cli.msg().get("err.no_paths")));
  if (f.use_stdin && !targets.empty()) return cli.fail(base::invalid_argument(cli.msg().get("err.stdin_and_paths")));
  // Fail early and clearly on a target that does not exist (restic does too).
  for (const auto& t : targets) {
    auto info = cli.env->lstat(t);
    if (!info.ok()) return cli.fail(info.status().with_context(cli.msg().get("err.backup_target")));
  }

  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  auto lock = cli.lock(**r, false);
  if (!lock.ok()) return cli.fail(lock.status());
  if (auto st = (*r)->load_index(); !st.ok()) return cli.fail(st);

  ops::BackupOptions o;
  o.targets = targets;
  o.excludes = &filter;
  o.one_file_system = f.one_file_system;
  o.exclude_caches = f.exclude_caches;
  o.tags = split_tags(f.tags);
  o.hostname = f.host.empty() ? cli.hostname() : f.host;
  o.username = cli.username();
  o.uid = ::getuid();
  o.gid = ::getgid();
  o.force = f.force;
  o.dry_run = f.dry_run;
  o.with_atime = f.with_atime;
  o.threads = cli.g.threads;
  std::unique_ptr<base::ReadableFile> in;
  if (f.use_stdin) {
    auto s = base::open_stdin();
    if (!s.ok()) return cli.fail(s.status());
    in = std::move(*s);
    o.stdin_file = in.get();
    o.stdin_filename = f.stdin_filename;
  }
  if (!f.parent.empty()) {
    auto id = (*r)->find_id(backend::FileKind::kSnapshot, f.parent);
    if (!id.ok()) return cli.fail(id.status().with_context("--parent"));
    o.parent = *id;
  }

  ops::BackupProgress progress;
  ErrorPrinter errors(cli);
  ProgressPrinter printer(cli, [&](double elapsed, bool json) {
    if (json) {
      JsonObject j;
      double pct = progress.total_bytes ? static_cast<double>(progress.bytes_done) / progress.total_bytes : 0;
      j.str("message_type", "status").num("seconds_elapsed", static_cast<uint64_t>(elapsed))
          .dbl("percent_done", pct > 1 ? 1 : pct).num("total_files", progress.total_files)
          .num("files_done", progress.files_done).num("total_bytes", progress.total_bytes)
          .num("bytes_done", progress.bytes_done).num("error_count", progress.errors);
      return j.done();
    }
    return progress_line(cli, elapsed, progress.files_done, progress.bytes_done, progress.total_files,
                         progress.total_bytes, progress.errors, progress.scan_done);
  });
  auto result = ops::run_backup(**r, *cli.env, o, &progress, &errors);
  printer.stop();
  if (!result.ok()) return cli.fail(result.status());
  const ops::BackupStats& s = result->stats;
  double elapsed = printer.elapsed();
  if (cli.g.json) {
    JsonObject j;
    j.str("message_type", "summary").num("files_new", s.files_new).num("files_changed", s.files_changed)
        .num("files_unmodified", s.files_unmodified).num("dirs_new", s.dirs_new)
        .num("dirs_changed", s.dirs_changed).num("dirs_unmodified", s.dirs_unmodified)
        .num("data_blobs", s.data_blobs).num("tree_blobs", s.tree_blobs).num("data_added", s.data_added)
        .num("data_added_packed", s.data_added_packed)
        .num("total_files_processed", s.total_files_processed)
        .num("total_bytes_processed", s.total_bytes_processed).dbl("total_duration", elapsed);
    if (!f.dry_run) j.str("snapshot_id", result->snapshot_id.hex());
    if (f.dry_run) j.boolean("dry_run", true);
    cli.print_data(j.done() + "\n");
  } else {
    std::string out;
    if (result->parent) out += cli.tr("backup.using_parent", result->parent->short_hex()) + "\n";
    out += cli.tr("backup.files", s.files_new, s.files_changed, s.files_unmodified) + "\n";
    out += cli.tr("backup.dirs", s.dirs_new, s.dirs_changed, s.dirs_unmodified) + "\n";
    out += cli.tr(f.dry_run ? "backup.would_add" : "backup.added", format_bytes(s.data_added),
                  format_bytes(s.data_added_packed)) + "\n\n";
    out += cli.tr("backup.processed", s.total_files_processed, format_bytes(s.total_bytes_processed),
                  format_duration(elapsed)) + "\n";
    if (!f.dry_run) out += cli.tr("backup.saved", result->snapshot_id.short_hex()) + "\n";
    cli.print(out);
  }
  if (!result->errors.empty()) {
    cli.error(cli.tr("backup.incomplete", result->errors.size()));
    return kExitIncomplete;
  }
  return kExitOk;
}

}  // namespace

void add_backup_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("backup", cli.msg().get("cmd.backup"));
  auto f = std::make_shared<BackupFlags>();
  cmd->add_option("paths", f->paths, cli.msg().get("arg.backup_paths"));
  cmd->add_option("-e,--exclude", f->excludes, cli.msg().get("flag.exclude"));
  cmd->add_option("--iexclude", f->iexcludes, cli.msg().get("flag.iexclude"));
  cmd->add_option("--exclude-file", f->exclude_files, cli.msg().get("flag.exclude_file"));
  cmd->add_option("--iexclude-file", f->iexclude_files, cli.msg().get("flag.iexclude_file"));
  cmd->add_option("--files-from", f->files_from, cli.msg().get("flag.files_from"));
  cmd->add_flag("-x,--one-file-system", f->one_file_system, cli.msg().get("flag.one_file_system"));
  cmd->add_flag("--exclude-caches", f->exclude_caches, cli.msg().get("flag.exclude_caches"));
  cmd->add_option("--tag", f->tags, cli.msg().get("flag.tag"));
  cmd->add_option("-H,--host", f->host, cli.msg().get("flag.host"));
  cmd->add_option("--parent", f->parent, cli.msg().get("flag.parent"));
  cmd->add_flag("-f,--force", f->force, cli.msg().get("flag.force"));
  cmd->add_flag("-n,--dry-run", f->dry_run, cli.msg().get("flag.dry_run"));
  cmd->add_flag("--with-atime", f->with_atime, cli.msg().get("flag.with_atime"));
  cmd->add_flag("--stdin", f->use_stdin, cli.msg().get("flag.stdin"));
  cmd->add_option("--stdin-filename", f->stdin_filename, cli.msg().get("flag.stdin_filename"));
  cmd->callback([&cli, f] { exit_code() = run(cli, *f); });
}

}  // namespace kura::cli
