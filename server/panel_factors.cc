// The control panel's second factors: WebAuthn keys (sign-in and adding one), one's own factor
// list, recovery codes, and the two-admin reset of another user's factors. The rules are
// service::Accounts'; here they meet JSON.
#include <nlohmann/json.hpp>

#include <charconv>

#include "server/json_body.h"
#include "server/panel.h"
#include "server/panel_internal.h"
#include "service/webauthn.h"

namespace kura::server {

using nlohmann::json;
using namespace panel_detail;

namespace {

// The browser's credential JSON → the decoded response members, or the first bad one.
struct Credential {
  std::string id;  // base64url, as the browser's "id"
  std::map<std::string, base::Bytes> response;
};

base::StatusOr<Credential> credential_of(const json& body, std::initializer_list<const char*> members) {
  Credential c;
  c.id = str_member(body, "id");
  auto resp = body.find("response");
  if (resp == body.end() || !resp->is_object()) {
    return base::invalid_argument("the credential has no response object");
  }
  for (const char* m : members) {
    ASSIGN_OR_RETURN(c.response[m], service::base64url_decode(str_member(*resp, m), m));
  }
  return c;
}

json options_json(const std::string& text) {
  return json{{"publicKey", json::parse(text, nullptr, false)}};
}

json factor_json(const service::Factor& f) {
  return json{{"id", f.id}, {"kind", f.kind}, {"name", f.name},
              {"created", f.created_unix}, {"last_used", f.last_used_unix}};
}

json reset_json(const meta::FactorReset& r, const std::string& login, const std::string& by,
                const std::string& approved_by, int64_t now) {
  const char* state = r.approved_by != 0 ? "done" : r.expires_unix <= now ? "expired" : "pending";
  return json{{"id", r.id},           {"user_id", r.user_id},
              {"user_login", login},  {"requested_by", by},
              {"requested", r.requested_unix}, {"approved_by", approved_by},
              {"approved", r.approved_unix},   {"expires", r.expires_unix},
              {"state", state}};
}

}  // namespace

// --- WebAuthn ----------------------------------------------------------------------------------

PanelResponse Panel::webauthn_sign_in_begin(Call& call) {
  auto options = accounts_->begin_webauthn_sign_in(call.session_id);
  PanelResponse r = options.ok() ? json_response(200, options_json(*options))
                                 : status_error(options.status());
  r.action = "panel.signin.webauthn.begin";
  r.object = "user:" + call.info.user.login;
  return r;
}

PanelResponse Panel::webauthn_sign_in_finish(Call& call) {
  auto cred = credential_of(call.body, {"clientDataJSON", "authenticatorData", "signature"});
  base::StatusOr<service::SessionInfo> info =
      cred.ok() ? accounts_->finish_webauthn_sign_in(
                      call.session_id, cred->id, cred->response["clientDataJSON"],
                      cred->response["authenticatorData"], cred->response["signature"])
                : base::StatusOr<service::SessionInfo>(
                      base::unauthenticated("the security key was not accepted: " +
                                            cred.status().message()));
  PanelResponse r;
  if (info.ok()) {
    r = session_json(*info);
  } else if (info.status().code() == base::Code::kUnauthenticated) {
    r = error_json(401, "signin.key_wrong");
    r.result = "denied: " + info.status().message();
    r.delay_ms = accounts_->delay_for(call.info.user.failed_signins + 1);
  } else {
    r = status_error(info.status());
  }
  r.action = "panel.signin.second_factor";
  r.object = "user:" + call.info.user.login + " webauthn";
  return r;
}

PanelResponse Panel::webauthn_add_begin(Call& call) {
  auto options = accounts_->begin_webauthn_registration(call.session_id, str_member(call.body, "name"));
  PanelResponse r = options.ok() ? json_response(200, options_json(*options))
                                 : status_error(options.status());
  r.action = "panel.factor.webauthn.begin";
  r.object = "user:" + call.info.user.login;
  return r;
}

PanelResponse Panel::webauthn_add_finish(Call& call) {
  const std::string name = str_member(call.body, "name");
  auto cred = credential_of(call.body, {"clientDataJSON", "attestationObject"});
  base::StatusOr<service::WebAuthnRegistration> reg =
      cred.ok() ? accounts_->finish_webauthn_registration(call.session_id, name,
                                                          cred->response["clientDataJSON"],
                                                          cred->response["attestationObject"])
                : base::StatusOr<service::WebAuthnRegistration>(cred.status());
  PanelResponse r;
  if (reg.ok()) {
    auto info = accounts_->session(call.session_id);
    if (!info.ok()) return status_error(info.status());
    PanelResponse s = session_json(*info);
    r = json_response(200, json{{"factor", factor_json(reg->factor)},
                                {"recovery_codes", reg->recovery_codes},
                                {"session", json::parse(s.body)}});
    r.who = s.who;
  } else if (reg.status().code() == base::Code::kUnauthenticated ||
             reg.status().code() == base::Code::kInvalidArgument) {
    r = error_json(400, "webauthn.refused", reg.status().message());
  } else {
    r = status_error(reg.status());
  }
  r.action = "panel.factor.webauthn.add";
  r.object = "user:" + call.info.user.login + " key:" + name.substr(0, 64);
  return r;
}

// --- One's own factors -------------------------------------------------------------------------

PanelResponse Panel::factors_list(Call& call) {
  auto list = accounts_->list_factors(call.session_id);
  if (!list.ok()) return status_error(list.status());
  json factors = json::array();
  for (const auto& f : list->factors) factors.push_back(factor_json(f));
  return json_response(200, json{{"factors", factors},
                                 {"recovery_codes_left", list->recovery_codes_left}});
}

PanelResponse Panel::factor_remove(Call& call) {
  base::Status st = accounts_->remove_factor(call.session_id, call.params[0]);
  PanelResponse r;
  if (st.ok()) {
    r = json_response(200, json::object());
  } else if (st.code() == base::Code::kFailedPrecondition &&
             st.message().rfind("factor.last", 0) == 0) {
    r = error_json(409, "factor.last", st.message());
  } else {
    r = status_error(st);
  }
  r.action = "panel.factor.remove";
  r.object = "user:" + call.info.user.login + " " + call.params[0].substr(0, 40);
  return r;
}

PanelResponse Panel::recovery_codes_new(Call& call) {
  auto codes = accounts_->regenerate_recovery_codes(call.session_id);
  PanelResponse r = codes.ok() ? json_response(200, json{{"recovery_codes", *codes}})
                               : status_error(codes.status());
  r.action = "panel.factor.recovery_codes";
  r.object = "user:" + call.info.user.login;
  return r;
}

// --- Two-admin factor reset --------------------------------------------------------------------

PanelResponse Panel::factor_reset_request(Call& call) {
  if (!call.subject) return error_json(404, "error.not_found", "no such user");
  auto reset = accounts_->request_factor_reset(call.who.user_id, call.subject->id);
  PanelResponse r;
  if (reset.ok()) {
    r = json_response(200, json{{"request", reset_json(*reset, call.subject->login, call.who.user,
                                                       "", svc_->now())}});
  } else if (reset.status().code() == base::Code::kPermissionDenied) {
    r = error_json(403, "reset.self", reset.status().message());
  } else {
    r = status_error(reset.status());
  }
  r.action = "panel.factor.reset.request";
  r.object = "user:" + call.subject->login;
  r.tenant = call.target.tenant;
  return r;
}

PanelResponse Panel::factor_resets_list(Call& call) {
  auto resets = svc_->meta()->list_factor_resets(svc_->now());
  if (!resets.ok()) return status_error(resets.status());
  json out = json::array();
  auto login_of = [&](int64_t id) {
    auto u = svc_->meta()->user_by_id(id);
    return u.ok() ? u->login : std::string();
  };
  for (const auto& reset : *resets) {
    auto u = svc_->meta()->user_by_id(reset.user_id);
    if (!u.ok()) continue;
    // Only the requests this admin could approve: institution admins their own staff's.
    std::string tenant;
    if (u->tenant_id != 0) {
      auto t = svc_->meta()->tenant_by_id(u->tenant_id);
      tenant = t.ok() ? t->name : "?";
    }
    service::Target target;
    target.tenant = tenant;
    target.provider = u->tenant_id == 0;
    if (!service::authorize(call.who, service::Action::kPanelFactorReset, target).ok()) continue;
    out.push_back(reset_json(reset, u->login, login_of(reset.requested_by), "", svc_->now()));
  }
  return json_response(200, json{{"requests", out}});
}

PanelResponse Panel::factor_reset_approve(Call& call) {
  if (!call.reset || !call.subject) return error_json(404, "error.not_found", "no such request");
  auto done = accounts_->approve_factor_reset(call.who.user_id, call.reset->id);
  PanelResponse r;
  if (done.ok()) {
    auto by = svc_->meta()->user_by_id(done->requested_by);
    r = json_response(200, json{{"request", reset_json(*done, call.subject->login,
                                                       by.ok() ? by->login : "", call.who.user,
                                                       svc_->now())}});
  } else if (done.status().code() == base::Code::kPermissionDenied) {
    r = error_json(403, "reset.same_admin", done.status().message());
  } else {
    r = status_error(done.status());
  }
  r.action = "panel.factor.reset.approve";
  r.object = "user:" + call.subject->login + " request:" + std::to_string(call.reset->id);
  r.tenant = call.target.tenant;
  return r;
}

}  // namespace kura::server
