#include "ops/find.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "ops/testing.h"
#include "repo/mode.h"

namespace kura::ops {
namespace {

// ---- pure functions ----

struct GlobCase {
  const char* pattern;
  const char* name;
  bool match;
  bool bad;
};

TEST(GoGlob, BehavesLikeGoFilepathMatch) {
  const GlobCase cases[] = {
      {"abc", "abc", true, false},       {"*", "abc", true, false},
      {"*c", "abc", true, false},        {"a*", "a", true, false},
      {"a*", "abc", true, false},        {"a*", "ab/c", false, false},
      {"a*b*c*d*e*", "axbxcxdxe", true, false},
      {"ab[c]", "abc", true, false},     {"ab[b-d]", "abc", true, false},
      {"ab[e-g]", "abc", false, false},  {"ab[^c]", "abc", false, false},
      {"ab[^b-d]", "abc", false, false}, {"ab[^e-g]", "abc", true, false},
      {"a\\*b", "a*b", true, false},     {"a\\*b", "ab", false, false},
      {"a?b", "a\xe2\x98\xba" "b", true, false},
      {"a[^a]b", "a\xe2\x98\xba" "b", true, false},
      {"a???b", "a\xe2\x98\xba" "b", false, false},
      {"[a-\xce\xb6]*", "\xce\xb1", true, false},
      {"*[a-\xce\xb6]", "A", false, false},
      {"a?b", "a/b", false, false},      {"a*b", "a/b", false, false},
      {"[\\]a]", "]", true, false},      {"[\\-]", "-", true, false},
      {"[x\\-]", "x", true, false},      {"[x\\-]", "-", true, false},
      {"[x\\-]", "z", false, false},     {"[\\-x]", "x", true, false},
      {"*x", "xxx", true, false},        {"[!a]", "!", true, false},
      {"[]a]", "]", false, true},        {"[-]", "-", false, true},
      {"[x-]", "x", false, true},        {"[a-b-c]", "a", false, true},
      {"[", "a", false, true},           {"[^", "a", false, true},
      {"[^bc", "a", false, true},        {"a[", "a", false, true},
      {"a[", "ab", false, true},         {"\\", "a", false, true},
      {"*\\", "a", false, true},
  };
  for (const auto& c : cases) {
    auto m = go_glob_match(c.pattern, c.name);
    if (c.bad) {
      EXPECT_FALSE(m.ok()) << c.pattern;
      if (!m.ok()) {
        EXPECT_EQ(m.status().code(), base::Code::kInvalidArgument);
      }
    } else {
      ASSERT_TRUE(m.ok()) << c.pattern << ": " << m.status().message();
      EXPECT_EQ(*m, c.match) << c.pattern << " vs " << c.name;
    }
  }
}

bool matches(const char* pattern, const char* path, bool ic = false) {
  auto p = NamePattern::parse(pattern, ic);
  EXPECT_TRUE(p.ok()) << pattern;
  return p.ok() && p->matches(path);
}

TEST(NamePattern, MatchesAsResticFilter) {
  EXPECT_TRUE(matches("*.txt", "/d/src/a.txt"));
  EXPECT_FALSE(matches("*.txt", "/d/src/a.txtx"));
  EXPECT_TRUE(matches("*.txt", "/a.txt/b"));  // any component, so everything below a match
  EXPECT_TRUE(matches("src", "/home/src/x"));
  EXPECT_TRUE(matches("src/*.txt", "/d/src/a.txt"));
  EXPECT_TRUE(matches("src/*.txt", "/x/src/a.txt"));
  EXPECT_FALSE(matches("src/*.txt", "/d/src/sub/a.txt"));
  EXPECT_TRUE(matches("/d/src/*.txt", "/d/src/a.txt"));
  EXPECT_FALSE(matches("/d/src/*.txt", "/x/src/a.txt"));
  EXPECT_TRUE(matches("**/d.txt", "/d/src/sub/d.txt"));
  EXPECT_TRUE(matches("/d/src/**/d.txt", "/d/src/sub/deeper/d.txt"));
  EXPECT_TRUE(matches("/d/src/**/d.txt", "/d/src/d.txt"));
  EXPECT_FALSE(matches("/d/src/**/d.txt", "/other/d.txt"));
  EXPECT_TRUE(matches("src/", "/d/src"));  // cleaned
  EXPECT_FALSE(matches("*.TXT", "/A.txt"));
  EXPECT_TRUE(matches("*.TXT", "/A.txt", true));
  EXPECT_TRUE(matches("\xe3\x82\xab\xe3\x83\xab\xe3\x83\x86*", "/\xe3\x82\xab\xe3\x83\xab\xe3\x83\x86_2024.pdf"));
}

TEST(NamePattern, ChildMayMatch) {
  auto p = NamePattern::parse("/d/src/sub/*", false);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->child_may_match("/d/src"));
  EXPECT_TRUE(p->child_may_match("/d/src/sub"));
  EXPECT_FALSE(p->child_may_match("/other"));
  EXPECT_FALSE(p->child_may_match("/d/src/subx"));
  auto q = NamePattern::parse("*.txt", false);
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->child_may_match("/anything/at/all"));
  auto r = NamePattern::parse("/d/src/**/x", false);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->child_may_match("/d/src/a/b/c"));
  EXPECT_FALSE(r->child_may_match("/etc"));
}

