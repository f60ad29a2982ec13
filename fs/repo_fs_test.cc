#include "fs/repo_fs.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "backend/forwarding_backend.h"
#include "repo/snapshot.h"
#include "repo/tree.h"
#include "ops/testing.h"

namespace kura::fs {
namespace {

using ops::testing::noise;

// Counts pack loads, to see how often a blob is read and decrypted.
class CountingBackend : public backend::ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  base::StatusOr<base::Bytes> load(const backend::Handle& h, uint64_t offset, uint64_t length) override {
    if (h.kind == backend::FileKind::kPack) ++pack_loads;
    return ForwardingBackend::load(h, offset, length);
  }
  base::Status load_into(const backend::Handle& h, uint64_t offset, base::MutableByteSpan out) override {
    if (h.kind == backend::FileKind::kPack) ++pack_loads;
    return ForwardingBackend::load_into(h, offset, out);
  }
  std::atomic<int> pack_loads{0};
};

class RepoFsTest : public ops::testing::RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    ASSERT_TRUE(env_.make_dirs("/src/sub/deeper", 0755).ok());
    write("/src/a.txt", "hello");
    write("/src/empty", "");
    big_ = noise(3 << 20, 7);
    write("/src/sub/big.bin", big_);
    ASSERT_TRUE(env_.make_symlink("a.txt", "/src/link").ok());
    ASSERT_TRUE(env_.set_xattr("/src/a.txt", "user.note", base::as_bytes(std::string("x1"))).ok());
    ops::BackupOptions o;
    o.tags = {"daily"};
    first_ = backup({"/src"}, o).snapshot_id;
    open_fs();
  }

  void open_fs(FsOptions o = {}) {
    fs_.reset();
    counting_ = std::make_unique<CountingBackend>(be_.get());
    auto r = ops::testing::open_repository(counting_.get(), &clock_);
    ASSERT_TRUE(r.ok()) << r.status().message();
    reader_ = std::move(*r);
    fs_ = std::make_unique<RepoFs>(*reader_, std::move(o), &clock_);
  }

  std::vector<std::string> ls(const std::string& path) {
    auto entries = fs_->readdir(path);
    EXPECT_TRUE(entries.ok()) << path << ": " << entries.status().message();
    std::vector<std::string> names;
    if (!entries.ok()) return names;
    for (const auto& e : *entries) names.push_back(e.name);
    return names;
  }

  std::string read_all(const std::string& path, size_t piece) {
    auto h = fs_->open(path);
    EXPECT_TRUE(h.ok()) << h.status().message();
    if (!h.ok()) return "";
    std::string out;
    for (;;) {
      auto data = fs_->read(*h, out.size(), piece);
      EXPECT_TRUE(data.ok()) << data.status().message();
      if (!data.ok() || data->empty()) break;
      out.append(reinterpret_cast<const char*>(data->data()), data->size());
    }
    fs_->release(*h);
    return out;
  }

  std::string big_;
  repo::Id first_;
  std::unique_ptr<CountingBackend> counting_;
  std::unique_ptr<repo::Repository> reader_;
  std::unique_ptr<RepoFs> fs_;
};

using V = std::vector<std::string>;

TEST_F(RepoFsTest, LayoutAsRestic) {
  EXPECT_EQ(ls("/"), (V{".", "..", "hosts", "ids", "snapshots", "tags"}));
  EXPECT_EQ(ls("/ids"), (V{".", "..", first_.short_hex()}));
  EXPECT_EQ(ls("/snapshots"), (V{".", "..", "2023-11-14T22:13:20Z", "latest"}));
  EXPECT_EQ(ls("/hosts/host"), (V{".", "..", "2023-11-14T22:13:20Z", "latest"}));
  EXPECT_EQ(ls("/tags/daily"), (V{".", "..", "2023-11-14T22:13:20Z", "latest"}));
  EXPECT_EQ(*fs_->readlink("/snapshots/latest"), "2023-11-14T22:13:20Z");
  // The snapshot holds its paths from the root down.
  EXPECT_EQ(ls("/ids/" + first_.short_hex()), (V{".", "..", "src"}));
  EXPECT_EQ(ls("/snapshots/2023-11-14T22:13:20Z/src"), (V{".", "..", "a.txt", "empty", "link", "sub"}));
}

TEST_F(RepoFsTest, InodesAreResticsDynamicInodes) {
  // Measured on restic 0.14: the inode of <mount>/snapshots.
  EXPECT_EQ(dynamic_inode(1, "snapshots"), 255262462188919481ull);
  auto a = fs_->getattr("/snapshots");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ino, 255262462188919481ull);
  EXPECT_EQ(fs_->getattr("/")->ino, 1u);
}

