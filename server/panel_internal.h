// Shared by panel.cc (the gate, sign-in) and panel_data.cc (the screens' data): the parsed
// request as it passes the gate, the endpoint table's row, and the answers' shapes.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/panel.h"

namespace kura::server {

// What an endpoint's Action is checked against (service::Target): which tenant it addresses.
enum class Scope {
  kNone,         // nothing tenant-specific (sign-in, one's own account)
  kOwn,          // the user's own tenant (provider staff: all of them)
  kProvider,     // the provider's own things: provider staff only
  kPathTenant,   // the first "*" of the path names the tenant
  kPathUser,     // the first "*" is a user id: that user's tenant (or the provider's staff)
  kBodyTenant,   // the body's "tenant" ("" = the provider's staff)
  kQueryTenant,  // ?tenant= ("" = one's own: the provider's staff for provider staff)
  kPathReset,    // the first "*" is a factor-reset request: its user's tenant
};

struct Panel::Call {
  const PanelRequest* req = nullptr;
  std::vector<std::string_view> segs;  // the path's segments
  std::vector<std::string> params;     // the segments the pattern's "*" matched
  nlohmann::json body;                 // state-changing requests: the JSON object
  std::string session_id;              // the cookie's value
  service::SessionInfo info;           // when the endpoint needs a session
  service::Identity who;               // a ready session's user
  service::Target target;              // what the endpoint's Action was allowed on
  std::optional<meta::User> subject;   // kPathUser, kPathReset: the user addressed
  std::optional<meta::FactorReset> reset;  // kPathReset: the request addressed
};

struct Panel::Endpoint {
  std::string_view method;
  std::string_view pattern;  // "tenants/*/devices": "*" matches one segment
  bool needs_session;
  unsigned stages;               // where needs_session: a mask of 1 << SessionStage
  std::optional<service::Action> action;  // checked with authorize() before the handler
  Scope scope;
  PanelResponse (Panel::*handler)(Call&);
};

namespace panel_detail {

PanelResponse json_response(int status, const nlohmann::json& j);
// {"error": key, "args": [...], "message": text}; the key is the panel catalog's.
PanelResponse error_json(int status, std::string_view key, std::string_view message = {},
                         std::vector<std::string> args = {});
// A service or store error as the generic panel error of its kind.
PanelResponse status_error(const base::Status& st);
// A password-policy refusal with each problem's catalog key and arguments; else status_error.
PanelResponse policy_error(const base::Status& st, const service::AccountOptions& o);
// A query parameter, percent-decoded; "" when absent or malformed.
std::string query_param(std::string_view query, std::string_view key);

}  // namespace panel_detail
}  // namespace kura::server
