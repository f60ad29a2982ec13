// Loading and selecting snapshots when some snapshot files are damaged: listings (snapshots,
// forget, find, stats) warn about those and go on with the rest, as restic 0.14 does; what
// must not guess (backup's parent, "latest", prune) fails naming the file.
#include "ops/snapshots.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ops/forget.h"
#include "ops/testing.h"
#include "repo/id.h"
#include "repo/snapshot.h"

namespace kura::ops {
namespace {

using backend::FileKind;
using repo::Id;

class DamagedSnapshotsTest : public testing::RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    first_ = add(1);
    flipped_ = add(2);
    damage(flipped_);
    // Random bytes named by their hash: the name checks out, the MAC does not (as a file
    // encrypted with another repository's key).
    undecryptable_ = store_raw(base::as_bytes(testing::noise(300, 7)));
    // Decrypts, but is no snapshot (no tree).
    std::string no_tree = R"({"time":"2024-01-01T00:00:00Z"})";
    auto not_a_snapshot = repo_->save_unpacked(FileKind::kSnapshot, base::as_bytes(no_tree));
    ASSERT_TRUE(not_a_snapshot.ok()) << not_a_snapshot.status().message();
    no_tree_ = *not_a_snapshot;
    empty_ = store_raw({});
    newest_ = add(5);
    damaged_ = {flipped_, undecryptable_, no_tree_, empty_};
    std::sort(damaged_.begin(), damaged_.end());
  }

  Id add(int day, const std::string& host = "host") {
    repo::Snapshot sn;
    sn.time = {testing::kStartTime + day * 86400, 0, 0};
    sn.tree.bytes[0] = static_cast<uint8_t>(day);
    sn.paths = {"/data"};
    sn.hostname = host;
    auto id = repo_->save_unpacked(FileKind::kSnapshot, repo::encode_snapshot(sn));
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : Id{};
  }

  Id store_raw(base::ByteSpan data) {
    Id id = repo::hash_id(data);
    EXPECT_TRUE(be_->save({FileKind::kSnapshot, id.hex()}, data).ok());
    return id;
  }

  void damage(const Id& id) {
    backend::Handle h{FileKind::kSnapshot, id.hex()};
    auto data = be_->load(h, 0, 0);
    ASSERT_TRUE(data.ok());
    (*data)[data->size() / 2] ^= 0x40;
    ASSERT_TRUE(be_->remove(h).ok());
    ASSERT_TRUE(be_->save(h, *data).ok());
  }

  static std::vector<Id> ids(const std::vector<SnapshotEntry>& v) {
    std::vector<Id> out;
    for (const auto& e : v) out.push_back(e.id);
    return out;
  }

  Id first_, flipped_, undecryptable_, no_tree_, empty_, newest_;
  std::vector<Id> damaged_;  // sorted
};

TEST_F(DamagedSnapshotsTest, LoadingReportsTheUnreadableAndListsTheRest) {
  std::vector<SnapshotLoadError> unreadable;
  auto all = load_snapshots(*repo_, &unreadable);
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(ids(*all), (std::vector<Id>{first_, newest_}));  // oldest first
  ASSERT_EQ(unreadable.size(), damaged_.size());
  for (size_t i = 0; i < unreadable.size(); ++i) {
    EXPECT_EQ(unreadable[i].id, damaged_[i]);
    EXPECT_FALSE(unreadable[i].error.ok());
    EXPECT_NE(unreadable[i].error.message().find(damaged_[i].hex()), std::string::npos)
        << unreadable[i].error.message();
  }
}

TEST_F(DamagedSnapshotsTest, StrictLoadingFailsNamingTheFile) {
  auto all = load_snapshots(*repo_);
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.status().code(), base::Code::kDataLoss) << all.status().message();
  bool named = std::any_of(damaged_.begin(), damaged_.end(), [&](const Id& id) {
    return all.status().message().find(id.hex()) != std::string::npos;
  });
  EXPECT_TRUE(named) << all.status().message();
  // "latest" cannot be told while a snapshot is unreadable (it could be the newest).
  auto latest = find_snapshot(*repo_, "latest");
  ASSERT_FALSE(latest.ok());
  EXPECT_EQ(latest.status().code(), base::Code::kDataLoss);
  // A readable one is still found by its id, a damaged one fails naming it.
  auto first = find_snapshot(*repo_, first_.short_hex());
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->id, first_);
  auto flipped = find_snapshot(*repo_, flipped_.hex());
  ASSERT_FALSE(flipped.ok());
  EXPECT_NE(flipped.status().message().find(flipped_.hex()), std::string::npos);
}

TEST_F(DamagedSnapshotsTest, SelectionSkipsTheUnreadable) {
  auto all = select_snapshots(*repo_, {}, {});
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(ids(all->snapshots), (std::vector<Id>{first_, newest_}));
  EXPECT_EQ(all->unreadable.size(), damaged_.size());
  EXPECT_TRUE(all->skipped.empty());

  SnapshotFilter other_host;
  other_host.hosts = {"elsewhere"};
  auto none = select_snapshots(*repo_, other_host, {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->snapshots.empty());
  EXPECT_EQ(none->unreadable.size(), damaged_.size());  // still worth a warning

  // Explicit references: a damaged one and "latest" are skipped with the reason (restic's
  // "Ignoring ..."), the others are taken.
  auto refs = select_snapshots(*repo_, {}, {flipped_.short_hex(), first_.short_hex(), "latest"});
  ASSERT_TRUE(refs.ok()) << refs.status().message();
  EXPECT_EQ(ids(refs->snapshots), (std::vector<Id>{first_}));
  ASSERT_EQ(refs->skipped.size(), 2u);
  EXPECT_EQ(refs->skipped[0].ref, flipped_.short_hex());
  EXPECT_EQ(refs->skipped[0].error.code(), base::Code::kDataLoss);
  EXPECT_EQ(refs->skipped[1].ref, "latest");
  EXPECT_TRUE(refs->unreadable.empty());
}

TEST_F(DamagedSnapshotsTest, ForgetAppliesThePolicyToTheReadableOnly) {
  ForgetOptions opts;
  opts.policy.last = 1;
  opts.now_sec = testing::kStartTime + 100 * 86400;
  auto plan = plan_forget(*repo_, opts);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->remove, std::vector<Id>{first_});  // never a damaged one
  ASSERT_EQ(plan->unreadable.size(), damaged_.size());
  EXPECT_EQ(plan->unreadable[0].id, damaged_[0]);
  ASSERT_EQ(plan->groups.size(), 1u);
  EXPECT_EQ(ids(plan->groups[0].result.keep), std::vector<Id>{newest_});
}

TEST_F(DamagedSnapshotsTest, AllReadableMeansNothingUnreadable) {
  for (const Id& id : damaged_) ASSERT_TRUE(be_->remove({FileKind::kSnapshot, id.hex()}).ok());
  std::vector<SnapshotLoadError> unreadable;
  auto all = load_snapshots(*repo_, &unreadable);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  EXPECT_TRUE(unreadable.empty());
  EXPECT_TRUE(load_snapshots(*repo_).ok());
  auto latest = find_snapshot(*repo_, "latest");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->id, newest_);
}

}  // namespace
}  // namespace kura::ops
