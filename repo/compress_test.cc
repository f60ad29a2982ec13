// zstd as blobs and unpacked files use it: the default level's static context must give the
// very bytes a fresh context gives (restic and kura repositories hold the same frames), for
// inputs of every size, and every frame must come back whole.
#include "repo/compress.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <random>
#include <string>

namespace kura::repo {
namespace {

base::Bytes reference(base::ByteSpan data, int level) {
  base::Bytes out(ZSTD_compressBound(data.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

base::Bytes sample(size_t n, bool random, uint32_t seed) {
  base::Bytes b(n);
  std::mt19937 rng(seed);
  for (size_t i = 0; i < n; ++i) {
    b[i] = random ? static_cast<uint8_t>(rng()) : static_cast<uint8_t>("kura backup text "[i % 17] + (i / 4096) % 3);
  }
  return b;
}

TEST(Zstd, DefaultLevelMatchesAFreshContextForEverySize) {
  // Small and large inputs alternate, as a backup's files do.
  const size_t sizes[] = {0, 1, 100, 4096, 8u << 20, 300, 600 * 1024, 2, 5u << 20, 17};
  uint32_t seed = 1;
  for (size_t size : sizes) {
    for (bool random : {false, true}) {
      base::Bytes data = sample(size, random, seed++);
      base::Bytes out(zstd_compress_bound(data.size()));
      size_t n = zstd_compress_into(data, zstd_level(CompressionMode::kAuto), out);
      out.resize(n);
      EXPECT_EQ(out, reference(data, 3)) << size << (random ? " random" : " text");
      auto back = zstd_decompress(out, 16u << 20);
      ASSERT_TRUE(back.ok());
      EXPECT_EQ(*back, data);
      ASSERT_EQ(zstd_content_size(out).value_or(~0ull), data.size());
    }
  }
}

TEST(Zstd, OtherLevelsStillWork) {
  base::Bytes data = sample(200000, false, 7);
  base::Bytes out;
  zstd_compress(data, zstd_level(CompressionMode::kMax), out);
  EXPECT_EQ(out, reference(data, 19));
  auto back = zstd_decompress(out, 1u << 20);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
}

}  // namespace
}  // namespace kura::repo
