#include "ops/prune.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "backend/fault_backend.h"
#include "backend/forwarding_backend.h"
#include "backend/local_backend.h"
#include "backend/mem_backend.h"
#include "base/clock.h"
#include "base/fault_env.h"
#include "base/mem_env.h"
#include "ops/backup.h"
#include "ops/forget.h"
#include "ops/restore.h"
#include "ops/testing.h"
#include "repo/snapshot.h"

namespace kura::ops {
namespace {

using backend::FileKind;
using Files = std::map<std::string, base::Bytes>;

constexpr uint64_t kPackSize = 64 * 1024;

base::Bytes pseudo_random(uint32_t seed, size_t n) {
  std::string s = testing::noise(n, seed);
  return base::Bytes(s.begin(), s.end());
}

// Every file below root, by path relative to root.
Files read_tree(base::Env& env, const std::string& root, const std::string& rel = "") {
  Files out;
  auto entries = env.list_dir(rel.empty() ? root : root + "/" + rel);
  EXPECT_TRUE(entries.ok()) << root << "/" << rel;
  if (!entries.ok()) return out;
  for (const auto& e : *entries) {
    std::string r = rel.empty() ? e.name : rel + "/" + e.name;
    auto info = env.lstat(root + "/" + r);
    EXPECT_TRUE(info.ok());
    if (info->type == base::FileType::kDir) {
      Files sub = read_tree(env, root, r);
      out.insert(sub.begin(), sub.end());
    } else {
      out[r] = *env.read_file(root + "/" + r);
    }
  }
  return out;
}

// Copies every file of a repository into another backend.
void copy_repository(backend::Backend& from, backend::Backend& to) {
  auto cfg = from.load({FileKind::kConfig, ""}, 0, 0);
  EXPECT_TRUE(cfg.ok());
  EXPECT_TRUE(to.save({FileKind::kConfig, ""}, *cfg).ok());
  for (FileKind kind : backend::kListableKinds) {
    EXPECT_TRUE(from.list(kind, [&](const backend::FileEntry& e) {
      auto data = from.load({kind, e.name}, 0, 0);
      if (!data.ok()) return data.status();
      return to.save({kind, e.name}, *data);
    }).ok());
  }
}

std::unique_ptr<backend::MemBackend> clone(backend::Backend& from) {
  auto to = std::make_unique<backend::MemBackend>();
  copy_repository(from, *to);
  return to;
}

std::set<std::string> names(backend::Backend& be, FileKind kind) {
  std::set<std::string> out;
  EXPECT_TRUE(be.list(kind, [&](const backend::FileEntry& e) {
    out.insert(e.name);
    return base::ok_status();
  }).ok());
  return out;
}

uint64_t stored_bytes(backend::Backend& be) {
  uint64_t n = 0;
  EXPECT_TRUE(be.list(FileKind::kPack, [&](const backend::FileEntry& e) {
    n += e.size;
    return base::ok_status();
  }).ok());
  return n;
}

// Fails every save and remove once `budget` of them went through: a process that died there.
class CrashBackend : public backend::ForwardingBackend {
 public:
  CrashBackend(backend::Backend* inner, int budget) : ForwardingBackend(inner), budget_(budget) {}
  base::Status save(const backend::Handle& h, base::ByteSpan data) override {
    if (!spend()) return base::unavailable("crashed");
    return ForwardingBackend::save(h, data);
  }
  base::Status remove(const backend::Handle& h) override {
    if (!spend()) return base::unavailable("crashed");
    return ForwardingBackend::remove(h);
  }
  bool crashed() const { return budget_.load() < 0; }

