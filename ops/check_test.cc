#include "ops/check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "crypto/crypto.h"
#include "ops/testing.h"
#include "ops/walk.h"
#include "repo/pack.h"
#include "repo/snapshot.h"

namespace kura::ops {
namespace {

using backend::FileKind;
using repo::BlobType;
using repo::Id;
using Kind = CheckIssueKind;
using testing::noise;

class CheckTest : public testing::RepoTest {
 protected:
  static constexpr uint64_t kPackSize = 256 * 1024;  // several data packs

  void SetUp() override {
    init_repo({.pack_size = kPackSize});
    ASSERT_TRUE(env_.make_dirs("/data/src/sub/deep", 0755).ok());
    write("/data/src/a.bin", noise(700 * 1024, 1));
    write("/data/src/b.bin", noise(900 * 1024, 2));
    write("/data/src/small.txt", "hello");
    write("/data/src/empty", "");
    write("/data/src/sub/c.bin", noise(300 * 1024, 3));
    write("/data/src/sub/deep/d.txt", "deep");
  }

  repo::Snapshot backup() {
    BackupResult res = RepoTest::backup({"/data/src"});
    last_snapshot_ = res.snapshot_id;
    return res.snapshot;
  }

  CheckResult check(ReadDataSelection::Mode mode = ReadDataSelection::Mode::kNone) {
    CheckOptions o;
    o.read_data.mode = mode;
    o.seed = 42;
    // A fresh Repository, as the command would have: nothing cached from writing.
    auto r = testing::open_repository(be_.get(), base::system_clock(), false);
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (!r.ok()) return {};
    auto res = run_check(**r, o, &progress_, nullptr);
    EXPECT_TRUE(res.ok()) << res.status().message();
    return res.ok() ? std::move(*res) : CheckResult{};
  }
  CheckResult check_all() { return check(ReadDataSelection::Mode::kAll); }

  std::vector<std::string> names(FileKind kind) {
    std::vector<std::string> out;
    EXPECT_TRUE(be_->list(kind,
                          [&](const backend::FileEntry& e) {
                            out.push_back(e.name);
                            return base::ok_status();
                          })
                    .ok());
    std::sort(out.begin(), out.end());
    return out;
  }

  // Replaces a stored file's bytes (files are immutable: remove, then save).
  void rewrite(FileKind kind, const std::string& name,
               const std::function<void(base::Bytes&)>& fn) {
    backend::Handle h{kind, name};
    auto data = be_->load(h, 0, 0);
    ASSERT_TRUE(data.ok()) << data.status().message();
    fn(*data);
    ASSERT_TRUE(be_->remove(h).ok());
    ASSERT_TRUE(be_->save(h, *data).ok());
  }

  // Pack id -> the blobs the index lists in it.
  std::map<Id, std::vector<repo::PackedBlob>> index_packs() {
    std::map<Id, std::vector<repo::PackedBlob>> out;
    for (const auto& name : names(FileKind::kIndex)) {
      auto json = repo_->load_unpacked(FileKind::kIndex, *Id::parse(name));
      EXPECT_TRUE(json.ok());
      auto packs = repo::decode_index_json(*json);
      EXPECT_TRUE(packs.ok());
      for (auto& p : *packs) {
        auto& v = out[p.id];
        v.insert(v.end(), p.blobs.begin(), p.blobs.end());
      }
    }
    return out;
  }

  Id pack_of_type(BlobType type) {
    for (const auto& [id, blobs] : index_packs()) {
      if (!blobs.empty() && blobs[0].type == type) return id;
    }
    ADD_FAILURE() << "no pack of that type";
    return {};
  }

  // Saves a snapshot of `tree` directly.
  Id save_snapshot(const Id& tree) {
    repo::Snapshot sn;
    sn.time = {1700000000, 0, 0};
    sn.tree = tree;
    sn.paths = {"/x"};
    sn.hostname = "host";
    auto id = repo_->save_unpacked(FileKind::kSnapshot, repo::encode_snapshot(sn));
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : Id{};
  }

  Id save_tree_json(const std::string& json) {
    Id id = repo::hash_id(base::as_bytes(json));
    EXPECT_TRUE(repo_->save_blob(BlobType::kTree, id, base::as_bytes(json)).ok());
    EXPECT_TRUE(repo_->flush().ok());
    return id;
  }

  static std::vector<const CheckIssue*> find(const CheckResult& r, Kind kind) {
    std::vector<const CheckIssue*> out;
    for (const auto& is : r.issues) {
      if (is.kind == kind) out.push_back(&is);
    }
    return out;
  }

  static std::string dump(const CheckResult& r) {
    std::string s;
    for (const auto& is : r.issues) {
      s += "kind " + std::to_string(static_cast<int>(is.kind)) + " id " + is.id.short_hex() +
           " pack " + is.pack.short_hex() + " name " + is.name + " detail " + is.detail + "\n";
    }
    return s;
  }

