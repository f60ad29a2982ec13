#include "server/panel.h"
#include "server/panel_internal.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <functional>
#include <optional>

#include "server/json_body.h"
#include "service/password_policy.h"

namespace kura::server {

using nlohmann::json;
using service::Action;
using service::SessionStage;

using namespace panel_detail;

namespace {

constexpr char kCookieName[] = "kura_session";
constexpr char kCookieAttrs[] = "; Path=/panel; Secure; HttpOnly; SameSite=Strict";

bool is_read(std::string_view method) { return method == "GET" || method == "HEAD"; }

std::string_view stage_name(SessionStage s) {
  switch (s) {
    case SessionStage::kSecondFactorDue: return "second_factor";
    case SessionStage::kPasswordChangeDue: return "password_change";
    case SessionStage::kEnrollmentDue: return "enrollment";
    case SessionStage::kReady: return "ready";
  }
  return "?";
}

// "tenants/clinic-a/devices" → {"tenants","clinic-a","devices"}; empty segments refused.
bool split_segments(std::string_view path, std::vector<std::string_view>* out) {
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view seg = path.substr(0, slash);
    if (seg.empty() || out->size() >= 8) return false;
    out->push_back(seg);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) return false;  // trailing slash
  }
  return !out->empty();
}

// The stages in which an endpoint is reachable, as a bit mask of SessionStage.
constexpr unsigned bit(SessionStage s) { return 1u << static_cast<unsigned>(s); }
constexpr unsigned kAnyStage = bit(SessionStage::kSecondFactorDue) |
                               bit(SessionStage::kPasswordChangeDue) |
                               bit(SessionStage::kEnrollmentDue) | bit(SessionStage::kReady);
constexpr unsigned kReadyOnly = bit(SessionStage::kReady);

}  // namespace

// One request on its way through the gate: the parsed pieces and, past the session check, the
// session and the caller's identity.

