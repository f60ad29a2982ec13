// kura-server: the multi-tenant backup service (run) and its local administration (init,
// tenant, repo, device, audit, admin), which opens the data folder directly and works while
// the server runs. Messages come from i18n/server.*.msg.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <functional>
#include <fstream>
#include <sstream>

#include "apps/kura-server/datadir.h"
#include "apps/kura/output.h"
#include "base/bytes.h"
#include "base/env.h"
#include "base/i18n.h"
#include "base/log.h"
#include "crypto/x509.h"
#include "server/access_log.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/metrics.h"

extern const char kKuraCatalog_en[];
extern const char kKuraCatalog_ja[];

namespace kura::serverapp {
namespace {

using nlohmann::json;

base::Messages load_messages() {
  auto en = base::Catalog::parse(kKuraCatalog_en);
  auto ja = base::Catalog::parse(kKuraCatalog_ja);
  base::Catalog fallback = en.ok() ? std::move(*en) : base::Catalog();
  base::Catalog primary = fallback;
  if (base::detect_language() == base::Lang::kJa && ja.ok()) primary = std::move(*ja);
  return base::Messages(std::move(primary), std::move(fallback));
}

const base::Messages& msg() {
  static const base::Messages m = load_messages();
  return m;
}

int fail(const base::Status& st) {
  std::fprintf(stderr, "kura-server: %s\n", st.message().c_str());
  switch (st.code()) {
    case base::Code::kInvalidArgument: return 2;
    case base::Code::kNotFound: return 3;
    case base::Code::kAlreadyExists: return 4;
    default: return 1;
  }
}

std::string human_bytes(int64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
  return buf;
}

// Prints rows as left-aligned columns, measured in terminal cells (Japanese headings are two
// cells per character).
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (const auto& r : rows) {
    if (w.size() < r.size()) w.resize(r.size());
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], cli::display_width(r[i]));
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += i + 1 < r.size() ? cli::pad_to_width(r[i], w[i] + 2) : r[i];
    }
    std::puts(line.c_str());
  }
}

// A CSR or similar small text file the admin names.
base::StatusOr<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::not_found(path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1 << 20)) return base::invalid_argument(path + ": larger than 1 MiB");
  return text.str();
}

// A certificate to standard output, or to a file (0644: certificates are public).
base::Status write_output(const std::string& path, const std::string& text) {
  if (path.empty()) {
    std::fputs(text.c_str(), stdout);
    return base::ok_status();
  }
  base::WriteOptions o;
  o.mode = 0644;
  ASSIGN_OR_RETURN(auto f, base::posix_env()->open_write(path, o));
  RETURN_IF_ERROR(f->append(base::as_bytes(text)));
  return f->close();
}

struct Globals {
  std::string data = [] {
    const char* d = std::getenv("KURA_SERVER_DATA");
    return std::string(d ? d : "");
  }();
  bool json = false;
};

base::StatusOr<std::unique_ptr<DataDir>> open_data(const Globals& g) {
  if (g.data.empty()) {
    return base::invalid_argument(msg().get("srv.err.no_data"));
  }
  return DataDir::open(config_path_of(g.data));
}

// Records what a local admin command did (REQUIREMENTS L1: every change is recorded).
void record_local(DataDir& d, const std::string& tenant, const std::string& action,
                  const std::string& object, const base::Status& st) {
  meta::AccessRecord r;
  const base::Timespec t = base::system_clock()->now();  // one reading: sec and nsec agree
  r.time_unix_ms = t.sec * 1000 + t.nsec / 1000000;
  r.tenant = tenant;
  // The operating-system account that ran the command (not $USER, which anyone can set).
  struct passwd* pw = getpwuid(getuid());
  r.actor = "cli:" + (pw && pw->pw_name ? std::string(pw->pw_name) : std::to_string(getuid()));
  r.source_ip = "local";
  r.auth_method = "local";
  r.action = action;
  r.object = object;
  r.result = st.ok() ? "ok" : "error: " + st.message();
  d.meta().append_access_records(std::span<const meta::AccessRecord>(&r, 1)).ignore();
}

