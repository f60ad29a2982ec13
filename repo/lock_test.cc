#include "repo/lock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "repo/snapshot.h"

namespace kura::repo {
namespace {

class LockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitOptions init;
    init.kdf = {16, 1, 1};  // tiny scrypt: these tests are about locks
    auto r = Repository::init(&be_, "pw", init);
    ASSERT_TRUE(r.ok()) << r.status().message();
    repo_ = std::move(*r);
    auto r2 = Repository::open(&be_, "pw");
    ASSERT_TRUE(r2.ok()) << r2.status().message();
    other_ = std::move(*r2);
  }

  size_t lock_files() {
    auto ids = repo_->list_ids(backend::FileKind::kLock);
    EXPECT_TRUE(ids.ok());
    return ids.ok() ? ids->size() : 0;
  }

  LockOwner owner_{"host", "user", 1000, 1000, 1};
  backend::MemBackend be_;
  std::unique_ptr<Repository> repo_, other_;
};

TEST_F(LockTest, NonExclusiveLocksCoexistAndAreRemovedOnRelease) {
  auto a = RepoLock::acquire(*repo_, false, owner_);
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = RepoLock::acquire(*other_, false, owner_);
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_TRUE((*a)->confirm().ok());
  EXPECT_TRUE((*b)->confirm().ok());
  EXPECT_EQ(lock_files(), 2u);
  EXPECT_TRUE((*a)->release().ok());
  EXPECT_EQ(lock_files(), 1u);
  b->reset();
  EXPECT_EQ(lock_files(), 0u);
}

TEST_F(LockTest, ExclusiveLockExcludesOthers) {
  auto a = RepoLock::acquire(*repo_, true, owner_);
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = RepoLock::acquire(*other_, false, owner_);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), base::Code::kFailedPrecondition);
  EXPECT_NE(b.status().message().find("locked exclusively"), std::string::npos)
      << b.status().message();
  auto c = RepoLock::acquire(*other_, true, owner_);
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(lock_files(), 1u);
}

TEST_F(LockTest, ExclusiveLockWaitsForOthersToGo) {
  auto a = RepoLock::acquire(*repo_, false, owner_);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(RepoLock::acquire(*other_, true, owner_).ok());
  a->reset();
  auto b = RepoLock::acquire(*other_, true, owner_);
  EXPECT_TRUE(b.ok()) << b.status().message();
}

// The race the second look is for: an exclusive lock appears between our first look and our
// lock file. The non-exclusive holder learns it in the background, removes its own lock file,
// and every commit (index or snapshot) is refused.
TEST_F(LockTest, LateConflictBlocksCommitsOfNonExclusiveHolder) {
  auto a = RepoLock::acquire(*repo_, false, owner_);
  ASSERT_TRUE(a.ok());
  // Another process's exclusive lock file, written as if it raced with ours.
  Lock x;
  x.time = {repo_->deps().clock->now().sec, 0, 0};
  x.exclusive = true;
  x.hostname = "elsewhere";
  x.username = "admin";
  x.pid = 42;
  ASSERT_TRUE(other_->save_unpacked(backend::FileKind::kLock, encode_lock(x)).ok());

  base::Status st = (*a)->confirm();
  EXPECT_EQ(st.code(), base::Code::kFailedPrecondition) << st.message();
  EXPECT_EQ(lock_files(), 1u);  // ours is gone, theirs stays
  auto saved = repo_->save_unpacked(backend::FileKind::kSnapshot, base::Bytes{'{', '}'});
  EXPECT_FALSE(saved.ok());
  EXPECT_EQ(saved.status().code(), base::Code::kFailedPrecondition);
  auto idx = repo_->save_unpacked(backend::FileKind::kIndex, base::Bytes{'{', '}'});
  EXPECT_FALSE(idx.ok());
  // Released: the gate goes with the lock.
  a->reset();
  EXPECT_TRUE(repo_->save_unpacked(backend::FileKind::kSnapshot, base::Bytes{'{', '}'}).ok());
}

// check's exclusive lock: acquire() returns before the second look, and confirm() (before
// check reports) still catches a lock that raced with it.
TEST_F(LockTest, ExclusiveLockConfirmedLaterStillSeesARace) {
  auto a = RepoLock::acquire(*repo_, true, owner_, {}, /*confirm_later=*/true);
  ASSERT_TRUE(a.ok());
  Lock x;
  x.time = {repo_->deps().clock->now().sec, 0, 0};
  x.exclusive = false;
  x.hostname = "elsewhere";
  x.username = "backup";
  x.pid = 43;
  ASSERT_TRUE(other_->save_unpacked(backend::FileKind::kLock, encode_lock(x)).ok());
  base::Status st = (*a)->confirm();
  EXPECT_EQ(st.code(), base::Code::kFailedPrecondition) << st.message();
  EXPECT_EQ(lock_files(), 1u);  // ours is gone, theirs stays

  auto b = RepoLock::acquire(*other_, true, owner_, {}, /*confirm_later=*/true);
  EXPECT_FALSE(b.ok());  // the first look still refuses at once
}

TEST_F(LockTest, CommitsWaitForTheSecondLookAndPassWithoutConflict) {
  auto a = RepoLock::acquire(*repo_, false, owner_);
  ASSERT_TRUE(a.ok());
  // Issued at once: waits (up to kLockRecheckDelay) for the second look, then goes through.
  auto saved = repo_->save_unpacked(backend::FileKind::kSnapshot, base::Bytes{'{', '}'});
  EXPECT_TRUE(saved.ok()) << saved.status().message();
}

