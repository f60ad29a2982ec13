#include "ops/diff.h"

#include <gtest/gtest.h>

#include "ops/testing.h"

namespace kura::ops {
namespace {

class DiffTest : public testing::RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    ASSERT_TRUE(env_.make_dirs("/d/src/sub", 0755).ok());
  }

  repo::Id backup() { return RepoTest::backup({"/d/src"}).snapshot.tree; }

  std::vector<std::string> diff(const repo::Id& a, const repo::Id& b, bool metadata, DiffResult* out = nullptr) {
    std::vector<std::string> lines;
    DiffOptions o;
    o.metadata = metadata;
    auto res = diff_trees(*repo_, a, b, o, [&](const DiffChange& c) { lines.push_back(c.modifier + " " + c.path); });
    EXPECT_TRUE(res.ok()) << res.status().message();
    if (res.ok() && out) *out = *res;
    return lines;
  }
};

TEST_F(DiffTest, SameTreeHasNoChanges) {
  write("/d/src/a.txt", "alpha");
  repo::Id t = backup();
  DiffResult res;
  EXPECT_TRUE(diff(t, t, true, &res).empty());
  EXPECT_EQ(res.changed_files, 0u);
  EXPECT_EQ(res.added.data_blobs + res.removed.data_blobs + res.added.tree_blobs + res.removed.tree_blobs, 0u);
}

TEST_F(DiffTest, ReportsEveryKindOfChange) {
  write("/d/src/keep.txt", "unchanged");
  write("/d/src/mod.txt", "old content");
  write("/d/src/gone.txt", "to be removed");
  write("/d/src/meta.txt", "same bytes");
  write("/d/src/type", "a file first");
  write("/d/src/sub/inner.txt", "inner");
  ASSERT_TRUE(env_.make_dirs("/d/src/olddir", 0755).ok());
  write("/d/src/olddir/x", "x content");
  repo::Id t1 = backup();

  write("/d/src/mod.txt", "new content!");
  ASSERT_TRUE(env_.remove_file("/d/src/gone.txt").ok());
  ASSERT_TRUE(env_.set_times("/d/src/meta.txt", {1600000000, 0}, {1600000000, 0}).ok());
  ASSERT_TRUE(env_.remove_file("/d/src/type").ok());
  ASSERT_TRUE(env_.make_symlink("keep.txt", "/d/src/type").ok());
  ASSERT_TRUE(env_.make_dirs("/d/src/newdir/deeper", 0755).ok());
  write("/d/src/newdir/deeper/y", "y content");
  write("/d/src/added.txt", "added");
  ASSERT_TRUE(env_.remove_file("/d/src/olddir/x").ok());
  ASSERT_TRUE(env_.remove_dir("/d/src/olddir").ok());
  repo::Id t2 = backup();

  DiffResult res;
  auto lines = diff(t1, t2, false, &res);
  std::vector<std::string> want = {
      "+ /d/src/added.txt",       "- /d/src/gone.txt",  "M /d/src/mod.txt",     "+ /d/src/newdir/",
      "+ /d/src/newdir/deeper/", "+ /d/src/newdir/deeper/y", "- /d/src/olddir/", "- /d/src/olddir/x",
      "T /d/src/type",
  };
  EXPECT_EQ(lines, want);
  EXPECT_EQ(res.changed_files, 1u);
  EXPECT_EQ(res.added.files, 2u);    // added.txt, y
  EXPECT_EQ(res.added.dirs, 2u);     // newdir, deeper
  EXPECT_EQ(res.removed.files, 2u);  // gone.txt, x
  EXPECT_EQ(res.removed.dirs, 1u);
  // new content of mod.txt, added.txt, y; gone: old mod.txt, gone.txt, x, the old "type" file
  EXPECT_EQ(res.added.data_blobs, 3u);
  EXPECT_EQ(res.removed.data_blobs, 4u);
  EXPECT_GT(res.added.bytes, 12u + 5 + 9);  // the new data, plus the new trees
  EXPECT_GT(res.added.tree_blobs, 0u);
  EXPECT_TRUE(res.warnings.empty());

  // With --metadata, the touched file, the changed folders and the root show up as "U".
  auto meta = diff(t1, t2, true);
  EXPECT_NE(std::find(meta.begin(), meta.end(), "U /d/src/meta.txt"), meta.end());
  EXPECT_NE(std::find(meta.begin(), meta.end(), "U /d/src/"), meta.end());
  EXPECT_EQ(std::find(meta.begin(), meta.end(), "U /d/src/keep.txt"), meta.end());
  EXPECT_EQ(std::find(meta.begin(), meta.end(), "U /d/src/sub/"), meta.end());

  // Reversed, additions become removals.
  DiffResult back;
  auto rev = diff(t2, t1, false, &back);
  EXPECT_NE(std::find(rev.begin(), rev.end(), "- /d/src/added.txt"), rev.end());
  EXPECT_EQ(back.added.data_blobs, res.removed.data_blobs);
  EXPECT_EQ(back.removed.bytes, res.added.bytes);
}

TEST_F(DiffTest, BlobsStillUsedInSharedSubtreesAreNotCounted) {
  write("/d/src/sub/shared.txt", "content used twice");
  repo::Id t1 = backup();
  write("/d/src/copy.txt", "content used twice");  // same blob as sub/shared.txt, whose tree is unchanged
  repo::Id t2 = backup();
  DiffResult res;
  auto lines = diff(t1, t2, false, &res);
  EXPECT_EQ(lines, std::vector<std::string>{"+ /d/src/copy.txt"});
  EXPECT_EQ(res.added.files, 1u);
  EXPECT_EQ(res.added.data_blobs, 0u);
  EXPECT_EQ(res.added.tree_blobs, 3u);  // new root, /d and /d/src
  EXPECT_EQ(res.removed.tree_blobs, 3u);
}

TEST_F(DiffTest, UnknownTreeIsAnError) {
  write("/d/src/a.txt", "alpha");
  repo::Id t = backup();
  repo::Id bogus;
  bogus.bytes.fill(0xab);
  DiffOptions o;
  auto res = diff_trees(*repo_, t, bogus, o, nullptr);
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.status().message().find(bogus.hex()), std::string::npos) << res.status().message();
}

TEST(NodesEqual, ComparesInstantsNotOffsets) {
  repo::Node a;
  a.name = "x";
  a.mtime = {100, 5, 3600};
  repo::Node b = a;
  b.mtime.offset = 0;
  EXPECT_TRUE(nodes_equal(a, b));
  b.mtime.nsec = 6;
  EXPECT_FALSE(nodes_equal(a, b));
  b = a;
  b.xattrs = {{"user.a", {1}}};
  EXPECT_FALSE(nodes_equal(a, b));
  a.xattrs = {{"user.a", {1}}};
  EXPECT_TRUE(nodes_equal(a, b));
}

}  // namespace
}  // namespace kura::ops
