#include "backend/fault_backend.h"

#include <gtest/gtest.h>

#include "backend/backend_testing.h"
#include "backend/mem_backend.h"

namespace kura::backend {
namespace {

using base::Bytes;
using base::Code;
using testing::hash_name;
using testing::random_bytes;

class FaultTest : public ::testing::Test {
 protected:
  Handle put(FileKind kind, size_t n, uint64_t seed, Bytes* out = nullptr) {
    Bytes data = random_bytes(n, seed);
    Handle h{kind, hash_name(data)};
    EXPECT_TRUE(mem_.save(h, data).ok());
    if (out) *out = data;
    return h;
  }
  MemBackend mem_;
  FaultBackend fault_{&mem_};
};

TEST_F(FaultTest, FailsTheNthCallOnly) {
  Handle h = put(FileKind::kKey, 10, 1);
  fault_.fail_nth(FaultOp::kLoad, 2, base::unavailable("boom"));
  EXPECT_TRUE(fault_.load(h, 0, 0).ok());
  auto second = fault_.load(h, 0, 0);
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_EQ(second.status().message(), "boom");
  EXPECT_TRUE(fault_.load(h, 0, 0).ok());
  EXPECT_TRUE(fault_.stat(h).ok());  // other operations are not affected
  EXPECT_EQ(fault_.calls(FaultOp::kLoad), 3);
  EXPECT_EQ(fault_.calls(FaultOp::kAny), 4);
  EXPECT_EQ(fault_.injected(), 1);
}

TEST_F(FaultTest, FaultsCanTargetOneKindAndRepeat) {
  Handle k = put(FileKind::kKey, 10, 2);
  Handle p = put(FileKind::kPack, 10, 3);
  Fault f;
  f.op = FaultOp::kStat;
  f.kind = FileKind::kPack;
  f.times = -1;
  f.status = base::permission_denied("no packs today");
  fault_.add(f);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(fault_.stat(k).ok());
    EXPECT_EQ(fault_.stat(p).status().code(), Code::kPermissionDenied);
  }
  fault_.clear();
  EXPECT_TRUE(fault_.stat(p).ok());
}

TEST_F(FaultTest, ABeforeFaultDoesNotReachTheInnerBackend) {
  Bytes data = random_bytes(10, 4);
  Handle h{FileKind::kLock, hash_name(data)};
  fault_.fail_nth(FaultOp::kSave, 1, base::unavailable("refused"));
  EXPECT_EQ(fault_.save(h, data).code(), Code::kUnavailable);
  EXPECT_EQ(mem_.stat(h).status().code(), Code::kNotFound);
}

TEST_F(FaultTest, DroppedResponsesStoreTheFile) {
  Bytes data = random_bytes(100, 5);
  Handle h{FileKind::kPack, hash_name(data)};
  fault_.drop_response_after_save();
  base::Status st = fault_.save(h, data);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(*mem_.load(h, 0, 0), data);
  EXPECT_EQ(fault_.save(h, data).code(), Code::kAlreadyExists);
}

TEST_F(FaultTest, AFullDiskStoresNothing) {
  fault_.set_full_disk(true);
  Bytes data = random_bytes(100, 6);
  Handle h{FileKind::kPack, hash_name(data)};
  base::Status st = fault_.save(h, data);
  EXPECT_EQ(st.code(), Code::kResourceExhausted);
  EXPECT_NE(st.message().find("save data/" + h.name), std::string::npos) << st.to_string();
  EXPECT_EQ(mem_.stat(h).status().code(), Code::kNotFound);
  fault_.set_full_disk(false);
  EXPECT_TRUE(fault_.save(h, data).ok());
}

TEST_F(FaultTest, FreeSpaceRunsOut) {
  fault_.set_free_space(250);
  for (int i = 0; i < 2; ++i) {
    Bytes d = random_bytes(100, 10 + i);
    EXPECT_TRUE(fault_.save(Handle{FileKind::kPack, hash_name(d)}, d).ok());
  }
  Bytes d = random_bytes(100, 12);
  EXPECT_EQ(fault_.save(Handle{FileKind::kPack, hash_name(d)}, d).code(),
            Code::kResourceExhausted);
  Bytes small = random_bytes(50, 13);
  EXPECT_TRUE(fault_.save(Handle{FileKind::kPack, hash_name(small)}, small).ok());
  fault_.set_free_space(std::nullopt);
  EXPECT_TRUE(fault_.save(Handle{FileKind::kPack, hash_name(d)}, d).ok());
}

TEST_F(FaultTest, TruncateAndCorruptDamageTheStoredFile) {
  Bytes data;
  Handle h = put(FileKind::kPack, 100, 7, &data);
  ASSERT_TRUE(fault_.corrupt_byte(h, 40).ok());
  Bytes got = *mem_.load(h, 0, 0);
  EXPECT_EQ(got[40], data[40] ^ 0x01);
  got[40] = data[40];
  EXPECT_EQ(got, data);
  ASSERT_TRUE(fault_.truncate_file(h, 60).ok());
  EXPECT_EQ(*mem_.stat(h), 60u);
  EXPECT_EQ(fault_.load(h, 50, 20).status().code(), Code::kDataLoss);
  EXPECT_EQ(fault_.corrupt_byte(h, 60).code(), Code::kInvalidArgument);
  EXPECT_EQ(fault_.truncate_file(h, 61).code(), Code::kInvalidArgument);
  EXPECT_EQ(fault_.truncate_file(Handle{FileKind::kPack, std::string(64, 'f')}, 1).code(),
            Code::kNotFound);
}

TEST_F(FaultTest, CorruptionInTransitLeavesTheStoredFileAlone) {
  Bytes data;
  Handle h = put(FileKind::kIndex, 100, 8, &data);
  Fault f;
  f.op = FaultOp::kLoad;
  f.when = Fault::When::kCorruptResult;
  fault_.add(f);
  Bytes got = *fault_.load(h, 0, 0);
  EXPECT_NE(got, data);
  EXPECT_EQ(*fault_.load(h, 0, 0), data);
  EXPECT_EQ(*mem_.load(h, 0, 0), data);
}

TEST_F(FaultTest, AfterFaultsOnListDeliverEntriesThenFail) {
  put(FileKind::kSnapshot, 10, 9);
  Fault f;
  f.op = FaultOp::kList;
  f.when = Fault::When::kAfter;
  fault_.add(f);
  int n = 0;
  base::Status st = fault_.list(FileKind::kSnapshot, [&](const FileEntry&) {
    ++n;
    return base::ok_status();
  });
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(n, 1);
}

}  // namespace
}  // namespace kura::backend
