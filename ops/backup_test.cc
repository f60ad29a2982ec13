// kura backup's decisions that restic 0.14 makes the same way: --stdin names with folders,
// empty standard input, --exclude-caches / --exclude-if-present / --exclude-larger-than, the
// "added" byte count, --ignore-inode / --ignore-ctime and --time.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "ops/backup.h"
#include "ops/targets.h"
#include "ops/testing.h"
#include "ops/walk.h"
#include "repo/tree.h"

namespace kura::ops {
namespace {

using repo::Node;
using repo::NodeType;
using testing::noise;

// Standard input in a test: the bytes of a string.
class StringFile : public base::ReadableFile {
 public:
  explicit StringFile(std::string data) : data_(std::move(data)) {}
  base::StatusOr<size_t> read_at(uint64_t offset, base::MutableByteSpan buf) override {
    if (offset >= data_.size()) return size_t{0};
    size_t n = std::min<size_t>(buf.size(), data_.size() - offset);
    std::memcpy(buf.data(), data_.data() + offset, n);
    return n;
  }
  base::StatusOr<size_t> read(base::MutableByteSpan buf) override {
    ASSIGN_OR_RETURN(size_t n, read_at(pos_, buf));
    pos_ += n;
    return n;
  }
  base::StatusOr<base::FileInfo> stat() override { return base::FileInfo{}; }

 private:
  std::string data_;
  uint64_t pos_ = 0;
};

class Warnings : public BackupObserver {
 public:
  void on_error(const std::string& path, const base::Status& st) override {
    errors.push_back(path + ": " + st.message());
  }
  void on_warning(const std::string& message) override { warnings.push_back(message); }
  std::vector<std::string> errors, warnings;
};

class BackupTest : public testing::RepoTest {
 protected:
  void put(const std::string& path, const std::string& data) {
    ASSERT_TRUE(testing::write_files(env_, {{path, data}}).ok()) << path;
  }
  base::StatusOr<BackupResult> backup_stdin(const std::string& data, const std::string& name,
                                            Warnings* w = nullptr) {
    StringFile in(data);
    BackupOptions o;
    o.hostname = "host";
    o.stdin_file = &in;
    o.stdin_filename = name;
    auto res = run_backup(*repo_, env_, o, nullptr, w);
    clock_.advance(std::chrono::minutes(1));
    return res;
  }

  // "path type" of every node below tree, depth first.
  std::vector<std::string> listing(const repo::Id& tree, const std::string& prefix = "") {
    std::vector<std::string> out;
    auto nodes = load_tree(*repo_, tree);
    EXPECT_TRUE(nodes.ok()) << nodes.status().message();
    if (!nodes.ok()) return out;
    for (const Node& n : *nodes) {
      std::string p = prefix + "/" + n.name;
      out.push_back(p + (n.type == NodeType::kDir ? "/" : ""));
      if (n.type == NodeType::kDir && n.subtree) {
        auto sub = listing(*n.subtree, p);
        out.insert(out.end(), sub.begin(), sub.end());
      }
    }
    return out;
  }