 private:
  bool spend() { return budget_.fetch_sub(1) > 0; }
  std::atomic<int> budget_;
};

class RecordingObserver : public PruneObserver {
 public:
  void on_phase(PrunePhase phase, uint64_t) override {
    std::lock_guard<std::mutex> l(mu);
    phases.push_back(phase);
  }
  void on_forget_missing_pack(const repo::Id& id) override {
    std::lock_guard<std::mutex> l(mu);
    forgotten.push_back(id);
  }
  void on_delete_failed(const backend::Handle& h, const base::Status&) override {
    std::lock_guard<std::mutex> l(mu);
    failed.push_back(h.to_string());
  }
  std::mutex mu;
  std::vector<PrunePhase> phases;
  std::vector<repo::Id> forgotten;
  std::vector<std::string> failed;
};

// A repository with four snapshots of a changing folder, of which the first two are
// forgotten: plenty of unused blobs, in fully and partly unused packs (64 KiB packs).
class PruneTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    base_ = new backend::MemBackend();
    expected_ = new std::map<repo::Id, Files>();
    auto r = repo::Repository::init(base_, "pw", {2, 0, {16384, 8, 1}, "u", "h"});
    ASSERT_TRUE(r.ok()) << r.status().message();
    auto& repo = **r;
    repo::WriteOptions w;
    w.pack_size = kPackSize;
    repo.set_write_options(w);
    ASSERT_TRUE(repo.load_index().ok());
    base::MemEnv env;
    ASSERT_TRUE(env.make_dirs("/src/sub", 0755).ok());
    auto put = [&](const std::string& name, uint64_t seed) {
      ASSERT_TRUE(env.write_file("/src/" + name, pseudo_random(seed, 8000 + seed % 23 * 1000)).ok());
    };
    std::vector<repo::Id> ids;
    auto backup = [&] {
      BackupOptions o;
      // "/" rather than "/src": an absolute target below the root is walked as a relative
      // path by run_backup (start_virtual joins "" and the name), which MemEnv rejects.
      o.targets = {"/"};
      o.hostname = "h";
      o.force = true;
      auto res = run_backup(repo, env, o, nullptr, nullptr);
      ASSERT_TRUE(res.ok()) << res.status().message();
      ids.push_back(res->snapshot_id);
      (*expected_)[res->snapshot_id] = read_tree(env, "/src");
    };
    for (int i = 0; i < 24; ++i) put("f" + std::to_string(i), 100 + i);
    put("sub/s", 1);
    backup();
    for (int i = 0; i < 8; ++i) put("f" + std::to_string(i), 200 + i);
    backup();
    for (int i = 8; i < 16; ++i) ASSERT_TRUE(env.remove_file("/src/f" + std::to_string(i)).ok());
    for (int i = 16; i < 20; ++i) put("f" + std::to_string(i), 300 + i);
    for (int i = 0; i < 4; ++i) put("g" + std::to_string(i), 400 + i);
    backup();
    for (int i = 0; i < 4; ++i) put("f" + std::to_string(i), 500 + i);
    put("sub/s", 2);
    backup();
    ASSERT_TRUE(remove_snapshots(repo, {ids[0], ids[1]}).ok());
    expected_->erase(ids[0]);
    expected_->erase(ids[1]);
  }
  static void TearDownTestSuite() {
    delete base_;
    delete expected_;
  }

  void SetUp() override { mem_ = clone(*base_); }

  std::unique_ptr<repo::Repository> open(backend::Backend* be) {
    auto r = repo::Repository::open(be, "pw");
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (!r.ok()) return nullptr;
    EXPECT_TRUE((*r)->load_index().ok());
    return std::move(*r);
  }

  PruneOptions options() {
    PruneOptions o;
    o.pack_size = kPackSize;
    return o;
  }

  base::StatusOr<PruneResult> prune(backend::Backend* be, const PruneOptions& o,
                                    PruneObserver* obs = nullptr) {
    auto repo = open(be);
    if (!repo) return base::internal_error("open failed");
    ASSIGN_OR_RETURN(PrunePlan plan, plan_prune(*repo, o, obs));
    return execute_prune(*repo, std::move(plan), o, obs);
  }

