#include "repo/gojson.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace kura::repo {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char32_t kRuneError = 0xFFFD;

// Decodes one rune the way Go's utf8.DecodeRune does: the shortest form only, no surrogates,
// nothing above U+10FFFF. Anything else is (U+FFFD, width 1). Requires n >= 1.
inline size_t decode_rune(const uint8_t* p, size_t n, char32_t& r) {
  uint8_t b0 = p[0];
  if (b0 < 0x80) {
    r = b0;
    return 1;
  }
  auto cont = [&](size_t i, uint8_t lo = 0x80, uint8_t hi = 0xBF) {
    return i < n && p[i] >= lo && p[i] <= hi;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (cont(1)) {
      r = char32_t(b0 & 0x1F) << 6 | (p[1] & 0x3F);
      return 2;
    }
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    uint8_t lo = b0 == 0xE0 ? 0xA0 : 0x80;
    uint8_t hi = b0 == 0xED ? 0x9F : 0xBF;
    if (cont(1, lo, hi) && cont(2)) {
      r = char32_t(b0 & 0x0F) << 12 | char32_t(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
      return 3;
    }
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    uint8_t lo = b0 == 0xF0 ? 0x90 : 0x80;
    uint8_t hi = b0 == 0xF4 ? 0x8F : 0xBF;
    if (cont(1, lo, hi) && cont(2) && cont(3)) {
      r = char32_t(b0 & 0x07) << 18 | char32_t(p[1] & 0x3F) << 12 | char32_t(p[2] & 0x3F) << 6 |
          (p[3] & 0x3F);
      return 4;
    }
  }
  r = kRuneError;
  return 1;
}

template <typename Buf>
inline void put(Buf& out, char c) {
  out.push_back(static_cast<typename Buf::value_type>(c));
}
template <typename Buf>
inline void put(Buf& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
}
template <typename Buf>
inline void put(Buf& out, const uint8_t* p, size_t n) {
  out.insert(out.end(), p, p + n);
}

void append_utf8(std::string& out, char32_t r) {
  if (r < 0x80) {
    out.push_back(char(r));
  } else if (r < 0x800) {
    out.push_back(char(0xC0 | (r >> 6)));
    out.push_back(char(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out.push_back(char(0xE0 | (r >> 12)));
    out.push_back(char(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(char(0x80 | (r & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (r >> 18)));
    out.push_back(char(0x80 | ((r >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(char(0x80 | (r & 0x3F)));
  }
}

// Bytes go1.19 copies unchanged into a JSON string (its htmlSafeSet): printable ASCII except
// `"` `\` `<` `>` `&`, plus DEL.
struct SafeTable {
  bool safe[128];
  constexpr SafeTable() : safe() {
    for (int c = 0x20; c < 0x80; ++c) safe[c] = true;
    safe[int('"')] = safe[int('\\')] = safe[int('<')] = safe[int('>')] = safe[int('&')] = false;
  }
};
constexpr SafeTable kSafe;

template <typename Buf>
void append_json_string_impl(Buf& out, std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  put(out, '"');
  size_t start = 0;  // beginning of the pending run of bytes copied verbatim
  size_t i = 0;
  while (i < n) {
    uint8_t b = p[i];
    if (b < 0x80) {
      if (kSafe.safe[b]) {
        ++i;
        continue;
      }
      put(out, p + start, i - start);
      switch (b) {
        case '"': put(out, "\\\""); break;
        case '\\': put(out, "\\\\"); break;
        case '\n': put(out, "\\n"); break;
        case '\r': put(out, "\\r"); break;
        case '\t': put(out, "\\t"); break;
        default: {
          char esc[6] = {'\\', 'u', '0', '0', kHex[b >> 4], kHex[b & 0xF]};
          put(out, std::string_view(esc, 6));
        }
      }
      start = ++i;
      continue;
    }
    char32_t r;
    size_t w = decode_rune(p + i, n - i, r);
    if (w == 1) {  // invalid byte
      put(out, p + start, i - start);
      put(out, "\\ufffd");
      start = ++i;
      continue;
    }
    if (r == 0x2028 || r == 0x2029) {
      put(out, p + start, i - start);
      put(out, r == 0x2028 ? "\\u2028" : "\\u2029");
      start = i + w;
    }
    i += w;
  }
  put(out, p + start, n - start);
  put(out, '"');
}

void append_escaped_rune(std::string& out, char32_t r) {
  switch (r) {
    case '\a': out += "\\a"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    case '\v': out += "\\v"; return;
    default: break;
  }
  if (r < ' ' || r == 0x7F) {
    out += "\\x";
    out.push_back(kHex[r >> 4]);
    out.push_back(kHex[r & 0xF]);
    return;
  }
  int digits = r < 0x10000 ? 4 : 8;
  out += digits == 4 ? "\\u" : "\\U";
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out.push_back(kHex[(r >> shift) & 0xF]);
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

void put_digits(std::string& out, int64_t v, int width) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = char('0' + v % 10);
    v /= 10;
  } while (v > 0);
  for (int i = n; i < width; ++i) out.push_back('0');
  while (n > 0) out.push_back(buf[--n]);
}

}  // namespace

// ---- strings -------------------------------------------------------------------------------

void append_json_string(std::string& out, std::string_view s) { append_json_string_impl(out, s); }
void append_json_string(base::Bytes& out, std::string_view s) { append_json_string_impl(out, s); }

bool go_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    char32_t r;
    size_t w = decode_rune(p + i, n - i, r);
    if (w == 1) return false;
    i += w;
  }
  return true;
}

bool go_is_print(char32_t r) {
  if (r < 0x80) return r >= 0x20 && r < 0x7F;
  const auto* begin = internal::kPrintRanges;
  const auto* end = begin + internal::kPrintRangeCount;
  const auto* it = std::upper_bound(begin, end, uint32_t(r),
                                    [](uint32_t v, const internal::RuneRange& rr) { return v < rr.lo; });
  return it != begin && uint32_t(r) <= (it - 1)->hi;
}

void append_go_quote(std::string& out, std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    uint8_t b = p[i];
    if (b >= 0x20 && b < 0x7F && b != '"' && b != '\\') {  // fast path: printable ASCII
      out.push_back(char(b));
      ++i;
      continue;
    }
    char32_t r;
    size_t w = decode_rune(p + i, n - i, r);
    if (w == 1 && r == kRuneError) {
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
    } else if (r == '"' || r == '\\') {
      out.push_back('\\');
      out.push_back(char(r));
    } else if (go_is_print(r)) {
      out.append(s.data() + i, w);
    } else {
      append_escaped_rune(out, r);
    }
    i += w;
  }
}

std::string go_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  append_go_quote(out, s);
  return out;
}

base::StatusOr<std::string> go_unquote(std::string_view s) {
  auto fail = [&](size_t at, std::string_view why) {
    return base::invalid_argument("cannot unquote \"" + go_quote(s.substr(0, 200)) + "\" at byte " +
                                  std::to_string(at) + ": " + std::string(why));
  };
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c == '"') return fail(i, "unescaped '\"'");
    if (c == '\n') return fail(i, "unescaped newline");
    if (c >= 0x80) {
      char32_t r;
      size_t w = decode_rune(p + i, n - i, r);
      append_utf8(out, r);  // an invalid byte becomes U+FFFD, as Go's UnquoteChar does
      i += w;
      continue;
    }
    if (c != '\\') {
      out.push_back(char(c));
      ++i;
      continue;
    }
    if (i + 1 >= n) return fail(i, "trailing backslash");
    char e = char(p[i + 1]);
    i += 2;
    switch (e) {
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case '\\': out.push_back('\\'); break;
      case '"': out.push_back('"'); break;
      case 'x':
      case 'u':
      case 'U': {
        size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        if (n - i < digits) return fail(i - 2, "truncated escape");
        uint32_t v = 0;
        for (size_t j = 0; j < digits; ++j) {
          int h = base::hex_digit(char(p[i + j]));
          if (h < 0) return fail(i - 2, "bad hex digit in escape");
          v = v << 4 | uint32_t(h);
        }
        i += digits;
        if (e == 'x') {
          out.push_back(char(v));  // a single byte, possibly not UTF-8
        } else {
          if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return fail(i - digits - 2, "invalid rune");
          append_utf8(out, char32_t(v));
        }
        break;
      }
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
        if (n - i < 2) return fail(i - 2, "truncated octal escape");
        uint32_t v = uint32_t(e - '0');
        for (size_t j = 0; j < 2; ++j) {
          char d = char(p[i + j]);
          if (d < '0' || d > '7') return fail(i - 2, "bad octal digit");
          v = v << 3 | uint32_t(d - '0');
        }
        if (v > 255) return fail(i - 2, "octal escape above \\377");
        i += 2;
        out.push_back(char(v));
        break;
      }
      default:
        return fail(i - 2, "unknown escape");
    }
  }
  return out;
}

// ---- time ----------------------------------------------------------------------------------

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = unsigned(doy - (153 * mp + 2) / 5 + 1);
  m = unsigned(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2);
}

