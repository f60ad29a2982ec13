// Restores under injected faults: a disk that fills up, files that cannot be created, packs
// that are damaged, missing or fail to download. What must hold: run_restore neither crashes
// nor reports success for a file it did not write correctly; each failure names the file
// (and the pack, when the repository is at fault); unaffected files are restored exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "backend/fault_backend.h"
#include "base/fault_env.h"
#include "ops/restore.h"
#include "ops/testing.h"
#include "repo/index.h"

namespace kura::ops {
namespace {

using backend::Fault;
using backend::FaultOp;
using backend::FileKind;
using base::EnvOp;
using repo::Id;
using testing::noise;

using Recorder = testing::ErrorRecorder<RestoreObserver, RestoreError>;

class RestoreFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = testing::init_repository(&mem_be_, &clock_, {.pack_size = 256 * 1024});
    ASSERT_TRUE(r.ok()) << r.status().message();
    base::MemEnv src;
    files_ = {
        {"/src/a.bin", noise(900 * 1024, 1)},
        {"/src/b.bin", noise(1300 * 1024, 2)},
        {"/src/small.txt", "hello"},
        {"/src/empty", ""},
        {"/src/sub/c.bin", noise(600 * 1024, 3)},
        {"/src/sub/d.txt", "deep"},
    };
    ASSERT_TRUE(testing::write_files(src, files_).ok());
    BackupOptions o;
    o.targets = {"/src"};
    o.hostname = "host";
    o.threads = 2;
    auto res = run_backup(**r, src, o, nullptr, nullptr);
    ASSERT_TRUE(res.ok()) << res.status().message();
    ASSERT_TRUE(res->errors.empty());
    tree_ = res->snapshot.tree;
    total_bytes_ = 0;
    for (const auto& [path, data] : files_) total_bytes_ += data.size();
  }

  // A fresh Repository on the fault backend, as `kura restore` would open it.
  std::unique_ptr<repo::Repository> open() {
    auto r = testing::open_repository(&be_);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(*r) : nullptr;
  }

  base::StatusOr<RestoreResult> restore(Recorder* rec, bool verify = false,
                                        const RestoreOptions& tuning = {}) {
    auto r = open();
    if (!r) return base::internal_error("open failed");
    RestoreOptions o = tuning;
    o.target = "/restore";
    o.threads = 2;
    o.verify = verify;
    return run_restore(*r, env_, tree_, o, nullptr, rec);
  }

  // Packs handed out after every file, one blob per load: the paths a large restore takes.
  static RestoreOptions split_fine() {
    RestoreOptions o;
    o.dispatch_distance = 1;
    o.part_span = 1;
    return o;
  }

  std::string dest(const std::string& src_path) { return "/restore" + src_path; }

  // Files whose restored content equals the source.
  std::set<std::string> correct_files() {
    std::set<std::string> ok;
    for (const auto& [path, data] : files_) {
      auto got = out_.read_file(dest(path));
      if (got.ok() && std::string(got->begin(), got->end()) == data) ok.insert(path);
    }
    return ok;
  }

  // Flips a byte in the middle of the largest data blob (not in a pack header, which restore
  // does not read: it goes by the index); *pack is the pack holding it.
  void corrupt_largest_data_blob(Id* pack) {
    uint64_t offset = 0, best = 0;
    open()->with_index([&](const repo::Index& index) {
      index.for_each([&](const repo::IndexEntry& e) {
        if (e.blob().type == repo::BlobType::kData && e.blob().length > best) {
          best = e.blob().length;
          *pack = index.pack_id(e.pack);
          offset = e.blob().offset + e.blob().length / 2;
        }
      });
    });
    ASSERT_GT(best, 0u);
    ASSERT_TRUE(be_.corrupt_byte({FileKind::kPack, pack->hex()}, offset).ok());
  }

  // Every data pack and the files (source paths) with a blob in it.
  std::vector<Id> data_packs() {
    auto r = open();
    std::vector<Id> out;
    r->with_index([&](const repo::Index& index) {
      std::set<Id> seen;
      index.for_each([&](const repo::IndexEntry& e) {
        if (e.blob().type == repo::BlobType::kData) seen.insert(index.pack_id(e.pack));
      });
      out.assign(seen.begin(), seen.end());
    });
    return out;
  }