  // Every snapshot left restores to exactly what was backed up, every indexed pack exists,
  // and every snapshot in the repository is one we expect.
  void expect_intact(backend::Backend* be) {
    auto repo = open(be);
    ASSERT_TRUE(repo);
    std::set<std::string> packs = names(*be, FileKind::kPack);
    repo->with_index([&](const repo::Index& idx) {
      idx.for_each([&](const repo::IndexEntry& e) {
        EXPECT_TRUE(packs.count(idx.pack_id(e.pack).hex())) << "indexed pack missing";
      });
    });
    auto snaps = load_snapshots(*repo);
    ASSERT_TRUE(snaps.ok()) << snaps.status().message();
    ASSERT_EQ(snaps->size(), expected_->size());
    for (const auto& e : *snaps) {
      ASSERT_TRUE(expected_->count(e.id));
      base::MemEnv out;
      RestoreOptions ro;
      ro.target = "/r";
      auto res = run_restore(*repo, out, e.sn.tree, ro, nullptr, nullptr);
      ASSERT_TRUE(res.ok()) << res.status().message();
      EXPECT_TRUE(res->errors.empty()) << res->errors[0].message;
      Files got = read_tree(out, "/r/src");
      const Files& want = expected_->at(e.id);
      EXPECT_EQ(got.size(), want.size()) << e.id.hex();
      for (const auto& [name, data] : want) {
        auto it = got.find(name);
        ASSERT_TRUE(it != got.end()) << name << " missing from snapshot " << e.id.hex();
        EXPECT_TRUE(it->second == data) << name << " differs in snapshot " << e.id.hex();
      }
    }
  }

  static backend::MemBackend* base_;
  static std::map<repo::Id, Files>* expected_;
  std::unique_ptr<backend::MemBackend> mem_;
};

backend::MemBackend* PruneTest::base_ = nullptr;
std::map<repo::Id, Files>* PruneTest::expected_ = nullptr;

TEST(PruneOptions, ParseMaxUnused) {
  auto m = parse_max_unused("5%");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kind, MaxUnused::Kind::kPercent);
  EXPECT_EQ(m->limit(95), 5u);
  EXPECT_EQ(parse_max_unused(" 10% ")->limit(900), 100u);
  EXPECT_EQ(parse_max_unused("0%")->limit(1000), 0u);
  EXPECT_EQ(parse_max_unused("unlimited")->limit(1), UINT64_MAX);
  EXPECT_EQ(parse_max_unused("2M")->limit(1), 2u << 20);
  EXPECT_EQ(parse_max_unused("123")->limit(1), 123u);
  for (const char* s : {"", "  ", "%", "-1%", "100%", "150%", "x%", "5%%", "abc", "5Q", "-5", "nan%"}) {
    EXPECT_FALSE(parse_max_unused(s).ok()) << s;
  }
}

TEST(PruneOptions, ParseSize) {
  EXPECT_EQ(*parse_size("10"), 10u);
  EXPECT_EQ(*parse_size("10b"), 10u);
  EXPECT_EQ(*parse_size("3k"), 3072u);
  EXPECT_EQ(*parse_size("1G"), 1ull << 30);
  EXPECT_EQ(*parse_size("2t"), 2ull << 40);
  for (const char* s : {"", "k", "1.5M", "-1", "1 M", "99999999999T", "0x10"}) {
    EXPECT_FALSE(parse_size(s).ok()) << s;
  }
}

TEST_F(PruneTest, RemovesUnusedDataAndKeepsSnapshots) {
  uint64_t before = stored_bytes(*mem_);
  RecordingObserver obs;
  PruneOptions o = options();
  auto repo = open(mem_.get());
  auto plan = plan_prune(*repo, o, &obs);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  const PruneStats& st = plan->stats;
  EXPECT_EQ(plan->snapshots, 2u);
  EXPECT_GT(st.blobs.unused, 0u);
  EXPECT_GT(st.packs.unused + st.packs.partly_used, 0u);
  EXPECT_EQ(st.blobs.duplicate, 0u);
  EXPECT_EQ(st.size.unref, 0u);
  EXPECT_FALSE(plan->remove_packs.empty());
  auto res = execute_prune(*repo, std::move(*plan), o, &obs);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(res->delete_failures, 0u);
  EXPECT_GT(res->index_files_written, 0u);
  EXPECT_EQ(obs.phases.back(), PrunePhase::kDone);
  EXPECT_LT(stored_bytes(*mem_), before);
  expect_intact(mem_.get());

  // What is left is within --max-unused, and pruning again finds nothing to do.
  auto again = open(mem_.get());
  auto plan2 = plan_prune(*again, o);
  ASSERT_TRUE(plan2.ok());
  EXPECT_LE(plan2->stats.unused_size(), o.max_unused.limit(plan2->stats.size.used));
  EXPECT_TRUE(plan2->remove_packs.empty());
  EXPECT_TRUE(plan2->remove_packs_first.empty());
  EXPECT_EQ(plan2->stats.size.used, st.size.used);
}

