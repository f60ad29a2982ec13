// The control panel's screens: institutions, devices, repositories, users and the provider's
// overview. Every handler runs after the gate (panel.cc) has allowed its Action on its target;
// a handler only checks what the table cannot know (e.g. that a role fits the user's tenant).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

#include "crypto/x509.h"
#include "server/panel.h"
#include "server/panel_internal.h"
#include "server/json_body.h"
#include "service/names.h"
#include "service/qr_svg.h"

namespace kura::server {

using nlohmann::json;
using namespace panel_detail;

namespace {

constexpr int64_t kCertWarningSeconds = 30 * 86400;

json tenant_json(const service::TenantSummary& s) {
  return json{{"name", s.tenant.name},         {"display_name", s.tenant.display_name},
              {"region", s.tenant.region},     {"quota_bytes", s.tenant.quota_bytes},
              {"used_bytes", s.used_bytes},    {"repos", s.repos},
              {"devices", s.devices},          {"created", s.tenant.created_unix}};
}

json user_json(const meta::User& u, const std::string& tenant, bool has_totp, int64_t now) {
  json factors = json::array();
  if (has_totp) factors.push_back("totp");
  return json{{"id", u.id},
              {"tenant", tenant},
              {"login", u.login},
              {"display_name", u.display_name},
              {"role", meta::user_role_name(u.role)},
              {"disabled", u.disabled},
              {"locked", u.locked_until > now},
              {"locked_until", u.locked_until > now ? u.locked_until : 0},
              {"failed_signins", u.failed_signins},
              {"factors", factors},
              {"created", u.created_unix},
              {"password_changed", u.password_changed_unix}};
}

// A bounded integer query parameter (absent: `fallback`).
base::StatusOr<int64_t> int_param(std::string_view query, std::string_view key, int64_t fallback,
                                  int64_t lo, int64_t hi) {
  std::string v = query_param(query, key);
  if (v.empty()) return fallback;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < lo || n > hi) {
    return base::invalid_argument(std::string(key) + " must be a number from " +
                                  std::to_string(lo) + " to " + std::to_string(hi));
  }
  return n;
}

}  // namespace

// --- Institutions ------------------------------------------------------------------------------

PanelResponse Panel::tenants_list(Call& call) {
  json out = json::array();
  if (call.who.tenant.empty()) {
    auto all = svc_->list_tenants();
    if (!all.ok()) return status_error(all.status());
    for (const auto& t : *all) out.push_back(tenant_json(t));
  } else {
    auto one = svc_->tenant_summary(call.who.tenant);
    if (!one.ok()) return status_error(one.status());
    out.push_back(tenant_json(*one));
  }
  return json_response(200, json{{"tenants", out}});
}

PanelResponse Panel::tenant_create(Call& call) {
  auto quota = quota_member(call.body);
  if (!quota.ok()) return status_error(quota.status());
  const std::string name = str_member(call.body, "name");
  std::string display = str_member(call.body, "display_name");
  if (display.empty()) display = name;
  if (base::Status st = service::check_display_name(display); !st.ok()) return status_error(st);
  auto t = svc_->create_tenant(name, display, str_member(call.body, "region"), *quota);
  PanelResponse r;
  if (!t.ok()) {
    r = status_error(t.status());
  } else {
    auto s = svc_->tenant_summary(t->name);
    r = s.ok() ? json_response(200, json{{"tenant", tenant_json(*s)}}) : status_error(s.status());
  }
  r.action = "panel.tenant.create";
  r.object = name.substr(0, 64);
  r.tenant = t.ok() ? t->name : "";
  return r;
}

PanelResponse Panel::tenant_update(Call& call) {
  const std::string& name = call.params[0];
  PanelResponse r;
  auto current = svc_->tenant(name);
  if (!current.ok()) return status_error(current.status());
  std::string region = str_member(call.body, "region");
  if (!region.empty() && region != current->region) {
    r = error_json(409, "tenant.region_fixed",
                   "a tenant's region cannot change: its data would have to move");
  } else if (call.body.contains("quota")) {
    auto quota = quota_member(call.body);
    base::Status st = quota.ok() ? svc_->set_quota(name, *quota) : quota.status();
    if (!st.ok()) r = status_error(st);
  }
  if (r.body.empty()) {
    auto s = svc_->tenant_summary(name);
    r = s.ok() ? json_response(200, json{{"tenant", tenant_json(*s)}}) : status_error(s.status());
  }
  r.action = "panel.tenant.update";
  r.object = name;
  r.tenant = name;
  return r;
}

