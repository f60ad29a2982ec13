#include "fs/blob_cache.h"

#include <gtest/gtest.h>

namespace kura::fs {
namespace {

repo::Id id_of(uint8_t n) {
  repo::Id id;
  id.bytes[0] = n;
  return id;
}

std::shared_ptr<const base::Bytes> blob(size_t n) { return std::make_shared<const base::Bytes>(n, 1); }

TEST(BlobCacheTest, DropsTheLeastRecentlyUsedBeyondItsSize) {
  BlobCache c(100);
  c.add(id_of(1), blob(40));
  c.add(id_of(2), blob(40));
  ASSERT_NE(c.get(id_of(1)), nullptr);  // 1 is now the most recent
  c.add(id_of(3), blob(40));            // 2 goes
  EXPECT_NE(c.get(id_of(1)), nullptr);
  EXPECT_EQ(c.get(id_of(2)), nullptr);
  EXPECT_NE(c.get(id_of(3)), nullptr);
  EXPECT_EQ(c.bytes(), 80u);
}

TEST(BlobCacheTest, KeepsNothingLargerThanItself) {
  BlobCache c(10);
  c.add(id_of(1), blob(11));
  EXPECT_EQ(c.get(id_of(1)), nullptr);
  EXPECT_EQ(c.bytes(), 0u);
}

}  // namespace
}  // namespace kura::fs
