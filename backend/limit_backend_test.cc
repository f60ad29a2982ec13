#include "backend/limit_backend.h"

#include <gtest/gtest.h>

#include "backend/mem_backend.h"

namespace kura::backend {
namespace {

using std::chrono::nanoseconds;
using std::chrono::seconds;

// A clock that moves only when the limiter sleeps (or the test says so), and a log of sleeps.
struct FakeTime {
  nanoseconds now{0};
  nanoseconds slept{0};
  RateLimiter::Now clock() {
    return [this] { return now; };
  }
  RateLimiter::Sleep sleeper() {
    return [this](nanoseconds d) {
      slept += d;
      now += d;
    };
  }
};

TEST(RateLimiterTest, BurstOfOneSecondPassesAtOnceThenBytesCostTime) {
  FakeTime t;
  RateLimiter l(1000, t.clock(), t.sleeper());
  l.take(1000);  // the full bucket
  EXPECT_EQ(t.slept, nanoseconds(0));
  l.take(500);
  EXPECT_EQ(t.slept, std::chrono::milliseconds(500));
  l.take(3000);
  EXPECT_EQ(t.slept, std::chrono::milliseconds(3500));
}

TEST(RateLimiterTest, IdleTimeRefillsOnlyUpToTheBurst) {
  FakeTime t;
  RateLimiter l(1000, t.clock(), t.sleeper());
  l.take(1000);
  t.now += seconds(60);  // a minute idle earns one second's worth, not sixty
  l.take(1000);
  EXPECT_EQ(t.slept, nanoseconds(0));
  l.take(1000);
  EXPECT_EQ(t.slept, seconds(1));
}

TEST(RateLimiterTest, AverageRateOverManyCallsIsTheLimit) {
  FakeTime t;
  RateLimiter l(2048, t.clock(), t.sleeper());
  for (int i = 0; i < 100; ++i) l.take(1024);  // 100 KiB at 2 KiB/s, 2 KiB free
  EXPECT_EQ(t.now, seconds(49));
}

TEST(RateLimiterTest, WaitForDoesNotTake) {
  FakeTime t;
  RateLimiter l(1000, t.clock(), t.sleeper());
  EXPECT_EQ(l.wait_for(1500), std::chrono::milliseconds(500));
  EXPECT_EQ(l.wait_for(1500), std::chrono::milliseconds(500));
  EXPECT_EQ(t.slept, nanoseconds(0));
}

TEST(LimitBackendTest, UploadsAndDownloadsHaveTheirOwnBuckets) {
  FakeTime t;
  auto mem = std::make_unique<MemBackend>();
  MemBackend* inner = mem.get();
  LimitOptions o;
  o.upload_kib_per_s = 1;     // 1024 B/s
  o.download_kib_per_s = 2;   // 2048 B/s
  o.now = t.clock();
  o.sleep = t.sleeper();
  LimitBackend b(std::move(mem), o);
  base::Bytes data(4096, 7);
  Handle h{FileKind::kPack, std::string(64, 'a')};
  ASSERT_TRUE(b.save(h, data).ok());
  EXPECT_EQ(t.slept, seconds(3));  // 4096 B, 1024 free, 3072 at 1024 B/s
  ASSERT_TRUE(inner->stat(h).ok());

  t.slept = nanoseconds(0);
  auto got = b.load(h, 0, 0);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, data);
  EXPECT_EQ(t.slept, seconds(1));  // 4096 B, 2048 free, 2048 at 2048 B/s

  base::Bytes part(2048);
  ASSERT_TRUE(b.load_into(h, 0, part).ok());
  EXPECT_EQ(t.slept, seconds(2));
}

TEST(LimitBackendTest, NoLimitsNoWrapper) {
  auto mem = std::make_unique<MemBackend>();
  Backend* raw = mem.get();
  EXPECT_EQ(limit_backend(std::move(mem), {}).get(), raw);
}

}  // namespace
}  // namespace kura::backend
