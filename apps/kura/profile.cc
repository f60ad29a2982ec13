#include "apps/kura/profile.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <optional>

#include "base/clock.h"
#include "crypto/x509.h"

namespace kura::cli {
namespace {

constexpr int64_t kExpiryWarningSeconds = 30 * 86400;

struct Field {
  const char* key;
  std::string Profile::*member;
};
constexpr Field kFields[] = {
    {"repository", &Profile::repository}, {"cacert", &Profile::cacert},
    {"tls_client_cert", &Profile::tls_client_cert}, {"server", &Profile::server},
    {"tenant", &Profile::tenant}, {"repo", &Profile::repo},
    {"device", &Profile::device}, {"not_after", &Profile::not_after},
};

// A TOML basic string.
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04X}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

base::StatusOr<std::string> read_text(base::Env& env, const std::string& path) {
  ASSIGN_OR_RETURN(base::Bytes data, env.read_file(path));
  return std::string(data.begin(), data.end());
}

base::Status write_text(base::Env& env, const std::string& path, const std::string& text, uint32_t mode) {
  base::ByteSpan bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  RETURN_IF_ERROR(env.write_file_atomic(path, bytes, mode));
  // The umask may have taken bits the layout promises (ca.pem is world-readable).
  return env.set_mode(path, mode);
}

// The certificate of the profile's client.pem, when it can be read.
base::StatusOr<crypto::CertInfo> profile_cert(base::Env& env, const Profile& p) {
  ASSIGN_OR_RETURN(std::string pem, read_text(env, p.tls_client_cert));
  auto cert = crypto::parse_cert(pem);
  if (!cert.ok()) return cert.status().with_context(p.tls_client_cert);
  return cert;
}

void warn_if_expiring(const Cli& cli, const Profile& p) {
  auto cert = profile_cert(*cli.env, p);
  if (!cert.ok()) return;  // the connection will say what is wrong with the file
  int64_t now = base::system_clock()->now().sec;
  int64_t left = cert->not_after - now;
  if (left <= 0) {
    cli.error(cli.tr("profile.warn_expired", p.name, rfc3339_utc(cert->not_after)));
  } else if (left < kExpiryWarningSeconds) {
    cli.error(cli.tr("profile.warn_expiring", p.name, rfc3339_utc(cert->not_after), left / 86400));
  }
}

bool valid_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && name.front() != '.';
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  return ok;
}

}  // namespace

base::Status check_profile_name(const base::Messages& msg, std::string_view name) {
  if (!valid_name(name)) {
    return base::invalid_argument(msg.format("profile.err.bad_name", name.substr(0, 80)));
  }
  return base::ok_status();
}

base::StatusOr<std::string> profiles_dir() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg && xdg[0] == '/') return base::path_join(base::path_join(xdg, "kura"), "profiles");
  const char* home = std::getenv("HOME");
  if (!home || home[0] != '/') {
    return base::failed_precondition("neither XDG_CONFIG_HOME nor HOME is an absolute path: no place for profiles");
  }
  return base::path_join(base::path_join(home, ".config/kura"), "profiles");
}

std::string profile_file(const std::string& dir, const std::string& name) { return base::path_join(dir, name); }

std::string profile_data_dir(const std::string& dir, const std::string& name) {
  return base::path_join(dir, name + ".d");
}

std::string render_profile(const Profile& p) {
  std::string out = "# kura profile \"" + p.name + "\", written by kura enroll. Use it with\n" +
                    "# kura --profile " + p.name + " …  or  eval \"$(kura profile env " + p.name + ")\"\n";
  for (const Field& f : kFields) out += std::string(f.key) + " = " + toml_string(p.*f.member) + "\n";
  return out;
}

