// RestBackend: a client of restic's REST protocol (v2, falling back to v1 listings), as served
// by rest-server, `rclone serve restic` and kura-server. See RESTIC_FORMAT.md §12.
//
// Requests run on a pool of libcurl handles, so connections are kept alive and reused; TLS
// sessions and DNS answers are shared between them, and HTTP/2 is used when a TLS server
// offers it. Status mapping: 404 → not_found; 403 → already_exists on save, permission_denied
// otherwise; 401 → unauthenticated; 507 → resource_exhausted; 5xx, timeouts and connection
// failures → unavailable (worth retrying; see RetryBackend).
//
// The process should ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)): libcurl is run without
// signals, and OpenSSL may write to a socket the server has closed.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"

namespace kura::backend {

struct RestOptions {
  // rest:http(s)://[user:pass@]host:port/[prefix/]; the "rest:" prefix is optional.
  std::string url;
  // Basic-auth credentials that override those in the URL (restic's RESTIC_REST_USERNAME and
  // RESTIC_REST_PASSWORD); empty: use the URL's.
  std::string username;
  std::string password;
  // PEM file of CA certificates to trust instead of the system's (restic's --cacert).
  std::string cacert;
  // PEM file holding the client certificate and its private key (restic's --tls-client-cert).
  std::string tls_client_cert;
  // Accept any server certificate (restic's --insecure-tls; for testing only).
  bool insecure_tls = false;
  // Requests in flight at once, each on its own kept-alive connection (restic's
  // rest.connections).
  int connections = 5;
  int connect_timeout_s = 30;
  // A transfer that moves no byte for this long fails as unavailable.
  int stall_timeout_s = 120;
  // Upper bound on one request; 0: none (a 16 MiB upload over a slow link takes a while).
  int request_timeout_s = 0;
};

// Validates the URL; no request is sent (create() or a later call will reach the server).
base::StatusOr<std::unique_ptr<Backend>> open_rest(const RestOptions& options);

// The URL with any "user:password@" removed, for messages and logs.
std::string redact_url(std::string_view url);

}  // namespace kura::backend
