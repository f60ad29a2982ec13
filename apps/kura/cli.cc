#include "apps/kura/cli.h"

#include "apps/kura/password.h"
#include "apps/kura/profile.h"

#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include "backend/limit_backend.h"
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

// restic's readPasswordTerminal: the prompt on stderr, the line typed on the terminal (not
// echoed) taken as it is.
base::StatusOr<std::string> prompt_password(std::string prompt) {
  // The catalogs drop trailing blanks; restic's prompts end in ": ".
  if (!prompt.empty() && prompt.back() != ' ') prompt += ' ';
  std::fputs(prompt.c_str(), stderr);
  std::fflush(stderr);
  struct termios old;
  bool restore = tcgetattr(STDIN_FILENO, &old) == 0;
  if (restore) {
    struct termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ICANON | ISIG;
    quiet.c_iflag |= ICRNL;
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  char c;
  ssize_t n;
  while ((n = ::read(STDIN_FILENO, &c, 1)) == 1 && c != '\n') line += c;
  if (restore) tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::fputs("\n", stderr);
  if (n < 0) return base::invalid_argument(std::strerror(errno));
  return line;
}

// restic's readPassword: the first line of a stdin that is not a terminal. Read byte by byte
// so that nothing after the line is consumed.
std::string read_stdin_line() {
  std::string line;
  char c;
  ssize_t n;
  while ((n = ::read(STDIN_FILENO, &c, 1)) == 1 || (n < 0 && errno == EINTR)) {
    if (n == 1 && c == '\n') break;
    if (n == 1) line += c;
  }
  return first_line(line);
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

void Cli::notice(const std::string& s) const {
  std::fflush(stdout);
  std::string line = s;
  if (line.empty() || line.back() != '\n') line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

int Cli::fail(const base::Status& st) const {
  error(st.message());
  return kExitFatal;
}

base::StatusOr<std::string> Cli::resolve_password() {
  std::string file = g.password_file, command = g.password_command;
  std::string file_source = "--password-file";
  if (file.empty()) {
    for (const char* var : {"KURA_PASSWORD_FILE", "RESTIC_PASSWORD_FILE"}) {
      const char* f = getenv_any({var});
      if (f && file.empty()) {
        file = f;
        file_source = var;
      }
    }
  }
  if (command.empty()) {
    if (const char* c = getenv_any({"KURA_PASSWORD_COMMAND", "RESTIC_PASSWORD_COMMAND"})) command = c;
  }
  if (!file.empty() && !command.empty()) return base::invalid_argument(msg().get("err.password_file_and_command"));
  if (!command.empty()) return run_password_command(msg(), command);
  if (!file.empty()) return read_password_file(*env, file_source, file);
  if (const char* p = getenv_any({"KURA_PASSWORD", "RESTIC_PASSWORD"})) return std::string(p);
  return std::string();
}

base::StatusOr<std::string> Cli::read_password(const std::string& prompt) {
  std::string pw;
  if (::isatty(STDIN_FILENO)) {
    ASSIGN_OR_RETURN(pw, prompt_password(prompt));
  } else {
    pw = read_stdin_line();
    verbose(msg().get("password.from_stdin") + "\n");
  }
  if (pw.empty()) return base::invalid_argument(msg().get("err.empty_password"));
  return pw;
}

base::StatusOr<std::string> Cli::read_password_twice(const std::string& prompt, const std::string& again) {
  ASSIGN_OR_RETURN(std::string a, read_password(prompt));
  if (!::isatty(STDIN_FILENO)) return a;
  ASSIGN_OR_RETURN(std::string b, read_password(again));
  if (a != b) return base::invalid_argument(msg().get("err.password_mismatch"));
  return a;
}

base::StatusOr<std::string> Cli::password(bool new_repo) {
  ASSIGN_OR_RETURN(std::string pw, resolve_password());
  if (!pw.empty()) return pw;
  if (new_repo) return read_password_twice(msg().get("prompt.new_password"), msg().get("prompt.password_again"));
  return read_password(msg().get("prompt.password"));
}

base::StatusOr<std::map<std::string, std::string>> parse_extended_options(
    const base::Messages& msg, const std::vector<std::string>& options) {
  std::map<std::string, std::string> out;
  for (const auto& o : options) {
    size_t eq = o.find('=');
    std::string key = go_trim_space(o.substr(0, eq));
    std::string value = eq == std::string::npos ? "" : go_trim_space(o.substr(eq + 1));
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (key.empty()) return base::invalid_argument(msg.get("err.option_empty_key"));
    auto it = out.find(key);
    if (it != out.end() && it->second != value) return base::invalid_argument(msg.format("err.option_twice", key));
    out[key] = value;
  }
  return out;
}

base::StatusOr<std::string> Cli::repository_spec() {
  std::string spec = g.repo;
  if (spec.empty()) {
    if (const char* r = getenv_any({"KURA_REPOSITORY", "RESTIC_REPOSITORY"})) spec = r;
  }
  std::string file = g.repository_file, source = "--repository-file";
  for (const char* var : {"KURA_REPOSITORY_FILE", "RESTIC_REPOSITORY_FILE"}) {
    const char* f = getenv_any({var});
    if (file.empty() && f) {
      file = f;
      source = var;
    }
  }
  if (file.empty()) {
    if (spec.empty()) return base::invalid_argument(msg().get("err.no_repository"));
    return spec;
  }
  if (!spec.empty()) return base::invalid_argument(msg().get("err.repo_and_repository_file"));
  ASSIGN_OR_RETURN(base::Bytes data, ops::read_flag_file(*env, source, file));
  spec = go_trim_space(decode_text(data));
  if (spec.empty()) return base::invalid_argument(msg().get("err.no_repository"));
  return spec;
}

base::Status Cli::apply_extended_options(std::string_view scheme, backend::RestOptions* rest) {
  ASSIGN_OR_RETURN(auto opts, parse_extended_options(msg(), g.options));
  std::string prefix = std::string(scheme) + ".";
  for (const auto& [key, value] : opts) {
    // As restic: options of other backends are ignored, unknown ones of this backend are errors.
    if (key.rfind(prefix, 0) != 0) continue;
    std::string name = key.substr(prefix.size());
    if (name == "connections") {
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || value.empty() || n > 1024) {
        return base::invalid_argument(tr("err.option_value", key, value));
      }
      if (rest && n > 0) rest->connections = static_cast<int>(n);
      continue;
    }
    if (scheme == "local" && name == "layout") {
      if (value.empty() || value == "default") continue;
      return base::invalid_argument(tr("err.option_value", key, value));
    }
    return base::invalid_argument(tr("err.option_unknown", key));
  }
  return base::ok_status();
}

base::StatusOr<std::unique_ptr<backend::Backend>> Cli::open_backend() {
  RETURN_IF_ERROR(apply_profile(*this));
  // What `eval "$(kura profile env NAME)"` exports (newer restic reads them too).
  if (g.cacert.empty()) {
    if (const char* c = getenv_any({"KURA_CACERT", "RESTIC_CACERT"})) g.cacert = c;
  }
  if (g.tls_client_cert.empty()) {
    if (const char* c = getenv_any({"KURA_TLS_CLIENT_CERT", "RESTIC_TLS_CLIENT_CERT"})) g.tls_client_cert = c;
  }
  ASSIGN_OR_RETURN(std::string spec, repository_spec());
  backend::LimitOptions limits;
  limits.upload_kib_per_s = g.limit_upload_kib;
  limits.download_kib_per_s = g.limit_download_kib;
  if (spec.rfind("rest:", 0) == 0) {
    backend::RestOptions o;
    o.url = spec;
    o.cacert = g.cacert;
    o.tls_client_cert = g.tls_client_cert;
    o.insecure_tls = g.insecure_tls;
    o.connections = g.connections;
    RETURN_IF_ERROR(apply_extended_options("rest", &o));
    if (const char* u = getenv_any({"KURA_REST_USERNAME", "RESTIC_REST_USERNAME"})) o.username = u;
    if (const char* p = getenv_any({"KURA_REST_PASSWORD", "RESTIC_REST_PASSWORD"})) o.password = p;
    ASSIGN_OR_RETURN(auto inner, backend::open_rest(o));
    backend::RetryOptions ro;
    ro.on_retry = [this](const base::Status& e, int attempt, std::chrono::milliseconds d) {
      if (!g.quiet) error(tr("warn.retry", e.message(), attempt, format_duration(d.count() / 1000.0)));
    };
    // As restic: the retries wrap the rate limit, which wraps the transport.
    return std::unique_ptr<backend::Backend>(
        new backend::RetryBackend(backend::limit_backend(std::move(inner), limits), ro));
  }
  if (spec.rfind("local:", 0) == 0) spec = spec.substr(6);
  if (spec.find("://") != std::string::npos || spec.rfind("s3:", 0) == 0 ||
      spec.rfind("sftp:", 0) == 0) {
    return base::invalid_argument(tr("err.unsupported_backend", spec));
  }
  RETURN_IF_ERROR(apply_extended_options("local", nullptr));
  ASSIGN_OR_RETURN(auto local, backend::open_local(env, spec));
  return backend::limit_backend(std::move(local), limits);
}

base::Status Cli::check_pack_size() const {
  if (g.pack_size_mib > 128) return base::invalid_argument(tr("global.err.pack_size_large", 128));
  if (g.pack_size_mib != 0 && g.pack_size_mib < 4) {
    return base::invalid_argument(tr("global.err.pack_size_small", 4));
  }
  return base::ok_status();
}

base::StatusOr<std::unique_ptr<repo::Repository>> Cli::open_repo(const std::function<void()>& password_known) {
  RETURN_IF_ERROR(check_pack_size());
  ASSIGN_OR_RETURN(backend_, open_backend());
  std::string hint = g.key_hint;
  if (hint.empty()) {
    if (const char* h = getenv_any({"KURA_KEY_HINT", "RESTIC_KEY_HINT"})) hint = h;
  }
  ASSIGN_OR_RETURN(std::string given, resolve_password());
  // As restic: a password typed on a terminal may be typed again, three tries in all.
  int tries = given.empty() && ::isatty(STDIN_FILENO) ? 3 : 1;
  base::StatusOr<std::unique_ptr<repo::Repository>> opened = base::internal_error("no password tried");
  for (; tries > 0; --tries) {
    auto pw = given.empty() ? read_password(msg().get("prompt.password")) : base::StatusOr<std::string>(given);
    if (!pw.ok()) {
      opened = pw.status();
      if (tries > 1) {
        std::printf("%s\n", tr("global.try_again", pw.status().message()).c_str());
        std::fflush(stdout);
      }
      continue;
    }
    if (password_known) password_known();
    opened = repo::Repository::open(backend_.get(), *pw, {}, hint);
    if (opened.ok()) break;
    if (tries > 1) {
      std::string again = opened.status().code() == base::Code::kUnauthenticated
                              ? msg().get("global.wrong_password_try_again")
                              : tr("global.try_again", opened.status().message());
      std::fprintf(stderr, "%s\n", again.c_str());
    }
  }
  if (!opened.ok()) return opened.status();
  auto r = std::move(*opened);
  r->set_write_options(write_options());
  attach_cache(*r);
  // restic says so only where stdout is a terminal.
  if (stdout_tty_) verbose(tr("repo.opened", r->config().id.substr(0, 8), r->version()) + "\n");
  return r;
}

base::StatusOr<std::unique_ptr<repo::RepoLock>> Cli::lock(repo::Repository& r, bool exclusive,
                                                          bool confirm_later) {
  if (g.no_lock) return std::unique_ptr<repo::RepoLock>();
  auto l = repo::RepoLock::acquire(r, exclusive, owner(), {}, confirm_later);
  if (!l.ok()) return l.status().with_context(msg().get("err.lock"));
  warn_if_lock_stays(**l);
  return l;
}

void Cli::warn_if_lock_stays(repo::RepoLock& lock) const {
  lock.on_release_failure([this](const repo::Id& id, const base::Status& st) {
    error(tr("lock.release_failed", id.short_hex(), st.message()));
  });
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
  // 0 is restic's "the default".
  w.pack_size = (g.pack_size_mib == 0 ? 16 : g.pack_size_mib) * 1024 * 1024;
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