TEST(NamePattern, RejectsGarbage) {
  for (const char* bad : {"", "!", "[a", "a/[b", "x\\", "[]"}) {
    auto p = NamePattern::parse(bad, false);
    EXPECT_FALSE(p.ok()) << bad;
    if (!p.ok()) {
      EXPECT_EQ(p.status().code(), base::Code::kInvalidArgument);
    }
  }
}

TEST(GoFileMode, String) {
  EXPECT_EQ(go_file_mode_string(0644), "-rw-r--r--");
  EXPECT_EQ(go_file_mode_string(repo::kGoModeDir | 0755), "drwxr-xr-x");
  EXPECT_EQ(go_file_mode_string(repo::kGoModeSymlink | 0777), "Lrwxrwxrwx");
  EXPECT_EQ(go_file_mode_string(repo::kGoModeDir | repo::kGoModeSetgid | 0755), "dgrwxr-xr-x");
  EXPECT_EQ(go_file_mode_string(repo::kGoModeDevice | repo::kGoModeCharDevice | 0620), "Dcrw--w----");
  EXPECT_EQ(go_file_mode_string(0), "----------");
  repo::Node n;
  n.type = repo::NodeType::kFifo;
  n.mode = 0600;
  EXPECT_EQ(go_file_mode_string(display_mode(n)), "prw-------");
}

class TzUtc : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = std::getenv("TZ");
    if (tz) old_ = tz;
    had_ = tz != nullptr;
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  void TearDown() override {
    if (had_) {
      ::setenv("TZ", old_.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  std::string old_;
  bool had_ = false;
};

TEST_F(TzUtc, ParseFindTime) {
  const int64_t day = 1706659200;  // 2024-01-31 00:00:00 UTC
  struct {
    const char* text;
    int64_t sec;
  } cases[] = {
      {"2024-01-31", day},
      {"2024-01-31 15:04", day + 15 * 3600 + 4 * 60},
      {"2024-01-31 15:04:05", day + 15 * 3600 + 4 * 60 + 5},
      {"2024-01-31 15:04:05 +0900", day + 6 * 3600 + 4 * 60 + 5},
      {"2024-01-31 15:04:05 UTC", day + 15 * 3600 + 4 * 60 + 5},
      {"31.01.2024", day},
      {"31.01.2024 1:02", day + 3600 + 120},
      {"31.01.2024 15:04:05 -0100", day + 16 * 3600 + 4 * 60 + 5},
      {"Wed Jan 31 15:04:05 +0000 UTC 2024", day + 15 * 3600 + 4 * 60 + 5},
  };
  for (const auto& c : cases) {
    auto t = parse_find_time(c.text);
    ASSERT_TRUE(t.ok()) << c.text << ": " << t.status().message();
    EXPECT_EQ(t->sec, c.sec) << c.text;
  }
  auto frac = parse_find_time("2024-01-31 15:04:05.25");
  ASSERT_TRUE(frac.ok());
  EXPECT_EQ(frac->nsec, 250000000);
  for (const char* bad : {"", "yesterday", "2024-13-01", "2024-02-30", "2023-02-29", "2024-01-31T15:04:05",
                          "2024-1-31", "24-01-31", "2024-01-31 25:00", "2024-01-31 ", "Foo Jan 31 15:04:05 +0000 UTC 2024",
                          "2024-01-31 15:04:05 +09"}) {
    auto t = parse_find_time(bad);
    EXPECT_FALSE(t.ok()) << bad;
  }
}

// ---- against a repository ----

class FindTest : public testing::RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    ASSERT_TRUE(env_.make_dirs("/d/src/sub", 0755).ok());
    ASSERT_TRUE(env_.make_dirs("/d/src/doc.txt", 0755).ok());
    write("/d/src/a.txt", "hello");
    write("/d/src/b.txt", "b");
    write("/d/src/doc.txt/x", "x");
    write("/d/src/sub/c.txt", "c");
    write("/d/src/sub/d.md", "d");
    ASSERT_TRUE(env_.set_times("/d/src/a.txt", {1000000000, 0}, {1000000000, 0}).ok());
    for (const char* p : {"/d/src/b.txt", "/d/src/doc.txt", "/d/src/doc.txt/x", "/d/src/sub/c.txt", "/d/src/sub/d.md"}) {
      ASSERT_TRUE(env_.set_times(p, {1700000000, 0}, {1700000000, 0}).ok());
    }
  }

  SnapshotEntry backup(const std::string& host = "host") {
    BackupOptions o;
    o.hostname = host;
    BackupResult res = RepoTest::backup({"/d/src"}, o);
    return {res.snapshot_id, res.snapshot};
  }

  std::vector<std::string> find(Finder& f, const repo::Id& tree) {
    std::vector<std::string> out;
    auto st = f.find_in(*repo_, tree, [&](const std::string& p, const repo::Node&) { out.push_back(p); }, nullptr);
    EXPECT_TRUE(st.ok()) << st.message();
    return out;
  }

  std::vector<std::string> find(std::vector<std::string> patterns, const repo::Id& tree,
                                std::optional<repo::NodeTime> oldest = {}, std::optional<repo::NodeTime> newest = {}) {
    FindOptions o;
    o.patterns = std::move(patterns);
    o.oldest = oldest;
    o.newest = newest;
    auto f = Finder::create(o);
    EXPECT_TRUE(f.ok());
    return f.ok() ? find(*f, tree) : std::vector<std::string>{};
  }
};

