// tag, rebuild-index, recover, migrate and copy on in-memory repositories.
#include <gtest/gtest.h>

#include "backend/mem_backend.h"
#include "ops/copy.h"
#include "ops/migrate.h"
#include "ops/rebuild_index.h"
#include "ops/recover.h"
#include "ops/restore.h"
#include "ops/snapshots.h"
#include "ops/tag.h"
#include "ops/testing.h"
#include "ops/walk.h"
#include "repo/snapshot.h"

namespace kura::ops {
namespace {

using backend::FileKind;

class RepoCmdsTest : public testing::RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    ASSERT_TRUE(env_.make_dirs("/d/src/sub", 0755).ok());
    write("/d/src/a.txt", "hello");
    write("/d/src/sub/b.bin", testing::noise(300000, 7));
    ASSERT_TRUE(env_.make_dirs("/d/other", 0755).ok());
    write("/d/other/c.txt", "other");
  }

  std::vector<SnapshotEntry> snapshots(repo::Repository& r) {
    auto s = load_snapshots(r);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? *s : std::vector<SnapshotEntry>{};
  }

  std::unique_ptr<repo::Repository> reopen(backend::Backend* be) {
    auto r = testing::open_repository(be, &clock_);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(*r) : nullptr;
  }

  // The file names below a snapshot's tree, "/a/b" each.
  std::vector<std::string> paths(repo::Repository& r, const repo::Id& tree) {
    std::vector<std::string> out;
    EXPECT_TRUE(walk_tree(r, tree, "", [&](const std::string& p, const repo::Node&) -> base::StatusOr<Visit> {
                  out.push_back(p);
                  return Visit::kDescend;
                }).ok());
    return out;
  }
};

TEST(Tag, FlattenAndApplyAsRestic) {
  EXPECT_EQ(flatten_tag_lists({"a, b", "", " c ,"}), (std::vector<std::string>{"a", "b", "c"}));
  repo::Snapshot sn;
  sn.tags = {"a", "b", "c", "d"};
  EXPECT_FALSE(apply_tag_change(sn, {{}, {"a"}, {"x"}}));
  EXPECT_TRUE(apply_tag_change(sn, {{}, {"e"}, {"b"}}));
  // restic moves the last tag into the removed one's slot
  EXPECT_EQ(sn.tags, (std::vector<std::string>{"a", "e", "c", "d"}));
  EXPECT_TRUE(apply_tag_change(sn, {{"z"}, {}, {}}));
  EXPECT_EQ(sn.tags, (std::vector<std::string>{"z"}));
}

TEST_F(RepoCmdsTest, TagRewritesWithOriginalAndRemovesOld) {
  backup({"/d/src"});
  auto before = snapshots(*repo_);
  ASSERT_EQ(before.size(), 1u);
  auto id = change_tags(*repo_, before[0], {{}, {"x"}, {}});
  ASSERT_TRUE(id.ok()) << id.status().message();
  ASSERT_TRUE(id->has_value());
  auto after = snapshots(*repo_);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, **id);
  EXPECT_EQ(after[0].sn.original, before[0].id);
  EXPECT_EQ(after[0].sn.tags, (std::vector<std::string>{"x"}));
  // A second change keeps the first id as original; no change writes nothing.
  auto again = change_tags(*repo_, after[0], {{}, {}, {"x"}});
  ASSERT_TRUE(again.ok());
  auto last = snapshots(*repo_);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].sn.original, before[0].id);
  auto none = change_tags(*repo_, last[0], {{}, {}, {"nope"}});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(RepoCmdsTest, RebuildIndexFromPacksAlone) {
  backup({"/d/src"});
  auto ids = repo_->list_ids(FileKind::kIndex);
  ASSERT_TRUE(ids.ok());
  for (const auto& id : *ids) ASSERT_TRUE(be_->remove({FileKind::kIndex, id.hex()}).ok());
  auto r = reopen(be_.get());
  ASSERT_TRUE(r);
  auto res = rebuild_index(*r, {});
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_GT(res->packs_read, 0u);
  EXPECT_EQ(res->index_files_written, 1u);
  auto fresh = reopen(be_.get());
  ASSERT_TRUE(fresh);
  auto sn = snapshots(*fresh);
  ASSERT_EQ(sn.size(), 1u);
  EXPECT_EQ(paths(*fresh, sn[0].sn.tree),
            (std::vector<std::string>{"/d", "/d/src", "/d/src/a.txt", "/d/src/sub", "/d/src/sub/b.bin"}));
  auto data = fresh->load_blob(repo::BlobType::kData, repo::hash_id(base::as_bytes(std::string("hello"))));
  EXPECT_TRUE(data.ok()) << data.status().message();
}

