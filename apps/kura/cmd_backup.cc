// kura backup
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <ctime>

#include "apps/kura/cli.h"
#include "apps/kura/json_out.h"
#include "apps/kura/progress.h"
#include "ops/backup.h"
#include "ops/prune.h"
#include "ops/targets.h"
#include "repo/snapshot.h"

namespace kura::cli {
namespace {

struct BackupFlags {
  std::vector<std::string> paths;
  std::vector<std::string> excludes, iexcludes, exclude_files, iexclude_files;
  std::vector<std::string> files_from, files_from_verbatim, files_from_raw, exclude_if_present;
  std::string exclude_larger_than, time;
  bool one_file_system = false, exclude_caches = false, force = false, dry_run = false;
  bool with_atime = false, use_stdin = false, ignore_inode = false, ignore_ctime = false;
  bool use_fs_snapshot = false;
  int read_concurrency = 0;
  std::vector<std::string> tags;
  std::string host, parent, stdin_filename = "stdin";
};

// Go's encoding of an error value, which restic puts in its JSON error messages: an
// *os.PathError is {"Op":..,"Path":..,"Err":errno}; anything wrapped is {}.
std::string go_error_json(const std::string& message) {
  // Listing a directory fails inside restic's wrappers: no fields.
  if (message.rfind("open directory ", 0) == 0 || message.rfind("read directory ", 0) == 0) return "{}";
  for (std::string_view op : {"open ", "lstat ", "read ", "stat "}) {
    if (message.rfind(op, 0) != 0) continue;
    size_t colon = message.rfind(": ");
    if (colon == std::string::npos || colon <= op.size()) break;
    std::string reason = message.substr(colon + 2);
    JsonObject o;
    o.str("Op", std::string(op.substr(0, op.size() - 1)))
        .str("Path", message.substr(op.size(), colon - op.size()));
    for (int e = 1; e < 134; ++e) {
      if (reason == std::strerror(e)) return o.num("Err", static_cast<uint64_t>(e)).done();
    }
    return o.raw("Err", "{}").done();  // an error Go does not spell out (no errno)
  }
  return "{}";
}

// The same error as restic's text prints it: Go's lower-case errno text, and a folder that
// cannot be opened as "Open: open <path>: ..." (restic wraps fs.Open's error).
std::string go_error_text(const std::string& message) {
  std::string m = message;
  size_t colon = m.rfind(": ");
  if (colon != std::string::npos && colon + 3 < m.size() && std::isupper(static_cast<unsigned char>(m[colon + 2])) &&
      std::islower(static_cast<unsigned char>(m[colon + 3]))) {
    m[colon + 2] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[colon + 2])));
  }
  if (m.rfind("open directory ", 0) == 0) return "Open: open " + m.substr(15);
  return m;
}

