// Randomness behind an interface: the OS CSPRNG in production, a seeded generator in tests.
#pragma once

#include <cstdint>
#include <memory>

#include "base/bytes.h"

namespace kura::crypto {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual void fill(base::MutableByteSpan out) = 0;

  uint64_t next_u64() {
    uint8_t b[8];
    fill(b);
    return base::load_le64(b);
  }
};

// OpenSSL's CSPRNG (RAND_bytes); aborts the process if the generator fails, as continuing
// without randomness would reuse IVs.
RandomSource* system_random();

// A deterministic, NOT cryptographically secure generator (SplitMix64) for tests and
// reproducible fixtures: the same seed always yields the same byte stream.
std::unique_ptr<RandomSource> seeded_random(uint64_t seed);

}  // namespace kura::crypto
