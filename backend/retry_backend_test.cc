#include "backend/retry_backend.h"

#include <gtest/gtest.h>

#include <set>

#include "backend/backend_testing.h"
#include "backend/fault_backend.h"
#include "backend/mem_backend.h"

namespace kura::backend {
namespace {

using base::Bytes;
using base::Code;
using std::chrono::milliseconds;
using testing::hash_name;
using testing::random_bytes;

class RetryTest : public ::testing::Test {
 protected:
  RetryTest() {
    auto fault = std::make_unique<FaultBackend>(&mem_);
    fault_ = fault.get();
    RetryOptions opt;
    opt.sleep = [this](milliseconds d) { sleeps_.push_back(d); };
    opt.on_retry = [this](const base::Status& st, int, milliseconds) {
      retried_.push_back(st.to_string());
    };
    opt.jitter_seed = 42;
    retry_ = std::make_unique<RetryBackend>(std::move(fault), opt);
  }

  MemBackend mem_;
  FaultBackend* fault_;
  std::unique_ptr<RetryBackend> retry_;
  std::vector<milliseconds> sleeps_;
  std::vector<std::string> retried_;
};

TEST_F(RetryTest, TransientFailuresAreRetried) {
  Bytes data = random_bytes(100, 1);
  Handle h{FileKind::kPack, hash_name(data)};
  Fault f;
  f.op = FaultOp::kSave;
  f.times = 3;
  f.status = base::unavailable("save data/x: HTTP 503");
  fault_->add(f);
  base::Status st = retry_->save(h, data);
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(fault_->calls(FaultOp::kSave), 4);
  EXPECT_EQ(sleeps_.size(), 3u);
  EXPECT_EQ(retried_.size(), 3u);
  EXPECT_EQ(retried_[0], "save data/x: HTTP 503");
  EXPECT_EQ(*mem_.load(h, 0, 0), data);

  for (FaultOp op : {FaultOp::kLoad, FaultOp::kStat, FaultOp::kRemove, FaultOp::kCreate,
                     FaultOp::kList}) {
    fault_->fail_nth(op, 1, base::unavailable("blip"));
  }
  EXPECT_TRUE(retry_->load(h, 0, 0).ok());
  EXPECT_TRUE(retry_->stat(h).ok());
  EXPECT_TRUE(retry_->create().ok());
  EXPECT_TRUE(retry_->list(FileKind::kPack, [](const FileEntry&) { return base::ok_status(); }).ok());
  EXPECT_TRUE(retry_->remove(h).ok());
  EXPECT_EQ(fault_->injected(), 8);
}

TEST_F(RetryTest, BackoffGrowsWithJitterUpToTheCap) {
  Fault f;
  f.times = -1;
  f.status = base::unavailable("down");
  fault_->add(f);
  auto got = retry_->stat(Handle{FileKind::kKey, std::string(64, 'a')});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kUnavailable);
  EXPECT_EQ(got.status().message(), "down (gave up after 10 attempts)");
  EXPECT_EQ(fault_->calls(FaultOp::kStat), 10);
  ASSERT_EQ(sleeps_.size(), 9u);
  for (size_t i = 0; i < sleeps_.size(); ++i) {
    int64_t nominal = std::min<int64_t>(30000, int64_t{500} << i);
    EXPECT_GE(sleeps_[i].count(), nominal / 2) << i;
    EXPECT_LE(sleeps_[i].count(), nominal) << i;
  }
}

TEST_F(RetryTest, PermanentErrorsAreNotRetried) {
  for (base::Status err : {base::not_found("load x: no such file"),
                           base::unauthenticated("server refused credentials"),
                           base::data_loss("short"), base::permission_denied("append-only"),
                           base::resource_exhausted("No space left on device")}) {
    fault_->fail_nth(FaultOp::kLoad, 1, err);
    auto got = retry_->load(Handle{FileKind::kKey, std::string(64, 'a')}, 0, 0);
    EXPECT_EQ(got.status().code(), err.code());
    EXPECT_EQ(got.status().message(), err.message());
  }
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(RetryTest, ALostSaveResponseCountsAsSuccessWhenTheSizeMatches) {
  Bytes data = random_bytes(5000, 2);
  Handle h{FileKind::kPack, hash_name(data)};
  fault_->drop_response_after_save();
  base::Status st = retry_->save(h, data);
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(fault_->calls(FaultOp::kSave), 2);  // the retry met already_exists
  EXPECT_EQ(fault_->calls(FaultOp::kStat), 1);  // and checked the size
  EXPECT_EQ(*mem_.load(h, 0, 0), data);
}

TEST_F(RetryTest, ALostSaveResponseWithADifferentStoredSizeIsDataLoss) {
  Bytes data = random_bytes(5000, 3);
  Handle h{FileKind::kPack, hash_name(data)};
  // The first attempt "fails", and meanwhile a different file of that name appears.
  Fault f;
  f.op = FaultOp::kSave;
  f.status = base::unavailable("reset by peer");
  fault_->add(f);
  ASSERT_TRUE(mem_.save(h, random_bytes(10, 4)).ok());
  base::Status st = retry_->save(h, data);
  EXPECT_EQ(st.code(), Code::kDataLoss) << st.to_string();
  EXPECT_NE(st.message().find("10 bytes, expected 5000"), std::string::npos) << st.to_string();
}

TEST_F(RetryTest, AlreadyExistsOnTheFirstAttemptIsReported) {
  Bytes data = random_bytes(100, 5);
  Handle h{FileKind::kIndex, hash_name(data)};
  ASSERT_TRUE(mem_.save(h, data).ok());
  EXPECT_EQ(retry_->save(h, data).code(), Code::kAlreadyExists);
  EXPECT_EQ(fault_->calls(FaultOp::kStat), 0);
}

TEST_F(RetryTest, RetriedListingsShowEachNameOnce) {
  std::set<std::string> want;
  for (int i = 0; i < 5; ++i) {
    Bytes d = random_bytes(10, 10 + i);
    want.insert(hash_name(d));
    ASSERT_TRUE(mem_.save(Handle{FileKind::kSnapshot, hash_name(d)}, d).ok());
  }
  Fault f;
  f.op = FaultOp::kList;
  f.when = Fault::When::kAfter;  // every entry delivered, then the connection "drops"
  f.status = base::unavailable("connection reset");
  fault_->add(f);
  std::vector<std::string> seen;
  base::Status st = retry_->list(FileKind::kSnapshot, [&](const FileEntry& e) {
    seen.push_back(e.name);
    return base::ok_status();
  });
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(fault_->calls(FaultOp::kList), 2);
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), want);
}

