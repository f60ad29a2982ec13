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
    ASSIGN_OR_RETURN(pw, read_password_file(*cli.env, f.use_legacy ? "--password-file2" : "--from-password-file",
                                            f.password_file));
  } else if (const char* env = std::getenv(f.use_legacy ? "RESTIC_PASSWORD2" : "RESTIC_FROM_PASSWORD")) {
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
  // restic 0.13's names, hidden as restic 0.14 hides them. Their variables are read in
  // resolve_secondary() so that only the command line draws the deprecation notice.
  auto legacy = [&](const char* name, std::string& into, const char* deprecated) {
    auto* o = cmd->add_option(name, into)->group("");
    if (deprecated != nullptr) {
      o->each([&f, name, deprecated](const std::string&) {
        f.deprecated_given.emplace_back(name, deprecated);
      });
    }
  };
  legacy("--repo2", f.legacy.repo, "repocmds.deprecated.repo2");
  legacy("--repository-file2", f.legacy.repository_file, "repocmds.deprecated.repository_file2");
  legacy("--password-file2", f.legacy.password_file, nullptr);
  legacy("--password-command2", f.legacy.password_command, nullptr);
  legacy("--key-hint2", f.legacy.key_hint, nullptr);
}

bool has_secondary_repo(const SecondaryRepoFlags& f) { return f.has_location() || f.legacy.has_location(); }

base::Status resolve_secondary(const Cli& cli, SecondaryRepoFlags& f) {
  for (const auto& [flag, advice] : f.deprecated_given) {
    cli.error(cli.tr("repocmds.flag_deprecated", flag, cli.msg().get(advice)));
  }
  f.deprecated_given.clear();
  auto from_env = [](std::string& v, const char* var) {
    if (const char* e = std::getenv(var); v.empty() && e != nullptr) v = e;
  };
  from_env(f.legacy.repo, "RESTIC_REPOSITORY2");
  from_env(f.legacy.repository_file, "RESTIC_REPOSITORY_FILE2");
  from_env(f.legacy.password_file, "RESTIC_PASSWORD_FILE2");
  from_env(f.legacy.password_command, "RESTIC_PASSWORD_COMMAND2");
  from_env(f.legacy.key_hint, "RESTIC_KEY_HINT2");
  const SecondaryRepoNames& l = f.legacy;
  if (f.any() && l.any()) return base::invalid_argument(cli.msg().get("repocmds.err.both_groups"));
  if (l.any()) {
    if (!l.repo.empty() && !l.repository_file.empty()) {
      return base::invalid_argument(cli.msg().get("repocmds.err.repo2_and_file"));
    }
    static_cast<SecondaryRepoNames&>(f) = l;
    f.use_legacy = true;
  }
  return base::ok_status();
}

base::StatusOr<SecondaryRepo> open_secondary_repo(Cli& cli, const SecondaryRepoFlags& f,
                                                  const std::string& prefix) {
  if (!has_secondary_repo(f)) return base::invalid_argument(cli.msg().get("repocmds.err.no_from_repo"));
  if (!f.repo.empty() && !f.repository_file.empty()) {
    return base::invalid_argument(cli.msg().get("repocmds.err.from_repo_and_file"));
  }
  std::string location = f.repo;
  if (location.empty()) {
    ASSIGN_OR_RETURN(base::Bytes data,
                     ops::read_flag_file(*cli.env, f.use_legacy ? "--repository-file2" : "--from-repository-file",
                                         f.repository_file));
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

base::StatusOr<uint64_t> chunker_polynomial_from(Cli& cli, bool copy, SecondaryRepoFlags& f) {
  RETURN_IF_ERROR(resolve_secondary(cli, f));
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