  Id last_snapshot_;
  CheckProgress progress_;
};

TEST_F(CheckTest, CleanRepositoryPasses) {
  backup();
  write("/data/src/new.txt", "new");
  backup();
  CheckResult r = check_all();
  EXPECT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.issues.empty()) << dump(r);
  EXPECT_FALSE(r.index_damaged);
  EXPECT_EQ(r.snapshots, 2u);
  EXPECT_GE(r.packs, 4u);
  EXPECT_EQ(r.packs_read, r.packs);
  EXPECT_EQ(r.unreferenced_packs, 0u);
  // root, data, src, sub, deep; the second backup changed root, data and src
  EXPECT_EQ(r.trees, 8u);
  EXPECT_EQ(progress_.snapshots_done.load(), 2u);
  EXPECT_EQ(progress_.trees_done.load(), 8u);
  EXPECT_EQ(progress_.packs_done.load(), r.packs);
  EXPECT_EQ(progress_.bytes_done.load(), progress_.bytes_total.load());
}

TEST_F(CheckTest, Version1RepositoryPasses) {
  init_repo({.version = 1});
  backup();
  CheckResult res = check_all();
  EXPECT_TRUE(res.ok()) << dump(res);
  EXPECT_TRUE(res.issues.empty()) << dump(res);
  EXPECT_GE(res.packs_read, 2u);
}

TEST_F(CheckTest, EmptyRepositoryPasses) {
  CheckResult r = check_all();
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.issues.empty());
  EXPECT_EQ(r.snapshots, 0u);
}

TEST_F(CheckTest, DeletedPackIsMissing) {
  backup();
  Id pack = pack_of_type(BlobType::kData);
  ASSERT_TRUE(be_->remove({FileKind::kPack, pack.hex()}).ok());
  CheckResult r = check();
  EXPECT_FALSE(r.ok());
  auto missing = find(r, Kind::kPackMissing);
  ASSERT_EQ(missing.size(), 1u) << dump(r);
  EXPECT_EQ(missing[0]->pack, pack);
  EXPECT_EQ(r.broken_packs, std::vector<Id>{pack});
  // The files whose data was in it are named.
  auto files = find(r, Kind::kBlobInBrokenPack);
  ASSERT_FALSE(files.empty()) << dump(r);
  for (const auto* f : files) {
    EXPECT_EQ(f->pack, pack);
    EXPECT_EQ(f->name.rfind("/data/src/", 0), 0u) << f->name;
    EXPECT_EQ(f->snapshot, last_snapshot_);
  }

  CheckResult rd = check_all();
  auto unreadable = find(rd, Kind::kPackUnreadable);
  ASSERT_EQ(unreadable.size(), 1u) << dump(rd);
  EXPECT_EQ(unreadable[0]->pack, pack);
  EXPECT_FALSE(unreadable[0]->detail.empty());
}

TEST_F(CheckTest, TruncatedPackHasWrongSize) {
  backup();
  Id pack = pack_of_type(BlobType::kData);
  uint64_t size = 0;
  rewrite(FileKind::kPack, pack.hex(), [&](base::Bytes& b) {
    size = b.size();
    b.resize(b.size() - 100);
  });
  CheckResult r = check();
  auto wrong = find(r, Kind::kPackSizeMismatch);
  ASSERT_EQ(wrong.size(), 1u) << dump(r);
  EXPECT_EQ(wrong[0]->pack, pack);
  EXPECT_EQ(wrong[0]->actual, size - 100);
  EXPECT_EQ(wrong[0]->expected, size);
  EXPECT_TRUE(wrong[0]->error);

  CheckResult rd = check_all();
  EXPECT_FALSE(find(rd, Kind::kPackHashMismatch).empty()) << dump(rd);
  EXPECT_FALSE(find(rd, Kind::kPackHeaderUnreadable).empty()) << dump(rd);
}

TEST_F(CheckTest, FlippedByteIsFoundOnlyByReadingData) {
  backup();
  Id pack = pack_of_type(BlobType::kData);
  auto blobs = index_packs()[pack];
  auto first = *std::min_element(blobs.begin(), blobs.end(),
                                 [](const auto& a, const auto& b) { return a.offset < b.offset; });
  rewrite(FileKind::kPack, pack.hex(),
          [&](base::Bytes& b) { b[first.offset + first.length / 2] ^= 0x01; });

  CheckResult quick = check();
  EXPECT_TRUE(quick.ok()) << dump(quick);

  CheckResult r = check_all();
  EXPECT_FALSE(r.ok());
  auto hash = find(r, Kind::kPackHashMismatch);
  ASSERT_EQ(hash.size(), 1u) << dump(r);
  EXPECT_EQ(hash[0]->pack, pack);
  EXPECT_NE(hash[0]->blob, pack);  // the actual hash
  auto damaged = find(r, Kind::kBlobDamaged);
  ASSERT_EQ(damaged.size(), 1u) << dump(r);
  EXPECT_EQ(damaged[0]->blob, first.id);
  EXPECT_EQ(damaged[0]->pack, pack);
  EXPECT_TRUE(find(r, Kind::kPackHeaderUnreadable).empty());
  EXPECT_EQ(r.broken_packs, std::vector<Id>{pack});
}

