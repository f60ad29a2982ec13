#include "apps/kura/output.h"

#include <algorithm>

#include "apps/kura/cli.h"
#include "ops/walk.h"
#include "repo/gojson.h"
#include "repo/snapshot.h"

namespace kura::cli {
namespace {

// One UTF-8 sequence at s[i]: its code point and length; an invalid byte is itself, length 1.
char32_t decode_utf8(std::string_view s, size_t i, size_t& len) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  len = 1;
  if (c < 0x80) return c;
  size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return c;
  char32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return c;
    cp = (cp << 6) | (cc & 0x3F);
  }
  len = n;
  return cp;
}

bool is_combining(char32_t cp) {
  return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x3099 && cp <= 0x309A) || (cp >= 0xFE00 && cp <= 0xFE0F);
}

bool is_wide(char32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
         (cp >= 0x3041 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
         (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6) ||
         (cp >= 0x1F300 && cp <= 0x1F64F) || (cp >= 0x1F900 && cp <= 0x1F9FF) ||
         (cp >= 0x20000 && cp <= 0x3FFFD);
}

}  // namespace

size_t display_width(std::string_view s) {
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    size_t len;
    char32_t cp = decode_utf8(s, i, len);
    i += len;
    if (len > 1 && is_combining(cp)) continue;
    w += len > 1 && is_wide(cp) ? 2 : 1;
  }
  return w;
}

std::string truncate_to_width(std::string_view s, size_t width) {
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    size_t len;
    char32_t cp = decode_utf8(s, i, len);
    size_t cw = len > 1 && is_combining(cp) ? 0 : (len > 1 && is_wide(cp) ? 2 : 1);
    if (w + cw > width) return std::string(s.substr(0, i));
    w += cw;
    i += len;
  }
  return std::string(s);
}

std::string pad_to_width(std::string s, size_t width) {
  size_t w = display_width(s);
  if (w < width) s.append(width - w, ' ');
  return s;
}

std::vector<std::string> split_lines(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  for (;;) {
    size_t j = s.find('\n', i);
    out.emplace_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) return out;
    i = j + 1;
  }
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += sep;
    s += v[i];
  }
  return s;
}

void Table::add_column(std::string header, size_t min_width) {
  headers_.push_back(std::move(header));
  min_widths_.push_back(min_width);
}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::render(const std::string& footer) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) {
    widths[c] = std::max(min_widths_[c], display_width(headers_[c]));
    for (const auto& row : rows_) {
      for (const auto& l : split_lines(row[c])) widths[c] = std::max(widths[c], display_width(l));
    }
  }
  size_t total = widths.empty() ? 0 : 2 * (widths.size() - 1);
  for (size_t w : widths) total += w;
  std::string rule(total, '-');
  std::string out = line(headers_, widths) + rule + "\n";
  for (size_t r = 0; r < rows_.size(); ++r) {
    if (spaced_ && r > 0) out += "\n";
    out += line(rows_[r], widths);
  }
  out += rule + "\n";
  if (!footer.empty()) out += footer + "\n";
  return out;
}

std::string Table::line(const std::vector<std::string>& cells, const std::vector<size_t>& widths) const {
  std::vector<std::vector<std::string>> parts;
  size_t lines = 1;
  for (const auto& c : cells) {
    parts.push_back(split_lines(c));
    lines = std::max(lines, parts.back().size());
  }
  std::string out;
  for (size_t i = 0; i < lines; ++i) {
    std::string s;
    for (size_t c = 0; c < parts.size(); ++c) {
      if (c) s += "  ";
      s += pad_to_width(i < parts[c].size() ? parts[c][i] : "", widths[c]);
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out += s + "\n";
  }
  return out;
}

std::string go_json_string(std::string_view s) {
  std::string out;
  repo::append_json_string(out, s);
  return out;
}

std::string json_string_array(const std::vector<std::string>& v, bool null_if_empty) {
  if (v.empty() && null_if_empty) return "null";
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + go_json_string(v[i]);
  return s + "]";
}

base::StatusOr<std::string> json_indent(std::string_view json) {
  std::string out;
  int depth = 0;
  bool in_string = false;
  auto newline = [&](int d) {
    out += '\n';
    out.append(2 * static_cast<size_t>(d), ' ');
  };
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < json.size()) {
        out += json[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case ' ': case '\t': case '\n': case '\r':
        break;
      case '"':
        in_string = true;
        out += c;
        break;
      case '{': case '[': {
        // An empty container stays "{}" / "[]", as Go writes it.
        size_t j = i + 1;
        while (j < json.size() && (json[j] == ' ' || json[j] == '\t' || json[j] == '\n' || json[j] == '\r')) ++j;
        char close = c == '{' ? '}' : ']';
        if (j < json.size() && json[j] == close) {
          out += c;
          out += close;
          i = j;
          break;
        }
        out += c;
        newline(++depth);
        break;
      }
      case '}': case ']':
        if (--depth < 0) return base::invalid_argument("malformed JSON: unbalanced '" + std::string(1, c) + "'");
        newline(depth);
        out += c;
        break;
      case ',':
        out += c;
        newline(depth);
        break;
      case ':':
        out += ": ";
        break;
      default:
        out += c;
    }
  }
  if (in_string || depth != 0) return base::invalid_argument("malformed JSON: truncated document");
  return out;
}

