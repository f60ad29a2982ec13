#include "base/bytes.h"

#include <gtest/gtest.h>

namespace kura::base {
namespace {

TEST(BytesTest, Hex) {
  EXPECT_EQ(hex_encode(to_bytes("\x01\xab\xff")), "01abff");
  EXPECT_EQ(*hex_decode("01ABff"), to_bytes("\x01\xab\xff"));
  EXPECT_FALSE(hex_decode("abc").ok());
  EXPECT_FALSE(hex_decode("zz").ok());
  uint8_t out[3];
  EXPECT_TRUE(hex_decode_into("01ABff", out));
  EXPECT_EQ(Bytes(out, out + 3), to_bytes("\x01\xab\xff"));
  EXPECT_FALSE(hex_decode_into("01ABf", out));    // too short for out
  EXPECT_FALSE(hex_decode_into("01ABff00", out));  // too long
  EXPECT_FALSE(hex_decode_into("01AgFF", out));    // not hex
  EXPECT_EQ(hex_digit('7'), 7);
  EXPECT_EQ(hex_digit('F'), 15);
  EXPECT_EQ(hex_digit('g'), -1);
}

TEST(BytesTest, Base64Rfc4648Vectors) {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(base64_encode(as_bytes(plain[i])), enc[i]);
    auto d = base64_decode(enc[i]);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(as_chars(*d), plain[i]);
  }
}

TEST(BytesTest, Base64RejectsGarbage) {
  for (const char* bad : {"Zg=", "Z===", "Zg=a", "Zm9v!A==", "Zm 9v", "=Zg=", "Zg==Zg=="}) {
    EXPECT_FALSE(base64_decode(bad).ok()) << bad;
  }
}

TEST(BytesTest, LittleEndian) {
  uint8_t b[8];
  store_le64(b, 0x0102030405060708ull);
  EXPECT_EQ(b[0], 8);
  EXPECT_EQ(load_le64(b), 0x0102030405060708ull);
  store_le32(b, 0xdeadbeef);
  EXPECT_EQ(load_le32(b), 0xdeadbeefu);
}

}  // namespace
}  // namespace kura::base

namespace kura::base {
namespace {

TEST(ScratchBuffer, LargeOnesAreAlignedMappingsThatStartZeroed) {
  ScratchBuffer b;
  b.reserve(100);
  EXPECT_GE(b.capacity(), 100u);
  b.reserve(kLargePage + 1);
  ASSERT_NE(b.data(), nullptr);
  EXPECT_EQ(b.capacity(), 2 * kLargePage);  // rounded up to whole large pages
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % kLargePage, 0u);
  EXPECT_EQ(b.data()[0], 0);
  EXPECT_EQ(b.data()[b.capacity() - 1], 0);
  b.data()[b.capacity() - 1] = 7;
  ScratchBuffer moved = std::move(b);
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(moved.data()[moved.capacity() - 1], 7);
  moved.trim(kLargePage);
  EXPECT_EQ(moved.capacity(), 0u);
  moved.reserve(10);
  EXPECT_GE(moved.capacity(), 10u);
}

TEST(ZeroedArray, SmallAndLargeStartZeroedAndMove) {
  struct Entry {
    uint64_t a;
    bool used;
  };
  for (size_t n : {size_t{10}, 3 * kLargePage / sizeof(Entry)}) {
    ZeroedArray<Entry> arr(n);
    ASSERT_EQ(arr.size(), n);
    for (const Entry& e : arr) ASSERT_TRUE(e.a == 0 && !e.used);
    arr[n - 1].a = 42;
    ZeroedArray<Entry> other(1);
    other.swap(arr);
    EXPECT_EQ(other.size(), n);
    EXPECT_EQ(other[n - 1].a, 42u);
    ZeroedArray<Entry> moved = std::move(other);
    EXPECT_EQ(moved[n - 1].a, 42u);
    EXPECT_EQ(other.size(), 0u);
  }
}

}  // namespace
}  // namespace kura::base
