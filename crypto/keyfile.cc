#include "crypto/keyfile.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "crypto/scrypt.h"

namespace kura::crypto {
namespace {

using nlohmann::json;

constexpr size_t kSaltSize = 64;

base::Status bad_field(std::string_view what, std::string_view field, std::string_view why) {
  return base::data_loss(std::string(what) + ": field \"" + std::string(field) + "\": " +
                         std::string(why));
}

// Parses JSON text without letting nlohmann exceptions escape; a syntax error yields nullopt.
std::optional<json> parse_json(base::ByteSpan text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// Go leaves a field at its zero value when it is absent or null; so do we.
const json* find_field(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

base::StatusOr<std::string> get_string(const json& obj, const char* field, std::string_view what,
                                       bool required) {
  const json* v = find_field(obj, field);
  if (v == nullptr) {
    if (required) return bad_field(what, field, "missing");
    return std::string();
  }
  if (!v->is_string()) return bad_field(what, field, "not a string");
  return v->get<std::string>();
}

base::StatusOr<base::Bytes> get_base64(const json& obj, const char* field, std::string_view what) {
  ASSIGN_OR_RETURN(std::string text, get_string(obj, field, what, /*required=*/true));
  auto decoded = base::base64_decode(text);
  if (!decoded.ok()) return bad_field(what, field, "invalid base64");
  return std::move(decoded).value();
}

base::StatusOr<uint64_t> get_uint(const json& obj, const char* field, std::string_view what,
                                  uint64_t max) {
  const json* v = find_field(obj, field);
  if (v == nullptr) return bad_field(what, field, "missing");
  if (!v->is_number_integer()) return bad_field(what, field, "not an integer");
  if (v->is_number_unsigned()) {
    uint64_t x = v->get<uint64_t>();
    if (x <= max) return x;
  }
  return bad_field(what, field, "out of range: " + v->dump());
}

template <size_t N>
base::Status get_fixed(const json& obj, const char* field, std::string_view what,
                       std::array<uint8_t, N>& out) {
  ASSIGN_OR_RETURN(base::Bytes b, get_base64(obj, field, what));
  if (b.size() != N) {
    return bad_field(what, field,
                     "must decode to " + std::to_string(N) + " bytes, got " +
                         std::to_string(b.size()));
  }
  std::copy(b.begin(), b.end(), out.begin());
  OPENSSL_cleanse(b.data(), b.size());
  return base::ok_status();
}

base::StatusOr<KeyFile> parse_key_file_json(const json& j) {
  constexpr std::string_view kWhat = "key file";
  if (!j.is_object()) return base::data_loss("key file: not a JSON object");
  KeyFile f;
  ASSIGN_OR_RETURN(f.created, get_string(j, "created", kWhat, false));
  ASSIGN_OR_RETURN(f.username, get_string(j, "username", kWhat, false));
  ASSIGN_OR_RETURN(f.hostname, get_string(j, "hostname", kWhat, false));
  ASSIGN_OR_RETURN(std::string kdf, get_string(j, "kdf", kWhat, true));
  if (kdf != "scrypt") {
    return bad_field(kWhat, "kdf", "unsupported key derivation \"" + kdf + "\" (only scrypt)");
  }
  ASSIGN_OR_RETURN(f.n, get_uint(j, "N", kWhat, uint64_t{1} << 62));
  if (f.n < 2 || (f.n & (f.n - 1)) != 0) {
    return bad_field(kWhat, "N", "must be a power of two greater than 1, got " +
                                     std::to_string(f.n));
  }
  constexpr uint64_t kMaxU32 = std::numeric_limits<uint32_t>::max();
  ASSIGN_OR_RETURN(uint64_t r, get_uint(j, "r", kWhat, kMaxU32));
  ASSIGN_OR_RETURN(uint64_t p, get_uint(j, "p", kWhat, kMaxU32));
  if (r == 0) return bad_field(kWhat, "r", "must be positive");
  if (p == 0) return bad_field(kWhat, "p", "must be positive");
  f.r = uint32_t(r);
  f.p = uint32_t(p);
  ASSIGN_OR_RETURN(f.salt, get_base64(j, "salt", kWhat));
  if (f.salt.size() != kSaltSize) {
    return bad_field(kWhat, "salt", "must decode to 64 bytes, got " + std::to_string(f.salt.size()));
  }
  ASSIGN_OR_RETURN(f.data, get_base64(j, "data", kWhat));
  if (f.data.size() < kCiphertextOverhead) {
    return bad_field(kWhat, "data", "too short to hold an encrypted key (" +
                                        std::to_string(f.data.size()) + " bytes)");
  }
  return f;
}

base::StatusOr<Key> parse_master_key(const json& j) {
  constexpr std::string_view kWhat = "master key";
  if (!j.is_object()) return base::data_loss("master key: not a JSON object");
  const json* mac = find_field(j, "mac");
  if (mac == nullptr) return bad_field(kWhat, "mac", "missing");
  if (!mac->is_object()) return bad_field(kWhat, "mac", "not an object");
  Key k;
  RETURN_IF_ERROR(get_fixed(*mac, "k", "master key: mac", k.mac_k));
  RETURN_IF_ERROR(get_fixed(*mac, "r", "master key: mac", k.mac_r));
  RETURN_IF_ERROR(get_fixed(j, "encrypt", kWhat, k.encrypt));
  if (!k.valid()) return base::data_loss("master key: a key part is all zeros");
  return k;
}

void append_u4_escape(std::string& out, unsigned code) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(code >> shift) & 0xf];
}

// Length of the valid UTF-8 sequence starting at s[i] (as Go's utf8.DecodeRuneInString
// accepts it: no overlongs, surrogates or code points above U+10FFFF), or 0 if invalid.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) -> unsigned { return i + k < s.size() ? uint8_t(s[i + k]) : 0x100; };
  auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xbf) {
    unsigned b = byte(k);
    return b >= lo && b <= hi;
  };
  unsigned b0 = byte(0);
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    unsigned lo = b0 == 0xe0 ? 0xa0 : 0x80, hi = b0 == 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    unsigned lo = b0 == 0xf0 ? 0x90 : 0x80, hi = b0 == 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

std::string go_json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '<':
        case '>':
        case '&': append_u4_escape(out, c); break;
        default:
          if (c < 0x20) {
            append_u4_escape(out, c);
          } else {
            out += char(c);
          }
      }
      ++i;
      continue;
    }
    size_t len = utf8_sequence_length(s, i);
    if (len == 0) {
      out += "\\ufffd";
      ++i;
    } else if (len == 3 && c == 0xe2 && uint8_t(s[i + 1]) == 0x80 &&
               (uint8_t(s[i + 2]) == 0xa8 || uint8_t(s[i + 2]) == 0xa9)) {
      append_u4_escape(out, uint8_t(s[i + 2]) == 0xa8 ? 0x2028 : 0x2029);
      i += 3;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  out += '"';
  return out;
}

