#include "apps/kura/cli.h"

#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include "backend/local_backend.h"
#include "backend/rest_backend.h"
#include "backend/retry_backend.h"
#include "base/clock.h"
#include "base/log.h"
#include "ops/filter.h"

extern const char kKuraCatalog_en[];
extern const char kKuraCatalog_ja[];

namespace kura::cli {
namespace {

const char* getenv_any(std::initializer_list<const char*> names) {
  for (const char* n : names) {
    const char* v = std::getenv(n);
    if (v && *v) return v;
  }
  return nullptr;
}

std::string trim_newline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// `source`: the flag or environment variable that named the file, for the error message.
base::StatusOr<std::string> read_password_file(base::Env& env, std::string_view source,
                                               const std::string& path) {
  auto data = ops::read_flag_file(env, source, path);
  if (!data.ok()) return data.status();
  std::string s(data->begin(), data->end());
  size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  return trim_newline(s);
}

base::StatusOr<std::string> run_password_command(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return base::internal_error("run password command: cannot start it");
  std::string out;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  if (rc != 0) return base::invalid_argument("password command failed (exit status " + std::to_string(rc) + ")");
  return trim_newline(out);
}

base::StatusOr<std::string> prompt_password(const std::string& prompt) {
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (!tty) return base::invalid_argument("cannot open terminal to ask for the password");
  std::fputs(prompt.c_str(), tty);
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
  return trim_newline(line);
}

}  // namespace

int& exit_code() {
  static int code = kExitOk;
  return code;
}

Cli::Cli() {
  stdout_tty_ = ::isatty(STDOUT_FILENO);
  auto en = base::Catalog::parse(kKuraCatalog_en);
  auto ja = base::Catalog::parse(kKuraCatalog_ja);
  base::Catalog fallback = en.ok() ? std::move(*en) : base::Catalog();
  base::Catalog primary = fallback;
  if (base::detect_language() == base::Lang::kJa && ja.ok()) primary = std::move(*ja);
  messages_ = std::make_unique<base::Messages>(std::move(primary), std::move(fallback));
}

void Cli::print(const std::string& s) const {
  if (g.quiet || g.json) return;
  std::fwrite(s.data(), 1, s.size(), stdout);
}

void Cli::print_data(const std::string& s) const { std::fwrite(s.data(), 1, s.size(), stdout); }

void Cli::verbose(const std::string& s) const {
  if (g.verbose > 0 && !g.quiet && !g.json) std::fwrite(s.data(), 1, s.size(), stdout);
}

void Cli::error(const std::string& s) const {
  std::fflush(stdout);
  std::string line = "kura: " + s;
  if (line.empty() || line.back() != '\n') line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

int Cli::fail(const base::Status& st) const {
  error(st.message());
  return kExitFatal;
}

base::StatusOr<std::string> Cli::password(bool new_repo) {
  if (!g.password_file.empty()) return read_password_file(*env, "--password-file", g.password_file);
  if (!g.password_command.empty()) return run_password_command(g.password_command);
  if (const char* p = getenv_any({"KURA_PASSWORD", "RESTIC_PASSWORD"})) return std::string(p);
  for (const char* var : {"KURA_PASSWORD_FILE", "RESTIC_PASSWORD_FILE"}) {
    if (const char* f = getenv_any({var})) return read_password_file(*env, var, f);
  }
  if (const char* c = getenv_any({"KURA_PASSWORD_COMMAND", "RESTIC_PASSWORD_COMMAND"})) {
    return run_password_command(c);
  }
  if (!::isatty(STDIN_FILENO)) return base::invalid_argument(msg().get("err.no_password"));
  if (!new_repo) return prompt_password(msg().get("prompt.password"));
  ASSIGN_OR_RETURN(std::string a, prompt_password(msg().get("prompt.new_password")));
  ASSIGN_OR_RETURN(std::string b, prompt_password(msg().get("prompt.password_again")));
  if (a != b) return base::invalid_argument(msg().get("err.password_mismatch"));
  return a;
}

base::StatusOr<std::unique_ptr<backend::Backend>> Cli::open_backend() {
  std::string spec = g.repo;
  if (spec.empty()) {
    if (const char* r = getenv_any({"KURA_REPOSITORY", "RESTIC_REPOSITORY"})) spec = r;
  }
  if (spec.empty()) return base::invalid_argument(msg().get("err.no_repository"));
  std::unique_ptr<backend::Backend> inner;
  if (spec.rfind("rest:", 0) == 0) {
    backend::RestOptions o;
    o.url = spec;
    o.cacert = g.cacert;
    o.tls_client_cert = g.tls_client_cert;
    o.connections = g.connections;
    if (const char* u = getenv_any({"KURA_REST_USERNAME", "RESTIC_REST_USERNAME"})) o.username = u;
    if (const char* p = getenv_any({"KURA_REST_PASSWORD", "RESTIC_REST_PASSWORD"})) o.password = p;
    ASSIGN_OR_RETURN(inner, backend::open_rest(o));
    backend::RetryOptions ro;
    ro.on_retry = [this](const base::Status& e, int attempt, std::chrono::milliseconds d) {
      if (!g.quiet) error(tr("warn.retry", e.message(), attempt, format_duration(d.count() / 1000.0)));
    };
    return std::unique_ptr<backend::Backend>(new backend::RetryBackend(std::move(inner), ro));
  }
  if (spec.rfind("local:", 0) == 0) spec = spec.substr(6);
  if (spec.find("://") != std::string::npos || spec.rfind("s3:", 0) == 0 ||
      spec.rfind("sftp:", 0) == 0) {
    return base::invalid_argument(tr("err.unsupported_backend", spec));
  }
  return backend::open_local(env, spec);
}

base::StatusOr<std::unique_ptr<repo::Repository>> Cli::open_repo() {
  ASSIGN_OR_RETURN(backend_, open_backend());
  ASSIGN_OR_RETURN(std::string pw, password(false));
  ASSIGN_OR_RETURN(auto r, repo::Repository::open(backend_.get(), pw));
  r->set_write_options(write_options());
  attach_cache(*r);
  verbose(tr("repo.opened", r->config().id.substr(0, 8), r->version()) + "\n");
  return r;
}

base::StatusOr<std::unique_ptr<repo::RepoLock>> Cli::lock(repo::Repository& r, bool exclusive) {
  if (g.no_lock) return std::unique_ptr<repo::RepoLock>();
  auto l = repo::RepoLock::acquire(r, exclusive, owner());
  if (!l.ok()) return l.status().with_context(msg().get("err.lock"));
  return l;
}

repo::LockOwner Cli::owner() const {
  repo::LockOwner o;
  o.hostname = hostname();
  o.username = username();
  o.uid = ::getuid();
  o.gid = ::getgid();
  o.pid = ::getpid();
  return o;
}

repo::WriteOptions Cli::write_options() const {
  repo::WriteOptions w;
  auto mode = repo::parse_compression_mode(g.compression);
  if (mode.ok()) w.compression = *mode;
  w.pack_size = g.pack_size_mib * 1024 * 1024;
  return w;
}

std::string Cli::hostname() const {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

std::string Cli::username() const {
  struct passwd pw, *res = nullptr;
  char buf[4096];
  if (::getpwuid_r(::getuid(), &pw, buf, sizeof buf, &res) == 0 && res) return res->pw_name;
  return "";
}

std::string format_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  // Thresholds are exclusive, as restic's: 1024 bytes print as "1024 B".
  if (n <= 1024) return std::to_string(n) + " B";
  double v = static_cast<double>(n);
  int u = 0;
  while (v > 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.3f} {}", v, units[u]);
}

std::string format_duration(double secs) {
  long s = std::lround(secs);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string format_local_time(int64_t sec, int32_t offset) {
  (void)offset;  // shown in this machine's time zone, as restic does
  time_t t = static_cast<time_t>(sec + base::system_clock()->utc_offset(sec));
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace kura::cli
