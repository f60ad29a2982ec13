#include "ops/filter.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace kura::ops {
namespace {

std::vector<std::string> split_components(const std::string& path) {
  std::vector<std::string> out;
  if (!path.empty() && path[0] == '/') out.push_back("/");
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool match_part(const std::string& pat, const std::string& s, bool fold) {
  if (pat == "/" || s == "/") return pat == s;
  return fnmatch(pat.c_str(), s.c_str(), fold ? FNM_CASEFOLD : 0) == 0;
}

// restic's filter.match: "**" expands greedily; otherwise the pattern must match a run of
// components that starts anywhere (anchored patterns: at the root) and may end before the end.
bool match(const std::vector<std::string>& pats, size_t pstart, const std::vector<std::string>& strs,
           bool fold) {
  std::vector<std::string> p(pats.begin() + static_cast<ptrdiff_t>(pstart), pats.end());
  auto star = std::find(p.begin(), p.end(), "**");
  if (star != p.end()) {
    size_t pos = static_cast<size_t>(star - p.begin());
    for (size_t n = 0; n + p.size() <= strs.size() + 1; ++n) {
      std::vector<std::string> expanded(p.begin(), p.begin() + static_cast<ptrdiff_t>(pos));
      for (size_t k = 0; k < n; ++k) expanded.push_back("*");
      expanded.insert(expanded.end(), p.begin() + static_cast<ptrdiff_t>(pos) + 1, p.end());
      if (match(expanded, 0, strs, fold)) return true;
    }
    return false;
  }
  if (p.empty()) return strs.empty();
  if (p.size() > strs.size()) return false;
  size_t min_off = 0, max_off = strs.size() - p.size();
  if (p[0] == "/") {
    max_off = 0;
  } else if (!strs.empty() && strs[0] == "/") {
    min_off = 1;
  }
  for (size_t off = max_off + 1; off-- > min_off;) {
    bool ok = true;
    for (size_t i = p.size(); i-- > 0;) {
      if (!match_part(p[i], strs[off + i], fold)) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

std::string expand_env(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '$' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    size_t start = i + 1, end;
    std::string name;
    if (s[start] == '{') {
      end = s.find('}', start);
      if (end == std::string::npos) {
        out += s.substr(i);
        break;
      }
      name = s.substr(start + 1, end - start - 1);
      i = end;
    } else {
      end = start;
      while (end < s.size() && (std::isalnum(static_cast<unsigned char>(s[end])) || s[end] == '_')) ++end;
      name = s.substr(start, end - start);
      i = end - 1;
    }
    const char* v = std::getenv(name.c_str());
    if (v) out += v;
  }
  return out;
}

}  // namespace

std::string clean_path(const std::string& path) {
  bool abs = !path.empty() && path[0] == '/';
  std::vector<std::string> parts;
  for (const auto& c : split_components(path)) {
    if (c == "/" || c == ".") continue;
    if (c == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!abs) {
        parts.push_back(c);
      }
      continue;
    }
    parts.push_back(c);
  }
  if (parts.empty()) return abs ? std::string("/") : std::string(".");
  std::string out;
  for (const auto& part : parts) {
    if (abs || !out.empty()) out.push_back('/');
    out.append(part);
  }
  return out;
}

base::Status Filter::add(const std::string& pattern, bool case_insensitive) {
  if (pattern.empty()) return base::invalid_argument("empty exclude pattern");
  std::string p = clean_path(pattern);
  Pattern pat;
  pat.fold = case_insensitive;
  pat.parts = split_components(case_insensitive ? lower(p) : p);
  for (const auto& part : pat.parts) {
    int brackets = 0;
    for (char c : part) {
      if (c == '[') ++brackets;
      if (c == ']') --brackets;
    }
    if (brackets > 0) return base::invalid_argument("exclude pattern \"" + pattern + "\": unclosed [");
  }
  patterns_.push_back(std::move(pat));
  originals_.push_back(pattern);
  return base::ok_status();
}

base::StatusOr<base::Bytes> read_flag_file(base::Env& env, std::string_view flag,
                                           const std::string& path) {
  auto data = env.read_named_file(path);
  if (data.ok()) return data;
  // The Env says "<syscall> <path>: <reason>"; the user wants to know which of their flags.
  const std::string& m = data.status().message();
  std::string named = path + ": ";
  size_t at = m.find(named);
  std::string reason = at == std::string::npos ? m : m.substr(at + named.size());
  return base::Status(data.status().code(), std::string(flag) + " " + path + ": " + reason);
}

base::Status Filter::add_file(base::Env& env, const std::string& path, bool case_insensitive) {
  std::string flag = case_insensitive ? "--iexclude-file" : "--exclude-file";
  ASSIGN_OR_RETURN(base::Bytes data, read_flag_file(env, flag, path));
  std::string text(data.begin(), data.end());
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    std::string line = text.substr(i, j - i);
    i = j + 1;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    size_t k = 0;
    while (k < line.size() && std::isspace(static_cast<unsigned char>(line[k]))) ++k;
    line = line.substr(k);
    if (line.empty() || line[0] == '#') continue;
    RETURN_IF_ERROR(add(expand_env(line), case_insensitive).with_context(flag + " " + path));
  }
  return base::ok_status();
}

bool Filter::matches(const std::string& path) const {
  if (patterns_.empty()) return false;
  std::vector<std::string> strs = split_components(path);
  std::vector<std::string> folded;
  for (const auto& p : patterns_) {
    if (p.fold) {
      if (folded.empty()) folded = split_components(lower(path));
      if (match(p.parts, 0, folded, true)) return true;
    } else if (match(p.parts, 0, strs, false)) {
      return true;
    }
  }
  return false;
}

}  // namespace kura::ops