const std::vector<Panel::Endpoint>& Panel::endpoints() {
  using S = Scope;
  constexpr unsigned kSecondFactor = bit(SessionStage::kSecondFactorDue);
  constexpr unsigned kEnrollment = bit(SessionStage::kEnrollmentDue);
  constexpr unsigned kChange = bit(SessionStage::kPasswordChangeDue) | kReadyOnly;
  constexpr unsigned kAddFactor = kEnrollment | kReadyOnly;
  static const std::vector<Endpoint> kEndpoints = {
      // Sign-in and one's own account: reachable in the stages that need them.
      {"POST", "auth/password", false, 0, {}, S::kNone, &Panel::sign_in_password},
      {"GET", "auth/session", true, kAnyStage, {}, S::kNone, &Panel::session_view},
      {"POST", "auth/second-factor", true, kSecondFactor, {}, S::kNone, &Panel::sign_in_code},
      {"POST", "auth/sign-out", true, kAnyStage, {}, S::kNone, &Panel::sign_out},
      {"POST", "auth/sign-out-everywhere", true, kReadyOnly, Action::kPanelSelf, S::kOwn,
       &Panel::sign_out_everywhere},
      {"POST", "me/password", true, kChange, {}, S::kNone, &Panel::change_password},
      {"POST", "auth/webauthn/begin", true, kSecondFactor, {}, S::kNone,
       &Panel::webauthn_sign_in_begin},
      {"POST", "auth/webauthn/finish", true, kSecondFactor, {}, S::kNone,
       &Panel::webauthn_sign_in_finish},
      // A first factor at enrollment, or another one later.
      {"POST", "me/totp/begin", true, kAddFactor, {}, S::kNone, &Panel::totp_begin},
      {"POST", "me/totp/confirm", true, kAddFactor, {}, S::kNone, &Panel::totp_confirm},
      {"POST", "me/webauthn/begin", true, kAddFactor, {}, S::kNone, &Panel::webauthn_add_begin},
      {"POST", "me/webauthn/finish", true, kAddFactor, {}, S::kNone, &Panel::webauthn_add_finish},
      {"GET", "me/factors", true, kReadyOnly, Action::kPanelSelf, S::kOwn, &Panel::factors_list},
      {"DELETE", "me/factors/*", true, kReadyOnly, Action::kPanelSelf, S::kOwn,
       &Panel::factor_remove},
      {"POST", "me/recovery-codes", true, kReadyOnly, Action::kPanelSelf, S::kOwn,
       &Panel::recovery_codes_new},
      // Institutions.
      {"GET", "tenants", true, kReadyOnly, Action::kPanelTenantView, S::kOwn, &Panel::tenants_list},
      {"POST", "tenants", true, kReadyOnly, Action::kPanelTenantManage, S::kProvider,
       &Panel::tenant_create},
      {"PUT", "tenants/*", true, kReadyOnly, Action::kPanelTenantManage, S::kPathTenant,
       &Panel::tenant_update},
      {"GET", "tenants/*/dashboard", true, kReadyOnly, Action::kPanelTenantView, S::kPathTenant,
       &Panel::dashboard},
      {"GET", "tenants/*/devices", true, kReadyOnly, Action::kPanelTenantView, S::kPathTenant,
       &Panel::devices_list},
      {"POST", "tenants/*/enroll-codes", true, kReadyOnly, Action::kPanelDeviceEnroll,
       S::kPathTenant, &Panel::enroll_code},
      {"POST", "tenants/*/devices/*/revoke", true, kReadyOnly, Action::kPanelDeviceManage,
       S::kPathTenant, &Panel::device_revoke},
      {"PUT", "tenants/*/devices/*", true, kReadyOnly, Action::kPanelDeviceManage,
       S::kPathTenant, &Panel::device_rename},
      {"GET", "tenants/*/devices/*/policy", true, kReadyOnly, Action::kPanelTenantView,
       S::kPathTenant, &Panel::policy_get},
      {"PUT", "tenants/*/devices/*/policy", true, kReadyOnly, Action::kPanelPolicyEdit,
       S::kPathTenant, &Panel::policy_put},
      {"GET", "tenants/*/repos", true, kReadyOnly, Action::kPanelTenantView, S::kPathTenant,
       &Panel::repos_list},
      {"GET", "tenants/*/repos/*/snapshots", true, kReadyOnly, Action::kPanelTenantView,
       S::kPathTenant, &Panel::snapshots_list},
      {"GET", "tenants/*/audit", true, kReadyOnly, Action::kAuditRead, S::kPathTenant,
       &Panel::audit_list},
      // Users.
      {"GET", "users", true, kReadyOnly, Action::kPanelUserView, S::kQueryTenant, &Panel::users_list},
      {"POST", "users", true, kReadyOnly, Action::kPanelUserManage, S::kBodyTenant,
       &Panel::user_create},
      {"PUT", "users/*", true, kReadyOnly, Action::kPanelUserManage, S::kPathUser,
       &Panel::user_update},
      {"POST", "users/*/unlock", true, kReadyOnly, Action::kPanelUserManage, S::kPathUser,
       &Panel::user_unlock},
      {"POST", "users/*/end-sessions", true, kReadyOnly, Action::kPanelUserManage, S::kPathUser,
       &Panel::user_end_sessions},
      // A lost second factor: one admin asks, another approves.
      {"POST", "users/*/factor-reset", true, kReadyOnly, Action::kPanelFactorReset, S::kPathUser,
       &Panel::factor_reset_request},
      {"GET", "factor-resets", true, kReadyOnly, Action::kPanelFactorReset, S::kOwn,
       &Panel::factor_resets_list},
      {"POST", "factor-resets/*/approve", true, kReadyOnly, Action::kPanelFactorReset,
       S::kPathReset, &Panel::factor_reset_approve},
      // Maintenance notices: everyone reads them, provider staff publish them.
      {"GET", "notices", true, kReadyOnly, Action::kPanelNoticeView, S::kNone, &Panel::notices_list},
      {"POST", "notices", true, kReadyOnly, Action::kPanelNoticeManage, S::kProvider,
       &Panel::notice_create},
      {"DELETE", "notices/*", true, kReadyOnly, Action::kPanelNoticeManage, S::kProvider,
       &Panel::notice_delete},
      // The provider's screens.
      {"GET", "regions", true, kReadyOnly, Action::kPanelUsageAll, S::kProvider, &Panel::regions_list},
      {"GET", "usage", true, kReadyOnly, Action::kPanelUsageAll, S::kProvider, &Panel::usage_all},
  };
  return kEndpoints;
}

Panel::Panel(service::Service* svc, service::Accounts* accounts)
    : svc_(svc), accounts_(accounts) {}

