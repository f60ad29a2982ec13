// Go-compatible text encodings that restic's JSON depends on, byte for byte
// (RESTIC_FORMAT.md §7.5-§7.7):
//  * Go encoding/json string escaping as go1.19 writes it (HTML-safe, \u0008 and \u000c),
//  * Go strconv.Quote / Unquote (restic quotes node names before JSON-encoding them),
//  * Go time.Time JSON (RFC 3339 with nanoseconds),
//  * a small pull parser that decodes JSON the way Go's encoding/json does (invalid UTF-8 and
//    unpaired surrogates become U+FFFD, integers must fit their field).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "repo/id.h"
#include "repo/node.h"

namespace kura::repo {

// ---- Encoding ------------------------------------------------------------------------------

// Appends s as a JSON string literal, quotes included, exactly as go1.19 encoding/json.Marshal
// writes a string: `"` and `\` escaped, \n \r \t, other bytes < 0x20 as \u00XX, `<` `>` `&` as
// \u003c \u003e \u0026, U+2028/U+2029 as \u2028/\u2029, every invalid UTF-8 byte as \ufffd.
void append_json_string(std::string& out, std::string_view s);
void append_json_string(base::Bytes& out, std::string_view s);

// Go strconv.Quote(s) without the surrounding quotes. Printable runes (unicode.IsPrint, Unicode
// 13 as in go1.19) are copied, `"` and `\` are backslash-escaped, invalid UTF-8 bytes become
// \xHH, the rest \a \b \f \n \r \t \v, \xHH, \uHHHH or \UHHHHHHHH.
std::string go_quote(std::string_view s);
void append_go_quote(std::string& out, std::string_view s);

// Inverse of go_quote: Go strconv.Unquote("\"" + s + "\""). Fails (invalid_argument) where Go
// fails: an unescaped `"` or newline, a bad or truncated escape, \u/\U beyond U+10FFFF or a
// surrogate, an octal escape above \377. Raw invalid UTF-8 bytes become U+FFFD, as in Go.
base::StatusOr<std::string> go_unquote(std::string_view s);

// Go utf8.ValidString: shortest forms only, no surrogates, nothing above U+10FFFF.
bool go_valid_utf8(std::string_view s);

// Go unicode.IsPrint, with go1.19's Unicode 13.0 tables.
bool go_is_print(char32_t r);

// Go time.Time.MarshalJSON (RFC3339Nano) without the quotes: "2006-01-02T15:04:05.999999999Z07:00"
// in t's offset; the fraction loses trailing zeros and vanishes at 0; "Z" only for offset 0;
// an offset with seconds prints truncated to minutes (the wall clock keeps them), like Go.
// A local year outside 0..9999 is moved into range the way restic's FixTime does (AddDate on
// the year, Feb 29 becoming Mar 1), since Go refuses to marshal such times.
std::string format_go_time(const NodeTime& t);
void append_go_time(std::string& out, const NodeTime& t);

// Strict RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction]{Z|±HH:MM}; the fraction may have any number of
// digits (beyond 9 truncated, as Go does). Field ranges are checked (day within month, etc.).
base::StatusOr<NodeTime> parse_go_time(std::string_view s);

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t days, int64_t& y, unsigned& m, unsigned& d);

// Appends compact JSON to a byte buffer in Go's formats. Keeps one scratch string for quoting
// and time formatting, so writing allocates only when the output grows.
class JsonWriter {
 public:
  explicit JsonWriter(base::Bytes& out) : out_(out) {}

  void raw(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
  void raw(char c) { out_.push_back(uint8_t(c)); }
  // `"k":`, preceded by ',' unless first.
  void key(std::string_view k, bool first = false);
  void number(uint64_t v);
  void signed_number(int64_t v);
  void string(std::string_view s) { append_json_string(out_, s); }
  // strconv.Quote (without its quotes), then JSON: how restic writes node names.
  void quoted_name(std::string_view name);
  void time(const NodeTime& t);
  void id(const Id& id);
  void base64(base::ByteSpan data);
  void boolean(bool b) { raw(b ? "true" : "false"); }

  base::Bytes& out() { return out_; }

 private:
  base::Bytes& out_;
  std::string scratch_;
};

// ---- Decoding ------------------------------------------------------------------------------

// A pull parser over one JSON document, with Go encoding/json semantics where they matter
// (string decoding, integer range checks, nesting limit 10000). Errors are invalid_argument with
// the byte offset; callers add what document they were reading.
class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  // '{' ... then loop: next_member(key) yields each key until it returns false at '}'.
  base::Status begin_object();
  base::StatusOr<bool> next_member(std::string& key);
  // '[' ... then loop: next_element() returns true while an element follows, false at ']'.
  base::Status begin_array();
  base::StatusOr<bool> next_element();

  // Consumes a `null` literal if one is next.
  bool consume_null();
  bool peek_string() { return peek() == '"'; }
  bool peek_array() { return peek() == '['; }
  bool peek_object() { return peek() == '{'; }

  base::Status read_string(std::string& out);
  // A JSON number that is an integer in [0, max] ("1.0", "1e3", "-1" are errors, as in Go).
  base::StatusOr<uint64_t> read_uint(uint64_t max);
  base::StatusOr<int64_t> read_int();
  base::StatusOr<bool> read_bool();
  base::Status skip_value();
  // The next value's text with the whitespace outside strings removed (as Go re-emits a
  // json.RawMessage).
  base::Status read_raw_value(std::string& compact);

  // Field helpers with Go's rules: a JSON null leaves the target unchanged (Go does the same for
  // non-pointer fields), except where noted.
  base::Status read_string_field(std::string& out);
  base::Status read_time_field(NodeTime& t);
  base::Status read_id(Id& id);  // 64 hex digits; null is an error
  // []byte: standard base64; null clears.
  base::Status read_base64_field(base::Bytes& out);
  // []string: null clears.
  base::Status read_string_list(std::vector<std::string>& out);
  template <typename T>
  base::Status read_uint_field(T& v) {
    if (consume_null()) return base::ok_status();
    auto x = read_uint(std::numeric_limits<T>::max());
    if (!x.ok()) return x.status();
    v = T(*x);
    return base::ok_status();
  }
  // Only whitespace may follow the document.
  base::Status finish();

  size_t offset() const { return pos_; }
  base::Status error(std::string_view what) const;

 private:
  char peek();  // skips whitespace; '\0' at the end
  base::Status expect(char c);
  base::StatusOr<std::string_view> number_literal();

  std::string_view text_;
  size_t pos_ = 0;
  // Per open container: has it produced a member/element yet (so a ',' is required next)?
  std::string first_;
  std::string scratch_;
};

// Go matches JSON keys to struct field names exactly first, then case-insensitively; all of
// restic's keys are lowercase ASCII, so lowering the key and comparing exactly is the same.
inline void fold_json_key(std::string& key) {
  for (char& c : key)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
}

namespace internal {
struct RuneRange {
  uint32_t lo, hi;
};
extern const RuneRange kPrintRanges[];
extern const size_t kPrintRangeCount;
extern const char kUnicodeVersion[];
}  // namespace internal

}  // namespace kura::repo