base::StatusOr<Profile> parse_profile(std::string_view text, const std::string& name) {
  const std::string what = "profile " + name;
  toml::table table;
  try {
    table = toml::parse(text, std::string_view(name));
  } catch (const toml::parse_error& e) {
    return base::invalid_argument(fmt::format("{}: line {}: {}", what, e.source().begin.line, e.description()));
  }
  Profile p;
  p.name = name;
  for (const Field& f : kFields) {
    const toml::node* node = table.get(f.key);
    if (node == nullptr) return base::invalid_argument(what + ": missing \"" + f.key + "\"");
    std::optional<std::string> v = node->value<std::string>();
    if (!node->is_string() || !v) return base::invalid_argument(what + ": \"" + f.key + "\" is not a string");
    p.*f.member = *v;
  }
  if (p.repository.rfind("rest:https://", 0) != 0) {
    return base::invalid_argument(what + ": repository \"" + p.repository + "\" is not rest:https://…");
  }
  if (p.server.rfind("https://", 0) != 0) {
    return base::invalid_argument(what + ": server \"" + p.server + "\" is not https://…");
  }
  for (const std::string* path : {&p.cacert, &p.tls_client_cert}) {
    if (path->empty() || path->front() != '/') {
      return base::invalid_argument(what + ": \"" + *path + "\" is not an absolute path");
    }
  }
  return p;
}

base::StatusOr<Profile> load_profile(const base::Messages& msg, base::Env& env, const std::string& dir,
                                     const std::string& name) {
  RETURN_IF_ERROR(check_profile_name(msg, name));
  const std::string path = profile_file(dir, name);
  auto text = read_text(env, path);
  if (!text.ok()) {
    if (text.status().code() == base::Code::kNotFound) {
      return base::not_found(msg.format("profile.err.not_found", name, path));
    }
    return text.status();
  }
  return parse_profile(*text, name);
}

std::vector<std::string> list_profiles(base::Env& env, const std::string& dir) {
  std::vector<std::string> names;
  auto entries = env.list_dir(dir);
  if (!entries.ok()) return names;
  for (const auto& e : *entries) {
    if (!valid_name(e.name) || e.name.ends_with(".d")) continue;
    auto info = env.stat(base::path_join(dir, e.name));
    if (info.ok() && info->type == base::FileType::kFile) names.push_back(e.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

base::Status save_profile(base::Env& env, const std::string& dir, Profile& p, const std::string& ca_pem,
                          const std::string& client_pem) {
  if (!valid_name(p.name)) return base::invalid_argument("profile name \"" + p.name + "\"");
  const std::string data = profile_data_dir(dir, p.name);
  RETURN_IF_ERROR(env.make_dirs(data, 0700));
  p.cacert = base::path_join(data, "ca.pem");
  p.tls_client_cert = base::path_join(data, "client.pem");
  RETURN_IF_ERROR(write_text(env, p.cacert, ca_pem, 0644));
  RETURN_IF_ERROR(write_text(env, p.tls_client_cert, client_pem, 0600));
  return write_text(env, profile_file(dir, p.name), render_profile(p), 0600);
}

std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string profile_env_script(const Profile& p) {
  return "export RESTIC_REPOSITORY=" + shell_quote(p.repository) + "\n" +
         "export RESTIC_CACERT=" + shell_quote(p.cacert) + "\n" +
         "export RESTIC_TLS_CLIENT_CERT=" + shell_quote(p.tls_client_cert) + "\n";
}

std::string rfc3339_utc(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

base::Status apply_profile(Cli& cli) {
  GlobalOptions& g = cli.g;
  if (g.profile.empty()) return base::ok_status();
  ASSIGN_OR_RETURN(std::string dir, profiles_dir());
  ASSIGN_OR_RETURN(Profile p, load_profile(cli.msg(), *cli.env, dir, g.profile));
  if (g.repo.empty() && g.repository_file.empty()) g.repo = p.repository;
  if (g.cacert.empty()) g.cacert = p.cacert;
  if (g.tls_client_cert.empty()) g.tls_client_cert = p.tls_client_cert;
  warn_if_expiring(cli, p);
  return base::ok_status();
}

}  // namespace kura::cli