base::Status Panel::housekeeping() {
  const int64_t now = svc_->now();
  return svc_->meta()
      ->delete_stale_sessions(now - accounts_->options().session_idle_seconds, now)
      .status();
}

PanelResponse Panel::handle(const PanelRequest& req) {
  Call call;
  call.req = &req;
  PanelResponse r = gate(req, call);
  if (r.who.kind == service::IdentityKind::kAnonymous) r.who = call.who;
  if (r.tenant.empty()) r.tenant = r.who.tenant;
  return r;
}

PanelResponse Panel::gate(const PanelRequest& req, Call& call) {
  auto refuse = [&](int status, std::string_view key, std::string_view msg = {}) {
    PanelResponse r = error_json(status, key, msg);
    r.action = "panel.request";
    r.object = std::string(req.path.substr(0, 200));
    return r;
  };
  if (!split_segments(req.path, &call.segs)) return refuse(404, "error.not_found");
  // Find the endpoint: the path first (404), then the method (405).
  const Endpoint* ep = nullptr;
  bool path_known = false;
  for (const Endpoint& e : endpoints()) {
    std::vector<std::string_view> pat;
    std::string p = "/" + std::string(e.pattern);
    split_segments(p, &pat);
    if (pat.size() != call.segs.size()) continue;
    std::vector<std::string> params;
    bool match = true;
    for (size_t i = 0; i < pat.size() && match; ++i) {
      if (pat[i] == "*") params.emplace_back(call.segs[i]);
      else match = pat[i] == call.segs[i];
    }
    if (!match) continue;
    path_known = true;
    if (e.method == req.method || (e.method == "GET" && req.method == "HEAD")) {
      ep = &e;
      call.params = std::move(params);
      break;
    }
  }
  if (!ep) return path_known ? refuse(405, "error.method") : refuse(404, "error.not_found");

  const bool writes = !is_read(req.method);
  if (writes) {
    // A cross-site form cannot send this type without a preflight, which is never granted.
    std::string_view ct = req.content_type.substr(0, req.content_type.find(';'));
    while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
    if (ct != "application/json") return refuse(403, "csrf", "Content-Type must be application/json");
    auto body = parse_json_object(req.body.empty() ? std::string_view("{}") : req.body);
    if (!body.ok()) return refuse(400, "error.invalid", body.status().message());
    call.body = std::move(*body);
  }
  call.session_id = std::string(session_cookie(req.cookie));
  if (ep->needs_session) {
    if (call.session_id.empty()) return refuse(401, "session.none");
    auto info = accounts_->session(call.session_id);
    if (!info.ok()) {
      if (info.status().code() != base::Code::kUnauthenticated) return status_error(info.status());
      PanelResponse r = refuse(401, info.status().message() == "not signed in" ? "session.none"
                                                                              : "session.expired");
      r.headers.emplace_back("Set-Cookie", std::string(kCookieName) + "=; Max-Age=0" + kCookieAttrs);
      return r;
    }
    call.info = std::move(*info);
    if (call.info.stage == SessionStage::kReady) call.who = identity_of(call.info);
    if (!(ep->stages & bit(call.info.stage))) {
      return refuse(403, "stage." + std::string(stage_name(call.info.stage)));
    }
    if (writes && !service::Accounts::csrf_ok(call.info, req.csrf_token)) {
      return refuse(403, "csrf", "the X-CSRF-Token header is missing or wrong");
    }
  }
  if (ep->action) {
    call.target = target_of(*ep, call);
    base::Status allowed = service::authorize(call.who, *ep->action, call.target);
    if (!allowed.ok()) {
      PanelResponse r = refuse(403, "error.denied", allowed.message());
      r.action = std::string(service::action_name(*ep->action));
      return r;
    }
  }
  PanelResponse r = (this->*(ep->handler))(call);
  if (r.action.empty() && ep->action) r.action = std::string(service::action_name(*ep->action));
  return r;
}