PanelResponse Panel::dashboard(Call& call) {
  const std::string& name = call.params[0];
  auto summary = svc_->tenant_summary(name);
  if (!summary.ok()) return status_error(summary.status());
  auto devices = devices_list(call);
  if (devices.status != 200) return devices;
  json alerts = json::array();
  const auto& t = summary->tenant;
  if (t.quota_bytes > 0) {
    // 95 % replaces 80 %: one alert, the more urgent.
    if (summary->used_bytes * 100 >= t.quota_bytes * 95) {
      alerts.push_back({{"kind", "quota_95"}});
    } else if (summary->used_bytes * 100 >= t.quota_bytes * 80) {
      alerts.push_back({{"kind", "quota_80"}});
    }
  }
  json devs = json::parse(devices.body)["devices"];
  for (const auto& d : devs) {
    if (d["revoked"].get<bool>()) continue;
    if (d["not_after"].get<int64_t>() - svc_->now() < kCertWarningSeconds) {
      alerts.push_back({{"kind", "cert_expiring"}, {"device", d["name"]}});
    }
    if (d["schedule_missed"].get<bool>()) {
      alerts.push_back({{"kind", "schedule_missed"}, {"device", d["name"]}});
    }
  }
  int64_t generations = 0;
  auto repos = svc_->list_repos(name);
  if (!repos.ok()) return status_error(repos.status());
  for (const auto& repo : *repos) {
    auto access = svc_->repo(name, repo.name);
    if (!access.ok()) continue;
    base::Status st = access->store->list(access->ref, backend::FileKind::kSnapshot,
                                          [&](const backend::FileEntry&) {
                                            ++generations;
                                            return base::ok_status();
                                          });
    if (!st.ok()) return status_error(st);
  }
  return json_response(200, json{{"tenant", tenant_json(*summary)},
                                 {"generations", generations},
                                 {"devices", devs},
                                 {"alerts", alerts},
                                 {"usage_history", json::array()},
                                 {"backups_per_day", json::array()}});
}

PanelResponse Panel::devices_list(Call& call) {
  const std::string& name = call.params[0];
  auto devices = svc_->list_devices(name);
  if (!devices.ok()) return status_error(devices.status());
  std::map<int64_t, std::string> repo_names;
  if (auto repos = svc_->list_repos(name); repos.ok()) {
    for (const auto& r : *repos) repo_names[r.id] = r.name;
  }
  json out = json::array();
  for (const auto& d : *devices) {
    out.push_back(json{{"name", d.name},
                       {"repo", repo_names[d.repo_id]},
                       {"role", meta::role_name(d.role)},
                       {"created", d.created_unix},
                       {"last_seen", d.last_seen_unix},
                       {"not_after", d.not_after},
                       {"revoked", d.revoked},
                       {"last_backup", 0},
                       {"last_backup_result", "none"},
                       {"schedule_missed", false}});
  }
  return json_response(200, json{{"devices", out}});
}

PanelResponse Panel::enroll_code(Call& call) {
  const std::string& tenant = call.params[0];
  const std::string device = str_member(call.body, "device");
  std::string repo = str_member(call.body, "repo");
  PanelResponse r;
  r.action = "panel.device.enroll";
  r.object = tenant + "/" + device.substr(0, 64);
  r.tenant = tenant;
  if (repo.empty()) {
    // The usual clinic has one repository; the first device creates it.
    auto repos = svc_->list_repos(tenant);
    if (!repos.ok()) return status_error(repos.status());
    repo = repos->empty() ? "main" : repos->front().name;
    if (repos->empty()) {
      if (auto made = svc_->create_repo(tenant, repo); !made.ok()) return status_error(made.status());
    }
  }
  auto code = svc_->make_enroll_code(tenant, repo, device, meta::DeviceRole::kBackup);
  if (!code.ok()) {
    PanelResponse e = status_error(code.status());
    e.action = r.action;
    e.object = r.object;
    e.tenant = tenant;
    return e;
  }
  auto fp = crypto::cert_fingerprint(svc_->options().ca.cert);
  const std::string command = "kura enroll " + svc_->options().public_url + " --code " + *code +
                              " --ca-fingerprint " + (fp.ok() ? *fp : std::string("?")) +
                              " --profile " + device;
  auto qr = service::qr_svg(command, 3);
  json j{{"code", *code},
         {"tenant", tenant},
         {"repo", repo},
         {"device", device},
         {"expires", svc_->now() + int64_t{svc_->options().enroll_code_hours} * 3600},
         {"command", command},
         {"qr_svg", qr.ok() ? *qr : std::string()}};
  PanelResponse ok = json_response(200, j);
  ok.action = r.action;
  ok.object = r.object;
  ok.tenant = tenant;
  return ok;
}