  size_t snapshot_count() {
    size_t n = 0;
    EXPECT_TRUE(be_->list(backend::FileKind::kSnapshot, [&](const backend::FileEntry&) {
                     ++n;
                     return base::ok_status();
                   }).ok());
    return n;
  }
};

// Regression: the node was named "db/dump.sql", which no restore accepts.
TEST_F(BackupTest, StdinFilenameWithFoldersMakesFolderNodes) {
  auto res = backup_stdin("SELECT 1;\n", "db/daily/dump.sql");
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(res->snapshot.paths, std::vector<std::string>{"/db/daily/dump.sql"});
  EXPECT_EQ(listing(res->snapshot.tree),
            (std::vector<std::string>{"/db/", "/db/daily/", "/db/daily/dump.sql"}));
  auto root = load_tree(*repo_, res->snapshot.tree);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ((*root)[0].mode, repo::kGoModeDir | 0755);
  EXPECT_EQ(res->stats.dirs_new, 2u);  // as restic: the folders count, the root does not
}

TEST_F(BackupTest, StdinFilenameDotDotCannotClimbAboveTheRoot) {
  auto res = backup_stdin("x", "../../x.sql");
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(res->snapshot.paths, std::vector<std::string>{"/x.sql"});
  EXPECT_EQ(listing(res->snapshot.tree), std::vector<std::string>{"/x.sql"});
  for (std::string bad : {"..", "/", ""}) {
    auto r = backup_stdin("x", bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "'";
  }
  EXPECT_EQ(snapshot_count(), 1u);
}

// Regression: a failed producer (empty stream) gave an empty snapshot and success.
TEST_F(BackupTest, EmptyStdinWritesNoSnapshot) {
  Warnings w;
  auto res = backup_stdin("", "db.sql", &w);
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.status().message().find("snapshot is empty"), std::string::npos);
  ASSERT_EQ(w.errors.size(), 1u);
  EXPECT_EQ(w.errors[0], "/db.sql: read /db.sql: no data read");
  EXPECT_EQ(snapshot_count(), 0u);
}

// Regression: the folder with CACHEDIR.TAG was dropped; restic keeps it and the tag.
TEST_F(BackupTest, ExcludeCachesKeepsTheFolderAndItsTag) {
  put("/src/cache/CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n# x\n");
  put("/src/cache/blob", "cached");
  put("/src/cache/sub/deep", "deep");
  put("/src/fake/CACHEDIR.TAG", "Signature: wrong");
  put("/src/fake/f", "f");
  put("/src/keep", "k");
  BackupOptions o;
  o.exclude_if_present = {cachedir_tag_rule()};
  Warnings w;
  o.hostname = "host";
  o.targets = {"/src"};
  auto res = run_backup(*repo_, env_, o, nullptr, &w);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(listing(res->snapshot.tree),
            (std::vector<std::string>{"/src/", "/src/cache/", "/src/cache/CACHEDIR.TAG", "/src/fake/",
                                      "/src/fake/CACHEDIR.TAG", "/src/fake/f", "/src/keep"}));
  ASSERT_EQ(w.warnings.size(), 1u);
  EXPECT_NE(w.warnings[0].find("/src/fake/CACHEDIR.TAG"), std::string::npos) << w.warnings[0];
}

TEST_F(BackupTest, ExcludeIfPresentWithoutHeaderAndLargerThan) {
  put("/src/a/.nobackup", "");
  put("/src/a/x", "x");
  put("/src/big", std::string(5000, 'b'));
  put("/src/small", "s");
  BackupOptions o;
  auto rule = parse_exclude_if_present(".nobackup");
  ASSERT_TRUE(rule.ok());
  o.exclude_if_present = {*rule};
  o.exclude_larger_than = 4096;
  auto res = backup({"/src"}, o);
  EXPECT_EQ(listing(res.snapshot.tree),
            (std::vector<std::string>{"/src/", "/src/a/", "/src/a/.nobackup", "/src/small"}));
  EXPECT_FALSE(parse_exclude_if_present("").ok());
  EXPECT_FALSE(parse_exclude_if_present(":header").ok());
  auto with_header = parse_exclude_if_present("T:a:b");
  ASSERT_TRUE(with_header.ok());
  EXPECT_EQ(with_header->name, "T");
  EXPECT_EQ(with_header->header, "a:b");
}

// Regression: chunks of large files (handed to the compression pool) were counted as 0 bytes
// added, and trees not at all; restic counts the plaintext of every new blob.
TEST_F(BackupTest, DataAddedIsThePlaintextOfEveryNewBlob) {
  put("/src/big.bin", noise(9 << 20, 7));
  put("/src/small", "small");
  auto res = backup({"/src"});
  uint64_t trees = 0;
  std::vector<repo::Id> tree_ids = {res.snapshot.tree};
  while (!tree_ids.empty()) {
    repo::Id id = tree_ids.back();
    tree_ids.pop_back();
    auto blob = repo_->load_blob(repo::BlobType::kTree, id);
    ASSERT_TRUE(blob.ok());
    trees += blob->size();
    auto nodes = repo::decode_tree(*blob);
    ASSERT_TRUE(nodes.ok());
    for (const auto& n : *nodes) {
      if (n.subtree) tree_ids.push_back(*n.subtree);
    }
  }
  EXPECT_EQ(res.stats.tree_blobs, 2u);
  EXPECT_EQ(res.stats.data_added, (9u << 20) + 5 + trees);
  // Nothing new the second time.
  auto again = backup({"/src"});
  EXPECT_EQ(again.stats.data_added, 0u);
  EXPECT_EQ(again.stats.files_unmodified, 2u);
}

TEST_F(BackupTest, IgnoreCtimeAndInode) {
  put("/src/f", "content");
  backup({"/src"});
  // A metadata change: new ctime (and, here, a new inode), same size and mtime.
  auto info = env_.lstat("/src/f");
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(env_.remove_file("/src/f").ok());
  put("/src/f", "content");
  ASSERT_TRUE(env_.set_times("/src/f", info->atime, info->mtime).ok());
  BackupOptions plain;
  EXPECT_EQ(backup({"/src"}, plain).stats.files_changed, 1u);
  BackupOptions ignore;
  ignore.ignore_inode = true;  // implies --ignore-ctime, as restic
  ASSERT_TRUE(env_.remove_file("/src/f").ok());
  put("/src/f", "content");
  ASSERT_TRUE(env_.set_times("/src/f", info->atime, info->mtime).ok());
  EXPECT_EQ(backup({"/src"}, ignore).stats.files_unmodified, 1u);
}

TEST_F(BackupTest, TimeOptionSetsSnapshotTimeAndLimitsTheParent) {
  put("/src/f", "x");
  backup({"/src"});  // at kStartTime
  BackupOptions o;
  o.time = 1000;  // long before: the first snapshot is newer, so it is no parent
  auto res = backup({"/src"}, o);
  EXPECT_EQ(res.snapshot.time.sec, 1000);
  EXPECT_FALSE(res.parent.has_value());
}

// Regression (no ETA): the totals were only known when the walk ended, near the end of the
// backup; the scanner counts them ahead, as restic's does, and says when it is done.
TEST_F(BackupTest, ScanTotalsCountsAheadOfTheWalk) {
  put("/src/a", "aa");
  put("/src/sub/b", "bbb");
  put("/src/sub/skip.tmp", "x");
  put("/src/c/CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55");
  put("/src/c/cached", "cached");
  Filter f;
  ASSERT_TRUE(f.add("*.tmp", false).ok());
  BackupOptions o;
  o.targets = {"/src"};
  o.hostname = "host";
  o.excludes = &f;
  o.exclude_if_present = {cachedir_tag_rule()};
  o.scan_totals = true;
  BackupProgress p;
  auto res = run_backup(*repo_, env_, o, &p, nullptr);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_TRUE(p.scan_done);
  EXPECT_EQ(p.total_files, 3u);  // a, sub/b, c/CACHEDIR.TAG
  EXPECT_EQ(p.total_bytes, 2u + 3u + 43u);
  EXPECT_EQ(p.files_done, 3u);
}

// Regression: "src/d/a src" backed up only src/d/a; restic backs up all of src.
TEST_F(BackupTest, FolderGivenAfterATargetInsideItIsBackedUpWhole) {
  put("/src/d/a", "a");
  put("/src/b", "b");
  auto res = backup({"/src/d/a", "/src"});
  EXPECT_EQ(listing(res.snapshot.tree),
            (std::vector<std::string>{"/src/", "/src/b", "/src/d/", "/src/d/a"}));
}

TEST_F(BackupTest, ExclusionRulesApplyToTargets) {
  put("/src/big", std::string(5000, 'x'));
  put("/src/small", "s");
  put("/src/skip.tmp", "t");
  Filter f;
  ASSERT_TRUE(f.add("*.tmp", false).ok());
  BackupOptions o;
  o.excludes = &f;
  o.exclude_larger_than = 4096;
  auto res = backup({"/src/big", "/src/small", "/src/skip.tmp"}, o);
  EXPECT_EQ(listing(res.snapshot.tree), (std::vector<std::string>{"/src/", "/src/small"}));
}

// With load_index, run_backup loads the index itself and scans the targets meanwhile; the
// walk then takes the prescanned directories. The snapshot must not change because of it.
TEST_F(BackupTest, PrescanWhileTheIndexLoadsGivesTheSameSnapshot) {
  for (int d = 0; d < 30; ++d) {
    for (int f = 0; f < 4; ++f) {
      put("/src/d" + std::to_string(d) + "/sub/f" + std::to_string(f), noise(100 + d * 10 + f, d));
    }
  }
  put("/other/x", "x");
  put("/src/skip.tmp", "t");
  Filter filter;
  ASSERT_TRUE(filter.add("*.tmp", false).ok());
  BackupOptions o;
  o.excludes = &filter;
  BackupResult first = backup({"/src", "/other/x"}, o);
  // A command's fresh repository, index not loaded: run_backup loads it.
  auto fresh = testing::open_repository(be_.get(), &clock_, /*load_index=*/false);
  ASSERT_TRUE(fresh.ok());
  repo_ = std::move(*fresh);
  o.load_index = true;
  BackupResult second = backup({"/src", "/other/x"}, o);
  EXPECT_EQ(second.snapshot.tree, first.snapshot.tree);
  EXPECT_EQ(second.stats.files_unmodified, 30u * 4 + 1);
  EXPECT_EQ(second.stats.files_new, 0u);
  // A change is seen in a prescanned directory as anywhere else.
  put("/src/d7/sub/f2", "changed");
  repo_ = std::move(*testing::open_repository(be_.get(), &clock_, false));
  BackupResult third = backup({"/src", "/other/x"}, o);
  EXPECT_EQ(third.stats.files_changed, 1u);
  EXPECT_NE(third.snapshot.tree, first.snapshot.tree);
}

TEST(TargetLists, FilesFromTrimsSkipsCommentsAndBom) {
  EXPECT_EQ(files_from_patterns("\xEF\xBB\xBF  a/*  \r\n# c\n\n\tb c\nlast"),
            (std::vector<std::string>{"a/*", "b c", "last"}));
  EXPECT_EQ(files_from_verbatim(" a \n\n# not a comment\r\n"),
            (std::vector<std::string>{" a ", "# not a comment"}));
  auto raw = files_from_raw(std::string("a b\0c\n\0", 7));
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*raw, (std::vector<std::string>{"a b", "c\n"}));
  EXPECT_EQ(files_from_raw("x").status().message(), "--files-from-raw: trailing zero byte missing");
  EXPECT_EQ(files_from_raw(std::string("\0", 1)).status().message(),
            "--files-from-raw: empty filename in listing");
}

TEST(TargetLists, GlobLikeGo) {
  base::MemEnv env;
  ASSERT_TRUE(testing::write_files(env, {{"/d/a.d/x", "1"}, {"/d/b.d/y", "2"}, {"/d/.h.d/z", "3"},
                                         {"/d/c", "4"}, {"/e/a.d/w", "5"}})
                  .ok());
  auto g = glob_paths(env, "/d/*.d");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, (std::vector<std::string>{"/d/.h.d", "/d/a.d", "/d/b.d"}));  // '*' matches a dot
  g = glob_paths(env, "/*/a.d/?");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, (std::vector<std::string>{"/d/a.d/x", "/e/a.d/w"}));
  g = glob_paths(env, "/d/c");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, std::vector<std::string>{"/d/c"});
  g = glob_paths(env, "/d/missing");
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->empty());
  EXPECT_FALSE(glob_paths(env, "/d/[a").ok());
  EXPECT_EQ(go_quoted("a\"b"), "\"a\\\"b\"");
}

}  // namespace
}  // namespace kura::ops