base::StatusOr<KeyFile> parse_key_file(base::ByteSpan text) {
  try {
    std::optional<json> j = parse_json(text);
    if (!j) return base::data_loss("key file: not valid JSON");
    return parse_key_file_json(*j);
  } catch (const std::exception& e) {
    return base::data_loss(std::string("key file: ") + e.what());
  }
}

base::StatusOr<Key> parse_master_key_json(base::ByteSpan text) {
  try {
    std::optional<json> j = parse_json(text);
    if (!j) return base::data_loss("master key: not valid JSON");
    return parse_master_key(*j);
  } catch (const std::exception& e) {
    return base::data_loss(std::string("master key: ") + e.what());
  }
}

std::string master_key_json(const Key& master) {
  return "{\"mac\":{\"k\":\"" + base::base64_encode(master.mac_k) + "\",\"r\":\"" +
         base::base64_encode(clamp_mac_r(master.mac_r)) + "\"},\"encrypt\":\"" +
         base::base64_encode(master.encrypt) + "\"}";
}

base::Bytes serialize_key_file(const KeyFile& f) {
  std::string out = "{\"created\":" + go_json_quote(f.created) +
                    ",\"username\":" + go_json_quote(f.username) +
                    ",\"hostname\":" + go_json_quote(f.hostname) +
                    ",\"kdf\":\"scrypt\",\"N\":" + std::to_string(f.n) +
                    ",\"r\":" + std::to_string(f.r) + ",\"p\":" + std::to_string(f.p) +
                    ",\"salt\":\"" + base::base64_encode(f.salt) + "\",\"data\":\"" +
                    base::base64_encode(f.data) + "\"}";
  return base::to_bytes(out);
}

base::StatusOr<Key> open_key_file(const KeyFile& file, std::string_view password) {
  auto derived = scrypt64(password, file.salt, file.n, file.r, file.p);
  if (!derived.ok()) return derived.status().with_context("key file");
  Key user = key_from_kdf(*derived);
  OPENSSL_cleanse(derived->data(), derived->size());

  auto plain = open(user, file.data);
  OPENSSL_cleanse(&user, sizeof(user));
  if (!plain.ok()) return base::unauthenticated("wrong password or no key found");
  auto master = parse_master_key_json(*plain);
  OPENSSL_cleanse(plain->data(), plain->size());
  return master;
}

base::StatusOr<Key> open_key_file(base::ByteSpan json_text, std::string_view password) {
  ASSIGN_OR_RETURN(KeyFile file, parse_key_file(json_text));
  return open_key_file(file, password);
}

base::StatusOr<base::Bytes> create_key_file(const Key& master, std::string_view password,
                                            const KeyFileParams& params, RandomSource& random) {
  if (!master.valid()) return base::invalid_argument("create key file: master key is not valid");
  std::array<uint8_t, kSaltSize> salt;
  random.fill(salt);
  auto derived = scrypt64(password, salt, params.n, params.r, params.p);
  if (!derived.ok()) return derived.status().with_context("create key file");
  Key user = key_from_kdf(*derived);
  OPENSSL_cleanse(derived->data(), derived->size());

  std::string plain = master_key_json(master);
  base::Bytes data = seal(user, base::as_bytes(plain), random);
  OPENSSL_cleanse(&user, sizeof(user));
  OPENSSL_cleanse(plain.data(), plain.size());

  KeyFile file;
  file.created = params.created;
  file.username = params.username;
  file.hostname = params.hostname;
  file.n = params.n;
  file.r = params.r;
  file.p = params.p;
  file.salt.assign(salt.begin(), salt.end());
  file.data = std::move(data);
  return serialize_key_file(file);
}

}  // namespace kura::crypto
