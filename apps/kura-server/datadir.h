// A kura-server data folder: the configuration, the device CA, the server's TLS key, the
// metadata database and the region roots, opened together into a Service. `kura-server init`
// creates one; `run` and the local admin commands (`--data DIR`) open it, also while the
// server runs (SQLite in WAL mode takes several processes).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/env.h"
#include "meta/meta_store.h"
#include "objstore/object_store.h"
#include "server/config.h"
#include "service/accounts.h"
#include "service/service.h"

namespace kura::serverapp {

struct InitOptions {
  std::string data_dir;
  std::string listen = "127.0.0.1:8443";
  std::string public_url;                      // default https://<listen>
  std::vector<std::string> hosts;              // extra names/IPs for the server certificate
  std::map<std::string, std::string> regions;  // default {"jp-east": "objects/jp-east"}
  std::string admin = "admin";
};

struct InitResult {
  std::string config_path;
  std::string ca_fingerprint;
  std::string admin_password;  // one-time; printed once, never stored in clear
  std::string admin_cert_path;
};

// Creates a data folder. Refuses a folder that already holds a configuration.
base::StatusOr<InitResult> init_data_dir(const InitOptions& options);

class DataDir {
 public:
  // config_path: a kura-server.toml (a data folder's is <dir>/kura-server.toml).
  static base::StatusOr<std::unique_ptr<DataDir>> open(const std::string& config_path);

  const server::ServerConfig& config() const { return config_; }
  service::Service& service() { return *service_; }
  meta::MetaStore& meta() { return *meta_; }
  service::Accounts& accounts() { return *accounts_; }

 private:
  server::ServerConfig config_;
  std::unique_ptr<meta::MetaStore> meta_;
  std::map<std::string, std::unique_ptr<objstore::ObjectStore>> stores_;
  std::unique_ptr<service::Service> service_;
  std::unique_ptr<service::Accounts> accounts_;
};

// <dir>/kura-server.toml
std::string config_path_of(const std::string& data_dir);

}  // namespace kura::serverapp
