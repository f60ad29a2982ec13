#include "apps/kura/repocmds.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "apps/kura/password.h"
#include "ops/filter.h"

namespace kura::cli {
namespace {

// restic's resolvePassword + ReadPassword for the secondary repository.
base::StatusOr<std::string> secondary_password(Cli& cli, const SecondaryRepoFlags& f,
                                               const std::string& prefix) {
  if (!f.password_file.empty() && !f.password_command.empty()) {
    return base::invalid_argument(cli.msg().get("repocmds.err.password_file_and_command"));
  }
  // The same rules as the main repository's password (apps/kura/password.h), so a file that
  // opens a repository as --password-file opens it as --from-password-file too.
  std::string pw;
  if (!f.password_command.empty()) {
    ASSIGN_OR_RETURN(pw, run_password_command(cli.msg(), f.password_command));
  } else if (!f.password_file.empty()) {
    ASSIGN_OR_RETURN(pw, read_password_file(*cli.env, "--from-password-file", f.password_file));
  } else if (const char* env = std::getenv("RESTIC_FROM_PASSWORD")) {
    pw = env;
  }
  if (!pw.empty()) return pw;
  auto typed = cli.read_password(
      cli.tr("repocmds.prompt.from_password", cli.msg().get("repocmds.prefix." + prefix)) + " ");
  if (!typed.ok()) {
    return base::invalid_argument(cli.msg().get(::isatty(STDIN_FILENO) ? "repocmds.err.empty_from_password"
                                                                       : "repocmds.err.no_from_password"));
  }
  return typed;
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
    location = go_trim_space(decode_text(data));
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
  ASSIGN_OR_RETURN(out.repo, repo::Repository::open(out.backend.get(), pw, {}, f.key_hint));
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
