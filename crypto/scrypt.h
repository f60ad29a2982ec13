// scrypt key derivation for restic key files (RESTIC_FORMAT.md §2.2).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/crypto.h"

namespace kura::crypto {

// Largest working memory scrypt64() agrees to use (128·r·N + 128·r·p bytes): enough for
// N = 2^20, r = 8, any sane p, and a bound on what an untrusted key file can make us allocate.
constexpr uint64_t kScryptMaxMemory = (uint64_t{1} << 30) + (uint64_t{1} << 24);

// scrypt(password, salt, N, r, p) with a 64-byte output. invalid_argument if N is not a power
// of two greater than 1, or r or p is 0 (or the set is out of scrypt's range);
// resource_exhausted if it would need more than kScryptMaxMemory.
base::StatusOr<std::array<uint8_t, 64>> scrypt64(std::string_view password, base::ByteSpan salt,
                                                 uint64_t n, uint32_t r, uint32_t p);

// Splits the scrypt output as restic does: bytes 0-31 encrypt, 32-47 mac_k, 48-63 mac_r.
Key key_from_kdf(const std::array<uint8_t, 64>& derived);

}  // namespace kura::crypto