TEST_F(RepoFsTest, Attributes) {
  auto root = fs_->getattr("/snapshots");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->mode, S_IFDIR | 0555u);

  auto sn = fs_->getattr("/snapshots/latest");
  ASSERT_TRUE(sn.ok());
  EXPECT_EQ(sn->mode, S_IFLNK | 0777u);
  EXPECT_EQ(sn->size, std::string("2023-11-14T22:13:20Z").size());
  EXPECT_EQ(sn->mtime.sec, ops::testing::kStartTime);

  auto snapdir = fs_->getattr("/snapshots/2023-11-14T22:13:20Z");
  ASSERT_TRUE(snapdir.ok());
  EXPECT_EQ(snapdir->mode, S_IFDIR | 0555u);
  EXPECT_EQ(snapdir->uid, 0u);

  auto f = fs_->getattr("/snapshots/2023-11-14T22:13:20Z/src/sub/big.bin");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->mode & S_IFMT, static_cast<uint32_t>(S_IFREG));
  EXPECT_EQ(f->size, big_.size());
  EXPECT_EQ(f->blocks, big_.size() / 512 + 1);

  auto l = fs_->getattr("/snapshots/2023-11-14T22:13:20Z/src/link");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->mode & S_IFMT, static_cast<uint32_t>(S_IFLNK));
  EXPECT_EQ(l->size, 5u);
  EXPECT_EQ(*fs_->readlink("/snapshots/2023-11-14T22:13:20Z/src/link"), "a.txt");

  // A directory counts its subdirectories once it has been listed.
  ls("/snapshots/2023-11-14T22:13:20Z/src");
  EXPECT_EQ(fs_->getattr("/snapshots/2023-11-14T22:13:20Z/src")->nlink, 3u);
}

TEST_F(RepoFsTest, OwnerRoot) {
  FsOptions o;
  o.uid = 1234;
  o.gid = 1234;
  open_fs(o);
  EXPECT_EQ(fs_->getattr("/snapshots")->uid, 1234u);
  o.owner_root = true;
  o.uid = o.gid = 0;
  open_fs(o);
  EXPECT_EQ(fs_->getattr("/snapshots")->uid, 0u);
  EXPECT_EQ(fs_->getattr("/snapshots/2023-11-14T22:13:20Z/src/a.txt")->uid, 0u);
}

TEST_F(RepoFsTest, ExtendedAttributes) {
  auto names = fs_->listxattr("/snapshots/2023-11-14T22:13:20Z/src/a.txt");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, V{"user.note"});
  auto v = fs_->getxattr("/snapshots/2023-11-14T22:13:20Z/src/a.txt", "user.note");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(std::string(v->value().begin(), v->value().end()), "x1");
  EXPECT_FALSE(fs_->getxattr("/snapshots/2023-11-14T22:13:20Z/src/a.txt", "user.none")->has_value());
}

TEST_F(RepoFsTest, ReadsFilesInPieces) {
  EXPECT_EQ(read_all("/snapshots/2023-11-14T22:13:20Z/src/a.txt", 4096), "hello");
  EXPECT_EQ(read_all("/snapshots/2023-11-14T22:13:20Z/src/empty", 4096), "");
  EXPECT_EQ(read_all("/snapshots/2023-11-14T22:13:20Z/src/sub/big.bin", 4096), big_);
  EXPECT_EQ(read_all("/snapshots/2023-11-14T22:13:20Z/src/sub/big.bin", 1 << 20), big_);
  // A range inside, across blob boundaries.
  auto h = fs_->open("/snapshots/2023-11-14T22:13:20Z/src/sub/big.bin");
  ASSERT_TRUE(h.ok());
  auto mid = fs_->read(*h, 1000000, 2000000);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(std::string(mid->begin(), mid->end()), big_.substr(1000000, 2000000));
  EXPECT_TRUE(fs_->read(*h, big_.size() + 10, 100)->empty());
}

TEST_F(RepoFsTest, SequentialSmallReadsDecodeEachBlobOnce) {
  std::string path = "/snapshots/2023-11-14T22:13:20Z/src/sub/big.bin";
  ls("/snapshots/2023-11-14T22:13:20Z/src/sub");  // trees loaded before counting
  int before = counting_->pack_loads.load();
  ASSERT_EQ(read_all(path, 4096), big_);
  int loads = counting_->pack_loads.load() - before;
  EXPECT_GT(loads, 0);
  EXPECT_LT(loads, 20) << "3 MiB in 4 KiB reads must not load a blob per read";
  EXPECT_GT(fs_->blob_cache().bytes(), 0u);
}