int cmd_init(InitOptions& o, const std::vector<std::string>& regions) {
  for (const std::string& r : regions) {
    size_t eq = r.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == r.size()) {
      return fail(base::invalid_argument(msg().format("srv.err.region_flag", r)));
    }
    o.regions[r.substr(0, eq)] = r.substr(eq + 1);
  }
  auto res = init_data_dir(o);
  if (!res.ok()) return fail(res.status());
  std::fputs(msg().format("srv.init.done", o.data_dir, res->config_path).c_str(), stderr);
  std::fputs(msg().format("srv.init.admin", o.admin, res->admin_password, res->admin_cert_path).c_str(),
             stderr);
  std::fputs(msg().format("srv.init.fingerprint_hint").c_str(), stderr);
  // The fingerprint alone on stdout, for scripts: FP=$(kura-server init ...).
  std::printf("%s\n", res->ca_fingerprint.c_str());
  return 0;
}

// After a kill or a power loss a repository can hold temp files of cut uploads, and objects
// committed whose size never reached the usage count (the kill came between the link and the
// count). Before listening no upload is open, so a sweep and a recount are exact. They walk
// every repository, so they run only when the last run did not stop cleanly (its marker is
// still there) or when asked (run --recover).
base::Status recover_repositories(service::Service& svc) {
  ASSIGN_OR_RETURN(std::vector<service::TenantSummary> tenants, svc.list_tenants());
  for (const auto& t : tenants) {
    ASSIGN_OR_RETURN(std::vector<meta::Repo> repos, svc.list_repos(t.tenant.name));
    for (const auto& r : repos) {
      ASSIGN_OR_RETURN(service::RepoAccess access, svc.repo(t.tenant.name, r.name));
      ASSIGN_OR_RETURN(uint64_t swept, access.store->sweep_temp_files(access.ref, 0));
      ASSIGN_OR_RETURN(meta::Repo now, svc.recount_usage(t.tenant.name, r.name));
      if (swept > 0 || now.used_bytes != r.used_bytes) {
        spdlog::warn("repository {}/{}: {} temp files of interrupted uploads removed, usage {} -> {} bytes",
                     t.tenant.name, r.name, swept, r.used_bytes, now.used_bytes);
      }
    }
  }
  return base::ok_status();
}

// "<database>.running": written durably before listening, removed after a clean stop.
std::string running_marker(const server::ServerConfig& c) { return c.sqlite + ".running"; }

int cmd_run(const Globals& g, std::string config, bool recover) {
  if (config.empty() && !g.data.empty()) config = config_path_of(g.data);
  if (config.empty()) return fail(base::invalid_argument(msg().get("srv.err.no_config")));
  auto dir = DataDir::open(config);
  if (!dir.ok()) return fail(dir.status());
  const server::ServerConfig& c = (*dir)->config();
  base::Env* env = base::posix_env();
  const std::string marker = running_marker(c);
  const bool unclean = env->lstat(marker).ok();
  if (unclean || recover) {
    spdlog::info(unclean ? "the last run did not stop cleanly: checking every repository for "
                           "interrupted uploads and recounting usage"
                         : "checking every repository for interrupted uploads and recounting usage");
    if (base::Status st = recover_repositories((*dir)->service()); !st.ok()) return fail(st);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (base::Status st = env->write_file_atomic(marker, base::as_bytes(pid), 0600); !st.ok()) {
    return fail(st);
  }
  server::Metrics metrics;
  server::AccessLog log(&(*dir)->meta(), &metrics, c.access_batch, c.access_flush_ms);
  server::HttpServer http(c, &(*dir)->service(), &(*dir)->accounts(), &log, &metrics);
  base::Status st = http.start();
  if (!st.ok()) return fail(st);
  spdlog::info("kura-server listening on {} (port {}), public URL {}", c.listen, http.port(),
               c.public_url);
  http.run(/*handle_signals=*/true);
  log.flush();
  // Clean: every upload either committed and counted, or its temp file removed.
  if (!env->remove_file(marker).ok() || !env->sync_dir(base::path_dirname(marker)).ok()) {
    spdlog::warn("could not remove {}: the next start checks every repository", marker);
  }
  spdlog::info("kura-server stopped");
  return 0;
}

json tenant_json(const service::TenantSummary& s) {
  return json{{"name", s.tenant.name},       {"display_name", s.tenant.display_name},
              {"region", s.tenant.region},   {"quota_bytes", s.tenant.quota_bytes},
              {"used_bytes", s.used_bytes},  {"repos", s.repos},
              {"devices", s.devices},        {"created", server::rfc3339(s.tenant.created_unix)}};
}

void print_tenants(const Globals& g, const std::vector<service::TenantSummary>& list) {
  if (g.json) {
    json arr = json::array();
    for (const auto& s : list) arr.push_back(tenant_json(s));
    std::puts(arr.dump().c_str());
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {msg().get("srv.col.tenant"), msg().get("srv.col.region"), msg().get("srv.col.used"),
       msg().get("srv.col.quota"), msg().get("srv.col.repos"), msg().get("srv.col.devices"),
       msg().get("srv.col.display_name")}};
  for (const auto& s : list) {
    std::string quota = s.tenant.quota_bytes ? human_bytes(s.tenant.quota_bytes) : "-";
    rows.push_back({s.tenant.name, s.tenant.region, human_bytes(s.used_bytes), quota,
                    std::to_string(s.repos), std::to_string(s.devices), s.tenant.display_name});
  }
  print_table(rows);
}

}  // namespace