// A backup killed while the local backend wrote a file leaves "<name>-tmp-<random>" beside it.
// Prune deletes those a day old and leaves younger ones (a backup may still be writing them).
TEST_F(PruneTest, DeletesTempFilesOfInterruptedUploadsOnceADayOld) {
  constexpr int64_t kNow = 1800000000;
  base::FakeClock clock({kNow, 0});
  base::MemEnv mem_env;
  base::FaultEnv env(&mem_env);
  auto local = backend::open_local(&env, "/repo");
  ASSERT_TRUE(local.ok());
  backend::Backend& be = **local;
  ASSERT_TRUE(be.create().ok());
  copy_repository(*mem_, be);
  std::string a(64, 'a'), b(64, 'b'), c(64, 'c'), d(64, 'd');
  struct Temp {
    std::string path;
    int64_t age;
    size_t size;
  };
  const Temp temps[] = {
      {"/repo/data/aa/" + a + "-tmp-0123456789abcdef", 2 * 86400, 5000},  // kura's naming
      {"/repo/index/" + b + "-tmp-3914277613", 86400 + 3600, 300},         // restic's
      {"/repo/data/cc/" + c + "-tmp-00000000000000aa", 3600, 7000},        // young: kept
      {"/repo/snapshots/" + d + "-tmp-1", 86400 - 60, 10},                 // young: kept
  };
  for (const Temp& t : temps) {
    ASSERT_TRUE(mem_env.write_file(t.path, base::Bytes(t.size, 7)).ok()) << t.path;
    base::Timespec m{kNow - t.age, 0};
    ASSERT_TRUE(mem_env.set_times(t.path, m, m).ok());
  }
  auto open_at_now = [&]() {
    auto r = testing::open_repository(&be, &clock);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(*r) : nullptr;
  };

  PruneOptions o = options();
  auto repo = open_at_now();
  ASSERT_TRUE(repo);
  auto plan = plan_prune(*repo, o);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->stats.stale_temp_files.count, 2u);
  EXPECT_EQ(plan->stats.stale_temp_files.size, 5300u);
  EXPECT_EQ(plan->stats.size.unref, 0u);  // not mistaken for packs
  std::set<std::string> planned;
  for (const StaleTempFile& t : plan->stale_temp_files) {
    planned.insert(std::string(backend::kind_dir(t.kind)) + "/" + t.file.name);
  }
  EXPECT_EQ(planned, (std::set<std::string>{"data/" + a + "-tmp-0123456789abcdef",
                                            "index/" + b + "-tmp-3914277613"}));
  for (const Temp& t : temps) EXPECT_TRUE(mem_env.exists(t.path)) << "planning deleted " << t.path;

  RecordingObserver obs;
  auto res = execute_prune(*repo, std::move(*plan), o, &obs);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(res->temp_files_deleted, 2u);
  EXPECT_EQ(res->delete_failures, 0u);
  EXPECT_NE(std::find(obs.phases.begin(), obs.phases.end(), PrunePhase::kDeletingTempFiles), obs.phases.end());
  EXPECT_FALSE(mem_env.exists(temps[0].path));
  EXPECT_FALSE(mem_env.exists(temps[1].path));
  EXPECT_TRUE(mem_env.exists(temps[2].path));
  EXPECT_TRUE(mem_env.exists(temps[3].path));
  expect_intact(&be);

  // A day later the others are stale too; one that cannot be deleted is reported and left.
  clock.advance(std::chrono::hours(24));
  env.fail(base::EnvOp::kRemove, c + "-tmp-", base::permission_denied("unlink: Permission denied"));
  auto later = open_at_now();
  ASSERT_TRUE(later);
  auto plan2 = plan_prune(*later, o);
  ASSERT_TRUE(plan2.ok()) << plan2.status().message();
  EXPECT_EQ(plan2->stats.stale_temp_files.count, 2u);
  RecordingObserver obs2;
  auto res2 = execute_prune(*later, std::move(*plan2), o, &obs2);
  ASSERT_TRUE(res2.ok()) << res2.status().message();
  EXPECT_EQ(res2->temp_files_deleted, 1u);
  EXPECT_EQ(res2->delete_failures, 1u);
  EXPECT_EQ(obs2.failed, std::vector<std::string>{"data/" + c + "-tmp-00000000000000aa"});
  EXPECT_TRUE(mem_env.exists(temps[2].path));
  EXPECT_FALSE(mem_env.exists(temps[3].path));

  // Backends without temporary files (memory here; REST) report none.
  auto in_memory = open(mem_.get());
  auto plan3 = plan_prune(*in_memory, o);
  ASSERT_TRUE(plan3.ok());
  EXPECT_EQ(plan3->stats.stale_temp_files.count, 0u);
  EXPECT_TRUE(plan3->stale_temp_files.empty());
}

