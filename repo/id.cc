#include "repo/id.h"

#include "crypto/sha256.h"

namespace kura::repo {

base::StatusOr<Id> Id::parse(std::string_view hex) {
  if (hex.size() != 64) {
    return base::invalid_argument("invalid ID \"" + std::string(hex.substr(0, 80)) +
                                  "\": want 64 hex characters");
  }
  Id id;
  if (!parse_fast(hex, id)) return base::invalid_argument("invalid ID \"" + std::string(hex) + "\"");
  return id;
}

Id hash_id(base::ByteSpan data) {
  Id id;
  id.bytes = crypto::sha256(data);
  return id;
}

}  // namespace kura::repo