// FUSE serves requests on several threads: reads, listings and a snapshot reload at once.
TEST_F(RepoFsTest, ConcurrentRequests) {
  std::string dir = "/snapshots/2023-11-14T22:13:20Z/src";
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        if (t == 0) {
          if (!fs_->refresh().ok()) ++bad;
        }
        if (read_all(dir + "/sub/big.bin", 64 << 10) != big_) ++bad;
        if (!fs_->readdir(dir).ok() || !fs_->getattr(dir + "/a.txt").ok()) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(RepoFsTest, Errors) {
  EXPECT_EQ(fs_->getattr("/nope").status().code(), base::Code::kNotFound);
  EXPECT_EQ(fs_->getattr("/snapshots/2023-11-14T22:13:20Z/src/nope").status().code(), base::Code::kNotFound);
  EXPECT_EQ(fs_->getattr("/snapshots/2023-11-14T22:13:20Z/src/a.txt/x").status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(fs_->readdir("/snapshots/2023-11-14T22:13:20Z/src/a.txt").status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(fs_->open("/snapshots/2023-11-14T22:13:20Z/src").status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(fs_->read(999, 0, 10).status().code(), base::Code::kInvalidArgument);
}

TEST_F(RepoFsTest, NewSnapshotsAppearAfterTheReloadInterval) {
  EXPECT_EQ(ls("/ids").size(), 3u);
  write("/src/new.txt", "new");
  auto second = backup({"/src"}).snapshot_id;  // the clock is one minute on afterwards
  clock_.advance(std::chrono::seconds(-59));
  EXPECT_EQ(ls("/ids").size(), 3u) << "restic looks again at most once a minute";
  clock_.advance(std::chrono::seconds(60));
  V ids = {".", "..", first_.short_hex(), second.short_hex()};
  std::sort(ids.begin() + 2, ids.end());
  EXPECT_EQ(ls("/ids"), ids);
  EXPECT_EQ(read_all("/ids/" + second.short_hex() + "/src/new.txt", 4096), "new");
}

TEST_F(RepoFsTest, FilterByHostAndTag) {
  write("/src/b", "b");
  ops::BackupOptions o;
  o.hostname = "other";
  backup({"/src"}, o);
  FsOptions f;
  f.filter.hosts = {"other"};
  open_fs(f);
  EXPECT_EQ(ls("/hosts"), (V{".", "..", "other"}));
  f = {};
  f.filter.tags = {"daily"};
  open_fs(f);
  EXPECT_EQ(ls("/ids"), (V{".", "..", first_.short_hex()}));
}

// Trees written by hand: what restic's mount does with a "/" or "." directory node (shows its
// contents in its place), a name with slashes (listed under its last element) and an
// "irregular" node (listed, but not found).
TEST_F(RepoFsTest, SpecialNodes) {
  auto save_tree = [&](const std::vector<repo::Node>& nodes) {
    base::Bytes json = repo::encode_tree(nodes);
    repo::Id id = repo::hash_id(json);
    EXPECT_TRUE(repo_->save_blob(repo::BlobType::kTree, id, json).ok());
    return id;
  };
  repo::Node inner;
  inner.name = "inside";
  inner.type = repo::NodeType::kDir;
  inner.subtree = save_tree({});
  repo::Node slash;
  slash.name = "/";
  slash.type = repo::NodeType::kDir;
  slash.subtree = save_tree({inner});
  repo::Node odd;
  odd.name = "a/b";
  odd.type = repo::NodeType::kFile;
  repo::Node irregular;
  irregular.name = "irr";
  irregular.type = repo::NodeType::kIrregular;
  repo::Snapshot sn;
  sn.time = {ops::testing::kStartTime + 3600, 0, 0};
  sn.tree = save_tree({slash, odd, irregular});
  sn.hostname = "hand";
  ASSERT_TRUE(repo_->flush().ok());
  auto id = repo_->save_unpacked(backend::FileKind::kSnapshot, repo::encode_snapshot(sn));
  ASSERT_TRUE(id.ok());
  open_fs();
  std::string dir = "/ids/" + id->short_hex();
  EXPECT_EQ(ls(dir), (V{".", "..", "b", "inside", "irr"}));
  EXPECT_TRUE(fs_->getattr(dir + "/inside").ok());
  EXPECT_TRUE(fs_->getattr(dir + "/b").ok());
  EXPECT_EQ(fs_->getattr(dir + "/irr").status().code(), base::Code::kNotFound);
  auto entries = fs_->readdir(dir);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->back().type, 0u) << "irregular nodes are listed with an unknown type";
}

}  // namespace
}  // namespace kura::fs