TEST_F(CheckTest, FlippedHeaderByteIsFoundByReadingData) {
  backup();
  Id pack = pack_of_type(BlobType::kTree);
  rewrite(FileKind::kPack, pack.hex(), [&](base::Bytes& b) { b[b.size() - 10] ^= 0x80; });
  CheckResult r = check_all();
  EXPECT_EQ(find(r, Kind::kPackHashMismatch).size(), 1u) << dump(r);
  auto hdr = find(r, Kind::kPackHeaderUnreadable);
  ASSERT_EQ(hdr.size(), 1u) << dump(r);
  EXPECT_EQ(hdr[0]->pack, pack);
  EXPECT_TRUE(find(r, Kind::kBlobDamaged).empty()) << dump(r);
}

TEST_F(CheckTest, DeletedIndexFileLeavesUnreferencedPacks) {
  backup();
  auto before = index_packs();
  for (const auto& name : names(FileKind::kIndex)) {
    ASSERT_TRUE(be_->remove({FileKind::kIndex, name}).ok());
  }
  CheckResult r = check();
  EXPECT_FALSE(r.ok());
  auto unref = find(r, Kind::kPackUnreferenced);
  EXPECT_EQ(unref.size(), before.size()) << dump(r);
  EXPECT_EQ(r.unreferenced_packs, before.size());
  for (const auto* u : unref) {
    EXPECT_FALSE(u->error);
    EXPECT_EQ(before.count(u->pack), 1u);
  }
  // Nothing is indexed, so the root tree is missing.
  auto trees = find(r, Kind::kTreeMissing);
  ASSERT_EQ(trees.size(), 1u) << dump(r);
  EXPECT_EQ(trees[0]->path, "/");
  EXPECT_EQ(trees[0]->snapshot, last_snapshot_);
}

TEST_F(CheckTest, UnreferencedPacksAloneAreOnlyHints) {
  backup();
  auto first_index = names(FileKind::kIndex);
  auto first_snaps = names(FileKind::kSnapshot);
  write("/data/src/more.bin", noise(100 * 1024, 9));
  backup();
  // Drop what the second backup wrote apart from its packs: restic calls these "additional
  // files" and exits 0.
  for (const auto& n : names(FileKind::kIndex)) {
    if (!std::binary_search(first_index.begin(), first_index.end(), n)) {
      ASSERT_TRUE(be_->remove({FileKind::kIndex, n}).ok());
    }
  }
  for (const auto& n : names(FileKind::kSnapshot)) {
    if (!std::binary_search(first_snaps.begin(), first_snaps.end(), n)) {
      ASSERT_TRUE(be_->remove({FileKind::kSnapshot, n}).ok());
    }
  }
  CheckResult r = check_all();
  EXPECT_TRUE(r.ok()) << dump(r);
  EXPECT_GE(r.unreferenced_packs, 1u);
  EXPECT_EQ(r.hints, r.unreferenced_packs);
}

TEST_F(CheckTest, MissingTreeBlobIsNamedWithItsPath) {
  backup();
  // Rewrite the index without the tree of /src/sub.
  auto snaps = names(FileKind::kSnapshot);
  auto sn = repo::decode_snapshot(*repo_->load_unpacked(FileKind::kSnapshot, *Id::parse(snaps[0])));
  ASSERT_TRUE(sn.ok());
  ASSERT_TRUE(repo_->load_index().ok());
  Id sub_tree;
  ASSERT_TRUE(walk_tree(*repo_, sn->tree, "",
                        [&](const std::string& path, const repo::Node& n) -> base::StatusOr<Visit> {
                          if (path == "/data/src/sub") sub_tree = *n.subtree;
                          return Visit::kDescend;
                        })
                  .ok());
  ASSERT_FALSE(sub_tree.is_zero());
  std::vector<repo::IndexPack> packs;
  for (auto& [id, blobs] : index_packs()) {
    repo::IndexPack p{id, {}};
    for (const auto& b : blobs) {
      if (b.id != sub_tree) p.blobs.push_back(b);
    }
    packs.push_back(p);
  }
  auto old = names(FileKind::kIndex);
  ASSERT_TRUE(repo_->write_index(packs).ok());
  for (const auto& n : old) ASSERT_TRUE(be_->remove({FileKind::kIndex, n}).ok());

  CheckResult r = check();
  auto missing = find(r, Kind::kTreeMissing);
  ASSERT_EQ(missing.size(), 1u) << dump(r);
  EXPECT_EQ(missing[0]->id, sub_tree);
  EXPECT_EQ(missing[0]->path, "/data/src/sub");
  EXPECT_EQ(missing[0]->snapshot, *Id::parse(snaps[0]));
  // The pack that still holds it no longer matches its indexed size.
  EXPECT_EQ(find(r, Kind::kPackSizeMismatch).size(), 1u) << dump(r);
  // Trees below a missing tree cannot be reached: /src/sub/deep is not checked.
  EXPECT_EQ(r.trees, 4u);
}

