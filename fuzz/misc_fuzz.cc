// The small text and binary decoders repository data passes through. The first byte picks
// one (modulo 8); the rest is its input.
//   0 repo config JSON        decode_config; encode_config round trip
//   1 hex                     hex_decode; re-encoding gives the input lowercased
//   2 base64                  base64_decode (strict); re-encoding is stable
//   3 Go-quoted names         go_unquote; go_unquote(go_quote(x)) == x for every x
//   4 RFC 3339 times          parse_go_time; format_go_time round trip
//   5 zstd                    zstd_decompress (capped); decompress_into and recompression agree
//   6 any JSON value          JsonReader::skip_value / read_raw_value; compact form is stable
//   7 chunker polynomial      parse_polynomial; format_polynomial round trip
#include <cstddef>
#include <cstdint>

#include "base/bytes.h"
#include "chunker/chunker.h"
#include "fuzz/fuzz_common.h"
#include "repo/compress.h"
#include "repo/config.h"
#include "repo/gojson.h"

namespace kura::fuzz {
namespace {

constexpr size_t kMaxDecompressed = 256 * 1024;

void fuzz_config(base::ByteSpan in) {
  auto c = repo::decode_config(in);
  if (!c.ok()) return;
  FUZZ_CHECK(c->version == 1 || c->version == 2);
  FUZZ_CHECK(chunker::degree(c->chunker_polynomial) == chunker::kPolynomialDegree);
  auto again = repo::decode_config(repo::encode_config(*c));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->version == c->version && again->id == c->id &&
             again->chunker_polynomial == c->chunker_polynomial);
}

void fuzz_hex(std::string_view text) {
  auto b = base::hex_decode(text);
  if (b.ok()) {
    std::string lower(text);
    for (char& ch : lower)
      if (ch >= 'A' && ch <= 'F') ch = char(ch - 'A' + 'a');
    FUZZ_CHECK(base::hex_encode(*b) == lower);
  }
  auto back = base::hex_decode(base::hex_encode(base::as_bytes(text)));
  FUZZ_CHECK(back.ok() && base::as_chars(*back) == text);
}

void fuzz_base64(std::string_view text) {
  auto b = base::base64_decode(text);
  if (b.ok()) {
    // Not necessarily the input: like Go's StdEncoding, unused bits of the last character
    // need not be zero ("QR==" decodes as "QQ==").
    std::string canonical = base::base64_encode(*b);
    FUZZ_CHECK(canonical.size() == text.size());
    auto again = base::base64_decode(canonical);
    FUZZ_CHECK(again.ok() && *again == *b);
  }
  auto back = base::base64_decode(base::base64_encode(base::as_bytes(text)));
  FUZZ_CHECK(back.ok() && base::as_chars(*back) == text);
}

void fuzz_quote(std::string_view text) {
  auto s = repo::go_unquote(text);
  if (s.ok()) {
    auto again = repo::go_unquote(repo::go_quote(*s));
    FUZZ_CHECK(again.ok() && *again == *s);
  }
  auto back = repo::go_unquote(repo::go_quote(text));
  FUZZ_CHECK(back.ok() && *back == text);
  // A JSON string literal of valid UTF-8 decodes to itself; of anything else, to valid UTF-8.
  std::string literal;
  repo::append_json_string(literal, text);
  repo::JsonReader r(literal);
  std::string decoded;
  FUZZ_CHECK(r.read_string(decoded).ok() && r.finish().ok());
  FUZZ_CHECK(repo::go_valid_utf8(decoded));
  if (repo::go_valid_utf8(text)) FUZZ_CHECK(decoded == text);
}

void fuzz_time(std::string_view text) {
  auto t = repo::parse_go_time(text);
  if (!t.ok()) return;
  FUZZ_CHECK(t->nsec >= 0 && t->nsec < 1000000000);
  std::string formatted = repo::format_go_time(*t);
  auto again = repo::parse_go_time(formatted);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *t);
  FUZZ_CHECK(repo::format_go_time(*again) == formatted);
}

void fuzz_zstd(base::ByteSpan frame) {
  auto plain = repo::zstd_decompress(frame, kMaxDecompressed);
  if (!plain.ok()) return;
  FUZZ_CHECK(plain->size() <= kMaxDecompressed);
  base::Bytes exact(plain->size());
  FUZZ_CHECK(repo::zstd_decompress_into(frame, exact).ok());
  FUZZ_CHECK(exact == *plain);
  if (!plain->empty()) {
    base::Bytes short_buf(plain->size() - 1);
    FUZZ_CHECK(!repo::zstd_decompress_into(frame, short_buf).ok());
  }
  base::Bytes long_buf(plain->size() + 1);
  FUZZ_CHECK(!repo::zstd_decompress_into(frame, long_buf).ok());
  base::Bytes recompressed;
  repo::zstd_compress(*plain, 1, recompressed);
  auto again = repo::zstd_decompress(recompressed, kMaxDecompressed);
  FUZZ_CHECK(again.ok() && *again == *plain);
}

void fuzz_json_value(std::string_view text) {
  repo::JsonReader skipper(text);
  bool skipped = skipper.skip_value().ok() && skipper.finish().ok();
  repo::JsonReader reader(text);
  std::string compact;
  bool raw = reader.read_raw_value(compact).ok() && reader.finish().ok();
  FUZZ_CHECK(skipped == raw);
  if (!raw) return;
  repo::JsonReader again(compact);
  std::string compact2;
  FUZZ_CHECK(again.read_raw_value(compact2).ok() && again.finish().ok());
  FUZZ_CHECK(compact2 == compact);
}

void fuzz_polynomial(std::string_view text) {
  auto pol = chunker::parse_polynomial(text);
  if (!pol.ok()) return;
  FUZZ_CHECK(chunker::degree(*pol) == chunker::kPolynomialDegree);
  auto again = chunker::parse_polynomial(chunker::format_polynomial(*pol));
  FUZZ_CHECK(again.ok() && *again == *pol);
}

}  // namespace
}  // namespace kura::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kura::fuzz;
  if (size < 1) return 0;
  kura::base::ByteSpan in(data + 1, size - 1);
  std::string_view text = as_text(data + 1, size - 1);
  switch (data[0] % 8) {
    case 0:
      fuzz_config(in);
      break;
    case 1:
      fuzz_hex(text);
      break;
    case 2:
      fuzz_base64(text);
      break;
    case 3:
      fuzz_quote(text);
      break;
    case 4:
      fuzz_time(text);
      break;
    case 5:
      fuzz_zstd(in);
      break;
    case 6:
      fuzz_json_value(text);
      break;
    case 7:
      fuzz_polynomial(text);
      break;
  }
  return 0;
}