TEST_F(LockTest, ReleasedBeforeTheSecondLookIsFine) {
  auto a = RepoLock::acquire(*repo_, false, owner_);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE((*a)->release().ok());
  EXPECT_TRUE((*a)->confirm().ok());
  EXPECT_EQ(lock_files(), 0u);
}

// Short timings so the refresh paths run within a test.
LockTiming fast_timing() {
  LockTiming t;
  t.refresh = std::chrono::milliseconds(20);
  t.retry = std::chrono::milliseconds(10);
  t.lost_after = std::chrono::milliseconds(300);
  return t;
}

// Polls cond for up to 5 s.
template <typename F>
bool eventually(F cond) {
  for (int i = 0; i < 500; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

TEST_F(LockTest, RefreshReplacesTheLockFileAndKeepsItHeld) {
  auto a = RepoLock::acquire(*repo_, false, owner_, fast_timing());
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE((*a)->confirm().ok());
  Id first = (*a)->id();
  EXPECT_TRUE(eventually([&] { return (*a)->id() != first; }));
  for (int i = 0; i < 20; ++i) {  // held() never trips over a refresh in progress
    ASSERT_TRUE((*a)->held().ok()) << (*a)->held().message();
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
  EXPECT_EQ(lock_files(), 1u);
  EXPECT_TRUE(repo_->save_unpacked(backend::FileKind::kSnapshot, base::Bytes{'{', '}'}).ok());
}

TEST_F(LockTest, ALockRemovedByAnotherProcessStopsCommitsAndDeletes) {
  LockTiming slow;  // no refresh during the test: held() itself notices
  auto a = RepoLock::acquire(*repo_, false, owner_, slow);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE((*a)->held().ok());
  auto removed = remove_locks(*other_, true, "host");  // kura unlock --remove-all elsewhere
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  base::Status st = (*a)->held();
  EXPECT_EQ(st.code(), base::Code::kFailedPrecondition) << st.message();
  EXPECT_NE(st.message().find("repository lock lost"), std::string::npos) << st.message();
  auto saved = repo_->save_unpacked(backend::FileKind::kSnapshot, base::Bytes{'{', '}'});
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.status().message().find("lock lost"), std::string::npos);
  EXPECT_FALSE(repo_->check_commit_gate().ok());  // what prune asks before deleting
  EXPECT_TRUE((*a)->release().ok());              // its file is gone already: fine
}

TEST_F(LockTest, ABackupStopsAtItsNextPackOnceTheLockIsLost) {
  auto a = RepoLock::acquire(*repo_, false, owner_);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE((*a)->held().ok());
  ASSERT_TRUE(remove_locks(*other_, true, "host").ok());
  std::string data = "data written after the lock was lost";
  auto added = repo_->save_blob(BlobType::kData, hash_id(base::as_bytes(data)), base::as_bytes(data));
  ASSERT_TRUE(added.ok()) << added.status().message();  // still in the open pack
  base::Status st = repo_->flush();
  EXPECT_NE(st.message().find("repository lock lost"), std::string::npos) << st.message();
  auto packs = repo_->list_ids(backend::FileKind::kPack);
  ASSERT_TRUE(packs.ok());
  EXPECT_TRUE(packs->empty());
}

TEST_F(LockTest, TheRefreshNoticesARemovedLockToo) {
  auto a = RepoLock::acquire(*repo_, false, owner_, fast_timing());
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE((*a)->confirm().ok());
  ASSERT_TRUE(remove_locks(*other_, true, "host").ok());
  // The refresh must not bring the lock back as if nothing happened.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(lock_files(), 0u);
  EXPECT_EQ((*a)->held().code(), base::Code::kFailedPrecondition);
}

TEST_F(LockTest, ALockThatCannotBeRefreshedIsLostInTime) {
  backend::FaultBackend faulty(&be_);
  auto r = Repository::open(&faulty, "pw");
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto a = RepoLock::acquire(**r, false, owner_, fast_timing());
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE((*a)->confirm().ok());
  faulty.add({.op = backend::FaultOp::kSave, .kind = backend::FileKind::kLock, .times = -1,
              .status = base::unavailable("server gone")});
  EXPECT_TRUE((*a)->held().ok());  // failing refreshes alone do not end it at once
  EXPECT_TRUE(eventually([&] { return !(*a)->held().ok(); }));
  base::Status st = (*a)->held();
  EXPECT_NE(st.message().find("could not be refreshed"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("server gone"), std::string::npos) << st.message();
  faulty.clear();  // back again: a lost lock stays lost
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE((*a)->held().ok());
}

// The destructor has no caller to return an error to: it tells the command's hook, so a run
// whose lock stays behind does not end in silence (the lock then blocks prune until unlock).
TEST_F(LockTest, AFailedReleaseInTheDestructorIsReported) {
  backend::FaultBackend faulty(&be_);
  auto r = Repository::open(&faulty, "pw");
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto a = RepoLock::acquire(**r, false, owner_);
  ASSERT_TRUE(a.ok()) << a.status().message();
  Id lock_id = (*a)->id();
  Id reported;
  std::string message;
  (*a)->on_release_failure([&](const Id& id, const base::Status& st) {
    reported = id;
    message = st.message();
  });
  faulty.add({.op = backend::FaultOp::kRemove, .kind = backend::FileKind::kLock, .times = -1,
              .status = base::permission_denied("refused by the server")});
  a->reset();
  EXPECT_EQ(reported, lock_id);
  EXPECT_NE(message.find("refused by the server"), std::string::npos) << message;
  EXPECT_EQ(lock_files(), 1u);
}

}  // namespace
}  // namespace kura::repo
