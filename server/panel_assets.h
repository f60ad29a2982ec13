// The control panel's front end (panel/ and its message catalogs), compiled into kura-server by
// tools/panel_assets.py, so the panel works with no file on disk and no internet.
#pragma once

#include <span>
#include <string_view>

namespace kura::server {

struct PanelAsset {
  std::string_view body;
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view etag;          // quoted, e.g. "\"3f1c…\"": a hash of the body
};

// The asset at `path`, relative to /panel/: "" and "index.html" give the page,
// "assets/app.js", "assets/i18n/ja.json", ... the rest. nullptr for an unknown path.
const PanelAsset* panel_asset(std::string_view path);

// Every embedded path, sorted (for tests and diagnostics).
std::span<const std::string_view> panel_asset_paths();

}  // namespace kura::server
