#include "apps/kura-server/datadir.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "crypto/x509.h"
#include "meta/sqlite_store.h"
#include "service/names.h"

namespace kura::serverapp {
namespace {

base::StatusOr<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::not_found(path + ": cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes a new file with the given mode (never over an existing one).
base::Status write_new(base::Env* env, const std::string& path, const std::string& text,
                       uint32_t mode) {
  base::WriteOptions o;
  o.exclusive = true;
  o.mode = mode;
  ASSIGN_OR_RETURN(auto f, env->open_write(path, o));
  RETURN_IF_ERROR(f->append(base::as_bytes(text)));
  RETURN_IF_ERROR(f->sync());
  return f->close();
}

}  // namespace

std::string config_path_of(const std::string& data_dir) { return data_dir + "/kura-server.toml"; }

base::StatusOr<InitResult> init_data_dir(const InitOptions& in) {
  base::Env* env = base::posix_env();
  if (in.data_dir.empty()) return base::invalid_argument("--data: a folder is required");
  InitResult out;
  out.config_path = config_path_of(in.data_dir);
  if (env->lstat(out.config_path).ok()) {
    return base::already_exists(out.config_path + " exists: this folder is already a "
                                "kura-server data folder");
  }
  server::ServerConfig c;
  c.listen = in.listen;
  std::string host;
  uint16_t port = 0;
  RETURN_IF_ERROR(server::split_host_port(c.listen, &host, &port));
  c.public_url = in.public_url.empty() ? "https://" + c.listen : in.public_url;
  c.tls_cert = "tls/server.pem";
  c.tls_key = "tls/server.key";
  c.ca_cert = "ca/ca.pem";
  c.ca_key = "ca/ca.key";
  c.sqlite = "meta.db";
  c.regions = in.regions.empty() ? std::map<std::string, std::string>{{"jp-east", "objects/jp-east"}}
                                 : in.regions;
  for (const auto& [name, root] : c.regions) RETURN_IF_ERROR(service::check_region_name(name));
  const std::string& d = in.data_dir;
  for (const char* sub : {"", "/ca", "/tls", "/admin"}) {
    RETURN_IF_ERROR(env->make_dirs(d + sub, 0700));
  }
  for (const auto& [name, root] : c.regions) {
    RETURN_IF_ERROR(env->make_dirs(root.front() == '/' ? root : d + "/" + root, 0700));
  }
  const int64_t now = base::system_clock()->now().sec;
  // The device CA (20 years: devices trust it through their profile) and the server's key.
  ASSIGN_OR_RETURN(crypto::Pem ca, crypto::create_ca("kura-server device CA", now, 20 * 365));
  RETURN_IF_ERROR(write_new(env, d + "/ca/ca.pem", ca.cert, 0644));
  RETURN_IF_ERROR(write_new(env, d + "/ca/ca.key", ca.key, 0600));
  ASSIGN_OR_RETURN(std::string server_key, crypto::generate_p256_key_pem());
  std::vector<std::string> hosts = {host};
  for (const std::string& h : in.hosts) hosts.push_back(h);
  if (host != "localhost") hosts.push_back("localhost");
  ASSIGN_OR_RETURN(std::string server_cert,
                   crypto::issue_server_cert(ca, server_key, hosts, now, 397));
  RETURN_IF_ERROR(write_new(env, d + "/tls/server.key", server_key, 0600));
  RETURN_IF_ERROR(write_new(env, d + "/tls/server.pem", server_cert, 0644));
  RETURN_IF_ERROR(write_new(env, out.config_path, server::render_config(c), 0600));
  ASSIGN_OR_RETURN(out.ca_fingerprint, crypto::cert_fingerprint(ca.cert));
  ASSIGN_OR_RETURN(auto dir, DataDir::open(out.config_path));
  ASSIGN_OR_RETURN(meta::Admin admin, dir->service().create_admin(in.admin, &out.admin_password));
  ASSIGN_OR_RETURN(crypto::Pem admin_pem, dir->service().issue_admin_cert(admin.name));
  out.admin_cert_path = d + "/admin/" + admin.name + ".pem";
  RETURN_IF_ERROR(write_new(env, out.admin_cert_path, admin_pem.cert + admin_pem.key, 0600));
  return out;
}

base::StatusOr<std::unique_ptr<DataDir>> DataDir::open(const std::string& config_path) {
  auto dir = std::unique_ptr<DataDir>(new DataDir());
  ASSIGN_OR_RETURN(dir->config_, server::load_config(config_path));
  const server::ServerConfig& c = dir->config_;
  ASSIGN_OR_RETURN(dir->meta_, meta::open_sqlite(c.sqlite));
  std::map<std::string, objstore::ObjectStore*> regions;
  for (const auto& [name, root] : c.regions) {
    RETURN_IF_ERROR(service::check_region_name(name).with_context(config_path));
    dir->stores_[name] = objstore::open_local_store(base::posix_env(), root);
    regions[name] = dir->stores_[name].get();
  }
  service::ServiceOptions o;
  ASSIGN_OR_RETURN(o.ca.cert, read_text(c.ca_cert));
  ASSIGN_OR_RETURN(o.ca.key, read_text(c.ca_key));
  o.device_cert_days = c.device_cert_days;
  o.enroll_code_hours = c.enroll_code_hours;
  o.public_url = c.public_url;
  dir->service_ = std::make_unique<service::Service>(dir->meta_.get(), std::move(regions),
                                                     base::system_clock(), std::move(o));
  dir->accounts_ = std::make_unique<service::Accounts>(dir->meta_.get(), base::system_clock(),
                                                       server::account_options(c));
  return dir;
}

}  // namespace kura::serverapp
