#include "server/route.h"

#include <vector>

#include "service/names.h"

namespace kura::server {
namespace {

bool kind_from_dir(std::string_view dir, backend::FileKind* kind) {
  for (backend::FileKind k : backend::kListableKinds) {
    if (backend::kind_dir(k) == dir) {
      *kind = k;
      return true;
    }
  }
  return false;
}

// Splits "/a/b/c/" into {"a","b","c",""}. Returns false for anything odd.
bool split_path(std::string_view path, std::vector<std::string_view>* out) {
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    std::string_view seg = path.substr(0, slash);
    out->push_back(seg);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out->size() <= 8;
}

bool plain_segment(std::string_view seg) {
  if (seg.empty() || seg == "." || seg == "..") return false;
  for (char c : seg) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '%' || c == '\\' || u < 0x21 || u >= 0x7f) return false;
  }
  return true;
}

Route repo_route(const std::vector<std::string_view>& segs, std::string_view query) {
  Route r;
  if (segs.size() < 3) return r;
  if (!service::check_tenant_name(segs[0]).ok() || !service::check_repo_name(segs[1]).ok()) {
    return r;
  }
  r.tenant = segs[0];
  r.repo = segs[1];
  r.query = query;
  if (segs.size() == 3) {
    if (segs[2].empty()) {
      r.kind = RouteKind::kRepoRoot;
      r.create = query == "create=true";
      return r;
    }
    if (segs[2] == "config") {
      r.kind = RouteKind::kRepoConfig;
      r.handle.kind = backend::FileKind::kConfig;
      return r;
    }
    return Route{};
  }
  if (segs.size() != 4) return Route{};
  backend::FileKind kind;
  if (!kind_from_dir(segs[2], &kind)) return Route{};
  r.handle.kind = kind;
  if (segs[3].empty()) {
    r.kind = RouteKind::kRepoList;
    return r;
  }
  if (!backend::is_valid_name(segs[3])) return Route{};
  r.handle.name = segs[3];
  r.kind = RouteKind::kRepoObject;
  return r;
}

}  // namespace

Route parse_route(std::string_view target) {
  Route r;
  if (target.size() > 4096) return r;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (path == "/" || path == "/panel") {
    r.kind = RouteKind::kRoot;
    return r;
  }
  std::vector<std::string_view> segs;
  if (!split_path(path, &segs)) return r;
  // Every segment but a trailing empty one must be plain.
  for (size_t i = 0; i < segs.size(); ++i) {
    if (i + 1 == segs.size() && segs[i].empty() && i > 0) break;
    if (!plain_segment(segs[i])) return r;
  }
  if (segs.size() == 1) {
    if (segs[0] == "healthz") r.kind = RouteKind::kHealth;
    if (segs[0] == "metrics") r.kind = RouteKind::kMetrics;
    if (segs[0] == "enroll") r.kind = RouteKind::kEnroll;
    r.query = query;
    return r;
  }
  if (segs[0] == "enroll") {
    if (segs.size() == 2 && segs[1] == "ca") r.kind = RouteKind::kEnrollCa;
    if (segs.size() == 2 && segs[1] == "renew") r.kind = RouteKind::kEnrollRenew;
    return r;
  }
  if (segs[0] == "panel") {
    if (segs.size() >= 3 && segs[1] == "api") {
      if (segs.back().empty()) return r;
      r.kind = RouteKind::kPanelApi;
      r.rest = std::string(path.substr(std::string_view("/panel/api").size()));
    } else {
      r.kind = RouteKind::kPanelPage;
      r.rest = std::string(path.substr(std::string_view("/panel/").size()));
    }
    r.query = query;
    return r;
  }
  if (segs[0] == "api") {
    if (segs.size() >= 3 && segs[1] == "v1" && !segs.back().empty()) {
      r.kind = RouteKind::kAdminApi;
      r.rest = std::string(path.substr(std::string_view("/api/v1").size()));
      r.query = query;
    }
    return r;
  }
  return repo_route(segs, query);
}

std::string_view route_kind_name(RouteKind kind) {
  switch (kind) {
    case RouteKind::kNotFound: return "not_found";
    case RouteKind::kHealth: return "healthz";
    case RouteKind::kMetrics: return "metrics";
    case RouteKind::kEnrollCa: return "enroll_ca";
    case RouteKind::kEnroll: return "enroll";
    case RouteKind::kEnrollRenew: return "enroll_renew";
    case RouteKind::kAdminApi: return "admin_api";
    case RouteKind::kRoot: return "root";
    case RouteKind::kPanelPage: return "panel_page";
    case RouteKind::kPanelApi: return "panel_api";
    case RouteKind::kRepoRoot: return "repo_root";
    case RouteKind::kRepoConfig: return "repo_config";
    case RouteKind::kRepoList: return "repo_list";
    case RouteKind::kRepoObject: return "repo_object";
  }
  return "?";
}

}  // namespace kura::server
