// Message catalogs: user-facing text lives in i18n/<program>.<lang>.msg files (embedded in the
// binary at build time), never in code. A catalog is lines of "key = text"; '#' starts a
// comment line; "\n" and "\t" in text are escapes; {} are fmt placeholders.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <unordered_map>

#include "base/status.h"

namespace kura::base {

enum class Lang { kEn, kJa };

// KURA_LANG, then LC_ALL, LC_MESSAGES, LANG: "ja…" selects Japanese, anything else English.
Lang detect_language();

class Catalog {
 public:
  static StatusOr<Catalog> parse(std::string_view text);
  // nullptr when missing.
  const std::string* find(std::string_view key) const;
  size_t size() const { return map_.size(); }
  template <typename F>
  void for_each_key(F&& f) const {
    for (const auto& [k, v] : map_) f(k);
  }

 private:
  std::unordered_map<std::string, std::string> map_;
};

// The active catalog with an English fallback. Missing keys render as the key itself.
class Messages {
 public:
  Messages(Catalog primary, Catalog fallback)
      : primary_(std::move(primary)), fallback_(std::move(fallback)) {}
  const std::string& get(std::string_view key) const;

  template <typename... Args>
  std::string format(std::string_view key, Args&&... args) const {
    const std::string& pattern = get(key);
    try {
      return fmt::vformat(pattern, fmt::make_format_args(args...));
    } catch (const fmt::format_error&) {
      return pattern;
    }
  }

 private:
  Catalog primary_, fallback_;
  mutable std::string missing_;
};

}  // namespace kura::base