void append_go_time(std::string& out, const NodeTime& t) {
  // Far beyond any year restic can write; keeps the arithmetic below from overflowing.
  constexpr int64_t kLimit = int64_t(1) << 50;
  int64_t local = std::clamp<int64_t>(t.sec, -kLimit, kLimit) + t.offset;
  int64_t days = floor_div(local, 86400);
  int64_t secs = local - days * 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  if (y < 0 || y > 9999) {
    days = days_from_civil(y < 0 ? 0 : 9999, m, d);
    civil_from_days(days, y, m, d);
  }
  put_digits(out, y, 4);
  out.push_back('-');
  put_digits(out, m, 2);
  out.push_back('-');
  put_digits(out, d, 2);
  out.push_back('T');
  put_digits(out, secs / 3600, 2);
  out.push_back(':');
  put_digits(out, secs / 60 % 60, 2);
  out.push_back(':');
  put_digits(out, secs % 60, 2);
  if (t.nsec > 0 && t.nsec < 1000000000) {
    char frac[9];
    int32_t v = t.nsec;
    for (int k = 8; k >= 0; --k) {
      frac[k] = char('0' + v % 10);
      v /= 10;
    }
    int len = 9;
    while (frac[len - 1] == '0') --len;
    out.push_back('.');
    out.append(frac, size_t(len));
  }
  if (t.offset == 0) {
    out.push_back('Z');
    return;
  }
  int32_t zone = t.offset / 60;  // truncates toward zero, like Go
  if (zone < 0) {
    out.push_back('-');
    zone = -zone;
  } else {
    out.push_back('+');
  }
  put_digits(out, zone / 60, 2);
  out.push_back(':');
  put_digits(out, zone % 60, 2);
}