class ErrorPrinter : public ops::BackupObserver {
 public:
  explicit ErrorPrinter(const Cli& cli) : cli_(cli) {}
  void on_error(const std::string& path, const base::Status& st) override {
    std::lock_guard<std::mutex> l(mu_);
    if (cli_.g.json) {
      // As restic: an object on stderr, so stdout stays the status and summary stream.
      JsonObject o;
      o.str("message_type", "error").raw("error", go_error_json(st.message()))
          .str("during", "archival").str("item", path);
      std::fflush(stdout);
      std::string line = o.done() + "\n";
      std::fwrite(line.data(), 1, line.size(), stderr);
    } else {
      StatusPause pause(cli_);
      cli_.notice(cli_.tr("backup.error", go_error_text(st.message())));
    }
  }
  void on_scan_error(const std::string& path, const base::Status& st) override {
    std::lock_guard<std::mutex> l(mu_);
    if (cli_.g.json) {
      JsonObject o;
      o.str("message_type", "error").raw("error", go_error_json(st.message()))
          .str("during", "scan").str("item", path);
      std::fflush(stdout);
      std::string line = o.done() + "\n";
      std::fwrite(line.data(), 1, line.size(), stderr);
    } else if (cli_.g.verbose > 0 && !cli_.g.quiet) {
      StatusPause pause(cli_);
      cli_.verbose(cli_.tr("backup.v.scan_error", st.message()) + "\n");
    }
  }
  void on_scan_finished(double seconds, uint64_t files, uint64_t bytes) override {
    std::lock_guard<std::mutex> l(mu_);
    if (cli_.g.json || cli_.g.verbose == 0 || cli_.g.quiet) return;
    StatusPause pause(cli_);
    cli_.verbose(cli_.tr("backup.v.scan_finished", fmt::format("{:.3f}", seconds), files, format_bytes(bytes)) +
                 "\n");
  }
  void on_warning(const std::string& message) override {
    std::lock_guard<std::mutex> l(mu_);
    StatusPause pause(cli_);
    cli_.error(message);
  }
  // restic's -vv: one line (or JSON verbose_status object) per file and folder saved.
  void on_item(const ops::BackupItem& item) override {
    using Change = ops::BackupItem::Change;
    static constexpr const char* kActions[] = {"new", "modified", "unchanged"};
    const char* action = kActions[static_cast<int>(item.change)];
    std::lock_guard<std::mutex> l(mu_);
    if (cli_.g.json) {
      JsonObject o;
      o.str("message_type", "verbose_status").str("action", action).str("item", item.path)
          .dbl("duration", item.seconds).num("data_size", item.data_size)
          .num("data_size_in_repo", item.data_stored).num("metadata_size", item.metadata_size)
          .num("metadata_size_in_repo", item.metadata_stored).num("total_files", 0);
      std::string line = o.done() + "\n";
      std::fwrite(line.data(), 1, line.size(), stdout);
      return;
    }
    StatusPause pause(cli_);
    const bool dir = !item.path.empty() && item.path.back() == '/';
    std::string line;
    if (item.change == Change::kUnchanged) {
      line = cli_.tr("backup.vv.unchanged", item.path);
    } else if (dir) {
      line = cli_.tr(item.change == Change::kNew ? "backup.vv.dir_new" : "backup.vv.dir_modified",
                     item.path, fmt::format("{:.3f}", item.seconds), format_bytes(item.data_size),
                     format_bytes(item.data_stored), format_bytes(item.metadata_stored));
    } else {
      line = cli_.tr(item.change == Change::kNew ? "backup.vv.file_new" : "backup.vv.file_modified",
                     item.path, fmt::format("{:.3f}", item.seconds), format_bytes(item.data_size));
    }
    cli_.verbose(line + "\n");
  }

 private:
  const Cli& cli_;
  std::mutex mu_;
};

// Reads a target list named by a --files-from* flag; "-" is standard input.
base::StatusOr<std::string> read_list(Cli& cli, std::string_view flag, const std::string& file) {
  if (file != "-") {
    ASSIGN_OR_RETURN(base::Bytes data, ops::read_flag_file(*cli.env, flag, file));
    return std::string(data.begin(), data.end());
  }
  ASSIGN_OR_RETURN(auto in, base::open_stdin());
  std::string text;
  uint8_t buf[65536];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, in->read(buf));
    if (n == 0) break;
    text.append(reinterpret_cast<const char*>(buf), n);
  }
  return text;
}

// restic's collectTargets: the lists (patterns expanded), then the arguments; missing ones
// are warned about and dropped; none left is an error.
base::StatusOr<std::vector<std::string>> collect_targets(Cli& cli, const BackupFlags& f) {
  std::vector<std::string> targets;
  for (const auto& file : f.files_from) {
    ASSIGN_OR_RETURN(std::string text, read_list(cli, "--files-from", file));
    for (const auto& pattern : ops::files_from_patterns(text)) {
      ASSIGN_OR_RETURN(auto expanded, ops::glob_paths(*cli.env, pattern));
      if (expanded.empty()) cli.notice(cli.tr("backup.pattern_no_match", ops::go_quoted(pattern)));
      targets.insert(targets.end(), expanded.begin(), expanded.end());
    }
  }
  for (const auto& file : f.files_from_verbatim) {
    ASSIGN_OR_RETURN(std::string text, read_list(cli, "--files-from-verbatim", file));
    auto lines = ops::files_from_verbatim(text);
    targets.insert(targets.end(), lines.begin(), lines.end());
  }
  for (const auto& file : f.files_from_raw) {
    ASSIGN_OR_RETURN(std::string data, read_list(cli, "--files-from-raw", file));
    ASSIGN_OR_RETURN(auto names, ops::files_from_raw(data));
    targets.insert(targets.end(), names.begin(), names.end());
  }
  targets.insert(targets.end(), f.paths.begin(), f.paths.end());
  if (targets.empty()) return base::invalid_argument(cli.msg().get("err.no_paths"));
  std::vector<std::string> existing;
  for (const auto& t : targets) {
    auto info = cli.env->lstat(t);
    if (!info.ok() && info.status().code() == base::Code::kNotFound) {
      cli.notice(cli.tr("backup.target_missing", t));
      continue;
    }
    existing.push_back(t);
  }
  if (existing.empty()) return base::not_found(cli.msg().get("backup.all_targets_missing"));
  return existing;
}