class RecordingRebuild : public RebuildIndexObserver {
 public:
  void on_invalid_index(const repo::Id&, const base::Status&) override { ++invalid; }
  void on_pack_added(const repo::Id&) override { ++added; }
  void on_pack_missing(const repo::Id&) override { ++missing; }
  int invalid = 0, added = 0, missing = 0;
};

TEST_F(RepoCmdsTest, RebuildIndexDropsGarbageIndexAndMissingPacks) {
  backup({"/d/src"});
  backup({"/d/other"});
  // A damaged index file and a pack that is gone.
  ASSERT_TRUE(be_->save({FileKind::kIndex, std::string(64, 'a')}, base::as_bytes(std::string("junk"))).ok());
  auto packs = repo_->list_ids(FileKind::kPack);
  ASSERT_TRUE(packs.ok());
  ASSERT_GE(packs->size(), 2u);
  ASSERT_TRUE(be_->remove({FileKind::kPack, packs->front().hex()}).ok());
  auto plain = repo::Repository::open(be_.get(), testing::kPassword);
  ASSERT_TRUE(plain.ok());
  ASSERT_FALSE((*plain)->load_index().ok());  // the junk index stops a normal load
  RecordingRebuild obs;
  auto res = rebuild_index(**plain, {}, &obs);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(obs.invalid, 1);
  EXPECT_EQ(obs.missing, 1);
  EXPECT_EQ(obs.added, 0);
  auto fresh = reopen(be_.get());
  ASSERT_TRUE(fresh);
  size_t listed = 0;
  fresh->with_index([&](const repo::Index& idx) { listed = idx.pack_count(); });
  EXPECT_EQ(listed, packs->size() - 1);
}

TEST_F(RepoCmdsTest, RecoverFindsTheTreeOfALostSnapshot) {
  backup({"/d/src"});
  auto lost = backup({"/d/other"});
  ASSERT_TRUE(be_->remove({FileKind::kSnapshot, lost.snapshot_id.hex()}).ok());
  auto r = reopen(be_.get());
  ASSERT_TRUE(r);
  auto roots = find_root_trees(*r);
  ASSERT_TRUE(roots.ok()) << roots.status().message();
  ASSERT_EQ(*roots, std::vector<repo::Id>{lost.snapshot.tree});
  auto saved = save_recovery_snapshot(*r, *roots, {"host", "user", 1, 2});
  ASSERT_TRUE(saved.ok()) << saved.status().message();
  auto fresh = reopen(be_.get());
  ASSERT_TRUE(fresh);
  auto sn = find_snapshot(*fresh, saved->snapshot.hex());
  ASSERT_TRUE(sn.ok());
  EXPECT_EQ(sn->sn.paths, std::vector<std::string>{"/recover"});
  EXPECT_EQ(sn->sn.tags, std::vector<std::string>{"recovered"});
  std::string dir = "/" + lost.snapshot.tree.short_hex();
  EXPECT_EQ(paths(*fresh, sn->sn.tree),
            (std::vector<std::string>{dir, dir + "/d", dir + "/d/other", dir + "/d/other/c.txt"}));
  // Now everything is referenced.
  auto again = find_root_trees(*fresh);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TEST_F(RepoCmdsTest, MigrateUpgradesV1) {
  init_repo({1});
  backup({"/d/src"});
  EXPECT_TRUE(migration_applies(*repo_, "upgrade_repo_v2"));
  base::MemEnv tmp;
  ASSERT_TRUE(upgrade_repo_v2(*repo_, tmp, "/tmp/backup").ok());
  EXPECT_FALSE(tmp.stat("/tmp/backup/config").ok());  // the backup copy is gone again
  auto r = reopen(be_.get());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->version(), 2);
  EXPECT_EQ(r->config().id, repo_->config().id);
  EXPECT_EQ(r->config().chunker_polynomial, repo_->config().chunker_polynomial);
  EXPECT_FALSE(migration_applies(*r, "upgrade_repo_v2"));
  EXPECT_EQ(snapshots(*r).size(), 1u);
}

