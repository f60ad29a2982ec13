#include "crypto/random.h"

#include <gtest/gtest.h>

namespace kura::crypto {
namespace {

TEST(SeededRandom, SameSeedSameStream) {
  auto a = seeded_random(42);
  auto b = seeded_random(42);
  base::Bytes x(100), y(100);
  a->fill(x);
  b->fill(y);
  EXPECT_EQ(x, y);
  EXPECT_EQ(a->next_u64(), b->next_u64());
}

TEST(SeededRandom, DifferentSeedsDiffer) {
  base::Bytes x(32), y(32);
  seeded_random(1)->fill(x);
  seeded_random(2)->fill(y);
  EXPECT_NE(x, y);
}

TEST(SeededRandom, FillsOddSizes) {
  auto r = seeded_random(7);
  base::Bytes x(13, 0);
  r->fill(x);
  EXPECT_NE(x, base::Bytes(13, 0));
  r->fill(base::MutableByteSpan());
}

TEST(SystemRandom, ProducesDistinctOutput) {
  base::Bytes x(32), y(32);
  system_random()->fill(x);
  system_random()->fill(y);
  EXPECT_NE(x, y);
}

}  // namespace
}  // namespace kura::crypto
