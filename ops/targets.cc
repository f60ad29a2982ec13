#include "ops/targets.h"

#include <fnmatch.h>

#include <algorithm>

#include "repo/gojson.h"

namespace kura::ops {
namespace {

// bufio.ScanLines after textfile.Read: BOM dropped, "\n" or "\r\n" ends a line, a last line
// without an end counts when it is not empty.
std::vector<std::string> text_lines(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<std::string> lines;
  while (!text.empty()) {
    size_t j = text.find('\n');
    std::string_view line = text.substr(0, j);
    text.remove_prefix(j == std::string_view::npos ? text.size() : j + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.emplace_back(line);
  }
  return lines;
}

// Go's strings.TrimSpace for ASCII white space (what file lists hold).
std::string_view trim_space(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool has_meta(std::string_view s) { return s.find_first_of("*?[\\") != std::string_view::npos; }

// Go's filepath.Clean for a glob's directory part.
std::string clean_dir(std::string dir) {
  if (dir.empty()) return ".";
  if (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

std::string join(const std::string& dir, const std::string& name) {
  if (dir == ".") return name;
  return base::path_join(dir, name);
}

base::Status check_pattern(const std::string& pattern) {
  // fnmatch takes an unclosed '[' literally where Go reports ErrBadPattern.
  int depth = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      if (++i == pattern.size()) return base::invalid_argument("pattern: " + pattern + ": syntax error in pattern");
    } else if (pattern[i] == '[') {
      depth = 1;
    } else if (pattern[i] == ']') {
      depth = 0;
    }
  }
  if (depth) return base::invalid_argument("pattern: " + pattern + ": syntax error in pattern");
  return base::ok_status();
}

void glob_in(base::Env& env, const std::string& dir, const std::string& pattern,
             std::vector<std::string>& out) {
  auto info = env.stat(dir);
  if (!info.ok() || info->type != base::FileType::kDir) return;
  auto entries = env.list_dir(dir);
  if (!entries.ok()) return;
  std::vector<std::string> names;
  for (const auto& e : *entries) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    if (fnmatch(pattern.c_str(), n.c_str(), 0) == 0) out.push_back(join(dir, n));
  }
}

}  // namespace

std::vector<std::string> files_from_patterns(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& line : text_lines(text)) {
    std::string_view t = trim_space(line);
    if (t.empty() || t[0] == '#') continue;
    out.emplace_back(t);
  }
  return out;
}

std::vector<std::string> files_from_verbatim(std::string_view text) {
  std::vector<std::string> out;
  for (auto& line : text_lines(text)) {
    if (!line.empty()) out.push_back(std::move(line));
  }
  return out;
}

base::StatusOr<std::vector<std::string>> files_from_raw(std::string_view data) {
  std::vector<std::string> out;
  while (!data.empty()) {
    size_t j = data.find('\0');
    if (j == std::string_view::npos) return base::invalid_argument("--files-from-raw: trailing zero byte missing");
    if (j == 0) return base::invalid_argument("--files-from-raw: empty filename in listing");
    out.emplace_back(data.substr(0, j));
    data.remove_prefix(j + 1);
  }
  return out;
}

base::StatusOr<std::vector<std::string>> glob_paths(base::Env& env, const std::string& pattern) {
  RETURN_IF_ERROR(check_pattern(pattern));
  std::vector<std::string> out;
  if (!has_meta(pattern)) {
    if (env.lstat(pattern).ok()) out.push_back(pattern);
    return out;
  }
  size_t slash = pattern.rfind('/');
  std::string dir = slash == std::string::npos ? "" : pattern.substr(0, slash + 1);
  std::string file = slash == std::string::npos ? pattern : pattern.substr(slash + 1);
  dir = clean_dir(dir);
  if (!has_meta(dir)) {
    glob_in(env, dir, file, out);
    return out;
  }
  if (dir == pattern) return base::invalid_argument("pattern: " + pattern + ": syntax error in pattern");
  ASSIGN_OR_RETURN(auto dirs, glob_paths(env, dir));
  for (const auto& d : dirs) glob_in(env, d, file, out);
  return out;
}

std::string go_quoted(std::string_view s) { return "\"" + repo::go_quote(s) + "\""; }

}  // namespace kura::ops
