#include "server/config.h"

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "base/env.h"

namespace kura::server {
namespace {

// Reads one [section] of the file, checking types and refusing unknown keys.
class Section {
 public:
  Section(const toml::table& root, std::string name, const std::string& file)
      : name_(std::move(name)), file_(file) {
    if (const toml::node* n = root.get(name_)) {
      table_ = n->as_table();
      if (!table_) error_ = where("") + "must be a table ([" + name_ + "])";
    }
  }

  void string(std::string_view key, std::string* out) {
    const toml::node* n = find(key);
    if (!n) return;
    if (auto v = n->value<std::string>()) {
      *out = *v;
    } else {
      fail(key, "a string");
    }
  }
  void integer(std::string_view key, int64_t* out, int64_t min, int64_t max) {
    const toml::node* n = find(key);
    if (!n) return;
    // as_integer, not value<int64_t>: the latter converts a float such as 1e98 (undefined
    // behaviour out of range), and "3.5 days" is a mistake to report, not to round.
    const toml::value<int64_t>* v = n->as_integer();
    if (!v) return fail(key, "an integer");
    if (v->get() < min || v->get() > max) {
      return fail(key, "between " + std::to_string(min) + " and " + std::to_string(max));
    }
    *out = v->get();
  }
  void integer(std::string_view key, int* out, int64_t min, int64_t max) {
    int64_t v = *out;
    integer(key, &v, min, max);
    *out = static_cast<int>(v);
  }
  void strings(std::string_view key, std::vector<std::string>* out) {
    const toml::node* n = find(key);
    if (!n) return;
    const toml::array* a = n->as_array();
    if (!a) return fail(key, "an array of strings");
    std::vector<std::string> v;
    for (const toml::node& e : *a) {
      auto s = e.value<std::string>();
      if (!s) return fail(key, "an array of strings");
      v.push_back(*s);
    }
    *out = std::move(v);
  }
  // Every key of the table as a string value (for [regions]).
  void string_map(std::map<std::string, std::string>* out) {
    if (!table_) return;
    for (auto&& [k, v] : *table_) {
      seen_.insert(std::string(k.str()));
      auto s = v.value<std::string>();
      if (!s) return fail(k.str(), "a string (the region's storage folder)");
      (*out)[std::string(k.str())] = *s;
    }
  }

  base::Status finish() {
    if (!error_.empty()) return base::invalid_argument(error_);
    if (!table_) return base::ok_status();
    for (auto&& [k, v] : *table_) {
      if (!seen_.count(std::string(k.str()))) {
        return base::invalid_argument(where(k.str()) + "unknown setting");
      }
    }
    return base::ok_status();
  }

 private:
  const toml::node* find(std::string_view key) {
    seen_.insert(std::string(key));
    return table_ ? table_->get(key) : nullptr;
  }
  std::string where(std::string_view key) const {
    std::string w = file_ + ": [" + name_ + "]";
    if (!key.empty()) w += " " + std::string(key);
    return w + ": ";
  }
  void fail(std::string_view key, const std::string& expected) {
    if (error_.empty()) error_ = where(key) + "must be " + expected;
  }

  std::string name_;
  const std::string& file_;
  const toml::table* table_ = nullptr;
  std::set<std::string> seen_;
  std::string error_;
};

std::string resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p.front() == '/' || base_dir.empty()) return p;
  return base_dir + "/" + p;
}

// A TOML basic string: quote and backslash escaped, and every control character (TOML allows
// only tab raw) as \uXXXX, so that any value read from a configuration renders back to itself.
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if ((u < 0x20 && c != '\t') || u == 0x7f) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

base::Status split_host_port(std::string_view listen, std::string* host, uint16_t* port) {
  auto bad = [&] {
    return base::invalid_argument("listen address \"" + std::string(listen) +
                                  "\": expected HOST:PORT, e.g. 0.0.0.0:8443 or [::]:8443");
  };
  size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= listen.size()) return bad();
  std::string_view h = listen.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) return bad();
  std::string_view p = listen.substr(colon + 1);
  unsigned v = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc() || end != p.data() + p.size() || v == 0 || v > 65535) return bad();
  *host = h;
  *port = static_cast<uint16_t>(v);
  return base::ok_status();
}

