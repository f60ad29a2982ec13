#include "server/panel_assets.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

namespace kura::server {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::set<std::string> catalog_keys(std::string_view path) {
  const PanelAsset* a = panel_asset(path);
  EXPECT_NE(a, nullptr) << path;
  if (!a) return {};
  auto j = nlohmann::json::parse(a->body, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(j.is_object()) << path << " is not a JSON object";
  std::set<std::string> keys;
  if (!j.is_object()) return keys;
  for (const auto& [k, v] : j.items()) {
    EXPECT_TRUE(v.is_string()) << path << ": " << k;
    keys.insert(k);
  }
  return keys;
}

TEST(PanelAssets, IndexIsThePageAndTheDefault) {
  const PanelAsset* index = panel_asset("index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(panel_asset(""), index);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_NE(index->body.find("<script type=\"module\" src=\"assets/app.js\"></script>"),
            std::string_view::npos);
  EXPECT_NE(index->body.find("assets/panel.css"), std::string_view::npos);
}

TEST(PanelAssets, ModulesStylesAndImages) {
  const PanelAsset* app = panel_asset("assets/app.js");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(app->body.find("import "), std::string_view::npos);
  const PanelAsset* css = panel_asset("assets/panel.css");
  ASSERT_NE(css, nullptr);
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
  const PanelAsset* logo = panel_asset("assets/logo.svg");
  ASSERT_NE(logo, nullptr);
  EXPECT_EQ(logo->content_type, "image/svg+xml");
}

TEST(PanelAssets, UnknownPathsAreNull) {
  for (std::string_view p : {"nope.html", "assets/", "assets", "/index.html", "../index.html",
                             "assets/app.js/", "ASSETS/APP.JS"}) {
    EXPECT_EQ(panel_asset(p), nullptr) << p;
  }
}

TEST(PanelAssets, EtagsAreQuotedAndDiffer) {
  std::set<std::string_view> etags;
  for (std::string_view path : panel_asset_paths()) {
    const PanelAsset* a = panel_asset(path);
    ASSERT_NE(a, nullptr) << path;
    EXPECT_GE(a->etag.size(), 3u);
    EXPECT_EQ(a->etag.front(), '"');
    EXPECT_EQ(a->etag.back(), '"');
    EXPECT_FALSE(a->body.empty()) << path;
    EXPECT_FALSE(a->content_type.empty()) << path;
    etags.insert(a->etag);
  }
  EXPECT_EQ(etags.size(), panel_asset_paths().size());
}

TEST(PanelAssets, CatalogsHaveTheSameKeys) {
  std::set<std::string> ja = catalog_keys("assets/i18n/ja.json");
  std::set<std::string> en = catalog_keys("assets/i18n/en.json");
  EXPECT_EQ(ja, en);
  EXPECT_GT(ja.size(), 100u);
  // The server's password-policy problems come along, and the panel's own error keys are there.
  for (const char* key :
       {"pw.too_short", "pw.common", "pw.reused", "signin.failed", "signin.code_wrong",
        "password.policy", "session.expired", "csrf", "factor.last", "reset.same_admin"}) {
    EXPECT_TRUE(ja.count(key)) << key;
  }
  EXPECT_EQ(panel_asset("assets/i18n/ja.json")->content_type, "application/json; charset=utf-8");
}

// Every literal key the modules pass to t() has a text (dynamic keys such as `role.${r}` are
// covered by the catalogs' own review).
TEST(PanelAssets, EveryKeyTheModulesUseIsInTheCatalog) {
  const std::set<std::string> keys = catalog_keys("assets/i18n/ja.json");
  const std::regex use(R"(\bt\('([a-z0-9_.]+)')");
  int uses = 0;
  for (std::string_view path : panel_asset_paths()) {
    if (!ends_with(path, ".js")) continue;
    const std::string body(panel_asset(path)->body);
    for (auto it = std::sregex_iterator(body.begin(), body.end(), use);
         it != std::sregex_iterator(); ++it) {
      ++uses;
      EXPECT_TRUE(keys.count((*it)[1].str())) << path << " uses " << (*it)[1].str();
    }
  }
  EXPECT_GT(uses, 200);
}

// The panel's CSP (script-src 'self'; style-src 'self') forbids inline script and style; the
// assets must not need them.
TEST(PanelAssets, NothingInlineThatTheCspWouldBlock) {
  const std::regex script_body(R"(<script\b[^>]*>\s*[^<\s])", std::regex::icase);
  const std::regex style_element(R"(<style\b)", std::regex::icase);
  const std::regex style_attr(R"(\sstyle\s*=)", std::regex::icase);
  const std::regex handler_attr(R"(\son[a-z]+\s*=)", std::regex::icase);
  const std::regex js_url(R"(javascript:)", std::regex::icase);
  const std::regex js_style(
      R"(\.style\b|setAttribute\(\s*['"]style|innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new Function)");
  int markup = 0, scripts = 0;
  for (std::string_view path : panel_asset_paths()) {
    const PanelAsset* a = panel_asset(path);
    ASSERT_NE(a, nullptr);
    const std::string body(a->body);
    EXPECT_FALSE(std::regex_search(body, js_url)) << path;
    if (ends_with(path, ".html") || ends_with(path, ".svg")) {
      ++markup;
      EXPECT_FALSE(std::regex_search(body, script_body)) << path << ": inline script";
      EXPECT_FALSE(std::regex_search(body, style_element)) << path << ": <style>";
      EXPECT_FALSE(std::regex_search(body, style_attr)) << path << ": style=";
      EXPECT_FALSE(std::regex_search(body, handler_attr)) << path << ": on...= handler";
    }
    if (ends_with(path, ".js")) {
      ++scripts;
      EXPECT_FALSE(std::regex_search(body, js_style)) << path << ": inline style or HTML strings";
    }
  }
  EXPECT_GE(markup, 2);
  EXPECT_GE(scripts, 5);
}

}  // namespace
}  // namespace kura::server
