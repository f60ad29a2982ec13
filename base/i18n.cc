#include "base/i18n.h"

#include <cstdlib>

namespace kura::base {

Lang detect_language() {
  for (const char* var : {"KURA_LANG", "LC_ALL", "LC_MESSAGES", "LANG"}) {
    const char* v = std::getenv(var);
    if (v && *v) return std::string_view(v).substr(0, 2) == "ja" ? Lang::kJa : Lang::kEn;
  }
  return Lang::kEn;
}

StatusOr<Catalog> Catalog::parse(std::string_view text) {
  Catalog c;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    size_t i = 0;
    while (i < line.size() && line[i] == ' ') ++i;
    line = line.substr(i);
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find(" = ");
    if (eq == std::string_view::npos) {
      return invalid_argument("catalog line " + std::to_string(line_no) + ": want \"key = text\"");
    }
    std::string key(line.substr(0, eq));
    std::string_view raw = line.substr(eq + 3);
    std::string value;
    for (size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] == '\\' && k + 1 < raw.size()) {
        char e = raw[++k];
        value += e == 'n' ? '\n' : e == 't' ? '\t' : e;
      } else {
        value += raw[k];
      }
    }
    if (!c.map_.emplace(std::move(key), std::move(value)).second) {
      return invalid_argument("catalog line " + std::to_string(line_no) + ": duplicate key");
    }
  }
  return c;
}

const std::string* Catalog::find(std::string_view key) const {
  auto it = map_.find(std::string(key));
  return it == map_.end() ? nullptr : &it->second;
}

const std::string& Messages::get(std::string_view key) const {
  if (const std::string* s = primary_.find(key)) return *s;
  if (const std::string* s = fallback_.find(key)) return *s;
  missing_ = std::string(key);
  return missing_;
}

}  // namespace kura::base
