#include "server/api.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <ctime>
#include <vector>

#include "server/json_body.h"

namespace kura::server {
namespace {

using nlohmann::json;

ApiResponse ok_json(const json& j) {
  ApiResponse r;
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

// The body as a JSON object, or an error response.
bool parse_object(std::string_view body, json* out, ApiResponse* err) {
  auto j = parse_json_object(body);
  if (!j.ok()) {
    *err = error_response(j.status());
    return false;
  }
  *out = std::move(*j);
  return true;
}

json tenant_json(const service::TenantSummary& s) {
  return json{{"name", s.tenant.name},           {"display_name", s.tenant.display_name},
              {"region", s.tenant.region},       {"quota_bytes", s.tenant.quota_bytes},
              {"used_bytes", s.used_bytes},      {"repos", s.repos},
              {"devices", s.devices},            {"created", rfc3339(s.tenant.created_unix)}};
}

json repo_json(const meta::Repo& r) {
  return json{{"name", r.name},
              {"used_bytes", r.used_bytes},
              {"objects", r.object_count},
              {"created", rfc3339(r.created_unix)}};
}

json device_json(const meta::Device& d, const std::string& repo) {
  return json{{"name", d.name},
              {"repo", repo},
              {"role", d.role == meta::DeviceRole::kMaintenance ? "maintenance" : "backup"},
              {"serial", d.cert_serial},
              {"fingerprint", d.cert_fingerprint},
              {"not_after", rfc3339(d.not_after)},
              {"revoked", d.revoked},
              {"created", rfc3339(d.created_unix)},
              {"last_seen", d.last_seen_unix ? rfc3339(d.last_seen_unix) : ""}};
}

json record_json(const meta::AccessRecord& r) {
  return json{{"id", r.id},           {"time", rfc3339_ms(r.time_unix_ms)},
              {"tenant", r.tenant},   {"actor", r.actor},
              {"source_ip", r.source_ip}, {"auth_method", r.auth_method},
              {"action", r.action},   {"object", r.object},
              {"status", r.status},   {"result", r.result},
              {"bytes", r.bytes}};
}

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

// One query parameter's value ("" when absent). Values here are names and numbers, which need
// no percent-decoding; anything with '%' is refused by the caller's parsers.
std::string query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    size_t eq = kv.find('=');
    if (kv.substr(0, eq) == key) return eq == std::string_view::npos ? "" : std::string(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

base::StatusOr<int64_t> int_param(std::string_view query, std::string_view key, int64_t dflt) {
  std::string v = query_param(query, key);
  if (v.empty()) return dflt;
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < 0) {
    return base::invalid_argument("query parameter " + std::string(key) + " must be a number");
  }
  return n;
}

ApiResponse audit(service::Service& svc, std::string_view query, bool csv) {
  meta::AccessQuery q;
  q.tenant = query_param(query, "tenant");
  auto since = int_param(query, "since", 0);
  auto until = int_param(query, "until", 0);
  auto after = int_param(query, "after", 0);
  auto limit = int_param(query, "limit", 1000);
  for (const auto* s : {&since, &until, &after, &limit}) {
    if (!s->ok()) return error_response(s->status());
  }
  q.since_unix_ms = *since;
  q.until_unix_ms = *until;
  q.after_id = *after;
  q.limit = static_cast<int>(std::clamp<int64_t>(*limit, 1, 100000));
  auto records = svc.meta()->list_access_records(q);
  if (!records.ok()) return error_response(records.status());
  ApiResponse r;
  if (csv) {
    r.body = access_records_csv(*records, true);
    r.content_type = "text/csv; charset=utf-8";
    return r;
  }
  json arr = json::array();
  for (const meta::AccessRecord& rec : *records) arr.push_back(record_json(rec));
  return ok_json(arr);
}

ApiResponse enrollment_response(const service::Enrollment& e);

ApiResponse tenant_routes(service::Service& svc, std::string_view method,
                          const std::vector<std::string_view>& p, std::string_view body) {
  const std::string tenant(p[1]);
  if (p.size() == 2 && method == "GET") {
    auto s = svc.tenant_summary(tenant);
    return s.ok() ? ok_json(tenant_json(*s)) : error_response(s.status());
  }
  if (p.size() == 3 && p[2] == "quota" && method == "PUT") {
    json j;
    ApiResponse err;
    if (!parse_object(body, &j, &err)) return err;
    auto q = quota_member(j);
    if (!q.ok()) return error_response(q.status());
    base::Status st = svc.set_quota(tenant, *q);
    if (!st.ok()) return error_response(st);
    auto s = svc.tenant_summary(tenant);
    return s.ok() ? ok_json(tenant_json(*s)) : error_response(s.status());
  }
  if (p.size() == 3 && p[2] == "repos") {
    if (method == "GET") {
      auto repos = svc.list_repos(tenant);
      if (!repos.ok()) return error_response(repos.status());
      json arr = json::array();
      for (const meta::Repo& r : *repos) arr.push_back(repo_json(r));
      return ok_json(arr);
    }
    if (method == "POST") {
      json j;
      ApiResponse err;
      if (!parse_object(body, &j, &err)) return err;
      auto r = svc.create_repo(tenant, str_member(j, "name"));
      return r.ok() ? ok_json(repo_json(*r)) : error_response(r.status());
    }
  }
  if (p.size() == 3 && p[2] == "devices" && method == "GET") {
    auto devices = svc.list_devices(tenant);
    if (!devices.ok()) return error_response(devices.status());
    auto t = svc.tenant(tenant);
    auto repos = t.ok() ? svc.meta()->list_repos(t->id) : base::StatusOr<std::vector<meta::Repo>>(t.status());
    if (!repos.ok()) return error_response(repos.status());
    json arr = json::array();
    for (const meta::Device& d : *devices) {
      std::string repo_name;
      for (const meta::Repo& r : *repos) {
        if (r.id == d.repo_id) repo_name = r.name;
      }
      arr.push_back(device_json(d, repo_name));
    }
    return ok_json(arr);
  }
  if (p.size() == 3 && p[2] == "enroll-codes" && method == "POST") {
    json j;
    ApiResponse err;
    if (!parse_object(body, &j, &err)) return err;
    auto maint = bool_member(j, "maintenance");
    if (!maint.ok()) return error_response(maint.status());
    const bool maintenance = *maint;
    auto code = svc.make_enroll_code(tenant, str_member(j, "repo"), str_member(j, "device"),
                                     maintenance ? meta::DeviceRole::kMaintenance
                                                 : meta::DeviceRole::kBackup);
    if (!code.ok()) return error_response(code.status());
    return ok_json(json{{"code", *code},
                        {"tenant", tenant},
                        {"repo", str_member(j, "repo")},
                        {"device", str_member(j, "device")},
                        {"maintenance", maintenance},
                        {"expires", rfc3339(svc.now() + int64_t{svc.options().enroll_code_hours} * 3600)}});
  }
  if (p.size() == 5 && p[2] == "devices" && p[4] == "revoke" && method == "POST") {
    base::Status st = svc.revoke_device(tenant, p[3]);
    return st.ok() ? ok_json(json{{"revoked", std::string(p[3])}}) : error_response(st);
  }
  // A new certificate for an enrolled device from its new CSR (the old one stops working).
  if (p.size() == 5 && p[2] == "devices" && p[4] == "renew" && method == "POST") {
    json j;
    ApiResponse err;
    if (!parse_object(body, &j, &err)) return err;
    auto e = svc.renew_device(tenant, p[3], str_member(j, "csr"));
    return e.ok() ? enrollment_response(*e) : error_response(e.status());
  }
  // A certificate for a machine that made its key and CSR itself, without a one-time code.
  if (p.size() == 3 && p[2] == "sign-csr" && method == "POST") {
    json j;
    ApiResponse err;
    if (!parse_object(body, &j, &err)) return err;
    auto maintenance = bool_member(j, "maintenance");
    if (!maintenance.ok()) return error_response(maintenance.status());
    auto e = svc.sign_csr(tenant, str_member(j, "repo"), str_member(j, "device"),
                          *maintenance ? meta::DeviceRole::kMaintenance : meta::DeviceRole::kBackup,
                          str_member(j, "csr"));
    return e.ok() ? enrollment_response(*e) : error_response(e.status());
  }
  ApiResponse r = error_response(base::not_found("no such API endpoint"));
  if (p.size() <= 5) r.status = 405;
  return r;
}

// What a device receives at enrollment and renewal (the protocol in docs/server.md).
ApiResponse enrollment_response(const service::Enrollment& e) {
  ApiResponse r = ok_json(json{{"certificate", e.certificate_pem},
                               {"ca", e.ca_pem},
                               {"repository", e.repository_url},
                               {"tenant", e.tenant},
                               {"repo", e.repo},
                               {"device", e.device},
                               {"serial", e.serial},
                               {"not_after", rfc3339(e.not_after)}});
  r.tenant = e.tenant;
  r.object = e.tenant + "/" + e.repo + "/device/" + e.device;
  return r;
}

}  // namespace

std::string rfc3339(int64_t unix_sec) {
  time_t t = static_cast<time_t>(unix_sec);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string rfc3339_ms(int64_t unix_ms) {
  time_t t = static_cast<time_t>(unix_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
  return buf;
}

int http_status(const base::Status& st) {
  switch (st.code()) {
    case base::Code::kOk: return 200;
    case base::Code::kInvalidArgument:
    case base::Code::kDataLoss: return 400;
    case base::Code::kUnauthenticated: return 401;
    case base::Code::kPermissionDenied: return 403;
    case base::Code::kNotFound: return 404;
    case base::Code::kAlreadyExists: return 409;
    case base::Code::kFailedPrecondition: return 409;
    case base::Code::kOutOfRange: return 416;
    case base::Code::kResourceExhausted: return 507;
    case base::Code::kUnavailable: return 503;
    default: return 500;
  }
}

ApiResponse error_response(const base::Status& st) {
  ApiResponse r;
  r.status = http_status(st);
  // Internal failures say what failed on the server's log, not to the client.
  std::string msg = r.status == 500 ? "internal server error" : st.message();
  r.body = json{{"error", msg}}.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

static ApiResponse handle_enroll_unguarded(service::Service& svc, std::string_view body);
static ApiResponse handle_enroll_renew_unguarded(service::Service& svc,
                                                 const service::Identity& who,
                                                 std::string_view body);
static ApiResponse handle_admin_unguarded(service::Service& svc, const service::Identity& who,
                                          std::string_view method, std::string_view path,
                                          std::string_view query, std::string_view body);

namespace {

// A handler that throws (a bug, or memory) answers 500 for this request only; the connection
// and the server go on.
template <typename Fn>
ApiResponse guarded(const char* what, Fn fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return error_response(base::internal_error(std::string(what) + ": " + e.what()));
  }
}

}  // namespace

ApiResponse handle_enroll(service::Service& svc, std::string_view body) {
  return guarded("enroll", [&] { return handle_enroll_unguarded(svc, body); });
}

ApiResponse handle_enroll_renew(service::Service& svc, const service::Identity& who,
                                std::string_view body) {
  return guarded("enroll renewal", [&] { return handle_enroll_renew_unguarded(svc, who, body); });
}

ApiResponse handle_device_policy(service::Service& svc, const service::Identity& who) {
  base::Status allowed = service::authorize(who, service::Action::kDevicePolicyRead, {});
  if (!allowed.ok()) return error_response(allowed);
  ApiResponse r;
  r.action = "device.policy.read";
  r.tenant = who.tenant;
  r.object = who.tenant + "/" + who.device;
  auto p = svc.meta()->device_policy(who.device_id);
  if (!p.ok()) {
    ApiResponse e = error_response(p.status().code() == base::Code::kNotFound
                                       ? base::not_found("no backup policy is set for this device")
                                       : p.status());
    e.action = r.action, e.tenant = r.tenant, e.object = r.object;
    return e;
  }
  json j = json::parse(p->json, nullptr, false);
  if (!j.is_object()) j = json::object();
  j["updated"] = rfc3339(p->updated_unix);
  j["updated_by"] = p->updated_by;
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

ApiResponse handle_admin(service::Service& svc, const service::Identity& who,
                         std::string_view method, std::string_view path, std::string_view query,
                         std::string_view body) {
  return guarded("admin API", [&] { return handle_admin_unguarded(svc, who, method, path, query, body); });
}

static ApiResponse handle_enroll_unguarded(service::Service& svc, std::string_view body) {
  json j;
  ApiResponse err;
  if (!parse_object(body, &j, &err)) return err;
  auto e = svc.enroll(str_member(j, "code"), str_member(j, "csr"));
  if (!e.ok()) {
    ApiResponse r = error_response(e.status());
    r.action = "enroll";
    return r;
  }
  ApiResponse r = enrollment_response(*e);
  r.action = "enroll";
  return r;
}

static ApiResponse handle_enroll_renew_unguarded(service::Service& svc,
                                                 const service::Identity& who,
                                                 std::string_view body) {
  json j;
  ApiResponse err;
  if (!parse_object(body, &j, &err)) return err;
  auto e = svc.renew(who, str_member(j, "csr"));
  if (!e.ok()) return error_response(e.status());
  return enrollment_response(*e);
}

static ApiResponse handle_admin_unguarded(service::Service& svc, const service::Identity& who,
                                          std::string_view method, std::string_view path,
                                          std::string_view query, std::string_view body) {
  std::vector<std::string_view> p = split(path);
  service::Action action = method == "GET" ? service::Action::kAdminRead
                                           : service::Action::kAdminWrite;
  bool is_audit = !p.empty() && (p[0] == "audit" || p[0] == "audit.csv");
  if (is_audit) action = service::Action::kAuditRead;
  base::Status allowed = service::authorize(who, action, {});
  ApiResponse r;
  if (!allowed.ok()) {
    r = error_response(allowed);
  } else if (is_audit && p.size() == 1 && method == "GET") {
    r = audit(svc, query, p[0] == "audit.csv");
  } else if (p.size() == 1 && p[0] == "tenants") {
    if (method == "GET") {
      auto list = svc.list_tenants();
      if (!list.ok()) {
        r = error_response(list.status());
      } else {
        json arr = json::array();
        for (const auto& s : *list) arr.push_back(tenant_json(s));
        r = ok_json(arr);
      }
    } else if (method == "POST") {
      json j;
      if (parse_object(body, &j, &r)) {
        auto q = quota_member(j);
        if (!q.ok()) {
          r = error_response(q.status());
        } else {
          auto t = svc.create_tenant(str_member(j, "name"), str_member(j, "display_name"),
                                     str_member(j, "region"), *q);
          r = t.ok() ? ok_json(tenant_json(service::TenantSummary{*t, 0, 0, 0}))
                     : error_response(t.status());
        }
      }
    } else {
      r = error_response(base::invalid_argument("method not allowed"));
      r.status = 405;
    }
  } else if (p.size() >= 2 && p[0] == "tenants") {
    r = tenant_routes(svc, method, p, body);
    r.tenant = std::string(p[1]);
  } else {
    r = error_response(base::not_found("no such API endpoint"));
  }
  r.action = "admin." + std::string(service::action_name(action)) + " " + std::string(method);
  r.object = "/api/v1" + std::string(path);
  return r;
}

std::string access_records_csv(const std::vector<meta::AccessRecord>& records, bool header) {
  auto field = [](const std::string& s) {
    // RFC 4180, and a leading = + - @ is prefixed so a spreadsheet does not run it.
    std::string v = s;
    if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@')) v = "'" + v;
    bool quote = v.find_first_of(",\"\r\n") != std::string::npos;
    if (!quote) return v;
    std::string out = "\"";
    for (char c : v) {
      if (c == '"') out += '"';
      out += c;
    }
    return out + "\"";
  };
  std::string out;
  if (header) out += "id,time,tenant,actor,source_ip,auth_method,action,object,status,result,bytes\r\n";
  for (const meta::AccessRecord& r : records) {
    out += std::to_string(r.id) + "," + rfc3339_ms(r.time_unix_ms) + "," + field(r.tenant) + "," +
           field(r.actor) + "," + field(r.source_ip) + "," + field(r.auth_method) + "," +
           field(r.action) + "," + field(r.object) + "," + std::to_string(r.status) + "," +
           field(r.result) + "," + std::to_string(r.bytes) + "\r\n";
  }
  return out;
}

}  // namespace kura::server