PanelResponse Panel::device_revoke(Call& call) {
  const std::string& tenant = call.params[0];
  const std::string& device = call.params[1];
  base::Status st = svc_->revoke_device(tenant, device);
  PanelResponse r = st.ok() ? json_response(200, json{{"revoked", device}}) : status_error(st);
  r.action = "panel.device.revoke";
  r.object = tenant + "/" + device;
  r.tenant = tenant;
  return r;
}

PanelResponse Panel::repos_list(Call& call) {
  auto repos = svc_->list_repos(call.params[0]);
  if (!repos.ok()) return status_error(repos.status());
  json out = json::array();
  for (const auto& r : *repos) {
    out.push_back(json{{"name", r.name},
                       {"used_bytes", r.used_bytes},
                       {"objects", r.object_count},
                       {"created", r.created_unix}});
  }
  return json_response(200, json{{"repos", out}});
}

PanelResponse Panel::snapshots_list(Call& call) {
  auto access = svc_->repo(call.params[0], call.params[1]);
  if (!access.ok()) return status_error(access.status());
  // What the server sees without keys: each snapshot file's name and size.
  json out = json::array();
  base::Status st = access->store->list(access->ref, backend::FileKind::kSnapshot,
                                        [&](const backend::FileEntry& e) {
                                          out.push_back(json{{"id", e.name},
                                                             {"size", e.size},
                                                             {"time", 0},
                                                             {"device", ""}});
                                          return base::ok_status();
                                        });
  if (!st.ok()) return status_error(st);
  return json_response(200, json{{"snapshots", out}});
}

PanelResponse Panel::audit_list(Call& call) {
  const std::string_view q = call.req->query;
  meta::AccessQuery query;
  query.tenant = call.params[0];
  auto since = int_param(q, "since", 0, 0, int64_t{1} << 40);
  auto until = int_param(q, "until", 0, 0, int64_t{1} << 40);
  auto after = int_param(q, "after", 0, 0, INT64_MAX);
  auto limit = int_param(q, "limit", 200, 1, 1000);
  for (const auto* p : {&since, &until, &after, &limit}) {
    if (!p->ok()) return status_error(p->status());
  }
  query.since_unix_ms = *since * 1000;
  query.until_unix_ms = *until * 1000;
  query.after_id = *after;
  query.limit = static_cast<int>(*limit);
  auto records = svc_->meta()->list_access_records(query);
  if (!records.ok()) return status_error(records.status());
  json out = json::array();
  for (const auto& r : *records) {
    out.push_back(json{{"id", r.id}, {"time_ms", r.time_unix_ms}, {"actor", r.actor},
                       {"source_ip", r.source_ip}, {"auth_method", r.auth_method},
                       {"action", r.action}, {"object", r.object}, {"status", r.status},
                       {"result", r.result}, {"bytes", r.bytes}});
  }
  return json_response(200, json{{"records", out}});
}

// --- Users -------------------------------------------------------------------------------------

PanelResponse Panel::users_list(Call& call) {
  int64_t tenant_id = 0;
  if (!call.target.provider) {
    auto t = svc_->tenant(call.target.tenant);
    if (!t.ok()) return status_error(t.status());
    tenant_id = t->id;
  }
  auto users = svc_->meta()->list_users(tenant_id);
  if (!users.ok()) return status_error(users.status());
  json out = json::array();
  for (const auto& u : *users) {
    out.push_back(user_json(u, call.target.tenant, svc_->meta()->totp_of(u.id).ok(), svc_->now()));
  }
  return json_response(200, json{{"users", out}});
}

PanelResponse Panel::user_create(Call& call) {
  const std::string login = str_member(call.body, "login");
  PanelResponse r;
  int64_t tenant_id = 0;
  if (!call.target.provider) {
    auto t = svc_->tenant(call.target.tenant);
    if (!t.ok()) return status_error(t.status());
    tenant_id = t->id;
  }
  auto role = meta::parse_user_role(str_member(call.body, "role"));
  if (!role.ok()) {
    r = status_error(role.status());
  } else {
    auto u = accounts_->create_user(tenant_id, login, str_member(call.body, "display_name"), *role,
                                    str_member(call.body, "initial_password"));
    r = u.ok() ? json_response(200, json{{"user", user_json(*u, call.target.tenant, false,
                                                               svc_->now())}})
               : policy_error(u.status(), accounts_->options());
  }
  r.action = "panel.user.create";
  r.object = "user:" + login.substr(0, 64) +
             (role.ok() ? " role:" + std::string(meta::user_role_name(*role)) : "");
  r.tenant = call.target.tenant;
  return r;
}

