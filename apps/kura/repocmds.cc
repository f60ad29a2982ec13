#include "apps/kura/repocmds.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "ops/filter.h"

namespace kura::cli {
namespace {

std::string first_line(std::string s) {
  size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  while (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

base::StatusOr<std::string> run_command(const Cli& cli, const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return base::internal_error(cli.tr("repocmds.err.password_command", cmd, -1));
  std::string out;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  if (rc != 0) return base::invalid_argument(cli.tr("repocmds.err.password_command", cmd, rc));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

base::StatusOr<std::string> prompt(const Cli& cli, const std::string& text) {
  if (!::isatty(STDIN_FILENO)) return base::invalid_argument(cli.msg().get("repocmds.err.no_from_password"));
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (!tty) return base::invalid_argument(cli.msg().get("repocmds.err.no_from_password"));
  std::fputs(text.c_str(), tty);
  std::fflush(tty);
  int fd = fileno(tty);
  struct termios old;
  bool restore = tcgetattr(fd, &old) == 0;
  if (restore) {
    struct termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string line;
  int c;
  while ((c = std::fgetc(tty)) != EOF && c != '\n') line += static_cast<char>(c);
  if (restore) tcsetattr(fd, TCSAFLUSH, &old);
  std::fputs("\n", tty);
  std::fclose(tty);
  return first_line(line);
}

// restic's resolvePassword + ReadPassword for the secondary repository.
base::StatusOr<std::string> secondary_password(const Cli& cli, const SecondaryRepoFlags& f,
                                               const std::string& prefix) {
  if (!f.password_file.empty() && !f.password_command.empty()) {
    return base::invalid_argument(cli.msg().get("repocmds.err.password_file_and_command"));
  }
  std::string pw;
  if (!f.password_command.empty()) {
    ASSIGN_OR_RETURN(pw, run_command(cli, f.password_command));
  } else if (!f.password_file.empty()) {
    ASSIGN_OR_RETURN(base::Bytes data, ops::read_flag_file(*cli.env, "--from-password-file", f.password_file));
    pw = first_line(std::string(data.begin(), data.end()));
  } else if (const char* env = std::getenv("RESTIC_FROM_PASSWORD")) {
    pw = env;
  }
  if (!pw.empty()) return pw;
  ASSIGN_OR_RETURN(pw, prompt(cli, cli.tr("repocmds.prompt.from_password", cli.msg().get("repocmds.prefix." + prefix)) + " "));
  if (pw.empty()) return base::invalid_argument(cli.msg().get("repocmds.err.empty_from_password"));
  return pw;
}

}  // namespace

void add_snapshot_filter_flags(CLI::App* cmd, const Cli& cli, ops::SnapshotFilter& filter) {
  cmd->add_option("-H,--host", filter.hosts, cli.msg().get("repocmds.flag.host"))->allow_extra_args(false);
  cmd->add_option("--tag", filter.tags, cli.msg().get("repocmds.flag.tag"))->allow_extra_args(false);
  cmd->add_option("--path", filter.paths, cli.msg().get("repocmds.flag.path"))->allow_extra_args(false);
}

void report_selection(const Cli& cli, const ops::SnapshotSelection& sel) {
  for (const auto& s : sel.skipped) cli.error(cli.tr("select.ignoring", s.ref, s.error.message()));
  for (const auto& u : sel.unreadable) {
    cli.error(cli.tr("warn.snapshot_unreadable", u.id.short_hex(), u.error.message()));
  }
  if (sel.filter_ignored) cli.error(cli.msg().get("select.filters_ignored"));
}

base::StatusOr<std::unique_ptr<repo::RepoLock>> lock_repo(Cli& cli, repo::Repository& r, bool exclusive) {
  if (!cli.g.no_lock) {
    cli.print(cli.msg().get(exclusive ? "repocmds.lock_exclusive" : "repocmds.lock") + "\n");
  }
  return cli.lock(r, exclusive);
}

void add_secondary_repo_flags(CLI::App* cmd, const Cli& cli, SecondaryRepoFlags& f,
                              const std::string& repo_usage) {
  cmd->add_option("--from-repo", f.repo, cli.tr("repocmds.flag.from_repo", repo_usage))
      ->envname("RESTIC_FROM_REPOSITORY");
  cmd->add_option("--from-repository-file", f.repository_file,
                  cli.tr("repocmds.flag.from_repository_file", repo_usage))
      ->envname("RESTIC_FROM_REPOSITORY_FILE");
  cmd->add_option("--from-password-file", f.password_file, cli.msg().get("repocmds.flag.from_password_file"))
      ->envname("RESTIC_FROM_PASSWORD_FILE");
  cmd->add_option("--from-password-command", f.password_command,
                  cli.msg().get("repocmds.flag.from_password_command"))
      ->envname("RESTIC_FROM_PASSWORD_COMMAND");
  cmd->add_option("--from-key-hint", f.key_hint, cli.msg().get("repocmds.flag.from_key_hint"))
      ->envname("RESTIC_FROM_KEY_HINT");
}

bool has_secondary_repo(const SecondaryRepoFlags& f) {
  return !f.repo.empty() || !f.repository_file.empty();
}

base::StatusOr<SecondaryRepo> open_secondary_repo(Cli& cli, const SecondaryRepoFlags& f,
                                                  const std::string& prefix) {
  if (!has_secondary_repo(f)) return base::invalid_argument(cli.msg().get("repocmds.err.no_from_repo"));
  if (!f.repo.empty() && !f.repository_file.empty()) {
    return base::invalid_argument(cli.msg().get("repocmds.err.from_repo_and_file"));
  }
  std::string location = f.repo;
  if (location.empty()) {
    ASSIGN_OR_RETURN(base::Bytes data, ops::read_flag_file(*cli.env, "--from-repository-file", f.repository_file));
    location = first_line(std::string(data.begin(), data.end()));
    while (!location.empty() && (location.back() == ' ' || location.back() == '\t')) location.pop_back();
  }
  ASSIGN_OR_RETURN(std::string pw, secondary_password(cli, f, prefix));
  SecondaryRepo out;
  // The main repository's backend options (TLS, connections) apply to this one too.
  std::string saved = cli.g.repo;
  cli.g.repo = location;
  auto be = cli.open_backend();
  cli.g.repo = saved;
  if (!be.ok()) return be.status();
  out.backend = std::move(*be);
  ASSIGN_OR_RETURN(out.repo, repo::Repository::open(out.backend.get(), pw));
  out.repo->set_write_options(cli.write_options());
  return out;
}

}  // namespace kura::cli

namespace kura::cli {

std::unique_ptr<ProgressPrinter> counter_bar(const Cli& cli, const std::atomic<uint64_t>& done,
                                             const std::atomic<uint64_t>& total, std::string unit_key) {
  if (!cli.show_progress()) return nullptr;
  auto render = [&cli, &done, &total, unit_key](double elapsed, bool) {
    uint64_t d = done.load(), t = total.load();
    std::string head = "[" + format_duration(elapsed) + "] ";
    if (t == 0) return head + cli.tr(unit_key + "_count", d);
    double pct = std::min(100.0, 100.0 * static_cast<double>(d) / static_cast<double>(t));
    return head + fmt::format("{:.2f}%  ", pct) + cli.tr(unit_key, d, t);
  };
  return std::make_unique<ProgressPrinter>(cli, render);
}

}  // namespace kura::cli

namespace kura::cli {

base::StatusOr<uint64_t> chunker_polynomial_from(Cli& cli, bool copy, const SecondaryRepoFlags& f) {
  if (!copy) {
    if (has_secondary_repo(f)) return base::invalid_argument(cli.msg().get("repocmds.err.secondary_without_copy"));
    return uint64_t{0};
  }
  ASSIGN_OR_RETURN(SecondaryRepo other, open_secondary_repo(cli, f, "secondary"));
  return other.repo->config().chunker_polynomial;
}

}  // namespace kura::cli

namespace kura::cli {

void add_repocmds_commands(CLI::App& app, Cli& cli) {
  add_tag_command(app, cli);
  add_list_command(app, cli);
  add_rebuild_index_command(app, cli);
  add_recover_command(app, cli);
  add_migrate_command(app, cli);
  add_copy_command(app, cli);
}

}  // namespace kura::cli