TEST_F(PruneTest, ZeroMaxUnusedLeavesNoUnusedBlob) {
  PruneOptions o = options();
  o.max_unused = *parse_max_unused("0");
  auto res = prune(mem_.get(), o);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_GT(res->packs_written, 0u);
  expect_intact(mem_.get());
  auto repo = open(mem_.get());
  auto plan = plan_prune(*repo, o);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->stats.blobs.unused, 0u);
  EXPECT_EQ(plan->stats.blobs.duplicate, 0u);
  EXPECT_TRUE(plan->repack_packs.empty());
  EXPECT_EQ(names(*mem_, FileKind::kIndex).size(), 1u);
}

TEST_F(PruneTest, UnlimitedMaxUnusedOnlyDeletesWholePacks) {
  PruneOptions o = options();
  o.max_unused = *parse_max_unused("unlimited");
  auto repo = open(mem_.get());
  auto plan = plan_prune(*repo, o);
  ASSERT_TRUE(plan.ok());
  for (const repo::Id& id : plan->repack_packs) {
    // Only tree packs (restic repacks those regardless) may be repacked.
    repo->with_index([&](const repo::Index& idx) {
      idx.for_each([&](const repo::IndexEntry& e) {
        if (idx.pack_id(e.pack) == id) {
          EXPECT_EQ(e.type, repo::BlobType::kTree);
        }
      });
    });
  }
  ASSERT_TRUE(execute_prune(*repo, std::move(*plan), o).ok());
  expect_intact(mem_.get());
}

TEST_F(PruneTest, MaxRepackSizeLimitsRepacking) {
  PruneOptions o = options();
  o.max_unused = *parse_max_unused("0");
  o.max_repack_bytes = 1;
  auto repo = open(mem_.get());
  auto plan = plan_prune(*repo, o);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->repack_packs.empty());
  EXPECT_EQ(plan->stats.size.repack, 0u);
}

TEST_F(PruneTest, DryRunPlanChangesNothing) {
  auto before = names(*mem_, FileKind::kPack);
  auto repo = open(mem_.get());
  ASSERT_TRUE(plan_prune(*repo, options()).ok());
  EXPECT_EQ(names(*mem_, FileKind::kPack), before);
}

TEST_F(PruneTest, DeletesUnreferencedPacks) {
  base::Bytes junk = pseudo_random(9, 1000);
  repo::Id id = repo::hash_id(junk);
  ASSERT_TRUE(mem_->save({FileKind::kPack, id.hex()}, junk).ok());
  auto repo = open(mem_.get());
  auto plan = plan_prune(*repo, options());
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->stats.size.unref, 1000u);
  EXPECT_EQ(plan->remove_packs_first, std::vector<repo::Id>{id});
  ASSERT_TRUE(execute_prune(*repo, std::move(*plan), options()).ok());
  EXPECT_FALSE(names(*mem_, FileKind::kPack).count(id.hex()));
  expect_intact(mem_.get());
}

