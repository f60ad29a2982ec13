// kura-server's configuration file (TOML; every setting documented in docs/server.md).
// Relative paths are resolved against the folder of the configuration file.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "service/accounts.h"

namespace kura::server {

struct ServerConfig {
  std::string path;  // the file it was read from ("" when built in code)

  // [server]
  std::string listen = "127.0.0.1:8443";
  std::string public_url;       // default: "https://" + listen
  int threads = 0;              // 0: 2 × CPU cores, at least 4
  // [tls]
  std::string tls_cert;         // server certificate chain (PEM)
  std::string tls_key;          // its private key (PEM)
  // [ca]
  std::string ca_cert;          // the device CA (PEM): client certificates must chain to it
  std::string ca_key;
  int device_cert_days = 365;
  int enroll_code_hours = 24;
  // [storage]
  std::string sqlite;           // metadata database
  std::map<std::string, std::string> regions;  // region name → storage root
  // [limits]
  int max_connections = 512;
  int header_limit_bytes = 16 * 1024;
  int64_t max_object_bytes = int64_t{1} << 30;  // a pack, index or snapshot
  int handshake_timeout_sec = 15;
  int header_timeout_sec = 30;  // first byte to end of headers
  int idle_timeout_sec = 120;   // kept-alive connection without a request
  int body_timeout_sec = 60;    // no body byte for this long: the client is gone (slowloris)
  int max_requests_per_connection = 10000;
  // [metrics]
  std::vector<std::string> metrics_allow = {"127.0.0.1", "::1"};  // addresses without a cert
  // [access_log]
  int access_batch = 256;
  int access_flush_ms = 200;
  // [accounts]: the control panel's sign-in (REQUIREMENTS A3-A5, A7). The ranges never go
  // below the requirements (8 characters, 3 classes, the last 5, lock after at most 3).
  int password_min_length = 8;
  int password_min_classes = 3;
  int password_history = 5;
  int argon2_t_cost = 3;
  int argon2_m_cost_kib = 64 * 1024;
  int argon2_parallelism = 1;
  int lock_after = 3;
  int lock_minutes = 30;
  int session_idle_minutes = 15;
  int session_absolute_hours = 8;
  // https://host[:port] as browsers reach the panel ("" in the file: public_url). WebAuthn
  // keys are bound to its host name, so it must be a name browsers accept (not an IP address).
  std::string panel_origin;
};

// Reads and checks a configuration file. Unknown keys are errors (a typo must not silently
// fall back to a default); each error names the file, the key and what was expected.
base::StatusOr<ServerConfig> load_config(const std::string& path);
base::StatusOr<ServerConfig> parse_config(std::string_view text, const std::string& path);

// The TOML text `kura-server init` writes: every setting with its default and a comment.
std::string render_config(const ServerConfig& c);

// The [accounts] section as the accounts service takes it.
service::AccountOptions account_options(const ServerConfig& c);

// "host:port" → host and port; "[::1]:8443" for IPv6.
base::Status split_host_port(std::string_view listen, std::string* host, uint16_t* port);

}  // namespace kura::server
