#include "ops/stats.h"

#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "ops/testing.h"

namespace kura::ops {
namespace {

class StatsTest : public testing::RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    ASSERT_TRUE(env_.make_dirs("/d/src/sub", 0755).ok());
    write("/d/src/a.txt", "hello");
    write("/d/src/b.txt", "hello");  // same content as a.txt
    write("/d/src/c.txt", "world");
    ASSERT_TRUE(env_.make_hardlink("/d/src/c.txt", "/d/src/h").ok());
    ASSERT_TRUE(env_.make_symlink("a.txt", "/d/src/l").ok());
    write("/d/src/sub/d.txt", "hello");
  }

  repo::Id backup() { return RepoTest::backup({"/d/src"}).snapshot.tree; }

  StatsResult stats(const std::vector<repo::Id>& trees, StatsMode mode) {
    auto res = compute_stats(*repo_, trees, mode);
    EXPECT_TRUE(res.ok()) << res.status().message();
    return res.ok() ? *res : StatsResult{};
  }
};

TEST_F(StatsTest, RestoreSizeCountsEveryNodeAndHardLinksOnce) {
  repo::Id t = backup();
  StatsResult s = stats({t}, StatsMode::kRestoreSize);
  EXPECT_EQ(s.snapshots_count, 1u);
  // d, src, a.txt, b.txt, c.txt, h, l, sub, sub/d.txt: restic counts folders and links too
  EXPECT_EQ(s.total_file_count, 9u);
  EXPECT_EQ(s.total_size, 20u);  // h shares c.txt's inode
  EXPECT_EQ(s.total_blob_count, 0u);

  write("/d/src/e.txt", "new!");
  repo::Id t2 = backup();
  StatsResult both = stats({t, t2}, StatsMode::kRestoreSize);
  EXPECT_EQ(both.snapshots_count, 2u);
  EXPECT_EQ(both.total_file_count, 9u + 10u);
  EXPECT_EQ(both.total_size, 20u + 24u);
}

TEST_F(StatsTest, FilesByContentsCountsEachContentOnce) {
  repo::Id t = backup();
  StatsResult s = stats({t}, StatsMode::kFilesByContents);
  // "hello", "world", and (as in restic) one entry for the empty content of the first folder
  EXPECT_EQ(s.total_file_count, 3u);
  EXPECT_EQ(s.total_size, 10u);
  write("/d/src/e.txt", "new!");
  repo::Id t2 = backup();
  StatsResult both = stats({t, t2}, StatsMode::kFilesByContents);
  EXPECT_EQ(both.total_file_count, 4u);
  EXPECT_EQ(both.total_size, 14u);
}

TEST_F(StatsTest, BlobsPerFile) {
  repo::Id t = backup();
  StatsResult s = stats({t}, StatsMode::kBlobsPerFile);
  EXPECT_EQ(s.total_file_count, 2u);  // a.txt and c.txt: the first file of each content
  EXPECT_EQ(s.total_blob_count, 2u);
  EXPECT_EQ(s.total_size, 10u);
}

TEST_F(StatsTest, RawDataCountsUniqueBlobsAsStored) {
  repo::Id t = backup();
  repo::Id t2 = backup();  // nothing changed: the same blobs
  StatsResult s = stats({t, t2}, StatsMode::kRawData);
  EXPECT_EQ(s.snapshots_count, 2u);
  uint64_t stored = 0, full = 0, count = 0;
  repo_->with_index([&](const repo::Index& idx) {
    idx.for_each([&](const repo::IndexEntry& e) {
      stored += e.length;
      full += e.blob().plain_length() + crypto::kCiphertextOverhead;
      ++count;
    });
    return 0;
  });
  EXPECT_EQ(count, 6u);  // hello, world; trees of the root, d, src and sub
  EXPECT_EQ(s.total_blob_count, count);
  EXPECT_EQ(s.total_size, stored);
  EXPECT_EQ(s.total_uncompressed_size, full);  // a v2 repository
  EXPECT_GT(s.compression_space_saving, -1000.0);
  EXPECT_EQ(s.total_file_count, 0u);
}

TEST_F(StatsTest, MissingTreeIsAnError) {
  repo::Id bogus;
  bogus.bytes.fill(7);
  for (StatsMode m : {StatsMode::kRestoreSize, StatsMode::kRawData}) {
    auto res = compute_stats(*repo_, {bogus}, m);
    ASSERT_FALSE(res.ok());
    EXPECT_NE(res.status().message().find(bogus.hex()), std::string::npos) << res.status().message();
  }
}

TEST(StatsMode, ParsesResticNames) {
  for (const char* name : {"restore-size", "files-by-contents", "raw-data", "blobs-per-file"}) {
    auto m = parse_stats_mode(name);
    ASSERT_TRUE(m.ok()) << name;
    EXPECT_EQ(stats_mode_name(*m), name);
  }
  for (const char* bad : {"", "raw", "RAW-DATA", "restore-size ", "\xff"}) {
    auto m = parse_stats_mode(bad);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), base::Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace kura::ops