TEST_F(PruneTest, ResolvesDuplicateBlobs) {
  // A second writer that does not know the index stores copies of blobs already there.
  {
    auto writer = repo::Repository::open(mem_.get(), "pw");
    ASSERT_TRUE(writer.ok());
    repo::WriteOptions w;
    w.pack_size = kPackSize;
    (*writer)->set_write_options(w);
    auto reader = open(mem_.get());
    auto snaps = load_snapshots(*reader);
    ASSERT_TRUE(snaps.ok());
    std::vector<repo::Id> trees;
    for (const auto& e : *snaps) trees.push_back(e.sn.tree);
    auto used = find_used_blobs(*reader, trees, 2);
    ASSERT_TRUE(used.ok());
    int copied = 0;
    for (const auto& h : *used) {
      if (copied >= 10 || h.type != repo::BlobType::kData) continue;
      auto plain = reader->load_blob(h.type, h.id);
      ASSERT_TRUE(plain.ok());
      ASSERT_TRUE((*writer)->save_blob(h.type, h.id, *plain).ok());
      ++copied;
    }
    ASSERT_EQ(copied, 10);
    ASSERT_TRUE((*writer)->flush().ok());
  }
  PruneOptions o = options();
  o.max_unused = *parse_max_unused("0");
  auto repo = open(mem_.get());
  auto plan = plan_prune(*repo, o);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->stats.blobs.duplicate, 10u);
  ASSERT_TRUE(execute_prune(*repo, std::move(*plan), o).ok());
  expect_intact(mem_.get());
  auto after = open(mem_.get());
  auto plan2 = plan_prune(*after, o);
  ASSERT_TRUE(plan2.ok());
  EXPECT_EQ(plan2->stats.blobs.duplicate, 0u);
  EXPECT_EQ(plan2->stats.blobs.unused, 0u);
}

TEST_F(PruneTest, ForgetsMissingUnneededPack) {
  auto repo = open(mem_.get());
  auto plan = plan_prune(*repo, options());
  ASSERT_TRUE(plan.ok());
  ASSERT_FALSE(plan->remove_packs.empty());
  repo::Id gone = plan->remove_packs[0];
  ASSERT_TRUE(mem_->remove({FileKind::kPack, gone.hex()}).ok());
  RecordingObserver obs;
  auto res = prune(mem_.get(), options(), &obs);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(obs.forgotten, std::vector<repo::Id>{gone});
  auto after = open(mem_.get());
  after->with_index([&](const repo::Index& idx) {
    idx.for_each([&](const repo::IndexEntry& e) { EXPECT_NE(idx.pack_id(e.pack), gone); });
  });
  expect_intact(mem_.get());
}

TEST_F(PruneTest, RefusesWhenNeededPackIsMissing) {
  for (repo::BlobType type : {repo::BlobType::kTree, repo::BlobType::kData}) {
    auto mem = clone(*mem_);
    auto repo = open(mem.get());
    auto snaps = load_snapshots(*repo);
    ASSERT_TRUE(snaps.ok());
    repo::Id blob = (*snaps)[0].sn.tree;
    if (type == repo::BlobType::kData) {
      auto used = find_used_blobs(*repo, {blob}, 2);
      ASSERT_TRUE(used.ok());
      for (const auto& h : *used) {
        if (h.type == repo::BlobType::kData) blob = h.id;
      }
    }
    std::optional<repo::Id> needed;
    repo->with_index([&](const repo::Index& idx) {
      const repo::IndexEntry* e = idx.find(blob, type);
      ASSERT_NE(e, nullptr);
      needed = idx.pack_id(e->pack);
    });
    ASSERT_TRUE(mem->remove({FileKind::kPack, needed->hex()}).ok());
    auto before = names(*mem, FileKind::kPack);
    auto res = prune(mem.get(), options());
    EXPECT_EQ(res.status().code(), base::Code::kDataLoss) << res.status().message();
    EXPECT_EQ(names(*mem, FileKind::kPack), before);
  }
}