  // Pack loads a restore makes before it reads data packs (the trees, while planning): a
  // clean restore loads each data pack once, after them.
  int tree_loads() {
    base::MemEnv scratch;
    auto r = open();
    RestoreOptions o;
    o.target = "/scratch";
    o.threads = 1;
    int before = be_.calls(FaultOp::kLoad);
    auto res = run_restore(*r, scratch, tree_, o, nullptr, nullptr);
    EXPECT_TRUE(res.ok() && res->errors.empty());
    int loads = be_.calls(FaultOp::kLoad) - before;
    return loads - static_cast<int>(data_packs().size());
  }

  base::FakeClock clock_{{1700000000, 0}};
  backend::MemBackend mem_be_;
  backend::FaultBackend be_{&mem_be_};
  base::MemEnv out_;
  base::FaultEnv env_{&out_};
  Id tree_;
  uint64_t total_bytes_ = 0;
  std::vector<std::pair<std::string, std::string>> files_;
};

TEST_F(RestoreFaultTest, CleanRestoreIsIdentical) {
  Recorder rec;
  auto res = restore(&rec, true);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_TRUE(res->errors.empty());
  EXPECT_EQ(correct_files().size(), files_.size());
}

TEST_F(RestoreFaultTest, PacksHandedOutDuringTheWalkRestoreIdentically) {
  int before = be_.calls(FaultOp::kLoad);
  Recorder rec;
  auto res = restore(&rec, true, split_fine());
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_TRUE(res->errors.empty());
  EXPECT_EQ(res->verified_files, files_.size());
  EXPECT_EQ(correct_files().size(), files_.size());
  // One load per blob: more than one per data pack, so packs really were cut up.
  EXPECT_GT(be_.calls(FaultOp::kLoad) - before - tree_loads(), static_cast<int>(data_packs().size()));
}

TEST(RestoreSplitTest, BlobNeededAgainAfterItsPackWentOutIsWrittenAgain) {
  // The same content in the first and the last file, with other packs in between: with packs
  // handed out after each file, the pack of the shared blobs goes out twice.
  base::FakeClock clock{{testing::kStartTime, 0}};
  backend::MemBackend be;
  auto r = testing::init_repository(&be, &clock, {.pack_size = 256 * 1024});
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::string shared = noise(700 * 1024, 7);
  testing::SourceFiles files = {
      {"/src/a/first.bin", shared},
      {"/src/b/other.bin", noise(800 * 1024, 8)},
      {"/src/b/zero.bin", std::string(600 * 1024, '\0')},
      {"/src/c/empty", ""},
      {"/src/d/last.bin", shared + "tail"},
      {"/src/d/same.bin", shared},
  };
  base::MemEnv src;
  ASSERT_TRUE(testing::write_files(src, files).ok());
  BackupOptions bo;
  bo.targets = {"/src"};
  bo.hostname = "host";
  auto backup = run_backup(**r, src, bo, nullptr, nullptr);
  ASSERT_TRUE(backup.ok()) << backup.status().message();

  for (uint64_t span : {uint64_t{1}, uint64_t{300 * 1024}, uint64_t{4} << 20}) {
    SCOPED_TRACE("part_span " + std::to_string(span));
    auto repo = testing::open_repository(&be);
    ASSERT_TRUE(repo.ok()) << repo.status().message();
    base::MemEnv out;
    RestoreOptions o;
    o.target = "/restore";
    o.threads = 2;
    o.verify = true;
    o.dispatch_distance = 1;
    o.part_span = span;
    auto res = run_restore(**repo, out, backup->snapshot.tree, o, nullptr, nullptr);
    ASSERT_TRUE(res.ok()) << res.status().message();
    EXPECT_TRUE(res->errors.empty()) << res->errors[0].path << ": " << res->errors[0].message;
    EXPECT_EQ(res->files, files.size());
    EXPECT_EQ(res->verified_files, files.size());
    for (const auto& [path, data] : files) {
      auto got = out.read_file("/restore" + path);
      ASSERT_TRUE(got.ok()) << path << ": " << got.status().message();
      EXPECT_TRUE(std::string(got->begin(), got->end()) == data) << path;
    }
  }
}

