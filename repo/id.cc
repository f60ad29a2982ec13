#include "repo/id.h"

#include "crypto/sha256.h"

namespace kura::repo {

base::StatusOr<Id> Id::parse(std::string_view hex) {
  if (hex.size() != 64) {
    return base::invalid_argument("invalid ID \"" + std::string(hex.substr(0, 80)) +
                                  "\": want 64 hex characters");
  }
  auto bytes = base::hex_decode(hex);
  if (!bytes.ok()) return base::invalid_argument("invalid ID \"" + std::string(hex) + "\"");
  return Id::from_span(*bytes);
}

Id hash_id(base::ByteSpan data) {
  Id id;
  id.bytes = crypto::sha256(data);
  return id;
}

}  // namespace kura::repo
