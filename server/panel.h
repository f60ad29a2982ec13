// The control panel's JSON API (docs/panel-api.md): sign-in in two steps, sessions in a
// cookie, CSRF tokens, and the panel's screens' data. Pure request → response over the
// service and the accounts, like api.h: no sockets here, so every rule is unit-tested.
//
// Every request passes the same gate before any handler runs (gate()):
//   1. A state-changing request (not GET/HEAD) must be `Content-Type: application/json`.
//   2. The session cookie names a live session (except for the password step).
//   3. The session's stage allows this endpoint (a forced password change or a second-factor
//      enrollment shuts out everything else, the API included).
//   4. A state-changing request carries the session's CSRF token.
//   5. The endpoint's Action is allowed for the user's role on the addressed tenant — decided by
//      service::authorize(), the one table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "service/accounts.h"
#include "service/authz.h"
#include "service/service.h"

namespace kura::server {

struct PanelRequest {
  std::string_view method;        // "GET", "POST", ...
  std::string_view path;          // after /panel/api: "/auth/password"
  std::string_view query;         // without '?'
  std::string_view cookie;        // the Cookie header, whole
  std::string_view csrf_token;    // X-CSRF-Token
  std::string_view content_type;  // Content-Type
  std::string_view body;
  std::string_view source_ip;
};

struct PanelResponse {
  int status = 200;
  std::string body;                                          // JSON
  std::vector<std::pair<std::string, std::string>> headers;  // Set-Cookie
  int64_t delay_ms = 0;  // wait this long before answering (failed sign-ins)
  // For the access record.
  service::Identity who;  // the signed-in user, when there is one
  std::string action, object, tenant, result = "ok";
};

class Panel {
 public:
  // svc and accounts must outlive the panel.
  Panel(service::Service* svc, service::Accounts* accounts);

  PanelResponse handle(const PanelRequest& req);

  // Removes sessions past their idle or absolute limit (the server calls it hourly).
  base::Status housekeeping();

 private:
  struct Call;
  struct Endpoint;
  static const std::vector<Endpoint>& endpoints();

  PanelResponse gate(const PanelRequest& req, Call& call);
  // The target the endpoint's Action is authorised on (and, for a user id, the user).
  service::Target target_of(const Endpoint& ep, Call& call);

  // auth/*, me/*
  PanelResponse sign_in_password(Call& call);
  PanelResponse sign_in_code(Call& call);
  PanelResponse session_view(Call& call);
  PanelResponse sign_out(Call& call);
  PanelResponse sign_out_everywhere(Call& call);
  PanelResponse change_password(Call& call);
  PanelResponse totp_begin(Call& call);
  PanelResponse totp_confirm(Call& call);
  PanelResponse webauthn_sign_in_begin(Call& call);
  PanelResponse webauthn_sign_in_finish(Call& call);
  PanelResponse webauthn_add_begin(Call& call);
  PanelResponse webauthn_add_finish(Call& call);
  PanelResponse factors_list(Call& call);
  PanelResponse factor_remove(Call& call);
  PanelResponse recovery_codes_new(Call& call);
  PanelResponse factor_reset_request(Call& call);
  PanelResponse factor_resets_list(Call& call);
  PanelResponse factor_reset_approve(Call& call);

  // Institution data, users and the provider's screens (panel_data.cc).
  PanelResponse tenants_list(Call& call);
  PanelResponse tenant_create(Call& call);
  PanelResponse tenant_update(Call& call);
  PanelResponse dashboard(Call& call);
  PanelResponse devices_list(Call& call);
  PanelResponse enroll_code(Call& call);
  PanelResponse device_revoke(Call& call);
  PanelResponse repos_list(Call& call);
  PanelResponse snapshots_list(Call& call);
  PanelResponse audit_list(Call& call);
  PanelResponse users_list(Call& call);
  PanelResponse user_create(Call& call);
  PanelResponse user_update(Call& call);
  PanelResponse user_unlock(Call& call);
  PanelResponse user_end_sessions(Call& call);
  PanelResponse device_rename(Call& call);
  PanelResponse policy_get(Call& call);
  PanelResponse policy_put(Call& call);
  PanelResponse notices_list(Call& call);
  PanelResponse notice_create(Call& call);
  PanelResponse notice_delete(Call& call);
  PanelResponse regions_list(Call& call);
  PanelResponse usage_all(Call& call);

  PanelResponse session_json(const service::SessionInfo& info, int status = 200);
  service::Identity identity_of(const service::SessionInfo& info);

  service::Service* svc_;
  service::Accounts* accounts_;
};

// The security headers of every panel response (pages, assets and API).
const std::vector<std::pair<std::string, std::string>>& panel_security_headers();

// The session cookie's value in a Cookie header, or "".
std::string_view session_cookie(std::string_view cookie_header);

}  // namespace kura::server