TEST_F(PruneTest, RefusesWhenIndexIsIncomplete) {
  // Without this index file, blobs the snapshots use are unknown: pruning would delete their
  // packs as "unreferenced".
  auto index = names(*mem_, FileKind::kIndex);
  ASSERT_GE(index.size(), 2u);
  ASSERT_TRUE(mem_->remove({FileKind::kIndex, *index.begin()}).ok());
  auto before = names(*mem_, FileKind::kPack);
  auto res = prune(mem_.get(), options());
  EXPECT_FALSE(res.ok());
  EXPECT_EQ(names(*mem_, FileKind::kPack), before);
}

TEST_F(PruneTest, FailedPackDeleteLeavesWorkingRepository) {
  backend::FaultBackend fault(mem_.get());
  fault.add({backend::FaultOp::kRemove, FileKind::kPack, 1, 1});
  RecordingObserver obs;
  PruneOptions o = options();
  o.max_unused = *parse_max_unused("0");
  auto res = prune(&fault, o, &obs);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(res->delete_failures, 1u);
  EXPECT_EQ(obs.failed.size(), 1u);
  expect_intact(mem_.get());
  // The next run deletes the leftover pack as unreferenced.
  auto repo = open(mem_.get());
  auto plan = plan_prune(*repo, o);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->remove_packs_first.size(), 1u);
  ASSERT_TRUE(execute_prune(*repo, std::move(*plan), o).ok());
  expect_intact(mem_.get());
}

TEST_F(PruneTest, FailedIndexDeleteStopsBeforePacks) {
  backend::FaultBackend fault(mem_.get());
  fault.add({backend::FaultOp::kRemove, FileKind::kIndex, 0, 1});
  auto packs = names(*mem_, FileKind::kPack);
  PruneOptions o = options();
  o.max_unused = *parse_max_unused("0");
  auto res = prune(&fault, o);
  EXPECT_FALSE(res.ok());
  // New packs were added, but no pack was deleted while an old index still lists it.
  auto after = names(*mem_, FileKind::kPack);
  for (const auto& p : packs) EXPECT_TRUE(after.count(p)) << p;
  expect_intact(mem_.get());
  ASSERT_TRUE(prune(mem_.get(), o).ok());
  expect_intact(mem_.get());
}

TEST_F(PruneTest, UnsafeRecoveryDeletesBeforeWritingTheNewIndex) {
  PruneOptions o = options();
  o.max_unused = *parse_max_unused("0");
  o.unsafe_recovery = true;
  auto old_index = names(*mem_, FileKind::kIndex);
  RecordingObserver obs;
  auto res = prune(mem_.get(), o, &obs);
  ASSERT_TRUE(res.ok()) << res.status().message();
  // restic's order with --unsafe-recover-no-free-space: old index files, then packs, then the
  // new index, so space is freed before anything new is written.
  auto at = [&](PrunePhase p) {
    return std::find(obs.phases.begin(), obs.phases.end(), p) - obs.phases.begin();
  };
  EXPECT_LT(at(PrunePhase::kDeletingIndex), at(PrunePhase::kRemovingPacks));
  EXPECT_LT(at(PrunePhase::kRemovingPacks), at(PrunePhase::kRebuildingIndex));
  EXPECT_LT(at(PrunePhase::kRebuildingIndex), static_cast<long>(obs.phases.size()));
  for (const auto& f : old_index) EXPECT_FALSE(names(*mem_, FileKind::kIndex).count(f)) << f;
  expect_intact(mem_.get());
}