TEST_F(CheckTest, SnapshotOfMissingTree) {
  Id bogus = repo::hash_id(base::as_bytes("no such tree"));
  Id sn = save_snapshot(bogus);
  CheckResult r = check();
  auto missing = find(r, Kind::kTreeMissing);
  ASSERT_EQ(missing.size(), 1u) << dump(r);
  EXPECT_EQ(missing[0]->id, bogus);
  EXPECT_EQ(missing[0]->snapshot, sn);
  EXPECT_EQ(missing[0]->path, "/");
}

TEST_F(CheckTest, CorruptedSnapshotFile) {
  backup();
  std::string name = names(FileKind::kSnapshot)[0];
  rewrite(FileKind::kSnapshot, name, [](base::Bytes& b) { b[20] ^= 0xff; });
  CheckResult r = check();
  EXPECT_FALSE(r.ok());
  auto bad = find(r, Kind::kSnapshotUnreadable);
  ASSERT_EQ(bad.size(), 1u) << dump(r);
  EXPECT_EQ(bad[0]->id.hex(), name);
  EXPECT_FALSE(bad[0]->detail.empty());
  EXPECT_EQ(r.snapshots, 0u);
}

TEST_F(CheckTest, SnapshotWithInvalidJson) {
  auto id = repo_->save_unpacked(FileKind::kSnapshot, base::as_bytes("{\"time\": 12"));
  ASSERT_TRUE(id.ok());
  CheckResult r = check();
  auto bad = find(r, Kind::kSnapshotUnreadable);
  ASSERT_EQ(bad.size(), 1u) << dump(r);
  EXPECT_EQ(bad[0]->id, *id);
}

TEST_F(CheckTest, GarbageIndexFileStopsTheCheck) {
  backup();
  std::string name = names(FileKind::kIndex)[0];
  rewrite(FileKind::kIndex, name, [](base::Bytes& b) {
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 7);
  });
  CheckResult r = check_all();
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.index_damaged);
  auto bad = find(r, Kind::kIndexUnreadable);
  ASSERT_EQ(bad.size(), 1u) << dump(r);
  EXPECT_EQ(bad[0]->id.hex(), name);
  EXPECT_EQ(r.issues.size(), 1u) << dump(r);  // nothing else ran
  EXPECT_EQ(r.packs_read, 0u);
}

TEST_F(CheckTest, IndexFileWithInvalidJson) {
  backup();
  for (const char* text : {"not json", "{\"packs\": 5}", "{\"packs\":[{\"id\":\"xyz\"}]}", "[]"}) {
    auto id = repo_->save_unpacked(FileKind::kIndex, base::as_bytes(text));
    ASSERT_TRUE(id.ok());
    CheckResult r = check();
    auto bad = find(r, Kind::kIndexUnreadable);
    ASSERT_EQ(bad.size(), 1u) << text << "\n" << dump(r);
    EXPECT_EQ(bad[0]->id, *id);
    EXPECT_FALSE(bad[0]->detail.empty());
    ASSERT_TRUE(be_->remove({FileKind::kIndex, id->hex()}).ok());
  }
  EXPECT_TRUE(check().ok());
}

TEST_F(CheckTest, DuplicatePackIsAHint) {
  backup();
  auto packs = index_packs();
  auto first = *packs.begin();
  auto extra = repo_->write_index({{first.first, first.second}});
  ASSERT_TRUE(extra.ok());
  CheckResult r = check_all();
  EXPECT_TRUE(r.ok()) << dump(r);
  auto dup = find(r, Kind::kDuplicatePack);
  ASSERT_EQ(dup.size(), 1u) << dump(r);
  EXPECT_FALSE(dup[0]->error);
  EXPECT_EQ(dup[0]->pack, first.first);
  EXPECT_EQ(dup[0]->ids.size(), 2u);
  EXPECT_NE(std::find(dup[0]->ids.begin(), dup[0]->ids.end(), *extra), dup[0]->ids.end());
}

