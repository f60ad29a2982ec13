// Id: a 32-byte SHA-256, the name of every blob and file in a repository.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace kura::repo {

struct Id {
  std::array<uint8_t, 32> bytes{};

  std::string hex() const { return base::hex_encode(bytes); }
  std::string short_hex() const { return hex().substr(0, 8); }
  bool is_zero() const {
    for (uint8_t b : bytes)
      if (b) return false;
    return true;
  }
  // Exactly 64 hex characters.
  static base::StatusOr<Id> parse(std::string_view hex);
  // parse() for hot paths (index and tree decoding): no error text, no allocation.
  static bool parse_fast(std::string_view hex, Id& out) { return base::hex_decode_into(hex, out.bytes); }
  static Id from_span(base::ByteSpan s) {
    Id id;
    std::memcpy(id.bytes.data(), s.data(), 32);
    return id;
  }
  friend bool operator==(const Id&, const Id&) = default;
  friend auto operator<=>(const Id&, const Id&) = default;
};

// SHA-256 of data.
Id hash_id(base::ByteSpan data);

struct IdHash {
  size_t operator()(const Id& id) const {
    size_t h;
    std::memcpy(&h, id.bytes.data(), sizeof h);
    return h;
  }
};

}  // namespace kura::repo
