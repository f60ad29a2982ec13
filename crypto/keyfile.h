// restic key files, keys/<id> (RESTIC_FORMAT.md §2.2): plain JSON holding scrypt parameters,
// a salt, and the master key sealed under the key derived from the password.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "crypto/random.h"

namespace kura::crypto {

// A parsed key file. Unknown JSON fields are ignored, as Go's decoder does.
struct KeyFile {
  std::string created;  // RFC 3339 text as stored; "" if absent
  std::string username;
  std::string hostname;
  uint64_t n = 0;  // scrypt N: a power of two > 1
  uint32_t r = 0;
  uint32_t p = 0;
  base::Bytes salt;  // exactly 64 bytes
  base::Bytes data;  // the sealed master key JSON (IV || ct || MAC), at least 32 bytes
};

// Checks the JSON shape and every field; kdf must be "scrypt". Errors are data_loss naming the
// field, e.g. `key file: field "salt": must decode to 64 bytes, got 32`.
base::StatusOr<KeyFile> parse_key_file(base::ByteSpan json);

// The exact bytes Go's json.Marshal writes for this key file (no trailing newline), so
// serialize_key_file(parse_key_file(b)) == b for any key file restic wrote (unless a name held
// invalid UTF-8, which Go already replaced by "\ufffd" escapes that now decode to U+FFFD).
base::Bytes serialize_key_file(const KeyFile& file);

// Derives the password key (scrypt) and opens the master key. unauthenticated("wrong password
// or no key found") if the MAC does not verify; data_loss if what it decrypts to is not a
// valid master key; resource_exhausted if the scrypt parameters are beyond kScryptMaxMemory.
base::StatusOr<Key> open_key_file(const KeyFile& file, std::string_view password);
// parse_key_file + open_key_file.
base::StatusOr<Key> open_key_file(base::ByteSpan json, std::string_view password);

// The master key as restic writes it inside `data`, with mac_r clamped:
// {"mac":{"k":"<b64 16>","r":"<b64 16>"},"encrypt":"<b64 32>"}
std::string master_key_json(const Key& master);
// Accepts any JSON with those fields (e.g. `restic cat masterkey`, which is indented); exact
// lengths are required and the key must be valid(). Errors are data_loss naming the field.
base::StatusOr<Key> parse_master_key_json(base::ByteSpan json);

struct KeyFileParams {
  std::string username;
  std::string hostname;
  std::string created;  // Go RFC3339Nano text, e.g. "2024-05-01T10:00:00.123456789+02:00"
  uint64_t n = 32768;
  uint32_t r = 8;
  uint32_t p = 1;
};

// Builds a new key file wrapping `master` under `password`, byte for byte as restic's Go
// json.Marshal would (fresh 64-byte salt and IV from `random`, no trailing newline). The caller
// stores it as keys/<hex sha256 of the bytes>. invalid_argument if master is not valid() or
// the scrypt parameters are rejected.
base::StatusOr<base::Bytes> create_key_file(const Key& master, std::string_view password,
                                            const KeyFileParams& params, RandomSource& random);

// Go encoding/json string encoding (go1.19, HTML escaping on), quotes included: `"`, `\`,
// \n \r \t escaped; other bytes < 0x20 and `<>&` as \u00xx; U+2028/U+2029 as \u2028/\u2029;
// each byte of invalid UTF-8 as \ufffd. Exposed for tests; repo/ has its own needs (§7.6).
std::string go_json_quote(std::string_view s);

}  // namespace kura::crypto
