// Shared plumbing of the kura commands: global flags, messages (ja/en catalogs), password
// and repository handling, output modes (text, --json, --quiet) and number formatting.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/rest_backend.h"
#include "base/env.h"
#include "base/i18n.h"
#include "repo/lock.h"
#include "repo/repository.h"

namespace kura::cli {

// Exit codes, as restic's.
constexpr int kExitOk = 0;
constexpr int kExitFatal = 1;
constexpr int kExitIncomplete = 3;  // snapshot created, but some source files were unreadable

struct GlobalOptions {
  std::string repo;
  std::string repository_file;  // restic's --repository-file: the repository named in a file
  std::string key_hint;         // key file (id prefix) to try first
  std::vector<std::string> options;  // -o key=value (restic's extended options)
  uint64_t limit_upload_kib = 0;     // KiB/s, 0: unlimited
  uint64_t limit_download_kib = 0;
  bool insecure_tls = false;
  std::string password_file;
  std::string password_command;
  std::string cacert;
  std::string tls_client_cert;
  std::string profile;  // --profile / KURA_PROFILE: an enrollment profile (profile.h)
  bool json = false;
  bool quiet = false;
  int verbose = 0;
  bool no_lock = false;
  bool no_cache = false;
  std::string cache_dir;  // empty: repo::default_cache_dir()
  bool cleanup_cache = false;
  std::string compression = "auto";
  uint64_t pack_size_mib = 16;
  int threads = 0;
  int connections = 5;
};

class Cli {
 public:
  Cli();

  GlobalOptions g;
  base::Env* env = base::posix_env();

  const base::Messages& msg() const { return *messages_; }
  template <typename... Args>
  std::string tr(std::string_view key, Args&&... args) const {
    return messages_->format(key, std::forward<Args>(args)...);
  }

  // restic's limits on --pack-size (and RESTIC_PACK_SIZE), checked when a repository opens.
  base::Status check_pack_size() const;
  bool stdout_is_tty() const { return stdout_tty_; }
  bool show_progress() const { return stdout_tty_ && !g.quiet && !g.json; }
  // Normal output (suppressed by --quiet and --json).
  void print(const std::string& s) const;
  // Always printed to stdout (the data a command was asked for).
  void print_data(const std::string& s) const;
  void verbose(const std::string& s) const;
  void error(const std::string& s) const;  // "kura: <s>" on stderr
  // <s> on stderr as it is: the warnings restic prints without a prefix while a command goes
  // on ("error: open x: permission denied", "x does not exist, skipping").
  void notice(const std::string& s) const;
  // Prints a fatal error for st and returns kExitFatal.
  int fail(const base::Status& st) const;

  // The repository password as restic finds it: --password-command or --password-file (and
  // their environment variables; both at once is an error), else KURA_PASSWORD /
  // RESTIC_PASSWORD, else read_password (read_password_twice for a new repository).
  base::StatusOr<std::string> password(bool new_repo);
  // Typed at the terminal, or the first line of stdin when it is not one; empty is an error.
  base::StatusOr<std::string> read_password(const std::string& prompt);
  // As restic's ReadPasswordTwice: asked twice (and compared) only on a terminal.
  base::StatusOr<std::string> read_password_twice(const std::string& prompt, const std::string& again);
  base::StatusOr<std::unique_ptr<backend::Backend>> open_backend();
  // Opens the repository named by -r / KURA_REPOSITORY / RESTIC_REPOSITORY. `password_known`,
  // if set, runs once the password is in hand, before the key's scrypt (work that can
  // overlap it: backup scans the file system meanwhile).
  base::StatusOr<std::unique_ptr<repo::Repository>> open_repo(const std::function<void()>& password_known = {});
  // Reads and writes r through the local cache unless --no-cache (cmd_cache.cc).
  void attach_cache(repo::Repository& r);
  // A lock (none with --no-lock). Keep it alive for the whole operation.
  // confirm_later: see repo::RepoLock::acquire (for commands that only read).
  // Makes the lock's destructor say so on stderr when its file cannot be removed.
  void warn_if_lock_stays(repo::RepoLock& lock) const;
  base::StatusOr<std::unique_ptr<repo::RepoLock>> lock(repo::Repository& r, bool exclusive,
                                                       bool confirm_later = false);
  repo::LockOwner owner() const;
  repo::WriteOptions write_options() const;
  std::string hostname() const;
  std::string username() const;

  backend::Backend* backend() const { return backend_.get(); }

 private:
  // -r / --repository-file (and their environment variables), as restic's ReadRepo.
  base::StatusOr<std::string> repository_spec();
  // Checks the -o options meant for this backend ("rest", "local") and applies them.
  base::Status apply_extended_options(std::string_view scheme, backend::RestOptions* rest);
  // From the command, file or environment; "" when none gave one.
  base::StatusOr<std::string> resolve_password();

  std::unique_ptr<base::Messages> messages_;
  std::unique_ptr<backend::Backend> backend_;
  bool stdout_tty_ = false;
};

// restic's options.Parse: "key=value" (or "key"), keys lowercased, both sides trimmed; an
// empty key, or one key given twice with different values, is an error.
base::StatusOr<std::map<std::string, std::string>> parse_extended_options(
    const base::Messages& msg, const std::vector<std::string>& options);

std::string format_bytes(uint64_t n);     // "1.234 MiB", as restic prints sizes
std::string format_duration(double secs);  // "1:02" or "1:02:03"
// Local time "2006-01-02 15:04:05" for tables.
std::string format_local_time(int64_t sec, int32_t offset);

// A temporary cache folder, removed with everything in it when this goes away.
struct TempCacheDir {
  base::Env* env;
  std::string path;
  ~TempCacheDir();
};
// check without --with-cache: a fresh cache in a temporary folder (none with --no-cache, or
// if it cannot be made), as restic's check.
std::unique_ptr<TempCacheDir> use_temporary_cache(Cli& cli);

// Registers each command's flags and handler on the app.
void add_init_command(CLI::App& app, Cli& cli);
void add_backup_command(CLI::App& app, Cli& cli);
void add_snapshots_command(CLI::App& app, Cli& cli);
void add_restore_command(CLI::App& app, Cli& cli);
void add_ls_command(CLI::App& app, Cli& cli);
void add_find_command(CLI::App& app, Cli& cli);
void add_dump_command(CLI::App& app, Cli& cli);
void add_diff_command(CLI::App& app, Cli& cli);
void add_check_command(CLI::App& app, Cli& cli);
// A full check of an open, locked repository, printed as `kura check` prints it (migrate
// runs it first, as restic's does); kExitOk when no error was found.
int check_repository(Cli& cli, repo::Repository& repo);
void add_forget_command(CLI::App& app, Cli& cli);
void add_prune_command(CLI::App& app, Cli& cli);
void add_stats_command(CLI::App& app, Cli& cli);
void add_cat_command(CLI::App& app, Cli& cli);
void add_key_command(CLI::App& app, Cli& cli);
void add_unlock_command(CLI::App& app, Cli& cli);
void add_version_command(CLI::App& app, Cli& cli);
void add_generate_command(CLI::App& app, Cli& cli);
void add_help_command(CLI::App& app, Cli& cli);
void add_mount_command(CLI::App& app, Cli& cli);
void add_cache_command(CLI::App& app, Cli& cli);
// tag, list, rebuild-index, recover, migrate, copy (apps/kura/repocmds.cc).
void add_repocmds_commands(CLI::App& app, Cli& cli);

// The exit code a command's handler set.
int& exit_code();

}  // namespace kura::cli