std::string format_go_time(const NodeTime& t) {
  std::string out;
  out.reserve(35);
  append_go_time(out, t);
  return out;
}

base::StatusOr<NodeTime> parse_go_time(std::string_view s) {
  auto fail = [&](std::string_view why) {
    return base::invalid_argument("invalid RFC 3339 time \"" + go_quote(s.substr(0, 80)) + "\": " +
                                  std::string(why));
  };
  size_t i = 0;
  auto num = [&](size_t digits, int64_t& v) {
    if (s.size() - i < digits) return false;
    v = 0;
    for (size_t j = 0; j < digits; ++j) {
      char c = s[i + j];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += digits;
    return true;
  };
  auto lit = [&](char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  int64_t year, month, day, hour, minute, second;
  if (!num(4, year) || !lit('-') || !num(2, month) || !lit('-') || !num(2, day) || !lit('T') ||
      !num(2, hour) || !lit(':') || !num(2, minute) || !lit(':') || !num(2, second)) {
    return fail("want YYYY-MM-DDTHH:MM:SS");
  }
  if (month < 1 || month > 12) return fail("month out of range");
  if (day < 1 || day > int64_t(days_in_month(year, unsigned(month)))) return fail("day out of range");
  if (hour > 23) return fail("hour out of range");
  if (minute > 59) return fail("minute out of range");
  if (second > 59) return fail("second out of range");
  NodeTime t;
  if (lit('.')) {
    size_t digits = 0;
    int32_t ns = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 9) ns = ns * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return fail("empty fraction");
    for (size_t k = digits; k < 9; ++k) ns *= 10;
    t.nsec = ns;
  }
  if (lit('Z')) {
    t.offset = 0;
  } else {
    bool neg = false;
    if (lit('-')) {
      neg = true;
    } else if (!lit('+')) {
      return fail("want 'Z' or a ±HH:MM offset");
    }
    int64_t oh, om;
    if (!num(2, oh) || !lit(':') || !num(2, om)) return fail("want a ±HH:MM offset");
    if (oh > 23 || om > 59) return fail("offset out of range");
    t.offset = int32_t((oh * 3600 + om * 60) * (neg ? -1 : 1));
  }
  if (i != s.size()) return fail("trailing characters");
  int64_t days = days_from_civil(year, unsigned(month), unsigned(day));
  t.sec = days * 86400 + hour * 3600 + minute * 60 + second - t.offset;
  return t;
}

// ---- JsonWriter ----------------------------------------------------------------------------

void JsonWriter::key(std::string_view k, bool first) {
  if (!first) raw(',');
  raw('"');
  raw(k);
  raw("\":");
}

void JsonWriter::number(uint64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out_.insert(out_.end(), buf, res.ptr);
}

void JsonWriter::signed_number(int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out_.insert(out_.end(), buf, res.ptr);
}

void JsonWriter::quoted_name(std::string_view name) {
  scratch_.clear();
  append_go_quote(scratch_, name);
  append_json_string(out_, scratch_);
}

void JsonWriter::time(const NodeTime& t) {
  scratch_.clear();
  append_go_time(scratch_, t);
  raw('"');
  raw(scratch_);
  raw('"');
}

void JsonWriter::id(const Id& id) {
  size_t at = out_.size();
  out_.resize(at + 66);
  uint8_t* p = out_.data() + at;
  *p++ = '"';
  for (uint8_t b : id.bytes) {
    *p++ = uint8_t(kHex[b >> 4]);
    *p++ = uint8_t(kHex[b & 0xF]);
  }
  *p = '"';
}

void JsonWriter::base64(base::ByteSpan data) {
  raw('"');
  raw(base::base64_encode(data));
  raw('"');
}

// ---- JsonReader ----------------------------------------------------------------------------

namespace {
constexpr size_t kMaxDepth = 10000;  // Go's encoding/json nesting limit
inline bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
}  // namespace

base::Status JsonReader::error(std::string_view what) const {
  return base::invalid_argument("JSON error at byte " + std::to_string(pos_) + ": " + std::string(what));
}

char JsonReader::peek() {
  while (pos_ < text_.size() && is_ws(text_[pos_])) ++pos_;
  return pos_ < text_.size() ? text_[pos_] : '\0';
}

base::Status JsonReader::expect(char c) {
  if (peek() != c) {
    if (pos_ >= text_.size()) return error(std::string("unexpected end, want '") + c + "'");
    return error(std::string("want '") + c + "'");
  }
  ++pos_;
  return base::ok_status();
}

base::Status JsonReader::begin_object() {
  RETURN_IF_ERROR(expect('{'));
  if (first_.size() >= kMaxDepth) return error("nesting too deep");
  first_.push_back('o');
  return base::ok_status();
}

base::Status JsonReader::begin_array() {
  RETURN_IF_ERROR(expect('['));
  if (first_.size() >= kMaxDepth) return error("nesting too deep");
  first_.push_back('a');
  return base::ok_status();
}

base::StatusOr<bool> JsonReader::next_member(std::string& key) {
  if (first_.empty() || (first_.back() != 'o' && first_.back() != 'O')) {
    return base::internal_error("JsonReader::next_member outside an object");
  }
  if (peek() == '}') {
    ++pos_;
    first_.pop_back();
    return false;
  }
  if (first_.back() == 'O') {
    RETURN_IF_ERROR(expect(','));
  } else {
    first_.back() = 'O';
  }
  if (peek() != '"') return error("want an object key");
  RETURN_IF_ERROR(read_string(key));
  RETURN_IF_ERROR(expect(':'));
  return true;
}

base::StatusOr<bool> JsonReader::next_element() {
  if (first_.empty() || (first_.back() != 'a' && first_.back() != 'A')) {
    return base::internal_error("JsonReader::next_element outside an array");
  }
  if (peek() == ']') {
    ++pos_;
    first_.pop_back();
    return false;
  }
  if (first_.back() == 'A') {
    RETURN_IF_ERROR(expect(','));
  } else {
    first_.back() = 'A';
  }
  if (peek() == '\0') return error("unexpected end in array");
  return true;
}

bool JsonReader::consume_null() {
  if (peek() == 'n' && text_.substr(pos_, 4) == "null") {
    pos_ += 4;
    return true;
  }
  return false;
}

base::Status JsonReader::read_string(std::string& out) {
  out.clear();
  if (peek() != '"') return error("want a string");
  ++pos_;
  const auto* p = reinterpret_cast<const uint8_t*>(text_.data());
  const size_t n = text_.size();
  size_t start = pos_;
  auto read_u4 = [&](size_t at, uint32_t& v) {
    if (at + 6 > n || p[at] != '\\' || p[at + 1] != 'u') return false;
    v = 0;
    for (size_t j = 2; j < 6; ++j) {
      int h = base::hex_digit(char(p[at + j]));
      if (h < 0) return false;
      v = v << 4 | uint32_t(h);
    }
    return true;
  };
  while (true) {
    if (pos_ >= n) return error("unterminated string");
    uint8_t c = p[pos_];
    if (c == '"') {
      out.append(text_.data() + start, pos_ - start);
      ++pos_;
      return base::ok_status();
    }
    if (c < 0x20) return error("control character in string");
    if (c < 0x80 && c != '\\') {
      ++pos_;
      continue;
    }
    out.append(text_.data() + start, pos_ - start);
    if (c >= 0x80) {
      char32_t r;
      size_t w = decode_rune(p + pos_, n - pos_, r);
      if (w == 1) {
        append_utf8(out, kRuneError);
      } else {
        out.append(text_.data() + pos_, w);
      }
      pos_ += w;
      start = pos_;
      continue;
    }
    // backslash
    if (pos_ + 1 >= n) return error("unterminated string");
    char e = char(p[pos_ + 1]);
    switch (e) {
      case '"': out.push_back('"'); pos_ += 2; break;
      case '\\': out.push_back('\\'); pos_ += 2; break;
      case '/': out.push_back('/'); pos_ += 2; break;
      case 'b': out.push_back('\b'); pos_ += 2; break;
      case 'f': out.push_back('\f'); pos_ += 2; break;
      case 'n': out.push_back('\n'); pos_ += 2; break;
      case 'r': out.push_back('\r'); pos_ += 2; break;
      case 't': out.push_back('\t'); pos_ += 2; break;
      case 'u': {
        uint32_t v;
        if (!read_u4(pos_, v)) return error("bad \\u escape in string");
        pos_ += 6;
        if (v >= 0xD800 && v <= 0xDFFF) {
          uint32_t lo;
          if (v < 0xDC00 && read_u4(pos_, lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
            v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
            pos_ += 6;
          } else {
            v = kRuneError;
          }
        }
        append_utf8(out, char32_t(v));
        break;
      }
      default:
        return error("bad escape in string");
    }
    start = pos_;
  }
}

base::StatusOr<std::string_view> JsonReader::number_literal() {
  char c = peek();
  size_t begin = pos_;
  const size_t n = text_.size();
  auto digit = [&](size_t at) { return at < n && text_[at] >= '0' && text_[at] <= '9'; };
  size_t i = pos_;
  if (c == '-') ++i;
  if (!digit(i)) return error("want a number");
  if (text_[i] == '0') {
    ++i;
  } else {
    while (digit(i)) ++i;
  }
  if (i < n && text_[i] == '.') {
    ++i;
    if (!digit(i)) return error("bad number");
    while (digit(i)) ++i;
  }
  if (i < n && (text_[i] == 'e' || text_[i] == 'E')) {
    ++i;
    if (i < n && (text_[i] == '+' || text_[i] == '-')) ++i;
    if (!digit(i)) return error("bad number");
    while (digit(i)) ++i;
  }
  pos_ = i;
  return text_.substr(begin, i - begin);
}

base::StatusOr<uint64_t> JsonReader::read_uint(uint64_t max) {
  peek();
  const size_t at = pos_;
  ASSIGN_OR_RETURN(std::string_view lit, number_literal());
  uint64_t v = 0;
  for (char c : lit) {
    if (c < '0' || c > '9') {
      pos_ = at;
      return error("number " + std::string(lit) + " is not an unsigned integer");
    }
    unsigned d = unsigned(c - '0');
    if (v > (max - d) / 10) {
      pos_ = at;
      return error("number " + std::string(lit) + " out of range");
    }
    v = v * 10 + d;
  }
  return v;
}

base::StatusOr<int64_t> JsonReader::read_int() {
  peek();
  const size_t at = pos_;
  ASSIGN_OR_RETURN(std::string_view lit, number_literal());
  bool neg = !lit.empty() && lit[0] == '-';
  std::string_view digits = neg ? lit.substr(1) : lit;
  const uint64_t limit = neg ? uint64_t(1) << 63 : (uint64_t(1) << 63) - 1;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      pos_ = at;
      return error("number " + std::string(lit) + " is not an integer");
    }
    unsigned d = unsigned(c - '0');
    if (v > (limit - d) / 10) {
      pos_ = at;
      return error("number " + std::string(lit) + " out of range");
    }
    v = v * 10 + d;
  }
  return neg ? int64_t(0 - v) : int64_t(v);
}