TEST_F(FindTest, FindsByPattern) {
  repo::Id t = backup().sn.tree;
  EXPECT_EQ(find({"*.txt"}, t), (std::vector<std::string>{"/d/src/a.txt", "/d/src/b.txt", "/d/src/doc.txt",
                                                           "/d/src/doc.txt/x", "/d/src/sub/c.txt"}));
  EXPECT_EQ(find({"/d/src/sub/*"}, t), (std::vector<std::string>{"/d/src/sub/c.txt", "/d/src/sub/d.md"}));
  EXPECT_EQ(find({"d.md", "a.txt"}, t), (std::vector<std::string>{"/d/src/a.txt", "/d/src/sub/d.md"}));
  EXPECT_TRUE(find({"nothing*"}, t).empty());
  repo::NodeTime mid{1500000000, 0, 0};
  EXPECT_EQ(find({"*.txt"}, t, std::nullopt, mid), std::vector<std::string>{"/d/src/a.txt"});
  auto newer = find({"?.txt"}, t, mid);
  EXPECT_EQ(newer, (std::vector<std::string>{"/d/src/b.txt", "/d/src/sub/c.txt"}));
}

TEST_F(FindTest, IgnoreCase) {
  repo::Id t = backup().sn.tree;
  FindOptions o;
  o.patterns = {"A.TXT"};
  o.ignore_case = true;
  auto f = Finder::create(o);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(find(*f, t), std::vector<std::string>{"/d/src/a.txt"});
}

TEST_F(FindTest, SkippingSubtreesAcrossSnapshotsKeepsResults) {
  ASSERT_TRUE(env_.make_dirs("/d/src/x/inner", 0755).ok());
  write("/d/src/x/inner/q", "q");
  repo::Id t1 = backup().sn.tree;
  ASSERT_TRUE(env_.rename("/d/src/x", "/d/src/y.txt").ok());
  repo::Id t2 = backup().sn.tree;
  FindOptions o;
  o.patterns = {"*.txt"};
  auto f = Finder::create(o);
  ASSERT_TRUE(f.ok());
  auto first = find(*f, t1);
  EXPECT_EQ(std::count(first.begin(), first.end(), "/d/src/x/inner/q"), 0);
  auto second = find(*f, t2);
  // /src/y.txt/inner has the same tree as /src/x/inner had, but now sits below a match.
  EXPECT_NE(std::find(second.begin(), second.end(), "/d/src/y.txt/inner/q"), second.end());
  auto again = find(*f, t1);
  EXPECT_EQ(again, first);
}

