// Backups under injected faults: unreadable source files (FaultEnv) and a backend that fails
// to store packs, index files or the snapshot (FaultBackend). What must hold: an unreadable
// file is reported and the snapshot is still written without it; a storage failure makes
// run_backup return an error, writes no snapshot, and leaves a repository that checks clean
// (nothing refers to data that was not stored), so that the next backup succeeds.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backend/fault_backend.h"
#include "base/fault_env.h"
#include "ops/check.h"
#include "ops/restore.h"
#include "ops/testing.h"

namespace kura::ops {
namespace {

using backend::Fault;
using backend::FaultOp;
using backend::FileKind;
using base::EnvOp;
using repo::Id;
using testing::noise;

using Recorder = testing::ErrorRecorder<BackupObserver, BackupError>;

class BackupFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = testing::init_repository(&be_, &clock_, {.pack_size = kPackSize});
    ASSERT_TRUE(r.ok()) << r.status().message();
    repo_ = std::move(*r);
    files_ = {
        {"/data/src/a.bin", noise(900 * 1024, 1)},
        {"/data/src/b.bin", noise(1300 * 1024, 2)},
        {"/data/src/secret.txt", "top secret\n"},
        {"/data/src/small.txt", "hello"},
        {"/data/src/sub/c.bin", noise(600 * 1024, 3)},
        {"/data/src/sub/d.txt", "deep"},
    };
    ASSERT_TRUE(testing::write_files(mem_, files_).ok());
  }

  static constexpr uint64_t kPackSize = 256 * 1024;  // several data packs per backup

  base::StatusOr<BackupResult> backup(Recorder* rec = nullptr) {
    BackupOptions o;
    o.targets = {"/data/src"};
    o.hostname = "host";
    o.threads = 2;
    auto res = run_backup(*repo_, env_, o, nullptr, rec);
    clock_.advance(std::chrono::minutes(1));
    return res;
  }

  std::vector<std::string> names(FileKind kind) {
    std::vector<std::string> out;
    EXPECT_TRUE(mem_be_list(kind, out).ok());
    return out;
  }
  base::Status mem_be_list(FileKind kind, std::vector<std::string>& out) {
    return mem_be_.list(kind, [&](const backend::FileEntry& e) {
      out.push_back(e.name);
      return base::ok_status();
    });
  }

  // A check by a fresh Repository (as `kura check` would run), reading all data.
  CheckResult check() {
    auto r = testing::open_repository(&mem_be_, base::system_clock(), false);
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (!r.ok()) return {};
    CheckOptions o;
    o.read_data.mode = ReadDataSelection::Mode::kAll;
    o.seed = 1;
    auto res = run_check(**r, o, nullptr, nullptr);
    EXPECT_TRUE(res.ok()) << res.status().message();
    if (!res.ok()) return {};
    for (const auto& is : res->issues) {
      if (is.error) {
        ADD_FAILURE() << "check issue kind " << static_cast<int>(is.kind) << " pack "
                      << is.pack.hex() << " id " << is.id.hex() << ": " << is.detail;
      }
    }
    return std::move(*res);
  }

  // Restores `tree` with a fresh Repository into a fresh MemEnv and compares every file
  // with the source, except those in `missing`, which must be absent.
  void expect_restores(const Id& tree, const std::vector<std::string>& missing = {}) {
    auto r = testing::open_repository(&mem_be_);
    ASSERT_TRUE(r.ok()) << r.status().message();
    base::MemEnv out;
    RestoreOptions o;
    o.target = "/restore";
    o.threads = 2;
    auto res = run_restore(**r, out, tree, o, nullptr, nullptr);
    ASSERT_TRUE(res.ok()) << res.status().message();
    for (const auto& e : res->errors) ADD_FAILURE() << e.path << ": " << e.message;
    for (const auto& [path, data] : files_) {
      std::string dest = "/restore" + path;
      bool gone = std::find(missing.begin(), missing.end(), path) != missing.end();
      if (gone) {
        EXPECT_FALSE(out.exists(dest)) << dest << " should not be in the snapshot";
        continue;
      }
      auto got = out.read_file(dest);
      ASSERT_TRUE(got.ok()) << dest << ": " << got.status().message();
      EXPECT_EQ(std::string(got->begin(), got->end()), data) << dest;
    }
  }