base::StatusOr<bool> JsonReader::read_bool() {
  char c = peek();
  if (c == 't' && text_.substr(pos_, 4) == "true") {
    pos_ += 4;
    return true;
  }
  if (c == 'f' && text_.substr(pos_, 5) == "false") {
    pos_ += 5;
    return false;
  }
  return error("want true or false");
}

base::Status JsonReader::skip_value() {
  const size_t base_depth = first_.size();
  std::string scratch;
  while (true) {
    char c = peek();
    if (c == '{') {
      RETURN_IF_ERROR(begin_object());
    } else if (c == '[') {
      RETURN_IF_ERROR(begin_array());
    } else if (c == '"') {
      RETURN_IF_ERROR(read_string(scratch));
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      RETURN_IF_ERROR(number_literal().status());
    } else if (c == 't' || c == 'f') {
      RETURN_IF_ERROR(read_bool().status());
    } else if (!consume_null()) {
      return error(c == '\0' ? "unexpected end, want a value" : "want a value");
    }
    // Close finished containers until the next value to skip, or until we are back out.
    while (true) {
      if (first_.size() == base_depth) return base::ok_status();
      char kind = first_.back();
      bool more;
      if (kind == 'o' || kind == 'O') {
        ASSIGN_OR_RETURN(more, next_member(scratch));
      } else {
        ASSIGN_OR_RETURN(more, next_element());
      }
      if (more) break;
    }
  }
}