TEST_F(RestoreFaultTest, CorruptPackWithFineSplitNamesOnlyItsFiles) {
  // As CorruptPackNamesFileAndPack, with every blob loaded on its own.
  Id victim;
  ASSERT_NO_FATAL_FAILURE(corrupt_largest_data_blob(&victim));
  Recorder rec;
  auto res = restore(&rec, false, split_fine());
  ASSERT_TRUE(res.ok()) << res.status().message();
  ASSERT_EQ(res->errors.size(), 1u) << "one blob is damaged: one file fails";
  EXPECT_NE(res->errors[0].message.find(victim.short_hex()), std::string::npos) << res->errors[0].message;
  EXPECT_EQ(correct_files().size(), files_.size() - 1);
}

TEST_F(RestoreFaultTest, DiskFullReportsTheFilesAndDoesNotCrash) {
  env_.set_free_space(total_bytes_ / 3);
  Recorder rec;
  auto res = restore(&rec);
  // Either a whole-restore error or per-file errors, never a silent success.
  if (!res.ok()) {
    EXPECT_NE(res.status().message().find("No space left"), std::string::npos)
        << res.status().message();
    return;
  }
  ASSERT_FALSE(res->errors.empty()) << "restore reported success on a full disk";
  EXPECT_EQ(rec.seen.size(), res->errors.size());
  for (const auto& e : res->errors) {
    EXPECT_EQ(e.path.rfind("/restore/", 0), 0u) << e.path;
    EXPECT_NE(e.message.find("No space left on device"), std::string::npos) << e.message;
  }
  // A file that is reported was not counted as restored; the others are intact.
  std::set<std::string> failed;
  for (const auto& e : res->errors) failed.insert(e.path);
  std::set<std::string> good = correct_files();
  for (const auto& [path, data] : files_) {
    if (!failed.count(dest(path))) {
      EXPECT_TRUE(good.count(path)) << path << " not reported, but its content is wrong";
    }
  }
  EXPECT_LT(good.size(), files_.size());

  // With space again, a second run completes and is identical.
  env_.clear();
  auto again = restore(nullptr, true);
  ASSERT_TRUE(again.ok()) << again.status().message();
  for (const auto& e : again->errors) ADD_FAILURE() << e.path << ": " << e.message;
  EXPECT_EQ(correct_files().size(), files_.size());
}

TEST_F(RestoreFaultTest, DiskFullFromTheStart) {
  env_.set_free_space(0);
  auto res = restore(nullptr);
  if (res.ok()) {
    // Empty files need no space; every other file must be reported.
    std::set<std::string> failed;
    for (const auto& e : res->errors) failed.insert(e.path);
    for (const auto& [path, data] : files_) {
      if (!data.empty()) {
        EXPECT_TRUE(failed.count(dest(path))) << path << " not reported";
      }
    }
  }
}

TEST_F(RestoreFaultTest, FileThatCannotBeCreatedIsReported) {
  env_.fail(EnvOp::kOpenWrite, "b.bin", base::permission_denied("open /restore/src/b.bin: Permission denied"));
  Recorder rec;
  auto res = restore(&rec);
  ASSERT_TRUE(res.ok()) << res.status().message();
  ASSERT_EQ(res->errors.size(), 1u);
  EXPECT_EQ(res->errors[0].path, dest("/src/b.bin"));
  EXPECT_NE(res->errors[0].message.find("Permission denied"), std::string::npos);
  std::set<std::string> good = correct_files();
  EXPECT_EQ(good.size(), files_.size() - 1);
  EXPECT_FALSE(good.count("/src/b.bin"));
}

TEST_F(RestoreFaultTest, WriteErrorIsReported) {
  env_.fail(EnvOp::kWrite, "a.bin", base::errno_status(EIO, "write /restore/src/a.bin"));
  auto res = restore(nullptr);
  ASSERT_TRUE(res.ok()) << res.status().message();
  ASSERT_EQ(res->errors.size(), 1u);
  EXPECT_EQ(res->errors[0].path, dest("/src/a.bin"));
  EXPECT_EQ(correct_files().size(), files_.size() - 1);
}

