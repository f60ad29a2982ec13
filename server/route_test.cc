#include "server/route.h"

#include <gtest/gtest.h>

namespace kura::server {
namespace {

const std::string kId(64, 'a');

TEST(Route, RepositoryPaths) {
  Route r = parse_route("/clinic-a/main/");
  EXPECT_EQ(r.kind, RouteKind::kRepoRoot);
  EXPECT_FALSE(r.create);
  EXPECT_TRUE(parse_route("/clinic-a/main/?create=true").create);
  r = parse_route("/clinic-a/main/config");
  EXPECT_EQ(r.kind, RouteKind::kRepoConfig);
  EXPECT_EQ(r.tenant, "clinic-a");
  EXPECT_EQ(r.repo, "main");
  r = parse_route("/clinic-a/main/data/");
  EXPECT_EQ(r.kind, RouteKind::kRepoList);
  EXPECT_EQ(r.handle.kind, backend::FileKind::kPack);
  for (const char* dir : {"keys", "locks", "snapshots", "index", "data"}) {
    r = parse_route(std::string("/t/r/") + dir + "/" + kId);
    EXPECT_EQ(r.kind, RouteKind::kRepoObject) << dir;
    EXPECT_EQ(r.handle.name, kId);
  }
}

TEST(Route, ServerPaths) {
  EXPECT_EQ(parse_route("/healthz").kind, RouteKind::kHealth);
  EXPECT_EQ(parse_route("/metrics").kind, RouteKind::kMetrics);
  EXPECT_EQ(parse_route("/enroll").kind, RouteKind::kEnroll);
  EXPECT_EQ(parse_route("/enroll/ca").kind, RouteKind::kEnrollCa);
  EXPECT_EQ(parse_route("/enroll/renew").kind, RouteKind::kEnrollRenew);
  Route r = parse_route("/api/v1/tenants/clinic-a?x=1");
  EXPECT_EQ(r.kind, RouteKind::kAdminApi);
  EXPECT_EQ(r.rest, "/tenants/clinic-a");
  EXPECT_EQ(r.query, "x=1");
}

TEST(Route, PanelPaths) {
  EXPECT_EQ(parse_route("/").kind, RouteKind::kRoot);
  EXPECT_EQ(parse_route("/panel").kind, RouteKind::kRoot);
  Route r = parse_route("/panel/");
  EXPECT_EQ(r.kind, RouteKind::kPanelPage);
  EXPECT_EQ(r.rest, "");
  r = parse_route("/panel/assets/i18n/ja.json");
  EXPECT_EQ(r.kind, RouteKind::kPanelPage);
  EXPECT_EQ(r.rest, "assets/i18n/ja.json");
  r = parse_route("/panel/api/tenants/clinic-a/devices?x=1");
  EXPECT_EQ(r.kind, RouteKind::kPanelApi);
  EXPECT_EQ(r.rest, "/tenants/clinic-a/devices");
  EXPECT_EQ(r.query, "x=1");
  for (const char* bad : {"/panel/api/", "/panel/api/x/", "/panel/../metrics", "/panel//x",
                          "/panel/assets/%2e%2e/x", "/panel/api/a/../b"}) {
    EXPECT_EQ(parse_route(bad).kind, RouteKind::kNotFound) << bad;
  }
}

TEST(Route, EverythingOddIsNotFound) {
  const std::string bad[] = {
      "", "//", "relative/path", "/t/r", "/t/r/config/", "/t/r/data/" + kId + "/",
      "/t/r/data/" + kId.substr(1), "/t/r/data/" + kId + "a", "/t/r/data/" + std::string(64, 'A'),
      "/t/r/data/" + std::string(64, 'g'), "/t/r/../r/config", "/t/../t/r/config", "/t/r/./config",
      "/t//r/config", "/t/r//config", "/t%2fr/config", "/t/r/data%2f" + kId, "/T/r/config",
      "/api/r/config", "/enroll/r/config", "/healthz/x/config", "/t/r/nosuch/" + kId,
      "/-t/r/config", "/t-/r/config", "/t/r/x/y/z/w/v/u/" + kId,
      "/api/v1", "/api/v1/", "/api/v2/tenants", std::string("/t/r/conf\0ig", 12),
      "/t/r/config\r\n", "/t\\r/config", std::string(5000, '/'), "/" + std::string(100, 'a') + "/r/config"};
  for (const std::string& t : bad) {
    EXPECT_EQ(parse_route(t).kind, RouteKind::kNotFound) << t.substr(0, 80);
  }
}

TEST(Route, KindNamesAreMetricLabels) {
  for (RouteKind k : {RouteKind::kNotFound, RouteKind::kHealth, RouteKind::kRepoObject,
                      RouteKind::kRoot, RouteKind::kPanelPage, RouteKind::kPanelApi}) {
    std::string_view n = route_kind_name(k);
    EXPECT_FALSE(n.empty());
    EXPECT_EQ(n.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string_view::npos);
  }
}

}  // namespace
}  // namespace kura::server