TEST_F(FindTest, RejectsBadPatterns) {
  FindOptions o;
  EXPECT_FALSE(Finder::create(o).ok());
  o.patterns = {"ok", "[broken"};
  auto f = Finder::create(o);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("[broken"), std::string::npos);
}

TEST_F(FindTest, FindsBlobsAndTrees) {
  SnapshotEntry sn = backup();
  std::string hello = repo::hash_id(base::as_bytes("hello")).hex();
  for (const std::string& id : {hello, hello.substr(0, 8)}) {
    auto f = IdFinder::create({id}, {});
    ASSERT_TRUE(f.ok());
    std::vector<ObjectHit> hits;
    ASSERT_TRUE(f->find_in(*repo_, sn.sn.tree, [&](const ObjectHit& h) { hits.push_back(h); }, nullptr).ok());
    ASSERT_EQ(hits.size(), 1u) << id;
    EXPECT_EQ(hits[0].kind, ObjectKind::kBlob);
    EXPECT_EQ(hits[0].id.hex(), hello);
    EXPECT_EQ(hits[0].path, "/d/src/a.txt");
    EXPECT_EQ(f->blob_patterns(), std::vector<std::string>{hello});
  }
  // The tree of /src/sub
  auto root = load_tree(*repo_, sn.sn.tree);
  ASSERT_TRUE(root.ok());
  auto d = load_tree(*repo_, *(*root)[0].subtree);
  ASSERT_TRUE(d.ok());
  auto src = load_tree(*repo_, *(*d)[0].subtree);
  ASSERT_TRUE(src.ok());
  repo::Id sub_tree;
  for (const auto& n : *src) {
    if (n.name == "sub") sub_tree = *n.subtree;
  }
  auto f = IdFinder::create({}, {sub_tree.hex()});
  ASSERT_TRUE(f.ok());
  std::vector<ObjectHit> hits;
  ASSERT_TRUE(f->find_in(*repo_, sn.sn.tree, [&](const ObjectHit& h) { hits.push_back(h); }, nullptr).ok());
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].kind, ObjectKind::kTree);
  EXPECT_EQ(hits[0].path, "/d/src/sub");

  for (const char* bad : {"", "xyz", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"}) {
    EXPECT_FALSE(IdFinder::create({bad}, {}).ok()) << bad;
  }
}

TEST_F(FindTest, BlobsOfPacks) {
  backup();
  std::vector<std::string> packs;
  ASSERT_TRUE(be_->list(backend::FileKind::kPack, [&](const backend::FileEntry& e) {
                   packs.push_back(e.name);
                   return base::ok_status();
                 }).ok());
  ASSERT_FALSE(packs.empty());
  repo::Id hello = repo::hash_id(base::as_bytes("hello"));
  bool seen = false;
  for (const auto& p : packs) {
    auto b = blobs_of_packs(*repo_, {p.substr(0, 10)});
    ASSERT_TRUE(b.ok()) << b.status().message();
    EXPECT_FALSE(b->blobs.empty());
    seen |= std::find(b->blobs.begin(), b->blobs.end(), hello) != b->blobs.end();
  }
  EXPECT_TRUE(seen);
  // A pack known only to the index.
  ASSERT_TRUE(be_->remove({backend::FileKind::kPack, packs[0]}).ok());
  auto from_index = blobs_of_packs(*repo_, {packs[0]});
  ASSERT_TRUE(from_index.ok());
  ASSERT_EQ(from_index->from_index.size(), 1u);
  EXPECT_EQ(from_index->from_index[0].hex(), packs[0]);

  auto missing = blobs_of_packs(*repo_, {"ffffffffffff"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("ffffffffffff"), std::string::npos);
  EXPECT_FALSE(blobs_of_packs(*repo_, {"not-hex"}).ok());
}

TEST_F(FindTest, SelectSnapshots) {
  SnapshotEntry a = backup("alpha");
  SnapshotEntry b = backup("beta");
  SnapshotEntry c = backup("alpha");
  auto all = select_snapshots(*repo_, {}, {});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->snapshots.size(), 3u);
  EXPECT_EQ(all->snapshots[0].id, a.id);  // oldest first

  SnapshotFilter alpha;
  alpha.hosts = {"alpha"};
  auto filtered = select_snapshots(*repo_, alpha, {});
  ASSERT_TRUE(filtered.ok());
  EXPECT_EQ(filtered->snapshots.size(), 2u);

  auto latest = select_snapshots(*repo_, alpha, {"latest"});
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->snapshots.size(), 1u);
  EXPECT_EQ(latest->snapshots[0].id, c.id);
  EXPECT_FALSE(latest->filter_ignored);

  auto explicit_ids = select_snapshots(*repo_, alpha, {b.id.short_hex(), b.id.hex(), "nope", "0000"});
  ASSERT_TRUE(explicit_ids.ok());
  ASSERT_EQ(explicit_ids->snapshots.size(), 1u);
  EXPECT_EQ(explicit_ids->snapshots[0].id, b.id);
  ASSERT_EQ(explicit_ids->skipped.size(), 2u);
  EXPECT_EQ(explicit_ids->skipped[0].ref, "nope");
  EXPECT_TRUE(explicit_ids->filter_ignored);
}

