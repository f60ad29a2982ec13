// restic's authenticated encryption (RESTIC_FORMAT.md §2.1):
//   sealed = IV (16) || AES-256-CTR(encrypt, IV, plaintext) || Poly1305-AES MAC (16)
// The MAC covers the ciphertext only; its one-time key is mac_r || AES-128(mac_k, IV).
// All functions are thread-safe (contexts are per thread).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/random.h"

namespace kura::crypto {

constexpr size_t kIvSize = 16;
constexpr size_t kMacSize = 16;
constexpr size_t kCiphertextOverhead = kIvSize + kMacSize;

struct Key {
  std::array<uint8_t, 32> encrypt{};
  std::array<uint8_t, 16> mac_k{};
  // May be stored unclamped (newer restic does); the clamp is applied when computing a MAC.
  std::array<uint8_t, 16> mac_r{};

  // restic's rule: no part is all zeros (an all-zero key means "never set").
  bool valid() const;
  friend bool operator==(const Key&, const Key&) = default;
};

// Poly1305's clamp of r (RFC 8439 §2.5); restic 0.14 writes r clamped.
std::array<uint8_t, 16> clamp_mac_r(std::array<uint8_t, 16> r);

// A fresh master key, mac_r clamped (as restic 0.14's NewRandomKey).
Key random_key(RandomSource& random);

// Encrypts plaintext into out, which must be exactly plaintext.size() + kCiphertextOverhead
// bytes. The IV is random and never all zeros. In-place use is allowed when
// plaintext.data() == out.data() + kIvSize; any other overlap is not. A wrong out size is a
// caller bug and aborts the process.
void seal(const Key& key, base::ByteSpan plaintext, base::MutableByteSpan out,
          RandomSource& random);
base::Bytes seal(const Key& key, base::ByteSpan plaintext, RandomSource& random);

// Verifies the MAC in constant time, then decrypts. Input shorter than kCiphertextOverhead or
// a MAC mismatch gives data_loss("ciphertext verification failed (wrong key or corrupted
// data)"); callers add which object it was.
base::StatusOr<base::Bytes> open(const Key& key, base::ByteSpan sealed);
// As open(), into out, which must be exactly sealed.size() - kCiphertextOverhead bytes
// (invalid_argument otherwise). On failure out is left untouched. In-place use is allowed
// when out.data() == sealed.data() + kIvSize.
base::Status open_into(const Key& key, base::ByteSpan sealed, base::MutableByteSpan out);

// Constant-time for equal sizes; different sizes compare unequal at once.
bool ct_equal(base::ByteSpan a, base::ByteSpan b);

}  // namespace kura::crypto