  base::FakeClock clock_{{1700000000, 0}};
  backend::MemBackend mem_be_;
  backend::FaultBackend be_{&mem_be_};
  std::unique_ptr<repo::Repository> repo_;
  base::MemEnv mem_;
  base::FaultEnv env_{&mem_};
  std::vector<std::pair<std::string, std::string>> files_;
};

TEST_F(BackupFaultTest, CleanBackupRestoresIdentically) {
  auto res = backup();
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_TRUE(res->errors.empty());
  EXPECT_EQ(names(FileKind::kSnapshot).size(), 1u);
  EXPECT_TRUE(check().ok());
  expect_restores(res->snapshot.tree);
}

TEST_F(BackupFaultTest, UnreadableFileIsReportedAndSnapshotIsWritten) {
  env_.fail(EnvOp::kOpenRead, "secret.txt",
            base::permission_denied("open /data/src/secret.txt: Permission denied"));
  Recorder rec;
  auto res = backup(&rec);
  ASSERT_TRUE(res.ok()) << res.status().message();
  ASSERT_EQ(res->errors.size(), 1u);
  EXPECT_NE(res->errors[0].path.find("secret.txt"), std::string::npos) << res->errors[0].path;
  EXPECT_NE(res->errors[0].message.find("secret.txt"), std::string::npos) << res->errors[0].message;
  EXPECT_NE(res->errors[0].message.find("Permission denied"), std::string::npos)
      << res->errors[0].message;
  ASSERT_EQ(rec.seen.size(), 1u);
  EXPECT_EQ(rec.seen[0].path, res->errors[0].path);
  EXPECT_FALSE(res->snapshot_id.is_zero());
  EXPECT_EQ(names(FileKind::kSnapshot), std::vector<std::string>{res->snapshot_id.hex()});
  // Regression: the unreadable file was counted as new; restic counts only what it saved.
  EXPECT_EQ(res->stats.files_new, files_.size() - 1);
  EXPECT_EQ(res->stats.total_files_processed, files_.size() - 1);
  EXPECT_TRUE(check().ok());
  // restic leaves an unreadable file out of the snapshot; so must we (no empty stand-in).
  expect_restores(res->snapshot.tree, {"/data/src/secret.txt"});

  // Once readable again, the next backup takes it in.
  env_.clear();
  auto again = backup();
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->errors.empty());
  expect_restores(again->snapshot.tree);
}

TEST_F(BackupFaultTest, ReadErrorMidFileDropsThatFileOnly) {
  // The first read returns all of b.bin (its chunks are stored); the next one, which would
  // see the end of the file, fails.
  env_.fail(EnvOp::kRead, "b.bin", base::errno_status(EIO, "read /data/src/b.bin"), 1, 1);
  auto res = backup();
  ASSERT_TRUE(res.ok()) << res.status().message();
  ASSERT_EQ(res->errors.size(), 1u);
  EXPECT_NE(res->errors[0].path.find("b.bin"), std::string::npos) << res->errors[0].path;
  EXPECT_FALSE(res->snapshot_id.is_zero());
  EXPECT_TRUE(check().ok());
  expect_restores(res->snapshot.tree, {"/data/src/b.bin"});
}

TEST_F(BackupFaultTest, UnlistableDirectoryIsReported) {
  env_.fail(EnvOp::kList, "/data/src/sub",
            base::permission_denied("open /data/src/sub: Permission denied"));
  auto res = backup();
  ASSERT_TRUE(res.ok()) << res.status().message();
  ASSERT_GE(res->errors.size(), 1u);
  EXPECT_NE(res->errors[0].path.find("/data/src/sub"), std::string::npos) << res->errors[0].path;
  EXPECT_FALSE(res->snapshot_id.is_zero());
  EXPECT_TRUE(check().ok());
}

