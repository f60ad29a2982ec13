// kura-server's HTTPS listener: TLS handshake (tls.h), HTTP/1.1 with keep-alive and limits,
// routing (route.h), identity and authorisation per request (service/authz.h), the restic REST
// API with streamed bodies, the JSON APIs (api.h), /healthz and /metrics, and one access
// record per request. Beast/Asio stay inside http_server.cc.
#pragma once

#include <cstdint>
#include <memory>

#include "base/status.h"
#include "server/access_log.h"
#include "server/config.h"
#include "server/metrics.h"
#include "service/accounts.h"
#include "service/service.h"

namespace kura::server {

class HttpServer {
 public:
  // service, accounts, log and metrics must outlive the server. Without accounts (null) the
  // control panel is not served.
  HttpServer(ServerConfig config, service::Service* service, service::Accounts* accounts,
             AccessLog* log, Metrics* metrics);
  ~HttpServer();

  // Loads TLS and binds the listener (port 0 picks a free port: see port()).
  base::Status start();
  uint16_t port() const;

  // Serves until stop() (or, with handle_signals, SIGTERM/SIGINT; SIGHUP calls reload()).
  void run(bool handle_signals);
  // Graceful: stops accepting, lets requests in flight finish (at most `grace_sec`), closes
  // idle connections, then run() returns. Thread-safe.
  void stop(int grace_sec = 30);
  // Re-reads the configuration file and the TLS certificate and key; new connections use
  // them. The listen address and storage cannot change without a restart.
  base::Status reload();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kura::server