TEST_F(PruneTest, CorruptPackDuringRepackStopsBeforeDeleting) {
  backend::FaultBackend fault(mem_.get());
  // Every read of the packs being repacked returns corrupted bytes: verification must catch it
  // and the prune must stop before deleting anything.
  fault.add({backend::FaultOp::kLoad, FileKind::kPack, 0, -1, backend::Fault::When::kCorruptResult});
  PruneOptions o = options();
  o.max_unused = *parse_max_unused("0");
  auto repo = open(mem_.get());
  auto plan = plan_prune(*repo, o);
  ASSERT_TRUE(plan.ok());
  ASSERT_FALSE(plan->repack_packs.empty());
  auto packs = names(*mem_, FileKind::kPack);
  auto faulty = repo::Repository::open(&fault, "pw");
  ASSERT_TRUE(faulty.ok());
  ASSERT_TRUE((*faulty)->load_index().ok());
  auto res = execute_prune(**faulty, std::move(*plan), o);
  EXPECT_EQ(res.status().code(), base::Code::kDataLoss) << res.status().message();
  auto after = names(*mem_, FileKind::kPack);
  for (const auto& p : packs) EXPECT_TRUE(after.count(p)) << p;
  expect_intact(mem_.get());
}

TEST_F(PruneTest, CrashAtAnyPointLeavesWorkingRepository) {
  PruneOptions o = options();
  o.max_unused = *parse_max_unused("0");
  for (int budget = 0;; ++budget) {
    SCOPED_TRACE("crash after " + std::to_string(budget) + " writes");
    auto mem = clone(*base_);
    CrashBackend crash(mem.get(), budget);
    auto res = prune(&crash, o);
    expect_intact(mem.get());
    if (!crash.crashed()) {
      ASSERT_TRUE(res.ok()) << res.status().message();
      EXPECT_GT(budget, 10);
      break;
    }
    ASSERT_LT(budget, 500);
    if (budget % 4 != 0) continue;  // (time) recovery is the same code path every time
    // A later prune finishes the job.
    ASSERT_TRUE(prune(mem.get(), o).ok());
    auto repo = open(mem.get());
    auto plan = plan_prune(*repo, o);
    ASSERT_TRUE(plan.ok());
    EXPECT_EQ(plan->stats.blobs.unused, 0u);
    EXPECT_TRUE(plan->remove_packs_first.empty());
    expect_intact(mem.get());
    if (HasFatalFailure()) return;
  }
}

TEST_F(PruneTest, NothingToDoChangesNothing) {
  PruneOptions o = options();
  ASSERT_TRUE(prune(mem_.get(), o).ok());
  auto packs = names(*mem_, FileKind::kPack);
  auto index = names(*mem_, FileKind::kIndex);
  auto res = prune(mem_.get(), o);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->packs_written + res->packs_deleted + res->index_files_written, 0u);
  EXPECT_EQ(names(*mem_, FileKind::kPack), packs);
  EXPECT_EQ(names(*mem_, FileKind::kIndex), index);
}

TEST_F(PruneTest, IgnoredSnapshotsDoNotKeepData) {
  // Forgetting the rest while the listing still shows them (forget --prune passes them).
  auto repo = open(mem_.get());
  std::vector<repo::Id> all;
  for (const auto& [id, files] : *expected_) all.push_back(id);
  PruneOptions o = options();
  o.ignore_snapshots = all;
  auto plan = plan_prune(*repo, o);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->snapshots, 0u);
  EXPECT_EQ(plan->stats.blobs.used, 0u);
}

TEST_F(PruneTest, FindUsedBlobsVisitsEveryTreeOnce) {
  auto repo = open(mem_.get());
  auto snaps = load_snapshots(*repo);
  ASSERT_TRUE(snaps.ok());
  std::vector<repo::Id> trees;
  for (const auto& e : *snaps) trees.push_back(e.sn.tree);
  trees.push_back(trees[0]);
  std::atomic<uint64_t> loaded{0}, roots{0};
  auto used = find_used_blobs(*repo, trees, 4, &loaded, &roots);
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(roots.load(), trees.size());  // every root counted once, the repeated one too
  uint64_t tree_blobs = 0;
  for (const auto& h : *used) tree_blobs += h.type == repo::BlobType::kTree;
  EXPECT_EQ(loaded.load(), tree_blobs);
  for (const auto& h : *used) EXPECT_TRUE(repo->has_blob(h.type, h.id));
}

}  // namespace
}  // namespace kura::ops
