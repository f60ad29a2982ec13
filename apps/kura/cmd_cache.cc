// kura cache, and the local cache's part in opening a repository (--cache-dir, --no-cache,
// --cleanup-cache) and in check (a temporary cache unless --with-cache), as restic 0.14.
#include <random>

#include "apps/kura/cli.h"
#include "backend/backend.h"
#include "base/clock.h"
#include "repo/cache.h"

namespace kura::cli {
namespace {

struct CacheFlags {
  bool cleanup = false;
  unsigned max_age_days = 30;
  bool no_size = false;
};

base::StatusOr<std::string> cache_base(const Cli& cli) {
  if (!cli.g.cache_dir.empty()) return cli.g.cache_dir;
  return repo::default_cache_dir();
}

void remove_dirs(const Cli& cli, const std::string& base,
                 const std::vector<repo::CacheDirInfo>& dirs) {
  for (const auto& d : dirs) {
    std::string p = base::path_join(base, d.name);
    base::Status st = cli.env->remove_all(p);
    if (!st.ok()) cli.error(cli.tr("cache.warn_remove", p, st.message()));
  }
}

// Columns padded to their widths, two spaces apart, trailing blanks cut (restic's table).
std::string table_line(const std::vector<std::string>& cells, const std::vector<size_t>& widths) {
  std::string s;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i) s += "  ";
    s += cells[i];
    if (cells[i].size() < widths[i]) s.append(widths[i] - cells[i].size(), ' ');
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s + "\n";
}

int cleanup(Cli& cli, const std::string& base, const CacheFlags& f) {
  int64_t now = base::system_clock()->now().sec;
  auto old = repo::old_cache_dirs(*cli.env, base, now, int64_t{f.max_age_days} * 24 * 3600);
  if (!old.ok()) return cli.fail(old.status());
  if (old->empty()) {
    cli.print(cli.msg().get("cache.no_old") + "\n");
    return kExitOk;
  }
  cli.print(cli.tr("cache.remove_old", old->size()) + "\n");
  remove_dirs(cli, base, *old);
  return kExitOk;
}

int run(Cli& cli, const CacheFlags& f, const std::vector<std::string>& args) {
  if (!args.empty()) return cli.fail(base::invalid_argument(cli.msg().get("cache.err_args")));
  if (cli.g.no_cache) return cli.fail(base::invalid_argument(cli.msg().get("cache.err_disabled")));
  auto base = cache_base(cli);
  if (!base.ok()) return cli.fail(base.status());
  if (f.cleanup || cli.g.cleanup_cache) return cleanup(cli, *base, f);

  auto dirs = repo::list_cache_dirs(*cli.env, *base);
  if (!dirs.ok()) return cli.fail(dirs.status());
  if (dirs->empty()) {
    cli.print_data(cli.tr("cache.none", *base) + "\n");
    return kExitOk;
  }
  int64_t now = base::system_clock()->now().sec;
  int64_t max_age = int64_t{f.max_age_days} * 24 * 3600;
  std::vector<std::vector<std::string>> rows;
  rows.push_back({cli.msg().get("cache.col_id"), cli.msg().get("cache.col_last"),
                  cli.msg().get("cache.col_old")});
  if (!f.no_size) rows[0].push_back(cli.msg().get("cache.col_size"));
  for (const auto& d : *dirs) {
    std::vector<std::string> row;
    row.push_back(backend::is_valid_name(d.name) ? d.name.substr(0, 10) : d.name);
    row.push_back(cli.tr("cache.days_ago", std::max<int64_t>(0, now - d.mtime_sec) / 86400));
    row.push_back(d.mtime_sec <= now - max_age ? cli.msg().get("cache.yes") : "");
    if (!f.no_size) {
      auto size = repo::dir_size(*cli.env, base::path_join(*base, d.name));
      if (!size.ok()) return cli.fail(size.status());
      row.push_back(fmt::format("{:>11}", format_bytes(*size)));
    }
    rows.push_back(std::move(row));
  }
  std::vector<size_t> widths(rows[0].size());
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  size_t total = 2 * (widths.size() - 1);
  for (size_t w : widths) total += w;
  std::string sep(total, '-');
  std::string out = table_line(rows[0], widths) + sep + "\n";
  for (size_t i = 1; i < rows.size(); ++i) out += table_line(rows[i], widths);
  out += sep + "\n";
  cli.print_data(out);
  cli.print_data(cli.tr("cache.summary", dirs->size(), *base) + "\n");
  return kExitOk;
}

// Old caches: removed with --cleanup-cache, otherwise mentioned (on a terminal).
void handle_old_caches(Cli& cli, const std::string& base) {
  auto old = repo::old_cache_dirs(*cli.env, base, base::system_clock()->now().sec,
                                  repo::kMaxCacheAgeSec);
  if (!old.ok()) {
    cli.error(cli.tr("cache.warn_old", old.status().message()));
    return;
  }
  if (old->empty()) return;
  if (cli.g.cleanup_cache) {
    if (cli.stdout_is_tty()) cli.print(cli.tr("cache.removing_old", old->size(), base) + "\n");
    remove_dirs(cli, base, *old);
  } else if (cli.stdout_is_tty()) {
    cli.print(cli.tr("cache.old_found", old->size(), base) + "\n");
  }
}

}  // namespace

