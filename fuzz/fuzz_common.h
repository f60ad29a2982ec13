// Shared by the libFuzzer targets in this folder and by make_seeds.cc, which must agree on the
// fixed key (so seed packs carry a MAC the pack target can verify) and on the key-file password.
#pragma once

#include <cstdio>
#include <string_view>

#include "base/bytes.h"
#include "crypto/crypto.h"

namespace kura::fuzz {

// A property the target checks failed: print why, then trap so libFuzzer records the input.
// Not assert(): fuzz builds may define NDEBUG (RelWithDebInfo does).
#define FUZZ_CHECK(cond)                                                                    \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, __LINE__, #cond); \
      __builtin_trap();                                                                     \
    }                                                                                       \
  } while (0)

// The master key every pack seed is sealed under. Any valid() key works; these bytes only
// need to stay fixed, or the pack seeds stop verifying.
inline const crypto::Key& fixed_key() {
  static const crypto::Key key = [] {
    crypto::Key k;
    for (size_t i = 0; i < k.encrypt.size(); ++i) k.encrypt[i] = uint8_t(0x11 + 7 * i);
    for (size_t i = 0; i < k.mac_k.size(); ++i) k.mac_k[i] = uint8_t(0xa3 + 5 * i);
    k.mac_r = crypto::clamp_mac_r([] {
      std::array<uint8_t, 16> r{};
      for (size_t i = 0; i < r.size(); ++i) r[i] = uint8_t(0x5c + 3 * i);
      return r;
    }());
    return k;
  }();
  return key;
}

// keyfile_fuzz opens key files with this password; make_seeds wraps a key under it with tiny
// scrypt parameters so the fuzzer starts from a file that opens.
constexpr std::string_view kKeyFilePassword = "fuzz";

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace kura::fuzz