TEST_F(RetryTest, TheCallbacksOwnErrorsAreNotRetried) {
  Bytes d = random_bytes(10, 20);
  ASSERT_TRUE(mem_.save(Handle{FileKind::kLock, hash_name(d)}, d).ok());
  int calls = 0;
  base::Status st = retry_->list(FileKind::kLock, [&](const FileEntry&) {
    ++calls;
    return base::unavailable("the consumer is busy");
  });
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(st.message(), "the consumer is busy");
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(sleeps_.empty());
}

TEST(RetryDelay, DefaultsFollowTheBrief) {
  RetryBackend r(new_mem_backend());
  for (int attempt = 1; attempt <= 12; ++attempt) {
    milliseconds d = r.delay_after(attempt);
    int64_t nominal = std::min<int64_t>(30000, int64_t{500} << (attempt - 1));
    EXPECT_GE(d.count(), nominal / 2);
    EXPECT_LE(d.count(), nominal);
  }
}

// The default attempts outlast a short outage: with the jitter at its lowest, the waits add up
// to a minute (restic 0.14: 10 retries, about 45 s to give up on a refusal it retries).
TEST(RetryDelay, TheDefaultsWaitAMinuteOrMoreBeforeGivingUp) {
  for (uint64_t seed : {1, 2, 3}) {
    RetryOptions opt;
    opt.jitter_seed = seed;
    RetryBackend r(new_mem_backend(), opt);
    std::chrono::milliseconds total{0};
    for (int attempt = 1; attempt < opt.max_attempts; ++attempt) total += r.delay_after(attempt);
    EXPECT_GE(total.count(), 60000) << seed;
    EXPECT_LE(total.count(), 122000) << seed;
  }
}

}  // namespace
}  // namespace kura::backend