TEST_F(RepoCmdsTest, CopyCopiesOnceAndDeduplicates) {
  backup({"/d/src"});
  backup({"/d/other"});
  auto dst_be = backend::new_mem_backend();
  auto dst = testing::init_repository(dst_be.get(), &clock_,
                                      {2, 0, repo_->config().chunker_polynomial});
  ASSERT_TRUE(dst.ok());
  auto src_sn = snapshots(*repo_);
  auto res = copy_snapshots(*repo_, **dst, src_sn, {});
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(res->copied, 2u);
  auto fresh = reopen(dst_be.get());
  ASSERT_TRUE(fresh);
  auto copies = snapshots(*fresh);
  ASSERT_EQ(copies.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(copies[i].sn.original, src_sn[i].id);
    EXPECT_FALSE(copies[i].sn.parent);
    EXPECT_TRUE(similar_snapshots(copies[i].sn, src_sn[i].sn));
  }
  EXPECT_EQ(paths(*fresh, copies[0].sn.tree), paths(*repo_, src_sn[0].sn.tree));
  auto blob = fresh->load_blob(repo::BlobType::kData, repo::hash_id(base::as_bytes(testing::noise(300000, 7))));
  EXPECT_TRUE(blob.ok()) << blob.status().message();  // below the chunker's minimum: one blob
  auto small = fresh->load_blob(repo::BlobType::kData, repo::hash_id(base::as_bytes(std::string("other"))));
  EXPECT_TRUE(small.ok()) << small.status().message();

  // A second run skips both and writes nothing.
  auto again = copy_snapshots(*repo_, *fresh, src_sn, copies);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->copied, 0u);
  EXPECT_EQ(again->skipped, 2u);
  EXPECT_EQ(snapshots(*fresh).size(), 2u);
}

TEST_F(RepoCmdsTest, SaveBlobStoresADuplicateOnlyWhenAsked) {
  std::string text = "duplicate me";
  repo::Id id = repo::hash_id(base::as_bytes(text));
  auto first = repo_->save_blob(repo::BlobType::kData, id, base::as_bytes(text));
  ASSERT_TRUE(first.ok() && *first);
  ASSERT_TRUE(repo_->flush().ok());
  auto again = repo_->save_blob(repo::BlobType::kData, id, base::as_bytes(text));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto dup = repo_->save_blob(repo::BlobType::kData, id, base::as_bytes(text), {true});
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(*dup);
  ASSERT_TRUE(repo_->flush().ok());
  EXPECT_EQ(repo_->added_packs(), 2u);
  auto r = reopen(be_.get());
  ASSERT_TRUE(r);
  size_t copies = 0;
  r->with_index([&](const repo::Index& idx) { copies = idx.find_all(id, repo::BlobType::kData).size(); });
  EXPECT_EQ(copies, 2u);
  auto plain = r->load_blob(repo::BlobType::kData, id);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(std::string(plain->begin(), plain->end()), text);
}

// restic's HeaderFull: a pack of many tiny blobs is closed before its header outgrows what a
// reader accepts (16 MiB), even if the pack is far below its target size.
TEST_F(RepoCmdsTest, TinyBlobsNeverOverfillAPackHeader) {
  repo::WriteOptions w;
  w.pack_size = 128ull << 20;
  w.compression = repo::CompressionMode::kOff;
  repo_->set_write_options(w);
  const size_t n = repo::kMaxHeaderLength / repo::kHeaderEntrySize + 10;
  for (size_t i = 0; i < n; ++i) {
    std::string text = std::to_string(i);
    auto st = repo_->save_blob(repo::BlobType::kData, repo::hash_id(base::as_bytes(text)), base::as_bytes(text));
    ASSERT_TRUE(st.ok()) << st.status().message();
  }
  ASSERT_TRUE(repo_->flush().ok());
  EXPECT_EQ(repo_->added_packs(), 2u);
  auto r = reopen(be_.get());
  ASSERT_TRUE(r);
  auto packs = r->list_ids(FileKind::kPack);
  ASSERT_TRUE(packs.ok());
  for (const auto& p : *packs) {
    auto header = r->read_pack_header(p, 0);
    EXPECT_TRUE(header.ok()) << header.status().message();
  }
}

}  // namespace
}  // namespace kura::ops