service::Target Panel::target_of(const Endpoint& ep, Call& call) {
  service::Target t;
  const std::string& own = call.who.tenant;
  auto tenant_or_provider = [&](std::string name) {
    if (name.empty()) t.provider = true;
    t.tenant = std::move(name);
  };
  switch (ep.scope) {
    case Scope::kNone: break;
    case Scope::kOwn: t.tenant = own; break;
    case Scope::kProvider: t.provider = true; break;
    case Scope::kPathTenant: t.tenant = call.params.at(0); break;
    case Scope::kBodyTenant: tenant_or_provider(str_member(call.body, "tenant")); break;
    case Scope::kQueryTenant: {
      std::string q = query_param(call.req->query, "tenant");
      tenant_or_provider(q.empty() ? own : q);
      break;
    }
    case Scope::kPathUser:
    case Scope::kPathReset: {
      int64_t id = 0;
      const std::string& p = call.params.at(0);
      auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), id);
      const bool number = ec == std::errc() && end == p.data() + p.size() && id > 0;
      if (number && ep.scope == Scope::kPathReset) {
        auto reset = svc_->meta()->factor_reset_by_id(id);
        id = reset.ok() ? reset->user_id : 0;
        if (reset.ok()) call.reset = *reset;
      }
      auto u = number && id > 0 ? svc_->meta()->user_by_id(id)
                                : base::StatusOr<meta::User>(base::not_found("user"));
      if (!u.ok()) {
        // Unknown: institution staff get the answer another tenant's user gets.
        t.tenant = "?";
        break;
      }
      call.subject = *u;
      if (u->tenant_id == 0) {
        t.provider = true;
      } else if (auto tn = svc_->meta()->tenant_by_id(u->tenant_id); tn.ok()) {
        t.tenant = tn->name;
      }
      break;
    }
  }
  return t;
}

service::Identity Panel::identity_of(const service::SessionInfo& info) {
  service::Identity who;
  who.kind = service::IdentityKind::kUser;
  who.user_id = info.user.id;
  who.user = info.user.login;
  who.role = info.user.role;
  if (info.user.tenant_id != 0) {
    who.tenant_id = info.user.tenant_id;
    auto t = svc_->meta()->tenant_by_id(info.user.tenant_id);
    if (t.ok()) who.tenant = t->name;
  }
  return who;
}

PanelResponse Panel::session_json(const service::SessionInfo& info, int status) {
  service::Identity who = identity_of(info);
  std::string tenant_display;
  if (info.user.tenant_id != 0) {
    auto t = svc_->meta()->tenant_by_id(info.user.tenant_id);
    if (t.ok()) tenant_display = t->display_name;
  }
  json actions = json::array();
  if (info.stage == SessionStage::kReady) {
    for (Action a : service::kAllActions) {
      std::string_view name = service::action_name(a);
      if (name.substr(0, 6) != "panel." && a != Action::kAuditRead) continue;
      if (service::authorize(who, a, service::Target{who.tenant, ""}).ok()) actions.push_back(name);
    }
  }
  json factors = json::array();
  if (info.has_totp) factors.push_back("totp");
  if (info.has_webauthn) factors.push_back("webauthn");
  json j{{"stage", stage_name(info.stage)},
         {"csrf_token", info.session.csrf_token},
         {"user",
          {{"id", info.user.id},
           {"login", info.user.login},
           {"display_name", info.user.display_name},
           {"role", meta::user_role_name(info.user.role)},
           {"tenant", who.tenant},
           {"tenant_display_name", tenant_display}}},
         {"second_factors", factors},
         {"idle_seconds", accounts_->options().session_idle_seconds},
         {"idle_expires", info.idle_expires_unix},
         {"absolute_expires", info.absolute_expires_unix},
         {"actions", actions}};
  PanelResponse r = json_response(status, j);
  r.who = who;  // for the record only: authorisation uses Call::who, set for ready sessions
  return r;
}

// --- Sign-in -----------------------------------------------------------------------------------

PanelResponse Panel::sign_in_password(Call& call) {
  const std::string login = str_member(call.body, "login");
  const std::string password = str_member(call.body, "password");
  // The record names the ID tried (bounded, printable), never the password.
  std::string object = "user:" + login.substr(0, 64);
  for (char& c : object) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  if (login.empty() || login.size() > 256 || password.size() > 4096) {
    PanelResponse r = error_json(401, "signin.failed", "malformed sign-in");
    r.action = "panel.signin";
    r.object = object;
    return r;
  }
  auto step = accounts_->sign_in_password(login, password, call.req->source_ip);
  if (!step.ok()) return status_error(step.status());
  if (!step->accepted) {
    PanelResponse r = error_json(401, "signin.failed");
    r.result = step->locked ? "denied: locked" : "denied: wrong ID or password";
    r.delay_ms = step->delay_ms;
    r.action = step->locked ? "panel.signin.locked" : "panel.signin";
    r.object = object;
    // A known user's failures belong to its tenant's records too.
    if (auto u = svc_->meta()->user_by_login(login); u.ok() && u->tenant_id != 0) {
      if (auto t = svc_->meta()->tenant_by_id(u->tenant_id); t.ok()) r.tenant = t->name;
    }
    return r;
  }
  PanelResponse r = session_json(step->info);
  r.headers.emplace_back("Set-Cookie",
                         std::string(kCookieName) + "=" + step->session_id + kCookieAttrs);
  r.action = "panel.signin.password";
  r.object = object;
  return r;
}