base::StatusOr<ServerConfig> parse_config(std::string_view text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return base::invalid_argument(msg.str());
  }
  static const std::set<std::string> kSections = {"server",  "tls",     "ca",
                                                  "storage", "regions", "limits",
                                                  "metrics", "access_log", "accounts"};
  for (auto&& [k, v] : root) {
    if (!kSections.count(std::string(k.str()))) {
      return base::invalid_argument(path + ": unknown section or key \"" +
                                    std::string(k.str()) + "\"");
    }
  }
  ServerConfig c;
  c.path = path;
  Section server(root, "server", path), tls(root, "tls", path), ca(root, "ca", path),
      storage(root, "storage", path), regions(root, "regions", path),
      limits(root, "limits", path), metrics(root, "metrics", path),
      access(root, "access_log", path), accounts(root, "accounts", path);
  server.string("listen", &c.listen);
  server.string("public_url", &c.public_url);
  server.integer("threads", &c.threads, 0, 256);
  tls.string("cert", &c.tls_cert);
  tls.string("key", &c.tls_key);
  ca.string("cert", &c.ca_cert);
  ca.string("key", &c.ca_key);
  ca.integer("device_cert_days", &c.device_cert_days, 1, 3650);
  ca.integer("enroll_code_hours", &c.enroll_code_hours, 1, 24 * 30);
  storage.string("sqlite", &c.sqlite);
  regions.string_map(&c.regions);
  limits.integer("max_connections", &c.max_connections, 1, 100000);
  limits.integer("header_limit_bytes", &c.header_limit_bytes, 1024, 1 << 20);
  limits.integer("max_object_bytes", &c.max_object_bytes, 1 << 20, int64_t{1} << 40);
  limits.integer("handshake_timeout_sec", &c.handshake_timeout_sec, 1, 3600);
  limits.integer("header_timeout_sec", &c.header_timeout_sec, 1, 3600);
  limits.integer("idle_timeout_sec", &c.idle_timeout_sec, 1, 86400);
  limits.integer("body_timeout_sec", &c.body_timeout_sec, 1, 3600);
  limits.integer("max_requests_per_connection", &c.max_requests_per_connection, 1, 1 << 30);
  metrics.strings("allow", &c.metrics_allow);
  access.integer("batch", &c.access_batch, 1, 100000);
  access.integer("flush_ms", &c.access_flush_ms, 1, 60000);
  accounts.integer("password_min_length", &c.password_min_length, 8, 64);
  accounts.integer("password_min_classes", &c.password_min_classes, 3, 4);
  accounts.integer("password_history", &c.password_history, 5, 24);
  accounts.integer("argon2_t_cost", &c.argon2_t_cost, 1, 10);
  accounts.integer("argon2_m_cost_kib", &c.argon2_m_cost_kib, 8 * 1024, 1024 * 1024);
  accounts.integer("argon2_parallelism", &c.argon2_parallelism, 1, 16);
  accounts.integer("lock_after", &c.lock_after, 1, 3);
  accounts.integer("lock_minutes", &c.lock_minutes, 1, 24 * 60);
  accounts.integer("session_idle_minutes", &c.session_idle_minutes, 1, 60);
  accounts.integer("session_absolute_hours", &c.session_absolute_hours, 1, 24);
  accounts.string("panel_origin", &c.panel_origin);
  for (Section* s : {&server, &tls, &ca, &storage, &regions, &limits, &metrics, &access,
                     &accounts}) {
    RETURN_IF_ERROR(s->finish());
  }
  std::string host;
  uint16_t port = 0;
  RETURN_IF_ERROR(split_host_port(c.listen, &host, &port).with_context(path));
  if (c.public_url.empty()) c.public_url = "https://" + c.listen;
  while (!c.public_url.empty() && c.public_url.back() == '/') c.public_url.pop_back();
  if (!c.public_url.starts_with("https://")) {
    return base::invalid_argument(path + ": [server] public_url must start with https://");
  }
  if (c.panel_origin.empty()) c.panel_origin = c.public_url;
  while (!c.panel_origin.empty() && c.panel_origin.back() == '/') c.panel_origin.pop_back();
  if (!c.panel_origin.starts_with("https://") ||
      c.panel_origin.find_first_of("/?#@ ", 8) != std::string::npos) {
    return base::invalid_argument(path + ": [accounts] panel_origin must be https://host[:port]");
  }
  auto require = [&](const std::string& v, const char* key) -> base::Status {
    if (v.empty()) return base::invalid_argument(path + ": " + key + " is required");
    return base::ok_status();
  };
  RETURN_IF_ERROR(require(c.tls_cert, "[tls] cert"));
  RETURN_IF_ERROR(require(c.tls_key, "[tls] key"));
  RETURN_IF_ERROR(require(c.ca_cert, "[ca] cert"));
  RETURN_IF_ERROR(require(c.ca_key, "[ca] key"));
  RETURN_IF_ERROR(require(c.sqlite, "[storage] sqlite"));
  if (c.regions.empty()) {
    return base::invalid_argument(path + ": [regions] needs at least one region, e.g. "
                                         "jp-east = \"objects/jp-east\"");
  }
  std::string dir = path.empty() ? "" : base::path_dirname(path);
  for (std::string* p : {&c.tls_cert, &c.tls_key, &c.ca_cert, &c.ca_key, &c.sqlite}) {
    *p = resolve(dir, *p);
  }
  for (auto& [name, root_dir] : c.regions) root_dir = resolve(dir, root_dir);
  return c;
}

