#include "ops/find.h"

#include <algorithm>
#include <ctime>

#include "ops/filter.h"
#include "repo/gojson.h"
#include "repo/mode.h"

namespace kura::ops {
namespace {

using repo::Id;
using repo::Node;
using repo::NodeType;

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  }
  return out;
}

bool is_hex_prefix(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

}  // namespace

// ---- Go glob patterns ----

namespace {

// One UTF-8 rune of s at i (invalid bytes count as one rune each, as in Go).
char32_t next_rune(std::string_view s, size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  int len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
  if (len <= 1 || i + static_cast<size_t>(len) > s.size()) {
    ++i;
    return len == 1 ? b : 0xFFFD;
  }
  char32_t r = b & (0x7f >> len);
  for (int k = 1; k < len; ++k) {
    auto c = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
    if ((c & 0xc0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    r = (r << 6) | (c & 0x3f);
  }
  i += static_cast<size_t>(len);
  return r;
}

// One character of a class: an escaped or plain rune, never an unescaped '-' or ']'.
bool class_char(std::string_view p, size_t& i, char32_t& r) {
  if (i >= p.size() || p[i] == '-' || p[i] == ']') return false;
  if (p[i] == '\\') {
    ++i;
    if (i >= p.size()) return false;
  }
  r = next_rune(p, i);
  return true;
}

// Parses the class starting after '[' at p[i]; on success i is past the ']' and, if `c` is
// given, *matched tells whether the rune c is in the class.
bool parse_class(std::string_view p, size_t& i, const char32_t* c, bool* matched) {
  bool negated = i < p.size() && p[i] == '^';
  if (negated) ++i;
  bool in = false;
  int ranges = 0;
  while (true) {
    if (i < p.size() && p[i] == ']' && ranges > 0) {
      ++i;
      break;
    }
    char32_t lo, hi;
    if (!class_char(p, i, lo)) return false;
    hi = lo;
    if (i < p.size() && p[i] == '-') {
      ++i;
      if (!class_char(p, i, hi)) return false;
    }
    if (c && lo <= *c && *c <= hi) in = true;
    ++ranges;
  }
  if (matched) *matched = in != negated;
  return true;
}

bool valid_glob(std::string_view p) {
  for (size_t i = 0; i < p.size();) {
    if (p[i] == '\\') {
      if (i + 1 >= p.size()) return false;
      i += 2;
    } else if (p[i] == '[') {
      ++i;
      if (!parse_class(p, i, nullptr, nullptr)) return false;
    } else {
      ++i;
    }
  }
  return true;
}

// The pattern is valid. Backtracks only at '*', which never spans a '/'.
bool glob(std::string_view p, std::string_view s) {
  size_t i = 0, j = 0;
  while (i < p.size()) {
    char c = p[i];
    if (c == '*') {
      while (i < p.size() && p[i] == '*') ++i;
      if (i == p.size()) return s.substr(j).find('/') == std::string_view::npos;
      for (size_t k = j; k <= s.size(); ++k) {
        if (glob(p.substr(i), s.substr(k))) return true;
        if (k < s.size() && s[k] == '/') break;
      }
      return false;
    }
    if (j >= s.size()) return false;
    if (c == '?') {
      if (s[j] == '/') return false;
      next_rune(s, j);
      ++i;
    } else if (c == '[') {
      if (s[j] == '/') return false;
      char32_t r = next_rune(s, j);
      bool in = false;
      ++i;
      parse_class(p, i, &r, &in);
      if (!in) return false;
    } else {
      if (c == '\\') ++i;
      if (p[i] != s[j]) return false;
      ++i;
      ++j;
    }
  }
  return j == s.size();
}

std::vector<std::string> split_path(std::string_view p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (true) {
    size_t k = p.find('/', i);
    out.emplace_back(p.substr(i, k == std::string_view::npos ? std::string_view::npos : k - i));
    if (k == std::string_view::npos) break;
    i = k + 1;
  }
  if (out[0].empty()) out[0] = "/";
  return out;
}

}  // namespace

base::StatusOr<bool> go_glob_match(std::string_view pattern, std::string_view name) {
  if (!valid_glob(pattern)) {
    return base::invalid_argument("syntax error in pattern \"" + std::string(pattern) + "\"");
  }
  return glob(pattern, name);
}

namespace {

template <typename Part>
bool part_matches(const Part& part, const std::string& s) {
  return part.simple ? part.text == s : glob(part.text, s);
}

// restic's filter.match over prepared parts (text "" = "**") and a split path.
template <typename Part>
bool match_parts(const std::vector<Part>& parts, const std::vector<std::string>& strs) {
  auto dw = std::find_if(parts.begin(), parts.end(), [](const Part& p) { return p.text.empty(); });
  if (dw != parts.end()) {
    long max_stars = static_cast<long>(strs.size()) - static_cast<long>(parts.size()) + 1;
    for (long stars = 0; stars <= max_stars; ++stars) {
      std::vector<Part> expanded(parts.begin(), dw);
      for (long k = 0; k < stars; ++k) {
        expanded.push_back(parts.front());
        expanded.back().text = "*";
        expanded.back().simple = false;
      }
      expanded.insert(expanded.end(), dw + 1, parts.end());
      if (match_parts(expanded, strs)) return true;
    }
    return false;
  }
  if (parts.empty()) return strs.empty();
  if (parts.size() > strs.size()) return false;
  size_t min_off = 0, max_off = strs.size() - parts.size();
  if (parts[0].text == "/") {
    max_off = 0;
  } else if (strs[0] == "/") {
    min_off = 1;
  }
  for (size_t off = max_off + 1; off-- > min_off;) {
    bool ok = true;
    for (size_t i = parts.size(); i-- > 0;) {
      if (!part_matches(parts[i], strs[off + i])) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

}  // namespace

base::StatusOr<NamePattern> NamePattern::parse(std::string_view pattern, bool ignore_case) {
  if (pattern.empty()) return base::invalid_argument("empty pattern");
  std::string p(pattern);
  if (p[0] == '!') p.erase(0, 1);  // negation means nothing for a single pattern (as restic)
  if (p.empty()) return base::invalid_argument("empty pattern \"" + std::string(pattern) + "\"");
  if (ignore_case) p = ascii_lower(p);
  NamePattern out;
  out.ignore_case_ = ignore_case;
  for (auto& part : split_path(clean_path(p))) {
    bool simple = part.find_first_of("\\[]*?") == std::string::npos;
    if (!simple && !valid_glob(part)) {
      return base::invalid_argument("syntax error in pattern \"" + std::string(pattern) + "\"");
    }
    if (part == "**") part.clear();
    out.parts_.push_back({std::move(part), simple});
  }
  return out;
}

bool NamePattern::matches(std::string_view path) const {
  return match_parts(parts_, split_path(ignore_case_ ? ascii_lower(path) : std::string(path)));
}

bool NamePattern::child_may_match(std::string_view path) const {
  if (parts_.empty() || parts_[0].text != "/") return true;
  std::vector<std::string> strs = split_path(ignore_case_ ? ascii_lower(path) : std::string(path));
  auto dw = std::find_if(parts_.begin(), parts_.end(), [](const Part& p) { return p.text.empty(); });
  if (dw != parts_.end()) {
    size_t pos = static_cast<size_t>(dw - parts_.begin());
    if (strs.size() >= pos) strs.resize(pos);
  }
  size_t l = std::min(strs.size(), parts_.size());
  std::vector<Part> prefix(parts_.begin(), parts_.begin() + static_cast<long>(l));
  return match_parts(prefix, strs);
}

// ---- find by name ----

base::StatusOr<Finder> Finder::create(const FindOptions& opts) {
  if (opts.patterns.empty()) return base::invalid_argument("no pattern given");
  Finder f;
  f.opts_ = opts;
  for (const auto& p : opts.patterns) {
    ASSIGN_OR_RETURN(NamePattern np, NamePattern::parse(p, opts.ignore_case));
    f.patterns_.push_back(std::move(np));
  }
  return f;
}

bool Finder::name_matches(const std::string& path) const {
  return std::any_of(patterns_.begin(), patterns_.end(),
                     [&](const NamePattern& p) { return p.matches(path); });
}

bool Finder::child_may_match(const std::string& path) const {
  return std::any_of(patterns_.begin(), patterns_.end(),
                     [&](const NamePattern& p) { return p.child_may_match(path); });
}

namespace {
bool before(const repo::NodeTime& a, const repo::NodeTime& b) {
  return a.sec != b.sec ? a.sec < b.sec : a.nsec < b.nsec;
}
}  // namespace

bool Finder::time_ok(const Node& node) const {
  if (opts_.oldest && before(node.mtime, *opts_.oldest)) return false;
  if (opts_.newest && before(*opts_.newest, node.mtime)) return false;
  return true;
}

base::Status Finder::find_in(repo::Repository& repo, const Id& tree, const MatchFn& on_match,
                             const TreeErrorFn& on_tree_error) {
  // A subtree without matches can be skipped wherever it shows up again only if matching does
  // not depend on where it is: single-component patterns, and a parent path that did not match
  // (a matching parent would make everything below match).
  bool dedup = std::all_of(opts_.patterns.begin(), opts_.patterns.end(), [](const std::string& p) {
    std::string c = clean_path(p[0] == '!' ? p.substr(1) : p);
    return c.find('/') == std::string::npos && c != "**";
  });
  struct Open {
    size_t matches_before;
    bool self_matched;
  };
  std::vector<Open> open;
  size_t matches = 0;
  WalkCallbacks cb;
  cb.visit = [&](const WalkItem& it) -> base::StatusOr<Visit> {
    bool found = name_matches(it.path);
    bool reported = found && time_ok(it.node);
    if (reported) {
      on_match(it.path, it.node);
      ++matches;
    }
    if (it.node.type != NodeType::kDir) return Visit::kDescend;
    if (!reported && !child_may_match(it.path)) return Visit::kSkip;
    if (dedup && !found && no_match_trees_.count(*it.node.subtree)) return Visit::kSkip;
    open.push_back({matches, found});
    return Visit::kDescend;
  };
  cb.leave = [&](const WalkItem& it) {
    Open o = open.back();
    open.pop_back();
    if (dedup && !o.self_matched && matches == o.matches_before) {
      no_match_trees_.insert(*it.node.subtree);
    }
  };
  cb.tree_error = [&](const WalkItem& it, const base::Status& st) {
    open.pop_back();
    if (on_tree_error) on_tree_error(it.tree, st);
    return base::ok_status();
  };
  return walk_tree_ahead(repo, tree, cb);
}

// ---- find by ID ----

base::StatusOr<IdFinder> IdFinder::create(const std::vector<std::string>& blob_ids,
                                          const std::vector<std::string>& tree_ids) {
  IdFinder f;
  for (const auto* list : {&blob_ids, &tree_ids}) {
    for (const auto& s : *list) {
      if (!is_hex_prefix(s)) {
        return base::invalid_argument("\"" + s + "\" is not an ID (1 to 64 hex digits)");
      }
      (list == &blob_ids ? f.blobs_ : f.trees_).push_back(ascii_lower(s));
    }
  }
  f.searching_blobs_ = !f.blobs_.empty();
  return f;
}

void IdFinder::add_blobs(const std::vector<Id>& ids) {
  for (const Id& id : ids) blobs_.push_back(id.hex());
  searching_blobs_ = searching_blobs_ || !ids.empty();
}

int IdFinder::match(const std::vector<std::string>& list, const std::string& hex) {
  for (size_t i = 0; i < list.size(); ++i) {
    if (hex.compare(0, list[i].size(), list[i]) == 0) return static_cast<int>(i);
  }
  return -1;
}

base::Status IdFinder::find_in(repo::Repository& repo, const Id& tree, const HitFn& on_hit,
                               const Finder::TreeErrorFn& on_tree_error) {
  bool stop = false;
  WalkCallbacks cb;
  cb.visit = [&](const WalkItem& it) -> base::StatusOr<Visit> {
    if (stop) return Visit::kSkip;
    const Node& n = it.node;
    if (n.type == NodeType::kDir && !trees_.empty()) {
      if (match(trees_, n.subtree->hex()) >= 0) {
        on_hit({ObjectKind::kTree, *n.subtree, it.path, Id{}});
        // As restic: once as many trees were found as were asked for, and no blobs are
        // searched, the rest of this snapshot is not searched.
        if (++trees_found_ >= trees_.size() && !searching_blobs_) stop = true;
      }
    }
    if (n.type == NodeType::kFile && searching_blobs_) {
      for (const Id& id : n.content) {
        std::string hex = id.hex();
        int k = match(blobs_, hex);
        if (k < 0) continue;
        // A prefix stands for the first blob it matched from then on (restic's short IDs).
        blobs_[static_cast<size_t>(k)] = hex;
        on_hit({ObjectKind::kBlob, id, it.path, it.tree});
      }
    }
    return stop ? Visit::kSkip : Visit::kDescend;
  };
  cb.tree_error = [&](const WalkItem& it, const base::Status& st) {
    if (on_tree_error) on_tree_error(it.tree, st);
    return base::ok_status();
  };
  return walk_tree_ahead(repo, tree, cb);
}

base::StatusOr<PackBlobs> blobs_of_packs(repo::Repository& repo,
                                         const std::vector<std::string>& packs) {
  std::vector<std::string> wanted;
  for (const auto& p : packs) {
    if (!is_hex_prefix(p)) return base::invalid_argument("\"" + p + "\" is not a pack ID (1 to 64 hex digits)");
    wanted.push_back(ascii_lower(p));
  }
  PackBlobs out;
  auto take = [&](const std::string& hex) {
    for (size_t i = 0; i < wanted.size(); ++i) {
      if (hex.compare(0, wanted[i].size(), wanted[i]) == 0) {
        wanted.erase(wanted.begin() + static_cast<long>(i));
        return true;
      }
    }
    return false;
  };
  std::vector<std::pair<Id, uint64_t>> found;
  RETURN_IF_ERROR(repo.backend()->list(backend::FileKind::kPack, [&](const backend::FileEntry& e) {
    if (wanted.empty() || !take(e.name)) return base::ok_status();
    auto id = Id::parse(e.name);
    if (id.ok()) found.emplace_back(*id, e.size);
    return base::ok_status();
  }));
  for (const auto& [id, size] : found) {
    ASSIGN_OR_RETURN(auto blobs, repo.read_pack_header(id, size));
    for (const auto& b : blobs) out.blobs.push_back(b.id);
  }
  if (!wanted.empty()) {
    repo.with_index([&](const repo::Index& idx) {
      std::vector<std::string> resolved;  // prefix -> the pack it stands for, once chosen
      resolved.resize(wanted.size());
      idx.for_each([&](const repo::IndexEntry& e) {
        std::string hex = idx.pack_id(e.pack).hex();
        for (size_t i = 0; i < wanted.size(); ++i) {
          if (hex.compare(0, wanted[i].size(), wanted[i]) != 0) continue;
          if (resolved[i].empty()) resolved[i] = hex;
          if (resolved[i] != hex) continue;
          out.blobs.push_back(e.id);
        }
      });
      std::vector<std::string> still;
      for (size_t i = 0; i < wanted.size(); ++i) {
        if (resolved[i].empty()) {
          still.push_back(wanted[i]);
        } else if (auto id = Id::parse(resolved[i]); id.ok()) {
          out.from_index.push_back(*id);
        }
      }
      wanted = std::move(still);
    });
  }
  if (!wanted.empty()) {
    std::sort(wanted.begin(), wanted.end());
    std::string list;
    for (const auto& w : wanted) list += (list.empty() ? "" : " ") + w;
    return base::not_found("unable to find pack(s): [" + list + "]");
  }
  return out;
}

// ---- --oldest / --newest ----

namespace {

const char* const kFindTimeLayouts[] = {
    "2006-01-02",
    "2006-01-02 15:04",
    "2006-01-02 15:04:05",
    "2006-01-02 15:04:05 -0700",
    "2006-01-02 15:04:05 MST",
    "02.01.2006",
    "02.01.2006 15:04",
    "02.01.2006 15:04:05",
    "02.01.2006 15:04:05 -0700",
    "02.01.2006 15:04:05 MST",
    "Mon Jan 2 15:04:05 -0700 MST 2006",
};

const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct Parsed {
  int year = 0, month = 1, day = 1, hour = 0, min = 0, sec = 0;
  int32_t nsec = 0;
  std::optional<int> offset;  // seconds east of UTC
  std::string zone;
};

bool digits(std::string_view v, size_t& i, size_t min, size_t max, int& out) {
  size_t n = 0;
  int x = 0;
  while (n < max && i + n < v.size() && v[i + n] >= '0' && v[i + n] <= '9') {
    x = x * 10 + (v[i + n] - '0');
    ++n;
  }
  if (n < min) return false;
  i += n;
  out = x;
  return true;
}

bool parse_layout(std::string_view layout, std::string_view v, Parsed& p) {
  size_t i = 0;
  auto starts = [&](std::string_view tok) { return layout.substr(0, tok.size()) == tok; };
  while (!layout.empty()) {
    if (starts("2006")) {
      if (!digits(v, i, 4, 4, p.year)) return false;
      layout.remove_prefix(4);
    } else if (starts("-0700")) {
      if (i + 5 > v.size() || (v[i] != '+' && v[i] != '-')) return false;
      int sign = v[i] == '-' ? -1 : 1;
      ++i;
      int hh, mm;
      if (!digits(v, i, 2, 2, hh) || !digits(v, i, 2, 2, mm)) return false;
      p.offset = sign * (hh * 3600 + mm * 60);
      layout.remove_prefix(5);
    } else if (starts("01") || starts("02") || starts("04")) {
      int* target = starts("01") ? &p.month : starts("02") ? &p.day : &p.min;
      if (!digits(v, i, 2, 2, *target)) return false;
      layout.remove_prefix(2);
    } else if (starts("05")) {
      if (!digits(v, i, 2, 2, p.sec)) return false;
      layout.remove_prefix(2);
      // Go accepts a fraction after the seconds even when the layout has none.
      if (i + 1 < v.size() && (v[i] == '.' || v[i] == ',') && v[i + 1] >= '0' && v[i + 1] <= '9') {
        ++i;
        int32_t scale = 100000000;
        while (i < v.size() && v[i] >= '0' && v[i] <= '9') {
          p.nsec += (v[i] - '0') * scale;
          scale /= 10;
          ++i;
        }
      }
    } else if (starts("15")) {
      if (!digits(v, i, 1, 2, p.hour)) return false;
      layout.remove_prefix(2);
    } else if (starts("Mon")) {
      std::string_view d = v.substr(i, 3);
      if (std::none_of(std::begin(kDays), std::end(kDays), [&](const char* x) { return d == x; })) return false;
      i += 3;
      layout.remove_prefix(3);
    } else if (starts("MST")) {
      size_t n = 0;
      while (i + n < v.size() && v[i + n] >= 'A' && v[i + n] <= 'Z') ++n;
      if (n < 3) return false;
      p.zone = std::string(v.substr(i, n));
      i += n;
      layout.remove_prefix(3);
    } else if (starts("Jan")) {
      std::string_view m = v.substr(i, 3);
      int k = 0;
      while (k < 12 && m != kMonths[k]) ++k;
      if (k == 12) return false;
      p.month = k + 1;
      i += 3;
      layout.remove_prefix(3);
    } else if (starts("2")) {
      if (!digits(v, i, 1, 2, p.day)) return false;
      layout.remove_prefix(1);
    } else {
      if (i >= v.size() || v[i] != layout[0]) return false;
      ++i;
      layout.remove_prefix(1);
    }
  }
  return i == v.size();
}

bool valid_date(const Parsed& p) {
  static const int kDaysIn[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (p.month < 1 || p.month > 12 || p.day < 1 || p.hour > 23 || p.min > 59 || p.sec > 59) return false;
  if (p.day > kDaysIn[p.month - 1]) return false;
  bool leap = (p.year % 4 == 0 && p.year % 100 != 0) || p.year % 400 == 0;
  return !(p.month == 2 && p.day == 29 && !leap);
}

}  // namespace

base::StatusOr<repo::NodeTime> parse_find_time(std::string_view text) {
  for (const char* layout : kFindTimeLayouts) {
    Parsed p;
    if (!parse_layout(layout, text, p) || !valid_date(p)) continue;
    int64_t days = repo::days_from_civil(p.year, static_cast<unsigned>(p.month), static_cast<unsigned>(p.day));
    int64_t wall = days * 86400 + p.hour * 3600 + p.min * 60 + p.sec;
    repo::NodeTime t;
    t.nsec = p.nsec;
    if (!p.offset && (p.zone == "UTC" || p.zone == "GMT")) p.offset = 0;
    if (p.offset) {
      t.sec = wall - *p.offset;
      t.offset = *p.offset;
      return t;
    }
    // Local time; a zone name that is not the local zone's counts as UTC (as Go does).
    struct tm tm {};
    tm.tm_year = p.year - 1900;
    tm.tm_mon = p.month - 1;
    tm.tm_mday = p.day;
    tm.tm_hour = p.hour;
    tm.tm_min = p.min;
    tm.tm_sec = p.sec;
    tm.tm_isdst = -1;
    time_t local = std::mktime(&tm);
    if (!p.zone.empty() && (!tm.tm_zone || p.zone != tm.tm_zone)) {
      t.sec = wall;
      return t;
    }
    t.sec = static_cast<int64_t>(local);
    t.offset = static_cast<int32_t>(tm.tm_gmtoff);
    return t;
  }
  return base::invalid_argument("unable to parse time: \"" + std::string(text) + "\"");
}

}  // namespace kura::ops
