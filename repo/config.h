// The repository config (RESTIC_FORMAT.md §3): version, random id, chunker polynomial.
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace kura::repo {

struct Config {
  int version = 2;
  std::string id;  // 64 hex characters
  uint64_t chunker_polynomial = 0;
};

// {"version":2,"id":"…","chunker_polynomial":"…"} as Go writes it.
base::Bytes encode_config(const Config& c);
// Validates version (1 or 2), id and that the polynomial is irreducible of degree 53.
base::StatusOr<Config> decode_config(base::ByteSpan json);

}  // namespace kura::repo