TEST_F(BackupFaultTest, PackUploadFailureFailsWithoutSnapshot) {
  // The second data pack cannot be stored (the first one may have been).
  be_.add(Fault{.op = FaultOp::kSave, .kind = FileKind::kPack, .skip = 1, .times = -1,
                .status = base::unavailable("save data/…: injected connection reset")});
  auto res = backup();
  ASSERT_FALSE(res.ok()) << "backup succeeded although a pack could not be stored";
  EXPECT_NE(res.status().message().find("injected connection reset"), std::string::npos)
      << res.status().message();
  EXPECT_TRUE(names(FileKind::kSnapshot).empty());
  // Whatever was stored is consistent: no index lists the pack that is missing.
  EXPECT_TRUE(check().ok());

  // The next backup (new process: fresh Repository) succeeds and is complete.
  be_.clear();
  auto r = testing::open_repository(&be_, &clock_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  repo_ = std::move(*r);
  repo::WriteOptions w;
  w.pack_size = kPackSize;
  repo_->set_write_options(w);
  auto again = backup();
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(names(FileKind::kSnapshot).size(), 1u);
  EXPECT_TRUE(check().ok());
  expect_restores(again->snapshot.tree);
}

TEST_F(BackupFaultTest, FirstPackUploadFailure) {
  be_.add(Fault{.op = FaultOp::kSave, .kind = FileKind::kPack, .skip = 0, .times = 1,
                .status = base::unavailable("injected: first pack lost")});
  auto res = backup();
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(names(FileKind::kSnapshot).empty());
  EXPECT_TRUE(check().ok());
}

TEST_F(BackupFaultTest, IndexUploadFailureFailsWithoutSnapshot) {
  be_.add(Fault{.op = FaultOp::kSave, .kind = FileKind::kIndex, .times = -1,
                .status = base::unavailable("injected: index upload failed")});
  auto res = backup();
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.status().message().find("index upload failed"), std::string::npos)
      << res.status().message();
  EXPECT_TRUE(names(FileKind::kSnapshot).empty());
  EXPECT_TRUE(names(FileKind::kIndex).empty());
  // Packs without an index are only unreferenced (a hint), not an error.
  CheckResult c = check();
  EXPECT_TRUE(c.ok());
  EXPECT_GT(c.unreferenced_packs, 0u);
}

TEST_F(BackupFaultTest, SnapshotUploadFailureIsAnError) {
  be_.add(Fault{.op = FaultOp::kSave, .kind = FileKind::kSnapshot, .times = -1,
                .status = base::unavailable("injected: snapshot upload failed")});
  auto res = backup();
  ASSERT_FALSE(res.ok()) << "backup reported success without a snapshot";
  EXPECT_NE(res.status().message().find("snapshot upload failed"), std::string::npos)
      << res.status().message();
  EXPECT_TRUE(names(FileKind::kSnapshot).empty());
  EXPECT_TRUE(check().ok());
}

TEST_F(BackupFaultTest, FullBackendFailsWithoutSnapshot) {
  be_.set_free_space(1024 * 1024);  // about four of the 256 KiB packs
  auto res = backup();
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), base::Code::kResourceExhausted) << res.status().message();
  EXPECT_TRUE(names(FileKind::kSnapshot).empty());
  EXPECT_TRUE(check().ok());
}

TEST_F(BackupFaultTest, FailedBackupDoesNotDisturbEarlierSnapshot) {
  auto first = backup();
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(mem_.write_file("/data/src/new.bin", base::as_bytes(noise(800 * 1024, 9))).ok());
  be_.add(Fault{.op = FaultOp::kSave, .kind = FileKind::kPack, .times = -1,
                .status = base::unavailable("injected")});
  auto second = backup();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(names(FileKind::kSnapshot), std::vector<std::string>{first->snapshot_id.hex()});
  EXPECT_TRUE(check().ok());
  expect_restores(first->snapshot.tree);
}

}  // namespace
}  // namespace kura::ops
