#include "crypto/random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>

namespace kura::crypto {
namespace {

class SystemRandom : public RandomSource {
 public:
  void fill(base::MutableByteSpan out) override {
    size_t done = 0;
    while (done < out.size()) {
      size_t n = std::min<size_t>(out.size() - done, INT_MAX);
      if (RAND_bytes(out.data() + done, static_cast<int>(n)) != 1) {
        std::fputs("kura: fatal: the system random generator failed\n", stderr);
        std::abort();
      }
      done += n;
    }
  }
};

class SeededRandom : public RandomSource {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}

  void fill(base::MutableByteSpan out) override {
    for (size_t i = 0; i < out.size(); i += 8) {
      uint8_t block[8];
      base::store_le64(block, next());
      std::copy_n(block, std::min<size_t>(8, out.size() - i), out.data() + i);
    }
  }

 private:
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  uint64_t state_;
};

}  // namespace

RandomSource* system_random() {
  static SystemRandom r;
  return &r;
}

std::unique_ptr<RandomSource> seeded_random(uint64_t seed) {
  return std::make_unique<SeededRandom>(seed);
}

}  // namespace kura::crypto
