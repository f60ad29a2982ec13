#include "repo/cache.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <thread>

#include "backend/mem_backend.h"
#include "base/fault_env.h"
#include "base/mem_env.h"
#include "repo/repository.h"

namespace kura::repo {
namespace {

using backend::FileKind;
using backend::Handle;

// Counts what reaches the real backend: loads per kind and bytes.
class CountingBackend : public backend::ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  base::StatusOr<base::Bytes> load(const Handle& h, uint64_t offset, uint64_t length) override {
    auto r = ForwardingBackend::load(h, offset, length);
    std::lock_guard<std::mutex> l(mu_);
    ++loads_[h.kind];
    if (r.ok()) bytes_ += r->size();
    return r;
  }
  int loads(FileKind k) {
    std::lock_guard<std::mutex> l(mu_);
    return loads_[k];
  }
  uint64_t bytes() {
    std::lock_guard<std::mutex> l(mu_);
    return bytes_;
  }
  void reset() {
    std::lock_guard<std::mutex> l(mu_);
    loads_.clear();
    bytes_ = 0;
  }

 private:
  std::mutex mu_;
  std::map<FileKind, int> loads_;
  uint64_t bytes_ = 0;
};

base::ByteSpan span(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitOptions init;
    init.kdf = {16, 1, 1};
    ASSERT_TRUE(Repository::init(&mem_, "pw", init).ok());
  }

  // A process: the repository opened anew, with a cache over env (the test's MemEnv unless
  // given) at /cache.
  std::unique_ptr<Repository> open(base::Env* env = nullptr) {
    auto r = Repository::open(&counting_, "pw", {crypto::system_random(), &clock_});
    EXPECT_TRUE(r.ok()) << r.status().message();
    auto c = Cache::open(env ? env : &env_, &clock_, "/cache", (*r)->config().id);
    EXPECT_TRUE(c.ok()) << c.status().message();
    (*r)->use_cache(std::move(*c), [this](const base::Status& st) { warnings_.push_back(st.message()); });
    return std::move(*r);
  }

  std::string cached(const Repository& r, FileKind kind, const Id& id) {
    return r.cache()->cache().file_path({kind, id.hex()});
  }

  // A tree blob and a data blob saved and flushed; returns their ids.
  std::pair<Id, Id> save_blobs(Repository& r) {
    std::string tree = R"({"nodes":[]})" "\n";
    std::string data = "some file content";
    Id t = hash_id(span(tree)), d = hash_id(span(data));
    EXPECT_TRUE(r.save_blob(BlobType::kTree, t, span(tree)).ok());
    EXPECT_TRUE(r.save_blob(BlobType::kData, d, span(data)).ok());
    EXPECT_TRUE(r.flush().ok());
    return {t, d};
  }

