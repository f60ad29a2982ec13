// Maps a request's method and target to what it addresses. Pure (no I/O), so it is unit-tested
// and fuzzed on its own. Anything that is not exactly a known shape is kNotFound: names must
// be 64 lowercase hex characters, tenant and repository names must pass the service's rules,
// and percent-encoding, empty segments, "." and ".." never match.
#pragma once

#include <string>
#include <string_view>

#include "backend/backend.h"

namespace kura::server {

enum class Method { kGet, kHead, kPost, kPut, kDelete, kOther };

enum class RouteKind {
  kNotFound,
  kHealth,        // /healthz
  kMetrics,       // /metrics
  kEnrollCa,      // /enroll/ca
  kEnroll,        // /enroll
  kEnrollRenew,   // /enroll/renew
  kAdminApi,      // /api/v1/...: `rest` holds the part after /api/v1
  kRoot,          // / and /panel: a redirect to /panel/
  kPanelPage,     // /panel/ and /panel/<asset path>: `rest` holds the part after /panel/
  kPanelApi,      // /panel/api/...: `rest` holds the part after /panel/api
  kRepoRoot,      // /<tenant>/<repo>/            (POST ?create=true)
  kRepoConfig,    // /<tenant>/<repo>/config
  kRepoList,      // /<tenant>/<repo>/<type>/
  kRepoObject,    // /<tenant>/<repo>/<type>/<name>
};

struct Route {
  RouteKind kind = RouteKind::kNotFound;
  std::string tenant, repo;
  backend::Handle handle;   // kRepoConfig, kRepoObject; kind only for kRepoList
  std::string rest;         // kAdminApi: "/tenants/clinic-a"; kPanelApi: "/auth/session";
                            // kPanelPage: "assets/app.js" ("" for the page itself)
  std::string query;        // the raw query string, without '?'
  bool create = false;      // kRepoRoot: ?create=true
};

Route parse_route(std::string_view target);

std::string_view route_kind_name(RouteKind kind);  // metrics label: "repo_object", ...

}  // namespace kura::server