class HandMadePackTest : public CheckTest {
 protected:
  // Builds a pack of the given blobs, stores it and returns its id and header entries.
  std::pair<Id, std::vector<repo::PackedBlob>> store_pack(
      const std::vector<std::pair<BlobType, std::string>>& blobs) {
    repo::PackBuilder pb;
    for (const auto& [type, plain] : blobs) {
      pb.add(repo::hash_id(base::as_bytes(plain)), type,
             crypto::seal(repo_->key(), base::as_bytes(plain), *crypto::system_random()), 0);
    }
    auto entries = pb.blobs();
    base::Bytes file = pb.finish(repo_->key(), *crypto::system_random());
    Id id = repo::hash_id(file);
    EXPECT_TRUE(be_->save({FileKind::kPack, id.hex()}, file).ok());
    return {id, entries};
  }
};

TEST_F(HandMadePackTest, MixedPackIsAHintAndReadable) {
  auto [pack, entries] =
      store_pack({{BlobType::kData, "some data"}, {BlobType::kTree, "{\"nodes\":[]}\n"}});
  ASSERT_TRUE(repo_->write_index({{pack, entries}}).ok());
  CheckResult r = check_all();
  EXPECT_TRUE(r.ok()) << dump(r);
  auto mixed = find(r, Kind::kMixedPack);
  ASSERT_EQ(mixed.size(), 1u) << dump(r);
  EXPECT_EQ(mixed[0]->pack, pack);
  EXPECT_EQ(r.packs_read, 1u);
}

TEST_F(HandMadePackTest, HeaderAndIndexDisagree) {
  auto [pack, entries] = store_pack({{BlobType::kData, "first"}, {BlobType::kData, "second"}});
  // The index knows only the second blob, and with a wrong length.
  repo::PackedBlob wrong = entries[1];
  wrong.length += 1;
  ASSERT_TRUE(repo_->write_index({{pack, {wrong}}}).ok());
  CheckResult r = check_all();
  EXPECT_EQ(find(r, Kind::kPackSizeMismatch).size(), 1u) << dump(r);
  EXPECT_EQ(find(r, Kind::kPackIndexGaps).size(), 1u) << dump(r);
  auto not_indexed = find(r, Kind::kPackBlobNotInIndex);
  ASSERT_EQ(not_indexed.size(), 2u) << dump(r);
  auto not_in_pack = find(r, Kind::kIndexBlobNotInPack);
  ASSERT_EQ(not_in_pack.size(), 1u) << dump(r);
  EXPECT_EQ(not_in_pack[0]->blob, entries[1].id);
  auto damaged = find(r, Kind::kBlobDamaged);
  ASSERT_EQ(damaged.size(), 1u) << dump(r);
  EXPECT_EQ(damaged[0]->blob, entries[1].id);
}

TEST_F(HandMadePackTest, HeaderLongerThanTheTailIsRead) {
  // 1000 header entries: longer than the 16 KiB tail a header is first looked for in.
  std::vector<std::pair<BlobType, std::string>> blobs;
  for (int i = 0; i < 1000; ++i) blobs.push_back({BlobType::kData, "blob " + std::to_string(i)});
  auto [pack, entries] = store_pack(blobs);
  ASSERT_TRUE(repo_->write_index({{pack, entries}}).ok());
  CheckResult r = check_all();
  EXPECT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.packs_read, 1u);

  uint64_t data_end = entries.back().offset + entries.back().length;
  rewrite(FileKind::kPack, pack.hex(), [&](base::Bytes& b) { b[data_end + 20] ^= 0x01; });
  r = check_all();
  EXPECT_EQ(find(r, Kind::kPackHashMismatch).size(), 1u) << dump(r);
  EXPECT_EQ(find(r, Kind::kPackHeaderUnreadable).size(), 1u) << dump(r);
  EXPECT_TRUE(find(r, Kind::kBlobDamaged).empty()) << dump(r);
}

// Packs are read in pieces (ops/check.cc, 1 MiB): packs of several pieces, damaged anywhere,
// even in a blob that spans two pieces, name exactly the blob that holds the damage, with the
// text Repository::decode_blob gives for it.
class LargePackTest : public CheckTest {
 protected:
  void SetUp() override {
    init_repo({.pack_size = 8 << 20});
    ASSERT_TRUE(env_.make_dirs("/data", 0755).ok());
    write("/data/big.bin", noise(20 << 20, 7));
  }
};