std::string long_node_line(const std::string& path, const repo::Node& n) {
  std::string target = n.type == repo::NodeType::kSymlink ? " -> " + n.linktarget : "";
  return fmt::format("{} {:>5} {:>5} {:>6} {} {}{}", ops::go_file_mode_string(ops::display_mode(n)), n.uid, n.gid,
                     n.size, format_local_time(n.mtime.sec, n.mtime.offset), path, target);
}

std::string snapshots_table(const Cli& cli, std::vector<ops::SnapshotEntry> list,
                            const std::vector<std::vector<std::string>>* reasons, bool compact) {
  std::vector<size_t> order(list.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const repo::NodeTime &x = list[a].sn.time, &y = list[b].sn.time;
    return x.sec != y.sec ? x.sec < y.sec : x.nsec < y.nsec;
  });
  bool with_reasons = reasons && !compact;
  Table t;
  t.add_column(cli.msg().get("col.id"));
  t.add_column(cli.msg().get("col.time"));
  t.add_column(cli.msg().get("col.host"), compact ? 0 : 10);
  t.add_column(cli.msg().get("col.tags"), compact ? 6 : 10);
  if (!compact) {
    if (with_reasons) t.add_column(cli.msg().get("forget.col.reasons"));
    t.add_column(cli.msg().get("col.paths"));
  }
  bool spaced = false;
  for (size_t i : order) {
    const ops::SnapshotEntry& e = list[i];
    std::vector<std::string> cells = {e.id.short_hex(), format_local_time(e.sn.time.sec, e.sn.time.offset),
                                      e.sn.hostname, join(e.sn.tags, compact ? "\n" : ",")};
    if (!compact) {
      if (with_reasons) cells.push_back(i < reasons->size() ? join((*reasons)[i], "\n") : "");
      cells.push_back(join(e.sn.paths, "\n"));
      spaced |= e.sn.paths.size() > 1;
    }
    t.add_row(std::move(cells));
  }
  t.set_spaced(spaced);
  return t.render(cli.tr("snapshots.count", list.size()));
}

std::string snapshot_group_header(const Cli& cli, const ops::SnapshotGroup& g) {
  std::vector<std::string> info;
  if (!g.hostname.empty()) info.push_back(cli.tr("forget.group.host", g.hostname));
  if (!g.tags.empty()) info.push_back(cli.tr("forget.group.tags", join(g.tags, ", ")));
  if (!g.paths.empty()) info.push_back(cli.tr("forget.group.paths", join(g.paths, ", ")));
  if (info.empty()) return "";
  return cli.tr("forget.group", join(info, ", ")) + "\n";
}

std::string snapshot_json_with_id(const ops::SnapshotEntry& e, std::string_view extra) {
  base::Bytes b = repo::encode_snapshot(e.sn);
  std::string s(b.begin(), b.end());
  s.pop_back();  // '}'
  s += ",\"id\":\"" + e.id.hex() + "\",\"short_id\":\"" + e.id.short_hex() + "\"";
  if (!extra.empty()) {
    s += ',';
    s += extra;
  }
  return s + "}";
}

}  // namespace kura::cli