PanelResponse Panel::sign_in_code(Call& call) {
  auto info = accounts_->sign_in_second_factor(call.session_id, str_member(call.body, "code"));
  if (!info.ok()) {
    if (info.status().code() != base::Code::kUnauthenticated) return status_error(info.status());
    PanelResponse r = error_json(401, "signin.code_wrong");
    const bool locked = info.status().message() == "the account is locked";
    r.result = locked ? "denied: locked" : "denied: wrong code";
    r.action = locked ? "panel.signin.locked" : "panel.signin.second_factor";
    r.object = "user:" + call.info.user.login;
    r.delay_ms = accounts_->delay_for(call.info.user.failed_signins + 1);
    if (locked) {
      r.headers.emplace_back("Set-Cookie", std::string(kCookieName) + "=; Max-Age=0" + kCookieAttrs);
    }
    return r;
  }
  PanelResponse r = session_json(*info);
  r.action = "panel.signin.second_factor";
  r.object = "user:" + info->user.login;
  return r;
}

PanelResponse Panel::session_view(Call& call) {
  PanelResponse r = session_json(call.info);
  r.action = "panel.session";
  return r;
}

PanelResponse Panel::sign_out(Call& call) {
  base::Status st = accounts_->sign_out(call.session_id);
  if (!st.ok()) return status_error(st);
  PanelResponse r = json_response(200, json::object());
  r.headers.emplace_back("Set-Cookie", std::string(kCookieName) + "=; Max-Age=0" + kCookieAttrs);
  r.action = "panel.signout";
  r.object = "user:" + call.info.user.login;
  return r;
}

PanelResponse Panel::sign_out_everywhere(Call& call) {
  auto n = accounts_->end_sessions(call.info.user.id);
  if (!n.ok()) return status_error(n.status());
  PanelResponse r = json_response(200, json{{"ended", *n}});
  r.headers.emplace_back("Set-Cookie", std::string(kCookieName) + "=; Max-Age=0" + kCookieAttrs);
  r.action = "panel.signout.everywhere";
  r.object = "user:" + call.info.user.login;
  return r;
}

PanelResponse Panel::change_password(Call& call) {
  base::Status st = accounts_->change_password(call.session_id, str_member(call.body, "old"),
                                               str_member(call.body, "new"));
  PanelResponse r;
  if (st.code() == base::Code::kUnauthenticated) {
    r = error_json(401, "password.old_wrong");
  } else if (!st.ok()) {
    r = policy_error(st, accounts_->options());
  } else {
    auto info = accounts_->session(call.session_id);
    r = info.ok() ? session_json(*info) : status_error(info.status());
  }
  r.action = "panel.password.change";
  r.object = "user:" + call.info.user.login;
  return r;
}

PanelResponse Panel::totp_begin(Call& call) {
  auto e = accounts_->begin_totp(call.session_id);
  if (!e.ok()) return status_error(e.status());
  PanelResponse r = json_response(
      200, json{{"secret", e->secret}, {"otpauth_uri", e->otpauth_uri}, {"qr_svg", e->qr_svg}});
  r.action = "panel.factor.totp.begin";
  r.object = "user:" + call.info.user.login;
  return r;
}

PanelResponse Panel::totp_confirm(Call& call) {
  auto codes = accounts_->confirm_totp(call.session_id, str_member(call.body, "secret"),
                                       str_member(call.body, "code"));
  PanelResponse r;
  if (!codes.ok()) {
    r = codes.status().code() == base::Code::kInvalidArgument ||
                codes.status().code() == base::Code::kUnauthenticated
            ? error_json(400, "totp.code_wrong", codes.status().message())
            : status_error(codes.status());
  } else {
    auto info = accounts_->session(call.session_id);
    if (!info.ok()) return status_error(info.status());
    PanelResponse s = session_json(*info);
    r = json_response(200, json{{"recovery_codes", *codes}, {"session", json::parse(s.body)}});
    r.who = s.who;
  }
  r.action = "panel.factor.totp.add";
  r.object = "user:" + call.info.user.login;
  return r;
}