TEST_F(LargePackTest, DamagedBlobAnywhereIsNamedAsDecodeBlobNamesIt) {
  RepoTest::backup({"/data"});
  CheckResult clean = check_all();
  EXPECT_TRUE(clean.ok()) << dump(clean);
  uint64_t stored = 0;
  for (const auto& name : names(FileKind::kPack)) {
    auto size = be_->stat({FileKind::kPack, name});
    ASSERT_TRUE(size.ok());
    stored += *size;
  }
  EXPECT_EQ(clean.bytes_read, stored);

  Id pack;
  std::vector<repo::PackedBlob> blobs;
  for (auto& [id, b] : index_packs()) {
    if (b.size() > blobs.size()) std::tie(pack, blobs) = std::tie(id, b);
  }
  std::sort(blobs.begin(), blobs.end(),
            [](const auto& a, const auto& b) { return a.offset < b.offset; });
  uint64_t data_end = blobs.back().offset + blobs.back().length;
  ASSERT_GE(data_end, 5u << 20);
  const uint64_t mib = 1 << 20;
  for (uint64_t at : {uint64_t{0}, mib - 1, mib, 2 * mib + 1, 3 * mib + 12345, data_end - 1}) {
    SCOPED_TRACE(at);
    auto holder = std::find_if(blobs.begin(), blobs.end(), [&](const auto& b) {
      return b.offset <= at && at < uint64_t{b.offset} + b.length;
    });
    ASSERT_NE(holder, blobs.end());
    base::Bytes damaged;
    rewrite(FileKind::kPack, pack.hex(), [&](base::Bytes& b) {
      b[at] ^= 0x04;
      damaged = b;
    });
    auto decoded = repo_->decode_blob(
        *holder, base::ByteSpan(damaged).subspan(holder->offset, holder->length));
    ASSERT_FALSE(decoded.ok());
    std::string prefix = "data blob " + holder->id.hex() + ": ";
    ASSERT_EQ(decoded.status().message().rfind(prefix, 0), 0u) << decoded.status().message();

    CheckResult r = check_all();
    EXPECT_EQ(find(r, Kind::kPackHashMismatch).size(), 1u) << dump(r);
    auto bad = find(r, Kind::kBlobDamaged);
    ASSERT_EQ(bad.size(), 1u) << dump(r);
    EXPECT_EQ(bad[0]->pack, pack);
    EXPECT_EQ(bad[0]->blob, holder->id);
    EXPECT_EQ(bad[0]->detail, decoded.status().message().substr(prefix.size()));
    EXPECT_EQ(r.errors, 2u) << dump(r);
    rewrite(FileKind::kPack, pack.hex(), [&](base::Bytes& b) { b[at] ^= 0x04; });
  }
}

TEST_F(LargePackTest, HeaderLengthBeyondTheLastPieceIsReadAndJudgedAsAWhole) {
  RepoTest::backup({"/data"});
  Id pack = pack_of_type(BlobType::kData);
  base::Bytes whole;
  rewrite(FileKind::kPack, pack.hex(), [&](base::Bytes& b) {
    // Every byte but the first four: more than the window keeps of a pack this size.
    uint32_t hlen = static_cast<uint32_t>(b.size() - 8);
    for (int i = 0; i < 4; ++i) b[b.size() - 4 + i] = static_cast<uint8_t>(hlen >> (8 * i));
    whole = b;
  });
  auto expected = repo::parse_pack_tail(repo_->key(), whole, whole.size(), repo_->version());
  ASSERT_FALSE(expected.ok());
  CheckResult r = check_all();
  EXPECT_EQ(find(r, Kind::kPackHashMismatch).size(), 1u) << dump(r);
  auto hdr = find(r, Kind::kPackHeaderUnreadable);
  ASSERT_EQ(hdr.size(), 1u) << dump(r);
  EXPECT_EQ(hdr[0]->detail, expected.status().message());
  EXPECT_TRUE(find(r, Kind::kBlobDamaged).empty()) << dump(r);
}

TEST_F(LargePackTest, IndexLongerThanThePackNamesTheBlobsBeyondItsEnd) {
  RepoTest::backup({"/data"});
  Id pack = pack_of_type(BlobType::kData);
  uint64_t size = 0;
  rewrite(FileKind::kPack, pack.hex(), [&](base::Bytes& b) {
    b.resize(b.size() / 2);
    size = b.size();
  });
  CheckResult r = check_all();
  EXPECT_EQ(find(r, Kind::kPackSizeMismatch).size(), 1u) << dump(r);
  EXPECT_EQ(find(r, Kind::kPackHashMismatch).size(), 1u) << dump(r);
  EXPECT_EQ(find(r, Kind::kPackHeaderUnreadable).size(), 1u) << dump(r);
  auto blobs = index_packs()[pack];
  size_t beyond = 0;
  for (const auto& b : blobs) beyond += uint64_t{b.offset} + b.length > size;
  ASSERT_GT(beyond, 0u);
  size_t named = 0;
  for (const auto* is : find(r, Kind::kBlobDamaged)) {
    if (is->detail == "lies beyond the end of the pack file (" + std::to_string(size) + " bytes)") {
      ++named;
    }
  }
  EXPECT_EQ(named, beyond) << dump(r);
}

