#include "base/status.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace kura::base {
namespace {

StatusOr<int> half(int x) {
  if (x % 2) return invalid_argument("odd number " + std::to_string(x));
  return x / 2;
}

StatusOr<int> quarter(int x) {
  ASSIGN_OR_RETURN(int h, half(x));
  ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

Status check_even(int x) {
  RETURN_IF_ERROR(half(x));
  return ok_status();
}

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(ok_status().ok());
  Status s = not_found("snapshot 1234");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.with_context("load").message(), "load: snapshot 1234");
}

TEST(StatusTest, MacrosPropagate) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd number 3");
  EXPECT_TRUE(check_even(4).ok());
  EXPECT_EQ(check_even(5).code(), Code::kInvalidArgument);
}

TEST(StatusTest, ErrnoMapping) {
  EXPECT_EQ(errno_status(ENOENT, "open x").code(), Code::kNotFound);
  EXPECT_EQ(errno_status(ENOSPC, "write x").code(), Code::kResourceExhausted);
  EXPECT_EQ(errno_status(EACCES, "open x").code(), Code::kPermissionDenied);
  EXPECT_EQ(errno_status(ENOENT, "open x").message(), "open x: No such file or directory");
}

TEST(StatusTest, StatusOrMoveOnly) {
  StatusOr<std::unique_ptr<int>> p = std::make_unique<int>(5);
  ASSERT_TRUE(p.ok());
  std::unique_ptr<int> v = std::move(p).value();
  EXPECT_EQ(*v, 5);
}

}  // namespace
}  // namespace kura::base