  backend::MemBackend mem_;
  CountingBackend counting_{&mem_};
  base::MemEnv env_;
  base::FakeClock clock_{{1'700'000'000, 0}};
  std::vector<std::string> warnings_;
};

TEST_F(CacheTest, OpenCreatesResticsLayout) {
  std::string id(64, 'a');
  auto c = Cache::open(&env_, &clock_, "/cache", id);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE((*c)->created());
  auto tag = env_.read_file("/cache/CACHEDIR.TAG");
  ASSERT_TRUE(tag.ok());
  EXPECT_EQ(std::string(tag->begin(), tag->end()), "Signature: 8a477f597d28d172789f06886806bc55\n");
  auto v = env_.read_file("/cache/" + id + "/version");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(std::string(v->begin(), v->end()), "1");
  for (const char* d : {"index", "snapshots", "data"}) {
    auto fi = env_.stat("/cache/" + id + "/" + d);
    ASSERT_TRUE(fi.ok()) << d;
    EXPECT_EQ(fi->type, base::FileType::kDir);
  }
  EXPECT_EQ((*c)->file_path({FileKind::kPack, "ab" + std::string(62, '0')}),
            "/cache/" + id + "/data/ab/ab" + std::string(62, '0'));
  auto again = Cache::open(&env_, &clock_, "/cache", id);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE((*again)->created());

  ASSERT_TRUE(env_.write_file("/cache/" + id + "/version", span("2")).ok());
  EXPECT_FALSE(Cache::open(&env_, &clock_, "/cache", id).ok());
  EXPECT_FALSE(Cache::open(&env_, &clock_, "/cache", "../x").ok());
}

TEST_F(CacheTest, SecondProcessReadsIndexSnapshotsAndTreesFromTheCache) {
  Id snap;
  Id tree, data;
  {
    auto r = open();
    std::tie(tree, data) = save_blobs(*r);
    auto s = r->save_unpacked(FileKind::kSnapshot, span(R"({"time":"x"})"));
    ASSERT_TRUE(s.ok());
    snap = *s;
  }
  counting_.reset();
  auto r = open();
  ASSERT_TRUE(r->load_index().ok());
  ASSERT_TRUE(r->load_unpacked(FileKind::kSnapshot, snap).ok());
  ASSERT_TRUE(r->load_blob(BlobType::kTree, tree).ok());
  EXPECT_EQ(counting_.loads(FileKind::kIndex), 0);
  EXPECT_EQ(counting_.loads(FileKind::kSnapshot), 0);
  EXPECT_EQ(counting_.loads(FileKind::kPack), 0);
  EXPECT_EQ(r->cache()->stats().hits.load(), 3u);
  // Data packs are never cached.
  ASSERT_TRUE(r->load_blob(BlobType::kData, data).ok());
  EXPECT_EQ(counting_.loads(FileKind::kPack), 1);
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(CacheTest, MissFetchesOnceThenHits) {
  Id tree;
  {
    auto r = Repository::open(&counting_, "pw");  // no cache: nothing cached while saving
    ASSERT_TRUE(r.ok());
    tree = save_blobs(**r).first;
  }
  counting_.reset();
  {
    auto r = open();
    ASSERT_TRUE(r->load_index().ok());
    EXPECT_EQ(counting_.loads(FileKind::kIndex), 1);
    // Many threads want trees of the same pack: it is downloaded once, whole.
    std::vector<std::thread> ts;
    for (int i = 0; i < 8; ++i) {
      ts.emplace_back([&] { EXPECT_TRUE(r->load_blob(BlobType::kTree, tree).ok()); });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(counting_.loads(FileKind::kPack), 1);
    EXPECT_EQ(r->cache()->stats().misses.load(), 2u);
  }
  counting_.reset();
  auto r = open();
  ASSERT_TRUE(r->load_index().ok());
  ASSERT_TRUE(r->load_blob(BlobType::kTree, tree).ok());
  EXPECT_EQ(counting_.loads(FileKind::kIndex), 0);
  EXPECT_EQ(counting_.loads(FileKind::kPack), 0);
}

TEST_F(CacheTest, DamagedEntryIsDroppedAndFetchedAgain) {
  Id snap, tree;
  {
    auto r = open();
    tree = save_blobs(*r).first;
    snap = *r->save_unpacked(FileKind::kSnapshot, span(R"({"time":"y"})"));
  }
  auto r = open();
  ASSERT_TRUE(r->load_index().ok());
  // One bit flipped in the cached snapshot; the cached tree pack cut short.
  std::string sp = cached(*r, FileKind::kSnapshot, snap);
  auto bytes = env_.read_file(sp);
  ASSERT_TRUE(bytes.ok());
  (*bytes)[10] ^= 1;
  ASSERT_TRUE(env_.write_file(sp, *bytes).ok());
  Id pack;
  r->with_index([&](const Index& idx) { pack = idx.pack_id(idx.find(tree, BlobType::kTree)->pack); });
  std::string pp = cached(*r, FileKind::kPack, pack);
  auto pb = env_.read_file(pp);
  ASSERT_TRUE(pb.ok());
  pb->resize(pb->size() / 2);
  ASSERT_TRUE(env_.write_file(pp, *pb).ok());

  counting_.reset();
  auto s = r->load_unpacked(FileKind::kSnapshot, snap);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(std::string(s->begin(), s->end()), R"({"time":"y"})");
  auto t = r->load_blob(BlobType::kTree, tree);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(counting_.loads(FileKind::kSnapshot), 1);
  EXPECT_EQ(counting_.loads(FileKind::kPack), 1);
  EXPECT_EQ(r->cache()->stats().damaged.load(), 2u);
  // Both were written again, whole and right.
  auto fixed = env_.read_file(sp);
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(hash_id(*fixed), snap);
  auto fixed_pack = env_.read_file(pp);
  ASSERT_TRUE(fixed_pack.ok());
  EXPECT_EQ(hash_id(*fixed_pack), pack);
}

TEST_F(CacheTest, FilesRemovedFromTheRepositoryLeaveTheCacheWhenListed) {
  Id s1, s2;
  Id tree;
  {
    auto r = open();
    tree = save_blobs(*r).first;
    s1 = *r->save_unpacked(FileKind::kSnapshot, span(R"({"n":1})"));
    s2 = *r->save_unpacked(FileKind::kSnapshot, span(R"({"n":2})"));
  }
  auto r = open();
  ASSERT_TRUE(r->load_index().ok());
  Id pack, index_id = r->index_files().at(0);
  r->with_index([&](const Index& idx) { pack = idx.pack_id(idx.find(tree, BlobType::kTree)->pack); });
  // Another client (not through this cache) removes a snapshot, the index and the pack.
  ASSERT_TRUE(mem_.remove({FileKind::kSnapshot, s1.hex()}).ok());
  ASSERT_TRUE(mem_.remove({FileKind::kIndex, index_id.hex()}).ok());
  ASSERT_TRUE(mem_.remove({FileKind::kPack, pack.hex()}).ok());
  ASSERT_TRUE(env_.exists(cached(*r, FileKind::kSnapshot, s1)));

  ASSERT_TRUE(r->list_ids(FileKind::kSnapshot).ok());
  EXPECT_FALSE(env_.exists(cached(*r, FileKind::kSnapshot, s1)));
  EXPECT_TRUE(env_.exists(cached(*r, FileKind::kSnapshot, s2)));
  ASSERT_TRUE(r->list_ids(FileKind::kIndex).ok());
  EXPECT_FALSE(env_.exists(cached(*r, FileKind::kIndex, index_id)));
  // A pack no index lists is dropped when the index is loaded.
  ASSERT_TRUE(env_.exists(cached(*r, FileKind::kPack, pack)));
  auto r2 = open();
  ASSERT_TRUE(r2->load_index().ok());
  EXPECT_FALSE(env_.exists(cached(*r2, FileKind::kPack, pack)));
  // And removing through the cache removes from both.
  ASSERT_TRUE(r2->backend()->remove({FileKind::kSnapshot, s2.hex()}).ok());
  EXPECT_FALSE(env_.exists(cached(*r2, FileKind::kSnapshot, s2)));
}

TEST_F(CacheTest, UnwritableCacheWarnsOnceAndNeverFails) {
  base::FaultEnv faulty(&env_);
  auto r = open(&faulty);
  faulty.set_free_space(0);  // every write: "No space left on device"
  auto blobs = save_blobs(*r);
  auto s = r->save_unpacked(FileKind::kSnapshot, span(R"({"n":3})"));
  ASSERT_TRUE(s.ok()) << s.status().message();
  faulty.fail(base::EnvOp::kOpenWrite, "/cache", base::permission_denied("read-only"));
  auto r2 = open(&faulty);  // opening needs no write once the folders are there
  ASSERT_TRUE(r2->load_index().ok());
  ASSERT_TRUE(r2->load_unpacked(FileKind::kSnapshot, *s).ok());
  ASSERT_TRUE(r2->load_blob(BlobType::kTree, blobs.first).ok());
  EXPECT_EQ(warnings_.size(), 2u);  // once per process
  // Nothing half-written was left behind.
  for (const char* d : {"/data", "/index", "/snapshots"}) {
    auto left = dir_size(env_, r2->cache()->cache().path() + d);
    ASSERT_TRUE(left.ok());
    EXPECT_EQ(*left, 0u) << d;
  }
}

TEST_F(CacheTest, OldCacheDirsByLastUse) {
  std::string a(64, 'a'), b(64, 'b');
  ASSERT_TRUE(Cache::open(&env_, &clock_, "/cache", a).ok());
  clock_.advance(std::chrono::hours(24 * 31));
  ASSERT_TRUE(Cache::open(&env_, &clock_, "/cache", b).ok());
  ASSERT_TRUE(env_.make_dirs("/cache/kura-check-cache-123", 0700).ok());
  ASSERT_TRUE(env_.set_times("/cache/kura-check-cache-123", clock_.now(), clock_.now()).ok());
  ASSERT_TRUE(env_.make_dirs("/cache/unrelated", 0700).ok());
  auto all = list_cache_dirs(env_, "/cache");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, a);
  auto old = old_cache_dirs(env_, "/cache", clock_.now().sec, kMaxCacheAgeSec);
  ASSERT_TRUE(old.ok());
  ASSERT_EQ(old->size(), 1u);
  EXPECT_EQ((*old)[0].name, a);
  auto none = list_cache_dirs(env_, "/nowhere");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(CacheDirTest, DefaultFollowsTheEnvironment) {
  const char* vars[] = {"KURA_CACHE_DIR", "RESTIC_CACHE_DIR", "XDG_CACHE_HOME", "HOME"};
  std::map<std::string, std::optional<std::string>> saved;
  for (const char* v : vars) {
    const char* x = std::getenv(v);
    saved[v] = x ? std::optional<std::string>(x) : std::nullopt;
    ::unsetenv(v);
  }
  EXPECT_FALSE(default_cache_dir().ok());
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(*default_cache_dir(), "/home/u/.cache/kura");
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  EXPECT_EQ(*default_cache_dir(), "/xdg/kura");
  ::setenv("RESTIC_CACHE_DIR", "/r", 1);
  EXPECT_EQ(*default_cache_dir(), "/r");
  ::setenv("KURA_CACHE_DIR", "/k", 1);
  EXPECT_EQ(*default_cache_dir(), "/k");
  for (const auto& [v, x] : saved) {
    if (x) {
      ::setenv(v.c_str(), x->c_str(), 1);
    } else {
      ::unsetenv(v.c_str());
    }
  }
}

}  // namespace
}  // namespace kura::repo