TEST_F(CheckTest, NodeProblemsAreReportedPerNode) {
  Id blob = repo::hash_id(base::as_bytes("content"));
  ASSERT_TRUE(repo_->save_blob(BlobType::kData, blob, base::as_bytes("content")).ok());
  Id sub = save_tree_json("{\"nodes\":[]}\n");
  Id unknown = repo::hash_id(base::as_bytes("unknown"));
  std::string zero(64, '0');
  std::string json =
      "{\"nodes\":["
      "{\"name\":\"ok\",\"type\":\"file\",\"content\":[\"" +
      blob.hex() +
      "\"]},"
      "{\"name\":\"empty\",\"type\":\"file\",\"content\":[]},"
      "{\"name\":\"nullcontent\",\"type\":\"file\",\"content\":null},"
      "{\"name\":\"nocontent\",\"type\":\"file\"},"
      "{\"name\":\"nullblob\",\"type\":\"file\",\"content\":[\"" +
      blob.hex() + "\",\"" + zero +
      "\"]},"
      "{\"name\":\"lost\",\"type\":\"file\",\"content\":[\"" +
      unknown.hex() +
      "\"]},"
      "{\"name\":\"dir\",\"type\":\"dir\",\"subtree\":\"" +
      sub.hex() +
      "\"},"
      "{\"name\":\"nosub\",\"type\":\"dir\"},"
      "{\"name\":\"nullsub\",\"type\":\"dir\",\"subtree\":\"" +
      zero +
      "\"},"
      "{\"name\":\"weird\",\"type\":\"blockdev\"},"
      "{\"name\":\"\",\"type\":\"symlink\",\"linktarget\":\"x\"}"
      "]}\n";
  Id tree = save_tree_json(json);
  Id sn = save_snapshot(tree);
  CheckResult r = check_all();
  EXPECT_FALSE(r.ok());
  auto one = [&](Kind kind, const std::string& name) {
    auto v = find(r, kind);
    ASSERT_EQ(v.size(), 1u) << static_cast<int>(kind) << "\n" << dump(r);
    EXPECT_EQ(v[0]->name, name);
    EXPECT_EQ(v[0]->id, tree);
    EXPECT_EQ(v[0]->snapshot, sn);
    EXPECT_EQ(v[0]->path, "/");
  };
  one(Kind::kBlobNullId, "/nullblob");
  EXPECT_EQ(find(r, Kind::kBlobNullId)[0]->index, 1u);
  one(Kind::kBlobNotInIndex, "/lost");
  EXPECT_EQ(find(r, Kind::kBlobNotInIndex)[0]->blob, unknown);
  one(Kind::kDirNoSubtree, "/nosub");
  one(Kind::kDirNullSubtree, "/nullsub");
  one(Kind::kInvalidNodeType, "/weird");
  EXPECT_EQ(find(r, Kind::kInvalidNodeType)[0]->detail, "blockdev");
  one(Kind::kEmptyName, "/");
  auto nulls = find(r, Kind::kFileNullContent);
  ASSERT_EQ(nulls.size(), 2u) << dump(r);
  EXPECT_EQ(nulls[0]->name, "/nullcontent");
  EXPECT_EQ(nulls[1]->name, "/nocontent");
  EXPECT_EQ(r.errors, 8u) << dump(r);
  EXPECT_EQ(r.trees, 2u);  // the subtree of "dir" was reached
}

TEST_F(CheckTest, TreeBlobThatIsNotATree) {
  Id t1 = save_tree_json("this is not json");
  Id t2 =
      save_tree_json("{\"nodes\":[{\"name\":\"a\",\"type\":\"file\",\"content\":[\"nothex\"]}]}");
  save_snapshot(t1);
  save_snapshot(t2);
  CheckResult r = check();
  auto bad = find(r, Kind::kTreeUnreadable);
  ASSERT_EQ(bad.size(), 2u) << dump(r);
  std::set<Id> ids{bad[0]->id, bad[1]->id};
  EXPECT_EQ(ids, (std::set<Id>{t1, t2}));
  for (const auto* b : bad) EXPECT_FALSE(b->detail.empty());
}

TEST_F(CheckTest, ObserverSeesPhasesAndIssues) {
  backup();
  Id pack = pack_of_type(BlobType::kData);
  ASSERT_TRUE(be_->remove({FileKind::kPack, pack.hex()}).ok());
  struct Obs : CheckObserver {
    std::vector<CheckPhase> phases;
    size_t issues = 0;
    void on_phase(CheckPhase p) override { phases.push_back(p); }
    void on_issue(const CheckIssue&) override { ++issues; }
  } obs;
  auto r = testing::open_repository(be_.get(), base::system_clock(), false);
  ASSERT_TRUE(r.ok());
  CheckOptions o;
  o.read_data.mode = ReadDataSelection::Mode::kAll;
  auto res = run_check(**r, o, nullptr, &obs);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(obs.phases,
            (std::vector<CheckPhase>{CheckPhase::kLoadIndex, CheckPhase::kCheckPacks,
                                     CheckPhase::kCheckSnapshots, CheckPhase::kReadData}));
  EXPECT_EQ(obs.issues, res->issues.size());
}