int main_impl(int argc, char** argv) {
  base::init_logging(base::LogLevel::kVerbose);
  const base::Messages& m = msg();
  CLI::App app{m.get("srv.app.description"), "kura-server"};
  app.require_subcommand(1);
  Globals g;
  app.add_option("--data", g.data, m.get("srv.flag.data"));
  app.add_flag("--json", g.json, m.get("srv.flag.json"));
  app.set_version_flag("--version", std::string("kura-server ") + KURA_VERSION);

  int rc = 0;
  // init
  InitOptions init;
  std::vector<std::string> regions, hosts;
  auto* c_init = app.add_subcommand("init", m.get("srv.cmd.init"));
  c_init->add_option("--listen", init.listen, m.get("srv.flag.listen"))->capture_default_str();
  c_init->add_option("--public-url", init.public_url, m.get("srv.flag.public_url"));
  c_init->add_option("--host", init.hosts, m.get("srv.flag.host"));
  c_init->add_option("--region", regions, m.get("srv.flag.region"));
  c_init->add_option("--admin", init.admin, m.get("srv.flag.admin"))->capture_default_str();
  c_init->callback([&] {
    init.data_dir = g.data;
    rc = cmd_init(init, regions);
  });
  // run
  std::string config;
  auto* c_run = app.add_subcommand("run", m.get("srv.cmd.run"));
  bool recover = false;
  c_run->add_option("--config", config, m.get("srv.flag.config"));
  c_run->add_flag("--recover", recover, m.get("srv.flag.recover"));
  c_run->callback([&] { rc = cmd_run(g, config, recover); });

  // tenant
  auto* c_tenant = app.add_subcommand("tenant", m.get("srv.cmd.tenant"));
  c_tenant->require_subcommand(1);
  std::string name, quota = "0", region = "jp-east", display;
  auto* t_create = c_tenant->add_subcommand("create", m.get("srv.cmd.tenant_create"));
  t_create->add_option("name", name, m.get("srv.arg.tenant"))->required();
  t_create->add_option("--quota", quota, m.get("srv.flag.quota"))->capture_default_str();
  t_create->add_option("--region", region, m.get("srv.flag.tenant_region"))->capture_default_str();
  t_create->add_option("--display-name", display, m.get("srv.flag.display_name"));
  t_create->callback([&] {
    auto d = open_data(g);
    if (!d.ok()) return void(rc = fail(d.status()));
    auto q = service::parse_size(quota);
    if (!q.ok()) return void(rc = fail(q.status()));
    auto t = (*d)->service().create_tenant(name, display, region, *q);
    record_local(**d, name, "tenant.create", name, t.status());
    if (!t.ok()) return void(rc = fail(t.status()));
    std::fputs(m.format("srv.tenant.created", t->name, t->region,
                        t->quota_bytes ? human_bytes(t->quota_bytes) : m.get("srv.quota.none"))
                   .c_str(),
               stderr);
  });
  auto* t_list = c_tenant->add_subcommand("list", m.get("srv.cmd.tenant_list"));
  t_list->callback([&] {
    auto d = open_data(g);
    if (!d.ok()) return void(rc = fail(d.status()));
    auto list = (*d)->service().list_tenants();
    if (!list.ok()) return void(rc = fail(list.status()));
    print_tenants(g, *list);
  });
  auto* t_show = c_tenant->add_subcommand("show", m.get("srv.cmd.tenant_show"));
  t_show->add_option("name", name, m.get("srv.arg.tenant"))->required();
  t_show->callback([&] {
    auto d = open_data(g);
    if (!d.ok()) return void(rc = fail(d.status()));
    auto s = (*d)->service().tenant_summary(name);
    if (!s.ok()) return void(rc = fail(s.status()));
    print_tenants(g, {*s});
  });
  auto* t_quota = c_tenant->add_subcommand("set-quota", m.get("srv.cmd.tenant_set_quota"));
  t_quota->add_option("name", name, m.get("srv.arg.tenant"))->required();
  t_quota->add_option("size", quota, m.get("srv.arg.size"))->required();
  t_quota->callback([&] {
    auto d = open_data(g);
    if (!d.ok()) return void(rc = fail(d.status()));
    auto q = service::parse_size(quota);
    if (!q.ok()) return void(rc = fail(q.status()));
    base::Status st = (*d)->service().set_quota(name, *q);
    record_local(**d, name, "tenant.set_quota", name + " " + std::to_string(*q), st);
    if (!st.ok()) return void(rc = fail(st));
    std::fputs(m.format("srv.tenant.quota_set", name, *q ? human_bytes(*q) : m.get("srv.quota.none")).c_str(),
               stderr);
  });

  // repo
  auto* c_repo = app.add_subcommand("repo", m.get("srv.cmd.repo"));
  c_repo->require_subcommand(1);
  std::string tenant, repo;
  auto* r_create = c_repo->add_subcommand("create", m.get("srv.cmd.repo_create"));
  r_create->add_option("tenant", tenant, m.get("srv.arg.tenant"))->required();
  r_create->add_option("repo", repo, m.get("srv.arg.repo"))->required();
  r_create->callback([&] {
    auto d = open_data(g);
    if (!d.ok()) return void(rc = fail(d.status()));
    auto r = (*d)->service().create_repo(tenant, repo);
    record_local(**d, tenant, "repo.create", tenant + "/" + repo, r.status());
    if (!r.ok()) return void(rc = fail(r.status()));
    std::fputs(m.format("srv.repo.created", tenant, repo).c_str(), stderr);
  });
  auto* r_list = c_repo->add_subcommand("list", m.get("srv.cmd.repo_list"));
  r_list->add_option("tenant", tenant, m.get("srv.arg.tenant"))->required();
  r_list->callback([&] {
    auto d = open_data(g);
    if (!d.ok()) return void(rc = fail(d.status()));
    auto repos = (*d)->service().list_repos(tenant);
    if (!repos.ok()) return void(rc = fail(repos.status()));
    if (g.json) {
      json arr = json::array();
      for (const auto& r : *repos) {
        arr.push_back(json{{"name", r.name}, {"used_bytes", r.used_bytes},
                           {"objects", r.object_count}, {"created", server::rfc3339(r.created_unix)}});
      }
      std::puts(arr.dump().c_str());
      return;
    }
    std::vector<std::vector<std::string>> rows = {
        {m.get("srv.col.repo"), m.get("srv.col.used"), m.get("srv.col.objects"), m.get("srv.col.created")}};
    for (const auto& r : *repos) {
      rows.push_back({r.name, human_bytes(r.used_bytes), std::to_string(r.object_count),
                      server::rfc3339(r.created_unix)});
    }
    print_table(rows);
  });

  // device
  auto* c_dev = app.add_subcommand("device", m.get("srv.cmd.device"));
  c_dev->require_subcommand(1);
  std::string device, csr_file, out_file;
  bool maintenance = false;
  auto* d_code = c_dev->add_subcommand("enroll-code", m.get("srv.cmd.device_enroll_code"));
  d_code->add_option("tenant", tenant, m.get("srv.arg.tenant"))->required();
  d_code->add_option("repo", repo, m.get("srv.arg.repo"))->required();
  d_code->add_option("--name", device, m.get("srv.flag.device_name"))->required();
  d_code->add_flag("--maintenance", maintenance, m.get("srv.flag.maintenance"));
  d_code->callback([&] {
    auto d = open_data(g);
    if (!d.ok()) return void(rc = fail(d.status()));
    auto code = (*d)->service().make_enroll_code(
        tenant, repo, device, maintenance ? meta::DeviceRole::kMaintenance : meta::DeviceRole::kBackup);
    record_local(**d, tenant, maintenance ? "device.enroll_code.maintenance" : "device.enroll_code",
                 tenant + "/" + repo + "/device/" + device, code.status());
    if (!code.ok()) return void(rc = fail(code.status()));
    std::fputs(m.format("srv.device.code_hint", device, (*d)->config().enroll_code_hours).c_str(), stderr);
    std::printf("%s\n", code->c_str());
  });
  auto* d_sign = c_dev->add_subcommand("sign-csr", m.get("srv.cmd.device_sign_csr"));
  d_sign->add_option("tenant", tenant, m.get("srv.arg.tenant"))->required();
  d_sign->add_option("repo", repo, m.get("srv.arg.repo"))->required();
  d_sign->add_option("--name", device, m.get("srv.flag.device_name"))->required();
  d_sign->add_option("--csr", csr_file, m.get("srv.flag.csr"))->required();
  d_sign->add_option("--out", out_file, m.get("srv.flag.cert_out"));
  d_sign->add_flag("--maintenance", maintenance, m.get("srv.flag.maintenance"));
  d_sign->callback([&] {
    auto d = open_data(g);
    if (!d.ok()) return void(rc = fail(d.status()));
    auto csr = read_file(csr_file);
    if (!csr.ok()) return void(rc = fail(csr.status()));
    auto e = (*d)->service().sign_csr(tenant, repo, device,
                                      maintenance ? meta::DeviceRole::kMaintenance
                                                  : meta::DeviceRole::kBackup,
                                      *csr);
    record_local(**d, tenant, "device.sign_csr", tenant + "/" + repo + "/device/" + device, e.status());
    if (!e.ok()) return void(rc = fail(e.status()));
    base::Status st = write_output(out_file, e->certificate_pem);
    if (!st.ok()) return void(rc = fail(st));
    std::fputs(m.format("srv.device.signed", device, e->repository_url).c_str(), stderr);
  });
  auto* d_renew = c_dev->add_subcommand("renew", m.get("srv.cmd.device_renew"));
  d_renew->add_option("tenant", tenant, m.get("srv.arg.tenant"))->required();
  d_renew->add_option("device", device, m.get("srv.arg.device"))->required();
  d_renew->add_option("--csr", csr_file, m.get("srv.flag.csr"))->required();
  d_renew->add_option("--out", out_file, m.get("srv.flag.cert_out"));
  d_renew->callback([&] {
    auto d = open_data(g);
    if (!d.ok()) return void(rc = fail(d.status()));
    auto csr = read_file(csr_file);
    if (!csr.ok()) return void(rc = fail(csr.status()));
    auto e = (*d)->service().renew_device(tenant, device, *csr);
    record_local(**d, tenant, "device.renew", tenant + "/device/" + device, e.status());
    if (!e.ok()) return void(rc = fail(e.status()));
    base::Status st = write_output(out_file, e->certificate_pem);
    if (!st.ok()) return void(rc = fail(st));
    std::fputs(m.format("srv.device.renewed", device, server::rfc3339(e->not_after)).c_str(), stderr);
  });
  auto* d_list = c_dev->add_subcommand("list", m.get("srv.cmd.device_list"));
  d_list->add_option("tenant", tenant, m.get("srv.arg.tenant"))->required();
  d_list->callback([&] {
    auto d = open_data(g);
    if (!d.ok()) return void(rc = fail(d.status()));
    auto devices = (*d)->service().list_devices(tenant);
    if (!devices.ok()) return void(rc = fail(devices.status()));
    auto repos = (*d)->service().list_repos(tenant);
    if (!repos.ok()) return void(rc = fail(repos.status()));
    auto repo_name = [&](int64_t id) {
      for (const auto& r : *repos) {
        if (r.id == id) return r.name;
      }
      return std::string("?");
    };
    if (g.json) {
      json arr = json::array();
      for (const auto& dv : *devices) {
        arr.push_back(json{{"name", dv.name}, {"repo", repo_name(dv.repo_id)},
                           {"role", dv.role == meta::DeviceRole::kMaintenance ? "maintenance" : "backup"},
                           {"serial", dv.cert_serial}, {"fingerprint", dv.cert_fingerprint},
                           {"not_after", server::rfc3339(dv.not_after)}, {"revoked", dv.revoked}});
      }
      std::puts(arr.dump().c_str());
      return;
    }
    std::vector<std::vector<std::string>> rows = {{m.get("srv.col.device"), m.get("srv.col.repo"),
                                                   m.get("srv.col.role"), m.get("srv.col.state"),
                                                   m.get("srv.col.expires"), m.get("srv.col.serial")}};
    for (const auto& dv : *devices) {
      rows.push_back({dv.name, repo_name(dv.repo_id),
                      dv.role == meta::DeviceRole::kMaintenance ? "maintenance" : "backup",
                      dv.revoked ? m.get("srv.state.revoked") : m.get("srv.state.active"),
                      server::rfc3339(dv.not_after), dv.cert_serial});
    }
    print_table(rows);
  });
  auto* d_revoke = c_dev->add_subcommand("revoke", m.get("srv.cmd.device_revoke"));
  d_revoke->add_option("tenant", tenant, m.get("srv.arg.tenant"))->required();
  d_revoke->add_option("device", device, m.get("srv.arg.device"))->required();
  d_revoke->callback([&] {
    auto d = open_data(g);
    if (!d.ok()) return void(rc = fail(d.status()));
    base::Status st = (*d)->service().revoke_device(tenant, device);
    record_local(**d, tenant, "device.revoke", tenant + "/device/" + device, st);
    if (!st.ok()) return void(rc = fail(st));
    std::fputs(m.format("srv.device.revoked", device).c_str(), stderr);
  });

  // audit
  auto* c_audit = app.add_subcommand("audit", m.get("srv.cmd.audit"));
  c_audit->require_subcommand(1);
  int limit = 100;
  bool csv = false;
  auto* a_list = c_audit->add_subcommand("list", m.get("srv.cmd.audit_list"));
  a_list->add_option("--tenant", tenant, m.get("srv.flag.audit_tenant"));
  a_list->add_option("--limit", limit, m.get("srv.flag.limit"))->capture_default_str();
  auto* a_export = c_audit->add_subcommand("export", m.get("srv.cmd.audit_export"));
  a_export->add_option("--tenant", tenant, m.get("srv.flag.audit_tenant"));
  a_export->add_flag("--csv", csv, m.get("srv.flag.csv"));
  auto audit = [&](bool all) {
    auto d = open_data(g);
    if (!d.ok()) return void(rc = fail(d.status()));
    meta::AccessQuery q;
    q.tenant = tenant;
    // Pages in id order; `list` keeps the newest `limit` of them.
    q.limit = 10000;
    std::deque<meta::AccessRecord> kept;
    while (true) {
      auto page = (*d)->meta().list_access_records(q);
      if (!page.ok()) return void(rc = fail(page.status()));
      for (auto& r : *page) {
        kept.push_back(std::move(r));
        if (!all && static_cast<int>(kept.size()) > limit) kept.pop_front();
      }
      if (page->empty() || static_cast<int>(page->size()) < q.limit) break;
      q.after_id = kept.back().id;
    }
    std::vector<meta::AccessRecord> records(std::make_move_iterator(kept.begin()),
                                            std::make_move_iterator(kept.end()));
    if (csv || (all && !g.json)) {
      std::string text = server::access_records_csv(records, true);
      std::fwrite(text.data(), 1, text.size(), stdout);
      return;
    }
    if (g.json || all) {
      json arr = json::array();
      for (const auto& r : records) {
        arr.push_back(json{{"id", r.id}, {"time", server::rfc3339_ms(r.time_unix_ms)},
                           {"tenant", r.tenant}, {"actor", r.actor}, {"source_ip", r.source_ip},
                           {"auth_method", r.auth_method}, {"action", r.action},
                           {"object", r.object}, {"status", r.status}, {"result", r.result},
                           {"bytes", r.bytes}});
      }
      std::puts(arr.dump().c_str());
      return;
    }
    std::vector<std::vector<std::string>> rows = {
        {m.get("srv.col.time"), m.get("srv.col.tenant"), m.get("srv.col.actor"), m.get("srv.col.source"),
         m.get("srv.col.action"), m.get("srv.col.status"), m.get("srv.col.object")}};
    for (const auto& r : records) {
      rows.push_back({server::rfc3339_ms(r.time_unix_ms), r.tenant, r.actor, r.source_ip,
                      r.action, std::to_string(r.status) + " " + r.result.substr(0, 40),
                      r.object.substr(0, 60)});
    }
    print_table(rows);
  };
  a_list->callback([&] { audit(false); });
  a_export->callback([&] { audit(true); });

  // admin
  auto* c_admin = app.add_subcommand("admin", m.get("srv.cmd.admin"));
  c_admin->require_subcommand(1);
  std::string admin;
  auto* ad_cert = c_admin->add_subcommand("cert", m.get("srv.cmd.admin_cert"));
  ad_cert->add_option("name", admin, m.get("srv.arg.admin"))->required();
  ad_cert->add_option("--out", out_file, m.get("srv.flag.admin_cert_out"))->required();
  ad_cert->callback([&] {
    auto d = open_data(g);
    if (!d.ok()) return void(rc = fail(d.status()));
    auto pem = (*d)->service().issue_admin_cert(admin);
    record_local(**d, "", "admin.cert", "admin/" + admin, pem.status());
    if (!pem.ok()) return void(rc = fail(pem.status()));
    base::WriteOptions o;
    o.exclusive = true;
    o.mode = 0600;
    auto f = base::posix_env()->open_write(out_file, o);
    base::Status st = f.status();
    if (st.ok()) st = (*f)->append(base::as_bytes(pem->cert + pem->key));
    if (st.ok()) st = (*f)->close();
    if (!st.ok()) return void(rc = fail(st));
    std::fputs(m.format("srv.admin.cert_written", admin, out_file).c_str(), stderr);
  });

  // user: control-panel accounts from the server's shell (the first admin exists from init;
  // the rest is usually done in the panel). reset-factors is the break-glass for an account
  // whose only admin lost its phone: it needs no second admin, and is recorded.
  auto* c_user = app.add_subcommand("user", m.get("srv.cmd.user"));
  c_user->require_subcommand(1);
  std::string login, role_text;
  auto user_of = [&](DataDir& d) { return d.meta().user_by_login(login); };
  // The id of --tenant (0, the provider, when it is not given).
  auto tenant_id = [&](DataDir& d) -> base::StatusOr<int64_t> {
    if (tenant.empty()) return int64_t{0};
    ASSIGN_OR_RETURN(auto t, d.service().tenant(tenant));
    return t.id;
  };
  auto* u_list = c_user->add_subcommand("list", m.get("srv.cmd.user_list"));
  u_list->add_option("--tenant", tenant, m.get("srv.flag.user_tenant"));
  u_list->callback([&] {
    auto d = open_data(g);
    if (!d.ok()) return void(rc = fail(d.status()));
    auto tid = tenant_id(**d);
    if (!tid.ok()) return void(rc = fail(tid.status()));
    auto users = (*d)->meta().list_users(*tid);
    if (!users.ok()) return void(rc = fail(users.status()));
    const int64_t now = base::system_clock()->now().sec;
    json arr = json::array();
    std::vector<std::vector<std::string>> rows = {{m.get("srv.col.login"), m.get("srv.col.name"),
                                                   m.get("srv.col.role"), m.get("srv.col.state"),
                                                   m.get("srv.col.factors")}};
    for (const auto& u : *users) {
      auto kinds = (*d)->accounts().factor_kinds(u.id);
      std::string factors;
      for (const auto& k : kinds.ok() ? *kinds : std::vector<std::string>{}) {
        factors += (factors.empty() ? "" : ",") + k;
      }
      const std::string state = u.disabled              ? m.get("srv.state.disabled")
                                : u.locked_until > now ? m.get("srv.state.locked")
                                                       : m.get("srv.state.active");
      arr.push_back(json{{"login", u.login}, {"display_name", u.display_name},
                         {"role", meta::user_role_name(u.role)}, {"disabled", u.disabled},
                         {"locked", u.locked_until > now}, {"factors", factors}});
      rows.push_back({u.login, u.display_name, std::string(meta::user_role_name(u.role)), state,
                      factors.empty() ? "-" : factors});
    }
    if (g.json) return void(std::puts(arr.dump(-1, ' ', false, json::error_handler_t::replace).c_str()));
    print_table(rows);
  });
  auto* u_create = c_user->add_subcommand("create", m.get("srv.cmd.user_create"));
  u_create->add_option("login", login, m.get("srv.arg.login"))->required();
  u_create->add_option("--role", role_text, m.get("srv.flag.user_role"))->required();
  u_create->add_option("--tenant", tenant, m.get("srv.flag.user_tenant"));
  u_create->add_option("--name", display, m.get("srv.flag.user_name"));
  u_create->callback([&] {
    auto d = open_data(g);
    if (!d.ok()) return void(rc = fail(d.status()));
    auto role = meta::parse_user_role(role_text);
    if (!role.ok()) return void(rc = fail(role.status()));
    auto tid = tenant_id(**d);
    if (!tid.ok()) return void(rc = fail(tid.status()));
    base::StatusOr<meta::User> u = base::internal_error("no user created");
    std::string password;
    for (int attempt = 0; attempt < 5; ++attempt) {
      password = service::Accounts::new_initial_password();
      u = (*d)->accounts().create_user(*tid, login, display.empty() ? login : display, *role, password);
      // Only a random password that the policy refused (e.g. it held the ID) is worth another.
      if (u.ok() || u.status().message().rfind("password:", 0) != 0) break;
    }
    record_local(**d, tenant, "user.create",
                 "user:" + login + " role:" + std::string(meta::user_role_name(*role)), u.status());
    if (!u.ok()) return void(rc = fail(u.status()));
    std::fputs(m.format("srv.user.created", login, password).c_str(), stderr);
  });
  // unlock and reset-factors: one account by its login, the step recorded, a line on success.
  auto user_action = [&](const char* name, const char* help_key, const char* action, const char* done_key,
                         std::function<base::Status(DataDir&, const meta::User&)> run) {
    auto* cmd = c_user->add_subcommand(name, m.get(help_key));
    cmd->add_option("login", login, m.get("srv.arg.login"))->required();
    cmd->callback([&, action, done_key, run] {
      auto d = open_data(g);
      if (!d.ok()) return void(rc = fail(d.status()));
      auto u = user_of(**d);
      base::Status st = u.ok() ? run(**d, *u) : u.status();
      record_local(**d, "", action, "user:" + login, st);
      if (!st.ok()) return void(rc = fail(st));
      std::fputs(m.format(done_key, login).c_str(), stderr);
    });
  };
  user_action("unlock", "srv.cmd.user_unlock", "user.unlock", "srv.user.unlocked",
              [](DataDir& d, const meta::User& u) { return d.accounts().unlock(u.id); });
  user_action("reset-factors", "srv.cmd.user_reset", "user.reset_factors", "srv.user.factors_reset",
              [](DataDir& d, const meta::User& u) { return d.accounts().remove_all_factors(u.id); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return rc;
}

}  // namespace kura::serverapp

int main(int argc, char** argv) { return kura::serverapp::main_impl(argc, argv); }
