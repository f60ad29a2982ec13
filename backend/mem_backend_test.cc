#include "backend/mem_backend.h"

#include <gtest/gtest.h>

#include "backend/backend_testing.h"

namespace kura::backend {
namespace {

using base::Code;

TEST(MemBackend, ListCallbacksMayChangeTheBackend) {
  MemBackend mem;
  for (int i = 0; i < 10; ++i) {
    auto d = testing::random_bytes(10, i);
    ASSERT_TRUE(mem.save(Handle{FileKind::kLock, testing::hash_name(d)}, d).ok());
  }
  int n = 0;
  base::Status st = mem.list(FileKind::kLock, [&](const FileEntry& e) {
    ++n;
    return mem.remove(Handle{FileKind::kLock, e.name});
  });
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(n, 10);
  st = mem.list(FileKind::kLock, [](const FileEntry&) { return base::internal_error("unexpected"); });
  EXPECT_TRUE(st.ok());
}

TEST(MemBackend, EndOfFileEdges) {
  MemBackend mem;
  auto d = testing::random_bytes(10, 1);
  Handle h{FileKind::kKey, testing::hash_name(d)};
  ASSERT_TRUE(mem.save(h, d).ok());
  auto empty = mem.load(h, 10, 0);  // the rest of the file, which is nothing
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(mem.load(h, 11, 0).status().code(), Code::kDataLoss);
  EXPECT_EQ(mem.load(h, 10, 1).status().code(), Code::kDataLoss);
  // No overflow in offset + length.
  EXPECT_EQ(mem.load(h, 5, ~uint64_t{0}).status().code(), Code::kDataLoss);
  EXPECT_EQ(mem.load(h, ~uint64_t{0}, 2).status().code(), Code::kDataLoss);
}

TEST(BackendNames, OnlyLowercaseHexNamesAreValid) {
  EXPECT_TRUE(is_valid_name(std::string(64, '0')));
  EXPECT_TRUE(is_valid_name("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(is_valid_name("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(is_valid_name(""));
  EXPECT_FALSE(is_valid_name(std::string(65, 'a')));
  EXPECT_TRUE(check_handle(Handle{FileKind::kConfig, ""}).ok());
  base::Status st = check_handle(Handle{FileKind::kKey, std::string("bad\n\x01name")});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "invalid file name \"bad??name\" for keys: want 64 lowercase hex characters");
  EXPECT_EQ(check_handle(Handle{static_cast<FileKind>(42), std::string(64, 'a')}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ((Handle{FileKind::kPack, "ab"}).to_string(), "data/ab");
}

}  // namespace
}  // namespace kura::backend