TEST_F(FindTest, WalkAheadVisitsLikeWalkTree) {
  for (int i = 0; i < 30; ++i) {
    std::string d = "/d/src/many/d" + std::to_string(i);
    ASSERT_TRUE(env_.make_dirs(d + "/e", 0755).ok());
    write(d + "/e/f", std::to_string(i % 3));
  }
  repo::Id t = backup().sn.tree;
  std::vector<std::string> want;
  ASSERT_TRUE(walk_tree(*repo_, t, "", [&](const std::string& p, const repo::Node&) -> base::StatusOr<Visit> {
                want.push_back(p);
                return Visit::kDescend;
              }).ok());
  for (auto [threads, ahead] : {std::pair{1, size_t(1)}, std::pair{4, size_t(3)}, std::pair{8, size_t(512)}}) {
    std::vector<std::string> got, left;
    WalkCallbacks cb;
    cb.visit = [&](const WalkItem& it) -> base::StatusOr<Visit> {
      got.push_back(it.path);
      return Visit::kDescend;
    };
    cb.leave = [&](const WalkItem& it) { left.push_back(it.path); };
    ASSERT_TRUE(walk_tree_ahead(*repo_, t, cb, threads, ahead).ok());
    EXPECT_EQ(got, want);
    EXPECT_EQ(left.back(), "/d");
  }
  // Skipping and stopping
  std::vector<std::string> got;
  WalkCallbacks cb;
  cb.visit = [&](const WalkItem& it) -> base::StatusOr<Visit> {
    got.push_back(it.path);
    if (it.path == "/d/src/many/d7") return base::cancelled("stop here");
    return it.path == "/d/src/many" ? Visit::kDescend : it.path.rfind("/d/src/many/", 0) == 0 ? Visit::kSkip : Visit::kDescend;
  };
  base::Status st = walk_tree_ahead(*repo_, t, cb, 4, 8);
  EXPECT_EQ(st.code(), base::Code::kCancelled);
  EXPECT_EQ(got.back(), "/d/src/many/d7");
  EXPECT_EQ(std::count_if(got.begin(), got.end(), [](const std::string& p) { return p.find("/e") != std::string::npos; }), 0);

  // visit_trees sees every distinct tree once.
  IdSet seen;
  size_t visits = 0;
  ASSERT_TRUE(visit_trees(*repo_, {t}, &seen, [&](const repo::Id&, const std::vector<repo::Node>&) {
                ++visits;
                return true;
              }).ok());
  EXPECT_EQ(visits, seen.size());
  EXPECT_GE(visits, 2u + 1 + 30 + 1);  // root, src, many, d0..d29, at least one e
}

TEST_F(FindTest, WalkAheadReportsUnloadableTrees) {
  repo::Id bogus;
  bogus.bytes.fill(1);
  WalkCallbacks cb;
  cb.visit = [](const WalkItem&) -> base::StatusOr<Visit> { return Visit::kDescend; };
  EXPECT_FALSE(walk_tree_ahead(*repo_, bogus, cb).ok());
  Finder::TreeErrorFn on_err = [](const repo::Id&, const base::Status&) {};
  FindOptions o;
  o.patterns = {"*"};
  auto f = Finder::create(o);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->find_in(*repo_, bogus, [](const std::string&, const repo::Node&) {}, on_err).ok());
}

}  // namespace
}  // namespace kura::ops
