// Pieces shared by the repository commands (tag, list, rebuild-index, recover, migrate, copy,
// and init's --from-repo): snapshot filter flags, selection warnings, and the second
// repository of copy and init (--from-repo and friends, restic's secondary repository).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "apps/kura/cli.h"
#include "ops/snapshots.h"

namespace kura::cli {

// Each in its cmd_<name>.cc; registered together by add_repocmds_commands.
void add_tag_command(CLI::App& app, Cli& cli);
void add_list_command(CLI::App& app, Cli& cli);
void add_rebuild_index_command(CLI::App& app, Cli& cli);
void add_recover_command(CLI::App& app, Cli& cli);
void add_migrate_command(CLI::App& app, Cli& cli);
void add_copy_command(CLI::App& app, Cli& cli);

// -H/--host, --tag, --path, restic's "only consider snapshots ... when no snapshot ID is given".
void add_snapshot_filter_flags(CLI::App* cmd, const Cli& cli, ops::SnapshotFilter& filter);

// Warnings for refs that matched nothing, unreadable snapshots and ignored filters.
void report_selection(const Cli& cli, const ops::SnapshotSelection& sel);

// Takes the lock (printing restic's "create [exclusive] lock for repository" first).
base::StatusOr<std::unique_ptr<repo::RepoLock>> lock_repo(Cli& cli, repo::Repository& r, bool exclusive);

// restic's "from" repository flags (copy's source, init's --copy-chunker-params), and
// restic 0.13's hidden, deprecated "2" group (--repo2, --repository-file2, --password-file2,
// --password-command2, --key-hint2, RESTIC_REPOSITORY2 ...). With copy, --repo2 names the
// DESTINATION (the -r repository is then the source), as in restic 0.14.
struct SecondaryRepoNames {
  std::string repo, repository_file, password_file, password_command, key_hint;
  bool has_location() const { return !repo.empty() || !repository_file.empty(); }
  bool any() const {
    return has_location() || !password_file.empty() || !password_command.empty() || !key_hint.empty();
  }
};
struct SecondaryRepoFlags : SecondaryRepoNames {
  SecondaryRepoNames legacy;
  // Deprecated flags given on the command line, with the catalog key of their advice
  // (restic names them on stderr).
  std::vector<std::pair<std::string, std::string>> deprecated_given;
  // Set by resolve_secondary(): the legacy group was used.
  bool use_legacy = false;
};
void add_secondary_repo_flags(CLI::App* cmd, const Cli& cli, SecondaryRepoFlags& f,
                              const std::string& repo_usage);

// An opened secondary repository with the backend it lives on.
struct SecondaryRepo {
  std::unique_ptr<backend::Backend> backend;
  std::unique_ptr<repo::Repository> repo;
};
// Opens it: the location from --from-repo or --from-repository-file (or the RESTIC_FROM_*
// variables), the password from --from-password-command, --from-password-file,
// RESTIC_FROM_PASSWORD, or a prompt on a terminal. `prefix`: "source" or "secondary".
base::StatusOr<SecondaryRepo> open_secondary_repo(Cli& cli, const SecondaryRepoFlags& f,
                                                  const std::string& prefix);
// Whether any location for a secondary repository was given.
bool has_secondary_repo(const SecondaryRepoFlags& f);
// Picks the group that was given (refusing both at once, as restic does) and, for the
// legacy group, copies it into the main fields so the rest reads one set.
base::Status resolve_secondary(const Cli& cli, SecondaryRepoFlags& f);

}  // namespace kura::cli

#include <atomic>

#include "apps/kura/progress.h"

namespace kura::cli {

}  // namespace kura::cli

namespace kura::cli {

// init --copy-chunker-params: the polynomial of the --from-repo repository (0 without the
// flag). A secondary repository without the flag is an error, as in restic.
base::StatusOr<uint64_t> chunker_polynomial_from(Cli& cli, bool copy, SecondaryRepoFlags& f);

}  // namespace kura::cli