void Cli::attach_cache(repo::Repository& r) {
  if (g.no_cache) return;
  auto base = cache_base(*this);
  auto cache = base.ok() ? repo::Cache::open(env, base::system_clock(), *base, r.config().id)
                         : base::StatusOr<std::unique_ptr<repo::Cache>>(base.status());
  if (!cache.ok()) {
    error(tr("cache.warn_open", cache.status().message()));
    return;
  }
  if ((*cache)->created() && stdout_is_tty()) print(tr("cache.created", *base) + "\n");
  r.use_cache(std::move(*cache), [this](const base::Status& st) {
    error(tr("cache.warn_write", st.message()));
  });
  handle_old_caches(*this, *base);
}

TempCacheDir::~TempCacheDir() {
  base::Status st = env->remove_all(path);
  if (!st.ok()) std::fprintf(stderr, "kura: %s\n", st.message().c_str());
}

std::unique_ptr<TempCacheDir> use_temporary_cache(Cli& cli) {
  if (cli.g.no_cache) return nullptr;
  std::string parent = cli.g.cache_dir;
  for (const char* var : {"KURA_CACHE_DIR", "RESTIC_CACHE_DIR"}) {
    const char* v = std::getenv(var);
    if (parent.empty() && v && *v) parent = v;
  }
  if (parent.empty()) parent = backend::temp_dir();
  base::Status st = cli.env->make_dirs(parent, 0700);
  std::random_device rd;
  std::string path;
  for (int attempt = 0; st.ok() && attempt < 100; ++attempt) {
    path = base::path_join(parent, "kura-check-cache-" + std::to_string(rd()));
    st = cli.env->make_dir(path, 0700);
    if (st.code() != base::Code::kAlreadyExists) break;
  }
  if (!st.ok()) {
    cli.error(cli.tr("check.warn_temp_cache", st.message()));
    cli.g.no_cache = true;
    return nullptr;
  }
  cli.g.cache_dir = path;
  cli.print(cli.tr("check.temp_cache", path) + "\n");
  return std::make_unique<TempCacheDir>(TempCacheDir{cli.env, path});
}

void add_cache_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("cache", cli.msg().get("cmd.cache"));
  auto f = std::make_shared<CacheFlags>();
  auto args = std::make_shared<std::vector<std::string>>();
  cmd->add_flag("--cleanup", f->cleanup, cli.msg().get("cache.flag_cleanup"));
  cmd->add_option("--max-age", f->max_age_days, cli.msg().get("cache.flag_max_age"))
      ->type_name("days");
  cmd->add_flag("--no-size", f->no_size, cli.msg().get("cache.flag_no_size"));
  cmd->add_option("args", *args)->group("");
  cmd->callback([&cli, f, args] { exit_code() = run(cli, *f, *args); });
}

}  // namespace kura::cli