// --- Helpers -----------------------------------------------------------------------------------

namespace panel_detail {

PanelResponse json_response(int status, const json& j) {
  PanelResponse r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

// The message is the server's English detail (recorded, and shown under the translated text).
PanelResponse error_json(int status, std::string_view key, std::string_view message,
                         std::vector<std::string> args) {
  json j{{"error", key}};
  if (!args.empty()) j["args"] = args;
  if (!message.empty()) j["message"] = message;
  PanelResponse r = json_response(status, j);
  r.result = std::string(status == 401 || status == 403 ? "denied: " : "error: ") +
             std::string(key) + (message.empty() ? "" : ": " + std::string(message));
  return r;
}

PanelResponse status_error(const base::Status& st) {
  switch (st.code()) {
    case base::Code::kInvalidArgument: return error_json(400, "error.invalid", st.message());
    case base::Code::kNotFound: return error_json(404, "error.not_found", st.message());
    case base::Code::kAlreadyExists: return error_json(409, "error.exists", st.message());
    case base::Code::kPermissionDenied: return error_json(403, "error.denied", st.message());
    case base::Code::kUnauthenticated: return error_json(401, "session.none", st.message());
    case base::Code::kFailedPrecondition: return error_json(409, "error.state", st.message());
    case base::Code::kResourceExhausted: return error_json(507, "error.quota", st.message());
    default: return error_json(500, "error.internal", st.message());
  }
}

// "password: pw.too_short,pw.common" → the keys.
PanelResponse policy_error(const base::Status& st, const service::AccountOptions& o) {
  constexpr std::string_view kPrefix = "password: ";
  std::string_view keys = st.message();
  if (st.code() != base::Code::kInvalidArgument || keys.substr(0, kPrefix.size()) != kPrefix) {
    return status_error(st);
  }
  keys.remove_prefix(kPrefix.size());
  json problems = json::array(), args = json::array();
  while (!keys.empty()) {
    size_t comma = keys.find(',');
    std::string key(keys.substr(0, comma));
    keys = comma == std::string_view::npos ? std::string_view() : keys.substr(comma + 1);
    problems.push_back(key);
    if (key == "pw.too_short") args.push_back({std::to_string(o.password.min_length)});
    else if (key == "pw.too_few_classes") args.push_back({std::to_string(o.password.min_classes)});
    else if (key == "pw.reused") args.push_back({std::to_string(o.password.history)});
    else if (key == "pw.too_long") args.push_back({std::to_string(service::kMaxPasswordBytes)});
    else args.push_back(json::array());
  }
  PanelResponse r = json_response(
      400, json{{"error", "password.policy"}, {"problems", problems}, {"problem_args", args}});
  r.result = "error: password.policy: " + std::string(st.message().substr(kPrefix.size()));
  return r;
}

std::string query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) != key) continue;
    std::string_view v = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '+') {
        out += ' ';
      } else if (v[i] == '%') {
        int value = 0;
        for (size_t k = 1; k <= 2; ++k) {
          if (i + k >= v.size()) return {};
          char c = v[i + k];
          int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
          if (d < 0) return {};
          value = value * 16 + d;
        }
        if (value < 0x20 || value == 0x7f) return {};
        out += static_cast<char>(value);
        i += 2;
      } else {
        out += v[i];
      }
    }
    return out;
  }
  return {};
}

}  // namespace panel_detail


const std::vector<std::pair<std::string, std::string>>& panel_security_headers() {
  static const std::vector<std::pair<std::string, std::string>> kHeaders = {
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
      {"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"},
  };
  return kHeaders;
}

std::string_view session_cookie(std::string_view header) {
  // "a=b; kura_session=XYZ; c=d" — the first kura_session wins; a malformed pair is skipped.
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (pair.substr(0, eq) == kCookieName) {
      std::string_view v = pair.substr(eq + 1);
      while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
      if (v.size() > 128) return {};
      return v;
    }
  }
  return {};
}

}  // namespace kura::server
