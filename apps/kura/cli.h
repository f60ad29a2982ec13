// Shared plumbing of the kura commands: global flags, messages (ja/en catalogs), password
// and repository handling, output modes (text, --json, --quiet) and number formatting.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "backend/backend.h"
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
  std::string password_file;
  std::string password_command;
  std::string cacert;
  std::string tls_client_cert;
  bool json = false;
  bool quiet = false;
  int verbose = 0;
  bool no_lock = false;
  bool no_cache = false;  // accepted for restic compatibility; kura keeps no cache yet
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

  bool stdout_is_tty() const { return stdout_tty_; }
  bool show_progress() const { return stdout_tty_ && !g.quiet && !g.json; }
  // Normal output (suppressed by --quiet and --json).
  void print(const std::string& s) const;
  // Always printed to stdout (the data a command was asked for).
  void print_data(const std::string& s) const;
  void verbose(const std::string& s) const;
  void error(const std::string& s) const;  // "kura: <s>" on stderr
  // Prints a fatal error for st and returns kExitFatal.
  int fail(const base::Status& st) const;

  base::StatusOr<std::string> password(bool new_repo);
  base::StatusOr<std::unique_ptr<backend::Backend>> open_backend();
  // Opens the repository named by -r / KURA_REPOSITORY / RESTIC_REPOSITORY.
  base::StatusOr<std::unique_ptr<repo::Repository>> open_repo();
  // A lock (none with --no-lock). Keep it alive for the whole operation.
  base::StatusOr<std::unique_ptr<repo::RepoLock>> lock(repo::Repository& r, bool exclusive);
  repo::LockOwner owner() const;
  repo::WriteOptions write_options() const;
  std::string hostname() const;
  std::string username() const;

  backend::Backend* backend() const { return backend_.get(); }

 private:
  std::unique_ptr<base::Messages> messages_;
  std::unique_ptr<backend::Backend> backend_;
  bool stdout_tty_ = false;
};

std::string format_bytes(uint64_t n);     // "1.234 MiB", as restic prints sizes
std::string format_duration(double secs);  // "1:02" or "1:02:03"
// Local time "2006-01-02 15:04:05" for tables.
std::string format_local_time(int64_t sec, int32_t offset);

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
void add_forget_command(CLI::App& app, Cli& cli);
void add_prune_command(CLI::App& app, Cli& cli);
void add_stats_command(CLI::App& app, Cli& cli);
void add_cat_command(CLI::App& app, Cli& cli);
void add_key_command(CLI::App& app, Cli& cli);
void add_unlock_command(CLI::App& app, Cli& cli);
void add_version_command(CLI::App& app, Cli& cli);
// tag, list, rebuild-index, recover, migrate, copy (apps/kura/repocmds.cc).
void add_repocmds_commands(CLI::App& app, Cli& cli);

// The exit code a command's handler set.
int& exit_code();

}  // namespace kura::cli
