// The kura command line as a function: main() runs it on the process's arguments; tests run
// commands in-process against their own Env and capture what they print.
#include "apps/kura/app.h"

#include <spdlog/spdlog.h>

#include <cstdlib>

#include "apps/kura/profile.h"
#include "base/log.h"

namespace kura::cli {
namespace {

// The first word that is neither a global option (nor its value) nor a known command, so
// "kura bakup" says what it did not understand.
std::string unknown_command(CLI::App& app, int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") break;
    if (a.size() > 1 && a[0] == '-') {
      if (a.find('=') != std::string::npos) continue;
      const CLI::Option* o = app.get_option_no_throw(a);
      if (o && o->get_expected_min() > 0) ++i;
      continue;
    }
    for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      if (sub->check_name(a)) return "";
    }
    return a;
  }
  return "";
}

const char* first_env(const char* kura_name, const char* restic_name) {
  for (const char* n : {kura_name, restic_name}) {
    const char* v = std::getenv(n);
    if (v && *v) return v;
  }
  return nullptr;
}

// The defaults restic takes from RESTIC_COMPRESSION and RESTIC_PACK_SIZE (KURA_* first). As in
// restic, a value it cannot parse is ignored; a pack size out of range fails when the
// repository is opened (Cli::check_pack_size).
void env_defaults(GlobalOptions& g) {
  if (const char* c = first_env("KURA_COMPRESSION", "RESTIC_COMPRESSION")) {
    std::string v = c;
    if (v == "auto" || v == "off" || v == "max") g.compression = v;
  }
  if (const char* p = first_env("KURA_PACK_SIZE", "RESTIC_PACK_SIZE")) {
    std::string v = p;
    bool digits = !v.empty() && v.size() <= 10 && v.find_first_not_of("0123456789") == std::string::npos;
    if (digits && std::stoull(v) <= 0xffffffffULL) g.pack_size_mib = std::stoull(v);
  }
}

}  // namespace

int run_kura(Cli& cli, int argc, const char* const* argv) {
  exit_code() = kExitOk;
  CLI::App app{cli.msg().get("app.description"), "kura"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", std::string("kura ") + KURA_VERSION);
  auto& g = cli.g;
  env_defaults(g);
  app.add_option("-r,--repo", g.repo, cli.msg().get("flag.repo"))->envname("KURA_REPOSITORY");
  app.add_option("--repository-file", g.repository_file, cli.msg().get("flag.repository_file"));
  app.add_option("--key-hint", g.key_hint, cli.msg().get("flag.key_hint"));
  app.add_option("-o,--option", g.options, cli.msg().get("flag.option"))->allow_extra_args(false);
  app.add_option("--limit-upload", g.limit_upload_kib, cli.msg().get("flag.limit_upload"));
  app.add_option("--limit-download", g.limit_download_kib, cli.msg().get("flag.limit_download"));
  app.add_flag("--insecure-tls", g.insecure_tls, cli.msg().get("flag.insecure_tls"));
  app.add_option("-p,--password-file", g.password_file, cli.msg().get("flag.password_file"));
  app.add_option("--password-command", g.password_command, cli.msg().get("flag.password_command"));
  app.add_flag("--json", g.json, cli.msg().get("flag.json"));
  app.add_flag("-q,--quiet", g.quiet, cli.msg().get("flag.quiet"));
  app.add_flag("-v,--verbose", g.verbose, cli.msg().get("flag.verbose"));
  app.add_flag("--no-lock", g.no_lock, cli.msg().get("flag.no_lock"));
  app.add_flag("--no-cache", g.no_cache, cli.msg().get("cache.flag_no_cache"));
  app.add_option("--cache-dir", g.cache_dir, cli.msg().get("cache.flag_cache_dir"));
  app.add_flag("--cleanup-cache", g.cleanup_cache, cli.msg().get("cache.flag_cleanup_cache"));
  app.add_option("--cacert", g.cacert, cli.msg().get("flag.cacert"));
  app.add_option("--tls-client-cert", g.tls_client_cert, cli.msg().get("flag.tls_client_cert"));
  app.add_option("--profile", g.profile, cli.msg().get("profile.flag_profile"))->envname("KURA_PROFILE");
  app.add_option("--compression", g.compression, cli.msg().get("flag.compression"))
      ->check(CLI::IsMember({"auto", "off", "max"}));
  app.add_option("--pack-size", g.pack_size_mib, cli.msg().get("flag.pack_size"));
  app.add_option("--threads", g.threads, cli.msg().get("flag.threads"))->check(CLI::Range(0, 256));
  app.add_option("--connections", g.connections, cli.msg().get("flag.connections"))
      ->check(CLI::Range(1, 64));
  app.parse_complete_callback([&] {
    // init_logging registers the logger "kura", which spdlog refuses twice in one process
    // (a second run_kura, as the tests do).
    spdlog::drop("kura");
    base::init_logging(g.quiet ? base::LogLevel::kQuiet
                       : g.verbose >= 2 ? base::LogLevel::kDebug
                       : g.verbose == 1 ? base::LogLevel::kVerbose
                                        : base::LogLevel::kNormal);
  });

  add_init_command(app, cli);
  add_backup_command(app, cli);
  add_snapshots_command(app, cli);
  add_restore_command(app, cli);
  add_ls_command(app, cli);
  add_find_command(app, cli);
  add_dump_command(app, cli);
  add_diff_command(app, cli);
  add_check_command(app, cli);
  add_forget_command(app, cli);
  add_prune_command(app, cli);
  add_stats_command(app, cli);
  add_cat_command(app, cli);
  add_key_command(app, cli);
  add_unlock_command(app, cli);
  add_version_command(app, cli);
  add_generate_command(app, cli);
  add_help_command(app, cli);
  add_mount_command(app, cli);
  add_cache_command(app, cli);
  add_repocmds_commands(app, cli);
  add_enroll_command(app, cli);
  add_profile_command(app, cli);

  // "--tag a --tag b", never "--tag a b": a repeated flag takes one value per use, so that
  // "backup --tag t1 src" backs up src (as restic's flags behave).
  std::function<void(CLI::App*)> one_value_per_flag = [&](CLI::App* a) {
    for (CLI::Option* opt : a->get_options()) {
      if (opt->nonpositional() && opt->get_items_expected_max() > 1) opt->allow_extra_args(false);
    }
    for (CLI::App* sub : a->get_subcommands([](CLI::App*) { return true; })) one_value_per_flag(sub);
  };
  one_value_per_flag(&app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Usage errors are fatal errors like any other: exit code 1 (restic's too).
    std::string unknown = unknown_command(app, argc, argv);
    cli.error(unknown.empty() ? cli.tr("err.usage", e.what()) : cli.tr("err.unknown_command", unknown));
    return kExitFatal;
  }
  return exit_code();
}

}  // namespace kura::cli