base::Status JsonReader::read_raw_value(std::string& compact) {
  compact.clear();
  peek();
  const size_t begin = pos_;
  RETURN_IF_ERROR(skip_value());
  std::string_view text = text_.substr(begin, pos_ - begin);
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      compact.push_back(c);
      if (c == '\\' && i + 1 < text.size()) {
        compact.push_back(text[++i]);
      } else if (c == '"') {
        in_string = false;
      }
    } else if (!is_ws(c)) {
      compact.push_back(c);
      if (c == '"') in_string = true;
    }
  }
  return base::ok_status();
}

base::Status JsonReader::read_string_field(std::string& out) {
  if (consume_null()) return base::ok_status();
  return read_string(out);
}

base::Status JsonReader::read_time_field(NodeTime& t) {
  if (consume_null()) return base::ok_status();
  RETURN_IF_ERROR(read_string(scratch_));
  ASSIGN_OR_RETURN(t, parse_go_time(scratch_));
  return base::ok_status();
}

base::Status JsonReader::read_id(Id& id) {
  RETURN_IF_ERROR(read_string(scratch_));
  if (Id::parse_fast(scratch_, id)) return base::ok_status();
  ASSIGN_OR_RETURN(id, Id::parse(scratch_));  // for its wording of the error
  return base::ok_status();
}

base::Status JsonReader::read_base64_field(base::Bytes& out) {
  out.clear();
  if (consume_null()) return base::ok_status();
  std::string s;
  RETURN_IF_ERROR(read_string(s));
  auto decoded = base::base64_decode(s);
  if (!decoded.ok()) return base::invalid_argument("invalid base64: " + decoded.status().message());
  out = std::move(*decoded);
  return base::ok_status();
}

base::Status JsonReader::read_string_list(std::vector<std::string>& out) {
  out.clear();
  if (consume_null()) return base::ok_status();
  RETURN_IF_ERROR(begin_array());
  while (true) {
    ASSIGN_OR_RETURN(bool more, next_element());
    if (!more) return base::ok_status();
    std::string s;
    RETURN_IF_ERROR(read_string_field(s));
    out.push_back(std::move(s));
  }
}

base::Status JsonReader::finish() {
  if (!first_.empty()) return base::internal_error("JsonReader::finish inside a container");
  if (peek() != '\0') return error("data after the JSON document");
  return base::ok_status();
}

}  // namespace kura::repo
