#include "fs/go_time.h"

#include <time.h>

#include <array>
#include <cstdio>

namespace kura::fs {
namespace {

constexpr std::array<const char*, 12> kMonths = {"January", "February", "March",     "April",
                                                 "May",     "June",     "July",      "August",
                                                 "September", "October", "November", "December"};
constexpr std::array<const char*, 7> kDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                              "Thursday", "Friday", "Saturday"};

void append_num(std::string& out, int64_t v, int width, char pad = '0') {
  std::string digits = std::to_string(v < 0 ? -v : v);
  if (v < 0) out += '-';
  for (int i = static_cast<int>(digits.size()); i < width; ++i) out += pad;
  out += digits;
}

std::string zone_name(const repo::NodeTime& t) {
  if (t.offset == 0) return "UTC";
  time_t secs = static_cast<time_t>(t.sec);
  struct tm local;
  if (localtime_r(&secs, &local) && local.tm_gmtoff == t.offset && local.tm_zone) {
    return local.tm_zone;
  }
  return "";
}

// Go's numeric zone forms: "-0700", "-07:00", "-07", "-070000", "-07:00:00"; with z, "Z" for UTC.
void append_zone(std::string& out, int32_t offset, bool z, bool colon, bool minutes, bool seconds) {
  if (z && offset == 0) {
    out += 'Z';
    return;
  }
  int32_t a = offset < 0 ? -offset : offset;
  out += offset < 0 ? '-' : '+';
  append_num(out, a / 3600, 2);
  if (minutes) {
    if (colon) out += ':';
    append_num(out, a / 60 % 60, 2);
  }
  if (seconds) {
    if (colon) out += ':';
    append_num(out, a % 60, 2);
  }
}

bool take(std::string_view& layout, std::string_view chunk) {
  if (layout.substr(0, chunk.size()) != chunk) return false;
  layout.remove_prefix(chunk.size());
  return true;
}

// "Jan" and "Mon" count only when no lower-case letter follows ("Month" is literal), as in Go.
bool take_word(std::string_view& layout, std::string_view word) {
  if (layout.substr(0, word.size()) != word) return false;
  if (layout.size() > word.size() && layout[word.size()] >= 'a' && layout[word.size()] <= 'z') {
    return false;
  }
  layout.remove_prefix(word.size());
  return true;
}

// ".000" / ",999" followed by a non-digit: a fraction of a second with that many digits
// (trailing zeros and an empty fraction dropped for 9s). Returns false if not one.
bool take_fraction(std::string_view& layout, int32_t nsec, std::string& out) {
  if (layout.size() < 2 || (layout[0] != '.' && layout[0] != ',')) return false;
  char digit = layout[1];
  if (digit != '0' && digit != '9') return false;
  size_t n = 1;
  while (n < layout.size() && layout[n] == digit) ++n;
  if (n < layout.size() && layout[n] >= '0' && layout[n] <= '9') return false;
  size_t digits = std::min<size_t>(n - 1, 9);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%09d", nsec);
  std::string frac(buf, digits);
  if (digit == '9') {
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    if (!frac.empty()) out += layout[0] + frac;
  } else {
    out += layout[0] + frac;
  }
  layout.remove_prefix(n);
  return true;
}

}  // namespace

std::string format_go_layout(const repo::NodeTime& t, std::string_view layout) {
  time_t wall = static_cast<time_t>(t.sec + t.offset);
  struct tm tm {};
  gmtime_r(&wall, &tm);
  int hour12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
  std::string out;
  while (!layout.empty()) {
    // Longest chunks first, in the order Go's nextStdChunk tries them.
    if (take(layout, "January")) out += kMonths[tm.tm_mon];
    else if (take_word(layout, "Jan")) out += std::string_view(kMonths[tm.tm_mon]).substr(0, 3);
    else if (take(layout, "Monday")) out += kDays[tm.tm_wday];
    else if (take_word(layout, "Mon")) out += std::string_view(kDays[tm.tm_wday]).substr(0, 3);
    else if (take(layout, "MST")) {
      std::string name = zone_name(t);
      if (name.empty()) append_zone(out, t.offset, false, false, true, false);
      else out += name;
    }
    else if (take(layout, "2006")) append_num(out, tm.tm_year + 1900, 4);
    else if (take(layout, "002")) append_num(out, tm.tm_yday + 1, 3);
    else if (take(layout, "01")) append_num(out, tm.tm_mon + 1, 2);
    else if (take(layout, "02")) append_num(out, tm.tm_mday, 2);
    else if (take(layout, "03")) append_num(out, hour12, 2);
    else if (take(layout, "04")) append_num(out, tm.tm_min, 2);
    else if (take(layout, "05")) append_num(out, tm.tm_sec, 2);
    else if (take(layout, "06")) append_num(out, (tm.tm_year + 1900) % 100, 2);
    else if (take(layout, "15")) append_num(out, tm.tm_hour, 2);
    else if (take(layout, "__2")) append_num(out, tm.tm_yday + 1, 3, ' ');
    else if (take(layout, "_2")) append_num(out, tm.tm_mday, 2, ' ');
    else if (take(layout, "1")) append_num(out, tm.tm_mon + 1, 1);
    else if (take(layout, "2")) append_num(out, tm.tm_mday, 1);
    else if (take(layout, "3")) append_num(out, hour12, 1);
    else if (take(layout, "4")) append_num(out, tm.tm_min, 1);
    else if (take(layout, "5")) append_num(out, tm.tm_sec, 1);
    else if (take(layout, "PM")) out += tm.tm_hour >= 12 ? "PM" : "AM";
    else if (take(layout, "pm")) out += tm.tm_hour >= 12 ? "pm" : "am";
    else if (take(layout, "Z07:00:00")) append_zone(out, t.offset, true, true, true, true);
    else if (take(layout, "-07:00:00")) append_zone(out, t.offset, false, true, true, true);
    else if (take(layout, "Z070000")) append_zone(out, t.offset, true, false, true, true);
    else if (take(layout, "-070000")) append_zone(out, t.offset, false, false, true, true);
    else if (take(layout, "Z07:00")) append_zone(out, t.offset, true, true, true, false);
    else if (take(layout, "-07:00")) append_zone(out, t.offset, false, true, true, false);
    else if (take(layout, "Z0700")) append_zone(out, t.offset, true, false, true, false);
    else if (take(layout, "-0700")) append_zone(out, t.offset, false, false, true, false);
    else if (take(layout, "Z07")) append_zone(out, t.offset, true, false, false, false);
    else if (take(layout, "-07")) append_zone(out, t.offset, false, false, false, false);
    else if (take_fraction(layout, t.nsec, out)) {
    } else {
      out += layout[0];
      layout.remove_prefix(1);
    }
  }
  return out;
}

}  // namespace kura::fs