// --time: "2006-01-02 15:04:05" in local time, as restic parses it.
base::StatusOr<int64_t> parse_backup_time(const Cli& cli, const std::string& s) {
  std::tm tm{};
  const char* end = ::strptime(s.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
  if (!end || *end != '\0' || s.size() != 19) {
    return base::invalid_argument(cli.tr("backup.bad_time", s));
  }
  tm.tm_isdst = -1;
  std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return base::invalid_argument(cli.tr("backup.bad_time", s));
  return static_cast<int64_t>(t);
}

// restic pads the sizes in its summary to 5 columns ("0 B   (0 B   stored)").
std::string pad5(std::string s) {
  if (s.size() < 5) s.resize(5, ' ');
  return s;
}

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

// restic's option checks, before anything is read.
base::Status check_flags(const Cli& cli, const BackupFlags& f) {
  if (!f.use_stdin) return base::ok_status();
  for (const auto& [flag, files] : {std::pair{"--files-from", &f.files_from},
                                    std::pair{"--files-from-verbatim", &f.files_from_verbatim},
                                    std::pair{"--files-from-raw", &f.files_from_raw}}) {
    if (!files->empty()) return base::invalid_argument(cli.tr("backup.stdin_and_list", flag));
  }
  if (!f.paths.empty()) return base::invalid_argument(cli.msg().get("err.stdin_and_paths"));
  return base::ok_status();
}

base::Status fill_filter(Cli& cli, const BackupFlags& f, ops::Filter& filter, ops::BackupOptions& o) {
  for (const auto& p : f.excludes) RETURN_IF_ERROR(filter.add(p, false));
  for (const auto& p : f.iexcludes) RETURN_IF_ERROR(filter.add(p, true));
  for (const auto& file : f.exclude_files) RETURN_IF_ERROR(filter.add_file(*cli.env, file, false));
  for (const auto& file : f.iexclude_files) RETURN_IF_ERROR(filter.add_file(*cli.env, file, true));
  o.excludes = &filter;
  if (f.exclude_caches) o.exclude_if_present.push_back(ops::cachedir_tag_rule());
  for (const auto& spec : f.exclude_if_present) {
    ASSIGN_OR_RETURN(auto rule, ops::parse_exclude_if_present(spec));
    o.exclude_if_present.push_back(std::move(rule));
  }
  if (!f.exclude_larger_than.empty()) {
    auto size = ops::parse_size(f.exclude_larger_than);
    if (!size.ok()) return size.status().with_context("--exclude-larger-than");
    o.exclude_larger_than = *size;
  }
  return base::ok_status();
}

std::string status_json(ops::BackupProgress& p, double elapsed) {
  // restic omits the counters that are still zero.
  JsonObject j;
  j.str("message_type", "status");
  auto secs = static_cast<uint64_t>(elapsed);
  if (secs) j.num("seconds_elapsed", secs);
  uint64_t total = p.total_bytes, done = p.bytes_done;
  if (p.scan_done && done > 0 && done < total) {
    auto remaining = static_cast<uint64_t>(static_cast<double>(secs) / static_cast<double>(done) *
                                           static_cast<double>(total - done));
    if (remaining) j.num("seconds_remaining", remaining);
  }
  j.dbl("percent_done", total ? static_cast<double>(done) / static_cast<double>(total) : 0);
  auto opt = [&](const char* k, uint64_t v) {
    if (v) j.num(k, v);
  };
  opt("total_files", p.total_files);
  opt("files_done", p.files_done);
  opt("total_bytes", total);
  opt("bytes_done", done);
  opt("error_count", p.errors);
  std::lock_guard<std::mutex> l(p.current_mu);
  if (!p.current_files.empty()) {
    std::string files = "[";
    for (const auto& f : p.current_files) files += (files.size() > 1 ? "," : "") + json_string(f);
    j.raw("current_files", files + "]");
  }
  return j.done();
}

int run(Cli& cli, BackupFlags& f) {
  if (auto st = check_flags(cli, f); !st.ok()) return cli.fail(st);
  ops::Filter filter;
  ops::BackupOptions o;
  if (auto st = fill_filter(cli, f, filter, o); !st.ok()) return cli.fail(st);
  if (f.use_fs_snapshot) cli.error(cli.msg().get("backup.no_fs_snapshot"));
  if (!f.time.empty()) {
    auto t = parse_backup_time(cli, f.time);
    if (!t.ok()) return cli.fail(t.status());
    o.time = *t;
  }
  if (!f.use_stdin) {
    auto targets = collect_targets(cli, f);
    if (!targets.ok()) return cli.fail(targets.status());
    o.targets = std::move(*targets);
  }

  o.tags = split_tags(f.tags);
  o.hostname = f.host.empty() ? cli.hostname() : f.host;
  o.username = cli.username();
  o.uid = ::getuid();
  o.gid = ::getgid();
  o.one_file_system = f.one_file_system;
  o.ignore_inode = f.ignore_inode;
  o.ignore_ctime = f.ignore_ctime;
  o.force = f.force;
  o.dry_run = f.dry_run;
  o.with_atime = f.with_atime;
  o.threads = f.read_concurrency > 0 ? f.read_concurrency : cli.g.threads;
  // The count ahead also gives -v its "scan finished" line, and the status printed as lines
  // (RESTIC_PROGRESS_FPS without a terminal) its totals and files being read.
  o.scan_totals = cli.show_progress() || cli.g.json || cli.g.verbose > 0 || (!cli.g.quiet && progress_fps() > 0);
  o.report_items = cli.g.verbose >= 2 && !cli.g.quiet;
  std::unique_ptr<base::ReadableFile> in;
  if (f.use_stdin) {
    auto s = base::open_stdin();
    if (!s.ok()) return cli.fail(s.status());
    in = std::move(*s);
    o.stdin_file = in.get();
    o.stdin_filename = f.stdin_filename;
  }
  o.load_index = true;

  bool text_verbose = !cli.g.json;
  if (text_verbose) cli.verbose(cli.msg().get("backup.v.open") + "\n");
  // The file system scan starts once the password is known, while the key is derived and
  // the repository opens (and the index loads, inside run).
  ops::BackupProgress progress;
  ErrorPrinter errors(cli);
  ops::BackupRun backup(*cli.env, o, &progress, &errors);
  auto r = cli.open_repo([&backup] { backup.start_prescan(); });
  if (!r.ok()) return cli.fail(r.status());
  if (text_verbose && !cli.g.no_lock) cli.verbose(cli.msg().get("backup.v.lock") + "\n");
  auto lock = cli.lock(**r, false);
  if (!lock.ok()) return cli.fail(lock.status());
  if (text_verbose) cli.verbose(cli.msg().get("backup.v.load_index") + "\n");
  if (!f.parent.empty()) {
    auto id = (*r)->find_id(backend::FileKind::kSnapshot, f.parent);
    if (!id.ok()) return cli.fail(id.status().with_context("--parent"));
    o.parent = *id;
  }

  if (text_verbose) {
    // Go's %v of the target list: "[a b]".
    std::string list = "[";
    const std::vector<std::string> stdin_target{"/" + f.stdin_filename};
    for (const auto& t : f.use_stdin ? stdin_target : o.targets) list += (list.size() > 1 ? " " : "") + t;
    list += "]";
    if (f.use_stdin) cli.verbose(cli.msg().get("backup.v.stdin") + "\n");
    cli.verbose(cli.tr("backup.v.start_scan", list) + "\n");
    cli.verbose(cli.tr("backup.v.start_backup", list) + "\n");
  }
  ProgressPrinter printer(cli, [&](double elapsed, bool json) {
    if (json) return status_json(progress, elapsed);
    // restic's status: the line, then the files being read (sorted), one per line.
    std::string s = progress_line(cli, elapsed, progress.files_done, progress.bytes_done, progress.total_files,
                                  progress.total_bytes, progress.errors, progress.scan_done);
    std::lock_guard<std::mutex> l(progress.current_mu);
    for (const auto& file : progress.current_files) s += "\n" + file;
    return s;
  });
  // restic's scan of --stdin finds one file of a size it cannot know.
  if (f.use_stdin) errors.on_scan_finished(0, 1, 0);
  auto result = backup.run(**r);
  printer.stop();
  if (!result.ok()) return cli.fail(result.status());
  const ops::BackupStats& s = result->stats;
  double elapsed = printer.elapsed();
  // A dry run has no snapshot file; restic names the one it would have written.
  repo::Id id = f.dry_run ? repo::hash_id(repo::encode_snapshot(result->snapshot)) : result->snapshot_id;
  if (cli.g.json) {
    JsonObject j;
    j.str("message_type", "summary").num("files_new", s.files_new).num("files_changed", s.files_changed)
        .num("files_unmodified", s.files_unmodified).num("dirs_new", s.dirs_new)
        .num("dirs_changed", s.dirs_changed).num("dirs_unmodified", s.dirs_unmodified)
        .num("data_blobs", s.data_blobs).num("tree_blobs", s.tree_blobs).num("data_added", s.data_added)
        .num("total_files_processed", s.total_files_processed)
        .num("total_bytes_processed", s.total_bytes_processed).dbl("total_duration", elapsed)
        .str("snapshot_id", id.short_hex());
    if (f.dry_run) j.boolean("dry_run", true);
    cli.print_data(j.done() + "\n");
  } else {
    std::string out;
    if (!f.use_stdin) {
      out += result->parent ? cli.tr("backup.using_parent", result->parent->short_hex())
                            : cli.msg().get("backup.no_parent");
      out += "\n";
    }
    out += "\n" + cli.tr("backup.files", s.files_new, s.files_changed, s.files_unmodified) + "\n";
    out += cli.tr("backup.dirs", s.dirs_new, s.dirs_changed, s.dirs_unmodified) + "\n";
    if (cli.g.verbose > 0) {
      out += cli.tr("backup.v.data_blobs", s.data_blobs) + "\n";
      out += cli.tr("backup.v.tree_blobs", s.tree_blobs) + "\n";
    }
    out += cli.tr(f.dry_run ? "backup.would_add" : "backup.added", pad5(format_bytes(s.data_added)),
                  pad5(format_bytes(s.data_added_packed))) + "\n\n";
    out += cli.tr("backup.processed", s.total_files_processed, format_bytes(s.total_bytes_processed),
                  format_duration(elapsed)) + "\n";
    if (!f.dry_run) out += cli.tr("backup.saved", result->snapshot_id.short_hex()) + "\n";
    cli.print(out);
  }
  if (!result->errors.empty()) {
    cli.notice(cli.msg().get("backup.incomplete"));
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
  cmd->add_option("--files-from-verbatim", f->files_from_verbatim, cli.msg().get("backup.flag_files_from_verbatim"));
  cmd->add_option("--files-from-raw", f->files_from_raw, cli.msg().get("backup.flag_files_from_raw"));
  cmd->add_option("--exclude-if-present", f->exclude_if_present, cli.msg().get("backup.flag_exclude_if_present"));
  cmd->add_option("--exclude-larger-than", f->exclude_larger_than, cli.msg().get("backup.flag_exclude_larger_than"));
  cmd->add_flag("-x,--one-file-system", f->one_file_system, cli.msg().get("flag.one_file_system"));
  cmd->add_flag("--exclude-caches", f->exclude_caches, cli.msg().get("flag.exclude_caches"));
  cmd->add_option("--tag", f->tags, cli.msg().get("flag.tag"));
  cmd->add_option("-H,--host", f->host, cli.msg().get("flag.host"));
  cmd->add_option("--parent", f->parent, cli.msg().get("flag.parent"));
  cmd->add_flag("-f,--force", f->force, cli.msg().get("flag.force"));
  cmd->add_flag("-n,--dry-run", f->dry_run, cli.msg().get("flag.dry_run"));
  cmd->add_flag("--with-atime", f->with_atime, cli.msg().get("flag.with_atime"));
  cmd->add_flag("--ignore-inode", f->ignore_inode, cli.msg().get("backup.flag_ignore_inode"));
  cmd->add_flag("--ignore-ctime", f->ignore_ctime, cli.msg().get("backup.flag_ignore_ctime"));
  cmd->add_option("--time", f->time, cli.msg().get("backup.flag_time"));
  cmd->add_option("--read-concurrency", f->read_concurrency, cli.msg().get("backup.flag_read_concurrency"))
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--use-fs-snapshot", f->use_fs_snapshot, cli.msg().get("backup.flag_use_fs_snapshot"));
  cmd->add_flag("--stdin", f->use_stdin, cli.msg().get("flag.stdin"));
  cmd->add_option("--stdin-filename", f->stdin_filename, cli.msg().get("flag.stdin_filename"));
  cmd->callback([&cli, f] { exit_code() = run(cli, *f); });
}

}  // namespace kura::cli