PanelResponse Panel::user_update(Call& call) {
  if (!call.subject) return error_json(404, "error.not_found", "no such user");
  meta::User& u = *call.subject;
  PanelResponse r;
  r.action = "panel.user.update";
  r.object = "user:" + u.login;
  r.tenant = call.target.tenant;
  std::string changes;
  const bool self = u.id == call.who.user_id;
  if (call.body.contains("role")) {
    auto role = meta::parse_user_role(str_member(call.body, "role"));
    const bool provider_role = role.ok() && (*role == meta::UserRole::kProviderAdmin ||
                                             *role == meta::UserRole::kProviderOperator);
    base::Status st = !role.ok() ? role.status()
                      : self && *role != u.role
                          ? base::failed_precondition("you cannot change your own role")
                      : provider_role != (u.tenant_id == 0)
                          ? base::invalid_argument("that role does not fit this user's institution")
                          : svc_->meta()->set_user_role(u.id, *role);
    if (!st.ok()) {
      PanelResponse e = status_error(st);
      e.action = r.action, e.object = r.object, e.tenant = r.tenant;
      return e;
    }
    changes += " role:" + std::string(meta::user_role_name(*role));
  }
  if (call.body.contains("disabled")) {
    auto disabled = bool_member(call.body, "disabled");
    base::Status st = !disabled.ok() ? disabled.status()
                      : self && *disabled ? base::failed_precondition("you cannot disable yourself")
                                          : svc_->meta()->set_user_disabled(u.id, *disabled);
    if (st.ok() && *disabled) st = accounts_->end_sessions(u.id).status();
    if (!st.ok()) {
      PanelResponse e = status_error(st);
      e.action = r.action, e.object = r.object, e.tenant = r.tenant;
      return e;
    }
    changes += *disabled ? " disabled" : " enabled";
  }
  auto now = svc_->meta()->user_by_id(u.id);
  if (!now.ok()) return status_error(now.status());
  r = json_response(200, json{{"user", user_json(*now, call.target.tenant,
                                                 svc_->meta()->totp_of(u.id).ok(), svc_->now())}});
  r.action = "panel.user.update";
  r.object = "user:" + u.login + changes;
  r.tenant = call.target.tenant;
  return r;
}

PanelResponse Panel::user_unlock(Call& call) {
  if (!call.subject) return error_json(404, "error.not_found", "no such user");
  base::Status st = accounts_->unlock(call.subject->id);
  PanelResponse r = st.ok() ? json_response(200, json::object()) : status_error(st);
  if (st.ok()) {
    auto u = svc_->meta()->user_by_id(call.subject->id);
    if (u.ok()) {
      r = json_response(200, json{{"user", user_json(*u, call.target.tenant,
                                                     svc_->meta()->totp_of(u->id).ok(), svc_->now())}});
    }
  }
  r.action = "panel.user.unlock";
  r.object = "user:" + call.subject->login;
  r.tenant = call.target.tenant;
  return r;
}

PanelResponse Panel::user_end_sessions(Call& call) {
  if (!call.subject) return error_json(404, "error.not_found", "no such user");
  auto n = accounts_->end_sessions(call.subject->id);
  PanelResponse r = n.ok() ? json_response(200, json{{"ended", *n}}) : status_error(n.status());
  r.action = "panel.user.end_sessions";
  r.object = "user:" + call.subject->login;
  r.tenant = call.target.tenant;
  return r;
}

// --- The provider's screens --------------------------------------------------------------------

PanelResponse Panel::regions_list(Call&) {
  return json_response(200, json{{"regions", svc_->regions()}});
}

PanelResponse Panel::usage_all(Call&) {
  auto all = svc_->list_tenants();
  if (!all.ok()) return status_error(all.status());
  json out = json::array();
  int64_t total = 0;
  for (const auto& t : *all) {
    out.push_back(tenant_json(t));
    total += t.used_bytes;
  }
  return json_response(200, json{{"tenants", out}, {"total_bytes", total}, {"history", json::array()}});
}

}  // namespace kura::server
