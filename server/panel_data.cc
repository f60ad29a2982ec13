// The control panel's screens: institutions, devices, repositories, users and the provider's
// overview. Every handler runs after the gate (panel.cc) has allowed its Action on its target;
// a handler only checks what the table cannot know (e.g. that a role fits the user's tenant).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <map>

#include "crypto/x509.h"
#include "server/panel.h"
#include "server/panel_internal.h"
#include "server/json_body.h"
#include "service/backup_policy.h"
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

json user_json(const meta::User& u, const std::string& tenant,
               const std::vector<std::string>& factors, int64_t now) {
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

// "totp", "webauthn": what a user's next sign-in may use (empty: enrollment is due).
std::vector<std::string> kinds_of(service::Accounts& accounts, int64_t user_id) {
  auto k = accounts.factor_kinds(user_id);
  return k.ok() ? *k : std::vector<std::string>{};
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

// What the access records tell about a tenant's backups: the server cannot read snapshots,
// but it sees each snapshot file arrive, when, and from which device.
struct BackupFacts {
  std::map<std::string, int64_t> last_backup;  // device name → Unix seconds
  std::map<std::string, std::pair<int64_t, std::string>> snapshots;  // file name → (time, device)
  std::map<std::string, int64_t> per_day;  // JST day → snapshots uploaded
};

base::StatusOr<BackupFacts> backup_facts(service::Service& svc, const std::string& tenant,
                                         const std::vector<meta::Device>& devices) {
  std::map<std::string, std::string> by_serial;
  for (const auto& d : devices) by_serial["device:" + d.cert_serial] = d.name;
  ASSIGN_OR_RETURN(std::vector<meta::AccessRecord> uploads,
                   svc.meta()->snapshot_uploads(tenant, 0, 10000));
  BackupFacts f;
  for (const auto& r : uploads) {  // newest first
    const int64_t t = r.time_unix_ms / 1000;
    auto dev = by_serial.find(r.actor);
    // A device that renewed its certificate uploaded its older snapshots under an earlier
    // serial: those count for the day, not for the device.
    const std::string name = dev == by_serial.end() ? std::string() : dev->second;
    if (!name.empty()) f.last_backup.emplace(name, t);
    f.snapshots.emplace(r.object.substr(r.object.rfind('/') + 1), std::make_pair(t, name));
    f.per_day[service::jst_day(t)]++;
  }
  return f;
}

// The last `days` JST days, oldest first, ending today.
std::vector<std::string> last_days(int64_t now, int days) {
  std::vector<std::string> out;
  for (int i = days - 1; i >= 0; --i) out.push_back(service::jst_day(now - int64_t{i} * 86400));
  return out;
}

// The panel's device rows (devices page and dashboard): each device with its repository, last
// backup and whether it missed its schedule.
json device_rows(service::Service& svc, const std::vector<meta::Device>& devices,
                 const std::vector<meta::Repo>& repos, const BackupFacts& facts) {
  std::map<int64_t, std::string> repo_names;
  for (const auto& r : repos) repo_names[r.id] = r.name;
  const int64_t now = svc.now();
  json out = json::array();
  for (const auto& d : devices) {
    auto last = facts.last_backup.find(d.name);
    const int64_t last_backup = last == facts.last_backup.end() ? 0 : last->second;
    // Missed: longer than the schedule allows since the last backup (or since enrollment).
    bool missed = false;
    if (auto policy = svc.meta()->device_policy(d.id); policy.ok() && !d.revoked) {
      const int64_t grace = service::schedule_grace_seconds(policy->json);
      missed = grace > 0 && now - std::max(last_backup, d.created_unix) > grace;
    }
    out.push_back(json{{"name", d.name},
                       {"repo", repo_names[d.repo_id]},
                       {"role", meta::role_name(d.role)},
                       {"created", d.created_unix},
                       {"last_seen", d.last_seen_unix},
                       {"not_after", d.not_after},
                       {"revoked", d.revoked},
                       {"last_backup", last_backup},
                       {"last_backup_result", last_backup ? "ok" : "none"},
                       {"schedule_missed", missed}});
  }
  return out;
}

json policy_json(const meta::DevicePolicy& p) {
  json j = json::parse(p.json, nullptr, false);
  if (!j.is_object()) j = json::object();
  j["updated"] = p.updated_unix;
  j["updated_by"] = p.updated_by;
  return j;
}

// A notice's body text: empty, or UTF-8 in which only line breaks and tabs are control
// characters.
base::Status check_notice_text(std::string_view what, const std::string& text) {
  if (text.size() > meta::kMaxNoticeTextBytes) {
    return base::invalid_argument(std::string(what) + " is too long");
  }
  std::string flat = text;
  for (char& c : flat) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (flat.empty()) return base::ok_status();
  return service::check_display_name(flat).with_context(what);
}

json notice_json(const meta::Notice& n) {
  return json{{"id", n.id},           {"title_ja", n.title_ja}, {"title_en", n.title_en},
              {"body_ja", n.body_ja}, {"body_en", n.body_en},   {"severity", n.severity},
              {"starts", n.starts_unix}, {"ends", n.ends_unix}, {"created_by", n.created_by},
              {"created", n.created_unix}};
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
  } else {
    base::Status st;
    if (call.body.contains("quota")) {
      auto quota = quota_member(call.body);
      st = quota.ok() ? svc_->set_quota(name, *quota) : quota.status();
    }
    if (st.ok() && call.body.contains("display_name")) {
      const std::string display = str_member(call.body, "display_name");
      st = service::check_display_name(display);
      if (st.ok()) st = svc_->meta()->set_tenant_display_name(current->id, display);
    }
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
  auto devices = svc_->list_devices(name);
  if (!devices.ok()) return status_error(devices.status());
  auto repos = svc_->list_repos(name);
  if (!repos.ok()) return status_error(repos.status());
  auto facts = backup_facts(*svc_, name, *devices);
  if (!facts.ok()) return status_error(facts.status());
  const json devs = device_rows(*svc_, *devices, *repos, *facts);
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
  // Charts: 30 JST days. Usage: the day's last sample (days without one are left out);
  // backups: snapshots that arrived that day (0 included).
  const std::vector<std::string> days = last_days(svc_->now(), 30);
  auto samples = svc_->meta()->usage_history(t.id, days.front(), days.back());
  if (!samples.ok()) return status_error(samples.status());
  json usage = json::array();
  for (const auto& u : *samples) usage.push_back({{"day", u.day}, {"bytes", u.bytes}});
  json per_day = json::array();
  for (const std::string& d : days) {
    auto it = facts->per_day.find(d);
    per_day.push_back({{"day", d}, {"count", it == facts->per_day.end() ? 0 : it->second}});
  }
  return json_response(200, json{{"tenant", tenant_json(*summary)},
                                 {"generations", generations},
                                 {"devices", devs},
                                 {"alerts", alerts},
                                 {"usage_history", usage},
                                 {"backups_per_day", per_day}});
}

PanelResponse Panel::devices_list(Call& call) {
  const std::string& name = call.params[0];
  auto devices = svc_->list_devices(name);
  if (!devices.ok()) return status_error(devices.status());
  auto repos = svc_->list_repos(name);  // without names the rows still list the devices
  auto facts = backup_facts(*svc_, name, *devices);
  if (!facts.ok()) return status_error(facts.status());
  const std::vector<meta::Repo> no_repos;
  return json_response(
      200, json{{"devices", device_rows(*svc_, *devices, repos.ok() ? *repos : no_repos, *facts)}});
}

PanelResponse Panel::enroll_code(Call& call) {
  const std::string& tenant = call.params[0];
  const std::string device = str_member(call.body, "device");
  std::string repo = str_member(call.body, "repo");
  // Every answer, refusals included, is recorded against the device asked for.
  auto recorded = [&](PanelResponse r) {
    r.action = "panel.device.enroll";
    r.object = tenant + "/" + device.substr(0, 64);
    r.tenant = tenant;
    return r;
  };
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
  if (!code.ok()) return recorded(status_error(code.status()));
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
  return recorded(json_response(200, j));
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
  auto devices = svc_->list_devices(call.params[0]);
  if (!devices.ok()) return status_error(devices.status());
  auto facts = backup_facts(*svc_, call.params[0], *devices);
  if (!facts.ok()) return status_error(facts.status());
  // What the server sees without keys: each snapshot file's name and size, and from the
  // access records when it arrived and from which device. Newest first.
  std::vector<json> out;
  base::Status st = access->store->list(
      access->ref, backend::FileKind::kSnapshot, [&](const backend::FileEntry& e) {
        auto it = facts->snapshots.find(e.name);
        const bool known = it != facts->snapshots.end();
        out.push_back(json{{"id", e.name},
                           {"size", e.size},
                           {"time", known ? it->second.first : 0},
                           {"device", known ? it->second.second : std::string()}});
        return base::ok_status();
      });
  if (!st.ok()) return status_error(st);
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) {
    return a["time"].get<int64_t>() > b["time"].get<int64_t>();
  });
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
    out.push_back(user_json(u, call.target.tenant, kinds_of(*accounts_, u.id), svc_->now()));
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
    r = u.ok() ? json_response(200, json{{"user", user_json(*u, call.target.tenant, {},
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
  std::string changes;  // what changed, for the record of a success
  auto recorded = [&](PanelResponse r) {
    r.action = "panel.user.update";
    r.object = "user:" + u.login + (r.status == 200 ? changes : std::string());
    r.tenant = call.target.tenant;
    return r;
  };
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
    if (!st.ok()) return recorded(status_error(st));
    changes += " role:" + std::string(meta::user_role_name(*role));
  }
  if (call.body.contains("disabled")) {
    auto disabled = bool_member(call.body, "disabled");
    base::Status st = !disabled.ok() ? disabled.status()
                      : self && *disabled ? base::failed_precondition("you cannot disable yourself")
                                          : svc_->meta()->set_user_disabled(u.id, *disabled);
    if (st.ok() && *disabled) st = accounts_->end_sessions(u.id).status();
    if (!st.ok()) return recorded(status_error(st));
    changes += *disabled ? " disabled" : " enabled";
  }
  if (call.body.contains("display_name")) {
    const std::string name = str_member(call.body, "display_name");
    base::Status st = service::check_display_name(name);
    if (st.ok()) st = svc_->meta()->set_user_display_name(u.id, name);
    if (!st.ok()) return recorded(status_error(st));
    changes += " display_name";
  }
  auto now = svc_->meta()->user_by_id(u.id);
  if (!now.ok()) return status_error(now.status());
  return recorded(json_response(200, json{{"user", user_json(*now, call.target.tenant,
                                                             kinds_of(*accounts_, u.id),
                                                             svc_->now())}}));
}

PanelResponse Panel::user_unlock(Call& call) {
  if (!call.subject) return error_json(404, "error.not_found", "no such user");
  base::Status st = accounts_->unlock(call.subject->id);
  PanelResponse r = st.ok() ? json_response(200, json::object()) : status_error(st);
  if (st.ok()) {
    auto u = svc_->meta()->user_by_id(call.subject->id);
    if (u.ok()) {
      r = json_response(200, json{{"user", user_json(*u, call.target.tenant,
                                                     kinds_of(*accounts_, u->id), svc_->now())}});
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

// --- Devices: rename, backup policy ----------------------------------------------------------

PanelResponse Panel::device_rename(Call& call) {
  const std::string& tenant = call.params[0];
  const std::string new_name = str_member(call.body, "name");
  PanelResponse r;
  auto t = svc_->tenant(tenant);
  base::Status st = t.ok() ? service::check_device_name(new_name) : t.status();
  base::StatusOr<meta::Device> d = st.ok() ? svc_->meta()->device_by_name(t->id, call.params[1])
                                           : base::StatusOr<meta::Device>(st);
  if (d.ok()) st = svc_->meta()->rename_device(d->id, new_name);
  if (!d.ok() || !st.ok()) {
    r = status_error(d.ok() ? st : d.status());
  } else {
    r = json_response(200, json{{"device", {{"name", new_name}}}});
  }
  r.action = "panel.device.rename";
  r.object = tenant + "/" + call.params[1] + " -> " + new_name.substr(0, 64);
  r.tenant = tenant;
  return r;
}

PanelResponse Panel::policy_get(Call& call) {
  auto t = svc_->tenant(call.params[0]);
  if (!t.ok()) return status_error(t.status());
  auto d = svc_->meta()->device_by_name(t->id, call.params[1]);
  if (!d.ok()) return status_error(d.status());
  auto p = svc_->meta()->device_policy(d->id);
  if (p.status().code() == base::Code::kNotFound) return json_response(200, json{{"policy", nullptr}});
  if (!p.ok()) return status_error(p.status());
  return json_response(200, json{{"policy", policy_json(*p)}});
}

PanelResponse Panel::policy_put(Call& call) {
  const std::string& tenant = call.params[0];
  PanelResponse r;
  auto t = svc_->tenant(tenant);
  auto d = t.ok() ? svc_->meta()->device_by_name(t->id, call.params[1])
                  : base::StatusOr<meta::Device>(t.status());
  json in = call.body;
  in.erase("updated");
  in.erase("updated_by");
  auto policy = d.ok() ? service::normalize_backup_policy(in.dump(-1, ' ', false, json::error_handler_t::replace))
                       : base::StatusOr<std::string>(d.status());
  base::Status st = policy.ok() ? svc_->meta()->set_device_policy(d->id, *policy, svc_->now(),
                                                                  call.who.user)
                                : policy.status();
  if (!st.ok()) {
    r = st.code() == base::Code::kInvalidArgument ? error_json(400, "policy.invalid", st.message())
                                                  : status_error(st);
  } else {
    auto stored = svc_->meta()->device_policy(d->id);
    r = stored.ok() ? json_response(200, json{{"policy", policy_json(*stored)}})
                    : status_error(stored.status());
  }
  r.action = "panel.policy.edit";
  r.object = tenant + "/" + call.params[1];
  r.tenant = tenant;
  return r;
}

// --- Notices -----------------------------------------------------------------------------------

PanelResponse Panel::notices_list(Call&) {
  auto notices = svc_->meta()->list_notices(svc_->now());
  if (!notices.ok()) return status_error(notices.status());
  json out = json::array();
  for (const auto& n : *notices) out.push_back(notice_json(n));
  return json_response(200, json{{"notices", out}});
}

PanelResponse Panel::notice_create(Call& call) {
  meta::Notice n;
  n.title_ja = str_member(call.body, "title_ja");
  n.title_en = str_member(call.body, "title_en");
  n.body_ja = str_member(call.body, "body_ja");
  n.body_en = str_member(call.body, "body_en");
  n.severity = str_member(call.body, "severity");
  if (n.severity.empty()) n.severity = "maintenance";
  n.created_by = call.who.user;
  auto when = [&](const char* key) -> base::StatusOr<int64_t> {
    auto it = call.body.find(key);
    if (it == call.body.end()) return int64_t{0};
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > (int64_t{1} << 40)) {
      return base::invalid_argument(std::string(key) + " must be a Unix time in seconds");
    }
    return it->get<int64_t>();
  };
  auto starts = when("starts");
  auto ends = when("ends");
  base::Status st = !starts.ok() ? starts.status() : !ends.ok() ? ends.status() : base::ok_status();
  if (st.ok() && n.severity != "info" && n.severity != "maintenance" && n.severity != "warning") {
    st = base::invalid_argument("severity must be info, maintenance or warning");
  }
  if (st.ok() && n.title_ja.empty() && n.title_en.empty()) st = base::invalid_argument("a title is needed");
  for (auto [what, text] : {std::pair{"title_ja", &n.title_ja}, {"title_en", &n.title_en},
                            {"body_ja", &n.body_ja}, {"body_en", &n.body_en}}) {
    if (st.ok()) st = check_notice_text(what, *text);
  }
  if (st.ok()) {
    n.starts_unix = *starts ? *starts : svc_->now();
    n.ends_unix = *ends;
    if (n.ends_unix != 0 && n.ends_unix < n.starts_unix) st = base::invalid_argument("the notice ends before it starts");
  }
  PanelResponse r;
  if (st.ok()) {
    auto made = svc_->meta()->create_notice(n);
    r = made.ok() ? json_response(200, json{{"notice", notice_json(*made)}}) : status_error(made.status());
  } else {
    r = status_error(st);
  }
  r.action = "panel.notice.create";
  r.object = (n.title_ja.empty() ? n.title_en : n.title_ja).substr(0, 80);
  return r;
}

PanelResponse Panel::notice_delete(Call& call) {
  int64_t id = 0;
  const std::string& p = call.params[0];
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), id);
  base::Status st = ec == std::errc() && end == p.data() + p.size()
                        ? svc_->meta()->delete_notice(id)
                        : base::not_found("no such notice");
  PanelResponse r = st.ok() ? json_response(200, json::object()) : status_error(st);
  r.action = "panel.notice.delete";
  r.object = "notice:" + p.substr(0, 20);
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
  // The provider's total per day: the sum of the tenants' samples of that day.
  const std::vector<std::string> days = last_days(svc_->now(), 30);
  std::map<std::string, int64_t> per_day;
  for (const auto& t : *all) {
    auto samples = svc_->meta()->usage_history(t.tenant.id, days.front(), days.back());
    if (!samples.ok()) return status_error(samples.status());
    for (const auto& u : *samples) per_day[u.day] += u.bytes;
  }
  json history = json::array();
  for (const auto& [day, bytes] : per_day) history.push_back({{"day", day}, {"bytes", bytes}});
  return json_response(200, json{{"tenants", out}, {"total_bytes", total}, {"history", history}});
}

}  // namespace kura::server