TEST_F(RestoreFaultTest, CorruptPackNamesFileAndPack) {
  Id victim;
  ASSERT_NO_FATAL_FAILURE(corrupt_largest_data_blob(&victim));
  Recorder rec;
  auto res = restore(&rec);
  ASSERT_TRUE(res.ok()) << res.status().message();
  ASSERT_FALSE(res->errors.empty()) << "a damaged pack went unnoticed";
  for (const auto& e : res->errors) {
    EXPECT_EQ(e.path.rfind("/restore/src/", 0), 0u) << e.path;
    EXPECT_NE(e.message.find(victim.short_hex()), std::string::npos)
        << "error does not name pack " << victim.hex() << ": " << e.message;
  }
  // Every file not reported is correct.
  std::set<std::string> failed;
  for (const auto& e : res->errors) failed.insert(e.path);
  std::set<std::string> good = correct_files();
  for (const auto& [path, data] : files_) {
    if (!failed.count(dest(path))) {
      EXPECT_TRUE(good.count(path)) << path;
    }
  }
}

TEST_F(RestoreFaultTest, MissingPackNamesFileAndPack) {
  std::vector<Id> packs = data_packs();
  ASSERT_FALSE(packs.empty());
  const Id& victim = packs.back();
  ASSERT_TRUE(mem_be_.remove({FileKind::kPack, victim.hex()}).ok());
  auto res = restore(nullptr);
  ASSERT_TRUE(res.ok()) << res.status().message();
  ASSERT_FALSE(res->errors.empty()) << "a missing pack went unnoticed";
  for (const auto& e : res->errors) {
    EXPECT_NE(e.message.find(victim.hex().substr(0, 8)), std::string::npos) << e.message;
  }
  EXPECT_LT(correct_files().size(), files_.size());
}

TEST_F(RestoreFaultTest, CorruptedDownloadIsNotWritten) {
  // The first data pack download arrives damaged.
  be_.add(Fault{.op = FaultOp::kLoad, .kind = FileKind::kPack, .skip = tree_loads(), .times = 1,
                .when = Fault::When::kCorruptResult});
  auto res = restore(nullptr);
  ASSERT_TRUE(res.ok()) << res.status().message();
  // Exactly the files of the bad download fail; nothing wrong is kept silently.
  std::set<std::string> failed;
  for (const auto& e : res->errors) failed.insert(e.path);
  EXPECT_FALSE(failed.empty());
  std::set<std::string> good = correct_files();
  for (const auto& [path, data] : files_) {
    if (!failed.count(dest(path))) {
      EXPECT_TRUE(good.count(path)) << path;
    }
  }
}

TEST_F(RestoreFaultTest, UnreadableTreeFailsTheRestore) {
  // Planning cannot proceed without the trees: a whole-restore error naming the pack.
  be_.add(Fault{.op = FaultOp::kLoad, .kind = FileKind::kPack, .times = -1,
                .status = base::unavailable("injected: connection refused")});
  auto res = restore(nullptr);
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.status().message().find("connection refused"), std::string::npos)
      << res.status().message();
  EXPECT_NE(res.status().message().find("pack"), std::string::npos) << res.status().message();
}

TEST_F(RestoreFaultTest, FailingDownloadIsReported) {
  // Trees load; every data pack download fails.
  be_.add(Fault{.op = FaultOp::kLoad, .kind = FileKind::kPack, .skip = tree_loads(), .times = -1,
                .status = base::unavailable("injected: connection refused")});
  auto res = restore(nullptr);
  ASSERT_TRUE(res.ok()) << res.status().message();
  ASSERT_FALSE(res->errors.empty());
  for (const auto& e : res->errors) {
    EXPECT_NE(e.message.find("connection refused"), std::string::npos) << e.message;
  }
  // Files needing no pack are still restored.
  auto empty = out_.read_file(dest("/src/empty"));
  EXPECT_TRUE(empty.ok());
}

}  // namespace
}  // namespace kura::ops