base::StatusOr<ServerConfig> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::not_found("configuration file " + path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1 << 20)) {
    return base::invalid_argument("configuration file " + path + ": larger than 1 MiB");
  }
  return parse_config(text.str(), path);
}

std::string render_config(const ServerConfig& c) {
  std::ostringstream o;
  o << "# kura-server configuration. Every setting is described in docs/server.md.\n"
    << "# Relative paths are relative to this file's folder.\n\n"
    << "[server]\n"
    << "listen = " << quote(c.listen) << "           # address and port of the HTTPS listener\n"
    << "public_url = " << quote(c.public_url) << "   # how devices reach this server\n"
    << "threads = " << c.threads << "                          # 0: 2 x CPU cores, at least 4\n\n"
    << "[tls]\n"
    << "cert = " << quote(c.tls_cert) << "\n"
    << "key = " << quote(c.tls_key) << "\n\n"
    << "[ca]\n"
    << "cert = " << quote(c.ca_cert) << "\n"
    << "key = " << quote(c.ca_key) << "\n"
    << "device_cert_days = " << c.device_cert_days << "\n"
    << "enroll_code_hours = " << c.enroll_code_hours << "\n\n"
    << "[storage]\n"
    << "sqlite = " << quote(c.sqlite) << "\n\n"
    << "[regions]\n";
  for (const auto& [name, root] : c.regions) o << name << " = " << quote(root) << "\n";
  o << "\n[limits]\n"
    << "max_connections = " << c.max_connections << "\n"
    << "header_limit_bytes = " << c.header_limit_bytes << "\n"
    << "max_object_bytes = " << c.max_object_bytes << "\n"
    << "handshake_timeout_sec = " << c.handshake_timeout_sec << "\n"
    << "header_timeout_sec = " << c.header_timeout_sec << "\n"
    << "idle_timeout_sec = " << c.idle_timeout_sec << "\n"
    << "body_timeout_sec = " << c.body_timeout_sec << "\n"
    << "max_requests_per_connection = " << c.max_requests_per_connection << "\n\n"
    << "[metrics]\n"
    << "allow = [";
  for (size_t i = 0; i < c.metrics_allow.size(); ++i) {
    o << (i ? ", " : "") << quote(c.metrics_allow[i]);
  }
  o << "]   # addresses that may read /metrics without a certificate\n\n"
    << "[access_log]\n"
    << "batch = " << c.access_batch << "\n"
    << "flush_ms = " << c.access_flush_ms << "\n\n"
    << "[accounts]   # control-panel sign-in\n"
    << "password_min_length = " << c.password_min_length << "\n"
    << "password_min_classes = " << c.password_min_classes << "   # of upper, lower, digit, symbol\n"
    << "password_history = " << c.password_history << "       # not one of the last N\n"
    << "argon2_t_cost = " << c.argon2_t_cost << "\n"
    << "argon2_m_cost_kib = " << c.argon2_m_cost_kib << "\n"
    << "argon2_parallelism = " << c.argon2_parallelism << "\n"
    << "lock_after = " << c.lock_after << "             # failed sign-ins in a row\n"
    << "lock_minutes = " << c.lock_minutes << "\n"
    << "session_idle_minutes = " << c.session_idle_minutes << "\n"
    << "session_absolute_hours = " << c.session_absolute_hours << "\n"
    << "panel_origin = " << quote(c.panel_origin)
    << "   # the address browsers use for the panel (WebAuthn keys are bound to its host)\n";
  return o.str();
}

service::AccountOptions account_options(const ServerConfig& c) {
  service::AccountOptions o;
  o.password.min_length = c.password_min_length;
  o.password.min_classes = c.password_min_classes;
  o.password.history = c.password_history;
  o.argon2.t_cost = static_cast<uint32_t>(c.argon2_t_cost);
  o.argon2.m_cost_kib = static_cast<uint32_t>(c.argon2_m_cost_kib);
  o.argon2.parallelism = static_cast<uint32_t>(c.argon2_parallelism);
  o.lock_after = c.lock_after;
  o.lock_seconds = int64_t{c.lock_minutes} * 60;
  o.session_idle_seconds = int64_t{c.session_idle_minutes} * 60;
  o.session_absolute_seconds = int64_t{c.session_absolute_hours} * 3600;
  // WebAuthn: the origin exactly as browsers send it, the relying party its host name.
  o.origin = c.panel_origin;
  std::string_view host = std::string_view(c.panel_origin).substr(std::string_view("https://").size());
  if (host.starts_with("[")) {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  o.rp_id = std::string(host);
  return o;
}

}  // namespace kura::server