TEST(ReadDataSubsetTest, Parses) {
  using Mode = ReadDataSelection::Mode;
  auto b = parse_read_data_subset("2/5");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->mode, Mode::kBucket);
  EXPECT_EQ(b->bucket, 2u);
  EXPECT_EQ(b->total_buckets, 5u);
  EXPECT_TRUE(parse_read_data_subset("256/256").ok());
  auto p = parse_read_data_subset("12.5%");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->mode, Mode::kPercent);
  EXPECT_DOUBLE_EQ(p->percent, 12.5);
  EXPECT_TRUE(parse_read_data_subset("100%").ok());
  auto s = parse_read_data_subset("500M");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->mode, Mode::kSize);
  EXPECT_EQ(s->size, 500ull << 20);
  EXPECT_EQ(parse_read_data_subset("3k")->size, 3072u);
  EXPECT_EQ(parse_read_data_subset("2G")->size, 2ull << 30);
  EXPECT_EQ(parse_read_data_subset("1t")->size, 1ull << 40);
  EXPECT_EQ(parse_read_data_subset("77b")->size, 77u);
}

TEST(ReadDataSubsetTest, RejectsGarbage) {
  for (const char* bad :
       {"",     "5",   "0/3",  "4/3",          "1/0",  "1/257", "1/2/3", "/", "1/",
        "-1/2", "0%",  "101%", "-5%",          "%",    "abc%",  "nan%",  "x", "5X",
        "0M",   "-5M", "M",    "99999999999T", "1.5G", " 1/2",  "1/2 "}) {
    auto r = parse_read_data_subset(bad);
    EXPECT_FALSE(r.ok()) << "\"" << bad << "\"";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument);
    }
  }
}

std::vector<PackSize> fake_packs(size_t n) {
  std::vector<PackSize> v;
  for (size_t i = 0; i < n; ++i) {
    PackSize p;
    p.id = repo::hash_id(base::as_bytes(std::to_string(i)));
    p.size = 1000;
    v.push_back(p);
  }
  return v;
}

TEST(SelectPacksTest, BucketsPartitionThePacks) {
  auto packs = fake_packs(300);
  ReadDataSelection sel;
  sel.mode = ReadDataSelection::Mode::kBucket;
  sel.total_buckets = 3;
  std::set<Id> seen;
  for (uint32_t n = 1; n <= 3; ++n) {
    sel.bucket = n;
    for (const auto& p : select_packs(packs, sel, 1)) {
      EXPECT_EQ(p.id.bytes[0] % 3, n - 1);
      EXPECT_TRUE(seen.insert(p.id).second);
    }
  }
  EXPECT_EQ(seen.size(), packs.size());
}

TEST(SelectPacksTest, PercentAndSizePickRandomShares) {
  auto packs = fake_packs(200);
  ReadDataSelection sel;
  sel.mode = ReadDataSelection::Mode::kPercent;
  sel.percent = 10;
  auto a = select_packs(packs, sel, 7);
  EXPECT_EQ(a.size(), 20u);
  auto b = select_packs(packs, sel, 7);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].id, b[i].id);  // same seed, same choice
  auto c = select_packs(packs, sel, 8);
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) differs |= a[i].id != c[i].id;
  EXPECT_TRUE(differs);
  sel.percent = 0.01;
  EXPECT_EQ(select_packs(packs, sel, 1).size(), 1u);  // at least one
  sel.percent = 100;
  EXPECT_EQ(select_packs(packs, sel, 1).size(), 200u);

  sel.mode = ReadDataSelection::Mode::kSize;
  sel.size = 50 * 1000;  // a quarter of the 200 000 bytes
  EXPECT_EQ(select_packs(packs, sel, 1).size(), 50u);
  sel.size = 1ull << 40;  // more than there is: everything
  EXPECT_EQ(select_packs(packs, sel, 1).size(), 200u);
  EXPECT_TRUE(select_packs({}, sel, 1).empty());

  sel.mode = ReadDataSelection::Mode::kAll;
  EXPECT_EQ(select_packs(packs, sel, 1).size(), 200u);
  sel.mode = ReadDataSelection::Mode::kNone;
  EXPECT_TRUE(select_packs(packs, sel, 1).empty());
}

}  // namespace
}  // namespace kura::ops
