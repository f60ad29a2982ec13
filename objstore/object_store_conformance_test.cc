// One behaviour suite for every ObjectStore: local directory (real file system and MemEnv) and
// memory. Later stores (replicated, S3) add a Target here and must pass it unchanged.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <map>
#include <set>
#include <thread>

#include "backend/backend_testing.h"
#include "base/mem_env.h"
#include "objstore/object_store.h"

namespace kura::objstore {
namespace {

using backend::FileEntry;
using backend::FileKind;
using backend::Handle;
using backend::testing::hash_name;
using backend::testing::random_bytes;
using base::Bytes;
using base::Code;

// What a target needs to live during one test.
struct Fixture {
  std::unique_ptr<backend::testing::TempDir> dir;
  std::unique_ptr<base::MemEnv> mem_env;
  std::unique_ptr<ObjectStore> store;
};

struct Target {
  std::string name;
  std::function<void(Fixture*)> make;
};
void PrintTo(const Target& t, std::ostream* os) { *os << t.name; }

std::vector<Target> targets() {
  return {
      {"local",
       [](Fixture* f) {
         f->dir = std::make_unique<backend::testing::TempDir>();
         f->store = open_local_store(base::posix_env(), f->dir->sub("region"));
       }},
      {"local_memenv",
       [](Fixture* f) {
         f->mem_env = std::make_unique<base::MemEnv>();
         f->store = open_local_store(f->mem_env.get(), "/region");
       }},
      {"memory", [](Fixture* f) { f->store = memory_store(); }},
  };
}

class ObjectStoreConformance : public ::testing::TestWithParam<Target> {
 protected:
  void SetUp() override {
    GetParam().make(&f_);
    ASSERT_TRUE(f_.store);
    store_ = f_.store.get();
    ASSERT_TRUE(store_->create_repo(repo_).ok());
  }

  // Uploads data as h in pieces of `piece` bytes (0: one piece).
  base::Status put(const RepoRef& repo, const Handle& h, base::ByteSpan data, bool* existed,
                   size_t piece = 0) {
    ASSIGN_OR_RETURN(auto w, store_->begin_write(repo, h));
    if (piece == 0) piece = std::max<size_t>(data.size(), 1);
    for (size_t off = 0; off < data.size(); off += piece) {
      RETURN_IF_ERROR(w->append(data.subspan(off, std::min(piece, data.size() - off))));
    }
    if (w->size() != data.size()) return base::internal_error("writer size is wrong");
    return w->commit(existed);
  }
  base::Status put(const Handle& h, base::ByteSpan data) {
    bool existed = false;
    return put(repo_, h, data, &existed);
  }

  base::StatusOr<Bytes> get(const RepoRef& repo, const Handle& h) {
    ASSIGN_OR_RETURN(uint64_t size, store_->stat(repo, h));
    Bytes out(size);
    RETURN_IF_ERROR(store_->read(repo, h, 0, out));
    return out;
  }

  std::map<std::string, uint64_t> listing(const RepoRef& repo, FileKind kind) {
    std::map<std::string, uint64_t> out;
    base::Status st = store_->list(repo, kind, [&](const FileEntry& e) {
      out[e.name] = e.size;
      return base::ok_status();
    });
    EXPECT_TRUE(st.ok()) << st.to_string();
    return out;
  }

  static Handle pack(const Bytes& data) { return Handle{FileKind::kPack, hash_name(data)}; }

  Fixture f_;
  ObjectStore* store_ = nullptr;
  RepoRef repo_{"clinic-a", "main"};
};

TEST_P(ObjectStoreConformance, CreateRepoIsIdempotent) {
  EXPECT_TRUE(*store_->repo_exists(repo_));
  EXPECT_FALSE(*store_->repo_exists(RepoRef{"clinic-a", "other"}));
  EXPECT_FALSE(*store_->repo_exists(RepoRef{"clinic-b", "main"}));
  Bytes data = random_bytes(100, 1);
  ASSERT_TRUE(put(pack(data), data).ok());
  ASSERT_TRUE(store_->create_repo(repo_).ok());
  EXPECT_EQ(*get(repo_, pack(data)), data);
  EXPECT_EQ(to_string(repo_), "clinic-a/main");
}

TEST_P(ObjectStoreConformance, AMissingRepositoryIsNotFound) {
  RepoRef none{"clinic-a", "none"};
  Handle h{FileKind::kPack, std::string(64, 'a')};
  EXPECT_EQ(store_->stat(none, h).status().code(), Code::kNotFound);
  Bytes buf(1);
  EXPECT_EQ(store_->read(none, h, 0, buf).code(), Code::kNotFound);
  EXPECT_EQ(store_->begin_write(none, h).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->list(none, FileKind::kPack, [](const FileEntry&) { return base::ok_status(); })
                .code(),
            Code::kNotFound);
  uint64_t bytes = 0, objects = 0;
  EXPECT_EQ(store_->usage(none, &bytes, &objects).code(), Code::kNotFound);
  EXPECT_EQ(store_->sweep_temp_files(none, 0).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->remove(none, h).ok());
  // Asking did not make it.
  EXPECT_FALSE(*store_->repo_exists(none));
}

TEST_P(ObjectStoreConformance, APackWrittenInPiecesReadsBackInPieces) {
  Bytes data = random_bytes((3 << 20) + 12345, 2);
  Handle h = pack(data);
  bool existed = true;
  ASSERT_TRUE(put(repo_, h, data, &existed, 100000).ok());
  EXPECT_FALSE(existed);
  EXPECT_EQ(*store_->stat(repo_, h), data.size());
  // As the server serves it: 1 MiB at a time into one reused buffer.
  Bytes piece(1 << 20);
  for (uint64_t off = 0; off < data.size(); off += piece.size()) {
    size_t n = std::min<uint64_t>(piece.size(), data.size() - off);
    ASSERT_TRUE(store_->read(repo_, h, off, base::MutableByteSpan(piece.data(), n)).ok());
    ASSERT_TRUE(std::equal(piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(n),
                           data.begin() + static_cast<std::ptrdiff_t>(off)))
        << "at offset " << off;
  }
  EXPECT_EQ(listing(repo_, FileKind::kPack),
            (std::map<std::string, uint64_t>{{h.name, data.size()}}));
}

TEST_P(ObjectStoreConformance, EveryKindRoundTripsAndListsAlone) {
  std::map<FileKind, Bytes> stored;
  uint64_t seed = 10;
  for (FileKind kind : backend::kListableKinds) {
    Bytes data = random_bytes(200 + seed, seed);
    ++seed;
    ASSERT_TRUE(put(Handle{kind, hash_name(data)}, data).ok()) << backend::kind_dir(kind);
    stored[kind] = data;
  }
  Bytes config = random_bytes(155, 99);
  Handle ch{FileKind::kConfig, ""};
  ASSERT_TRUE(put(ch, config).ok());
  EXPECT_EQ(*get(repo_, ch), config);
  for (const auto& [kind, data] : stored) {
    Handle h{kind, hash_name(data)};
    EXPECT_EQ(*get(repo_, h), data) << h.to_string();
    EXPECT_EQ(listing(repo_, kind), (std::map<std::string, uint64_t>{{h.name, data.size()}}))
        << backend::kind_dir(kind);
    // The same name under another kind is another object.
    FileKind other = kind == FileKind::kKey ? FileKind::kLock : FileKind::kKey;
    EXPECT_EQ(store_->stat(repo_, Handle{other, h.name}).status().code(), Code::kNotFound);
  }
  EXPECT_EQ(
      store_->list(repo_, FileKind::kConfig, [](const FileEntry&) { return base::ok_status(); })
          .code(),
      Code::kInvalidArgument);
}

TEST_P(ObjectStoreConformance, ReadingPastTheEndIsAnError) {
  Bytes data = random_bytes(1000, 3);
  Handle h = pack(data);
  ASSERT_TRUE(put(h, data).ok());
  Bytes buf(100);
  ASSERT_TRUE(store_->read(repo_, h, 900, buf).ok());
  EXPECT_TRUE(std::equal(buf.begin(), buf.end(), data.begin() + 900));
  for (uint64_t offset : {901u, 1000u, 5000u}) {
    Code code = store_->read(repo_, h, offset, buf).code();
    EXPECT_TRUE(code == Code::kDataLoss || code == Code::kOutOfRange) << offset;
  }
  EXPECT_TRUE(store_->read(repo_, h, 1000, base::MutableByteSpan()).ok());
  Code code = store_->read(repo_, h, 1001, base::MutableByteSpan()).code();
  EXPECT_TRUE(code == Code::kDataLoss || code == Code::kOutOfRange);
}

TEST_P(ObjectStoreConformance, AMissingObjectIsNotFound) {
  Handle h{FileKind::kIndex, std::string(64, 'c')};
  EXPECT_EQ(store_->stat(repo_, h).status().code(), Code::kNotFound);
  Bytes buf(10);
  EXPECT_EQ(store_->read(repo_, h, 0, buf).code(), Code::kNotFound);
  EXPECT_EQ(store_->read(repo_, h, 0, base::MutableByteSpan()).code(), Code::kNotFound);
  EXPECT_EQ(store_->stat(repo_, Handle{FileKind::kConfig, ""}).status().code(), Code::kNotFound);
}

TEST_P(ObjectStoreConformance, AnUploadIsInvisibleUntilCommitted) {
  Bytes data = random_bytes(5000, 4);
  Handle h = pack(data);
  {
    auto w = store_->begin_write(repo_, h);
    ASSERT_TRUE(w.ok()) << w.status().to_string();
    ASSERT_TRUE((*w)->append(base::ByteSpan(data).first(2000)).ok());
    EXPECT_EQ((*w)->size(), 2000u);
    EXPECT_EQ(store_->stat(repo_, h).status().code(), Code::kNotFound);
    EXPECT_TRUE(listing(repo_, FileKind::kPack).empty());
    ASSERT_TRUE((*w)->append(base::ByteSpan(data).subspan(2000)).ok());
    EXPECT_EQ(store_->stat(repo_, h).status().code(), Code::kNotFound);
    bool existed = true;
    ASSERT_TRUE((*w)->commit(&existed).ok());
    EXPECT_FALSE(existed);
  }
  EXPECT_EQ(*get(repo_, h), data);
}

TEST_P(ObjectStoreConformance, AnUploadDroppedBeforeCommitLeavesNothing) {
  Bytes data = random_bytes(5000, 5);
  Handle h = pack(data);
  {
    auto w = store_->begin_write(repo_, h);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->append(data).ok());
  }
  EXPECT_EQ(store_->stat(repo_, h).status().code(), Code::kNotFound);
  EXPECT_TRUE(listing(repo_, FileKind::kPack).empty());
  uint64_t bytes = 1, objects = 1;
  ASSERT_TRUE(store_->usage(repo_, &bytes, &objects).ok());
  EXPECT_EQ(bytes, 0u);
  EXPECT_EQ(objects, 0u);
  ASSERT_TRUE(put(h, data).ok());
  EXPECT_EQ(*get(repo_, h), data);
}

TEST_P(ObjectStoreConformance, AnIdenticalReuploadSaysItExisted) {
  Bytes data = random_bytes(300000, 6);
  Handle h = pack(data);
  bool existed = true;
  ASSERT_TRUE(put(repo_, h, data, &existed).ok());
  EXPECT_FALSE(existed);
  ASSERT_TRUE(put(repo_, h, data, &existed, 7777).ok());
  EXPECT_TRUE(existed);
  EXPECT_EQ(*get(repo_, h), data);
  EXPECT_EQ(listing(repo_, FileKind::kPack).size(), 1u);
  // config too: it has no content name.
  Handle ch{FileKind::kConfig, ""};
  ASSERT_TRUE(put(repo_, ch, data, &existed).ok());
  EXPECT_FALSE(existed);
  ASSERT_TRUE(put(repo_, ch, data, &existed).ok());
  EXPECT_TRUE(existed);
}

TEST_P(ObjectStoreConformance, ADifferentReuploadIsRefusedAndChangesNothing) {
  Bytes data = random_bytes(600000, 7);
  Handle h = pack(data);
  ASSERT_TRUE(put(h, data).ok());
  Bytes last_byte = data;
  last_byte[last_byte.size() - 1] ^= 1;
  Bytes first_byte = data;
  first_byte[0] ^= 1;
  Bytes shorter(data.begin(), data.end() - 1);
  Bytes longer = data;
  longer.push_back(0);
  for (const Bytes* other : {&last_byte, &first_byte, &shorter, &longer}) {
    bool existed = false;
    base::Status st = put(repo_, h, *other, &existed, 65536);
    EXPECT_EQ(st.code(), Code::kAlreadyExists) << st.to_string();
    EXPECT_NE(st.message().find(h.name), std::string::npos) << st.to_string();
  }
  EXPECT_EQ(*get(repo_, h), data);
  EXPECT_EQ(listing(repo_, FileKind::kPack).size(), 1u);
  uint64_t bytes = 0, objects = 0;
  ASSERT_TRUE(store_->usage(repo_, &bytes, &objects).ok());
  EXPECT_EQ(bytes, data.size());
  EXPECT_EQ(objects, 1u);
}

TEST_P(ObjectStoreConformance, AFinishedUploadRefusesMore) {
  Bytes data = random_bytes(100, 8);
  auto w = store_->begin_write(repo_, pack(data));
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->append(data).ok());
  bool existed = false;
  ASSERT_TRUE((*w)->commit(&existed).ok());
  EXPECT_EQ((*w)->commit(&existed).code(), Code::kFailedPrecondition);
  EXPECT_EQ((*w)->append(data).code(), Code::kFailedPrecondition);
  EXPECT_EQ(*get(repo_, pack(data)), data);
}

TEST_P(ObjectStoreConformance, AnEmptyObjectIsStored) {
  Bytes empty;
  Handle h{FileKind::kLock, hash_name(empty)};
  ASSERT_TRUE(put(h, empty).ok());
  EXPECT_EQ(*store_->stat(repo_, h), 0u);
  EXPECT_TRUE(store_->read(repo_, h, 0, base::MutableByteSpan()).ok());
  EXPECT_EQ(listing(repo_, FileKind::kLock), (std::map<std::string, uint64_t>{{h.name, 0}}));
}

TEST_P(ObjectStoreConformance, RemoveDeletesAndAMissingObjectIsFine) {
  Bytes data = random_bytes(100, 9);
  Handle h{FileKind::kLock, hash_name(data)};
  ASSERT_TRUE(put(h, data).ok());
  ASSERT_TRUE(store_->remove(repo_, h).ok());
  EXPECT_EQ(store_->stat(repo_, h).status().code(), Code::kNotFound);
  EXPECT_TRUE(listing(repo_, FileKind::kLock).empty());
  EXPECT_TRUE(store_->remove(repo_, h).ok());
  EXPECT_TRUE(store_->remove(repo_, Handle{FileKind::kConfig, ""}).ok());
  ASSERT_TRUE(put(h, data).ok());
  EXPECT_EQ(*get(repo_, h), data);
}

TEST_P(ObjectStoreConformance, RepositoriesAreSeparate) {
  RepoRef other_tenant{"clinic-b", "main"};
  RepoRef other_repo{"clinic-a", "second"};
  ASSERT_TRUE(store_->create_repo(other_tenant).ok());
  ASSERT_TRUE(store_->create_repo(other_repo).ok());
  Handle h{FileKind::kSnapshot, std::string(64, 'e')};
  Bytes a = random_bytes(100, 10), b = random_bytes(200, 11), c = random_bytes(300, 12);
  bool existed = true;
  ASSERT_TRUE(put(repo_, h, a, &existed).ok());
  ASSERT_TRUE(put(other_tenant, h, b, &existed).ok());
  EXPECT_FALSE(existed);
  ASSERT_TRUE(put(other_repo, h, c, &existed).ok());
  EXPECT_FALSE(existed);
  EXPECT_EQ(*get(repo_, h), a);
  EXPECT_EQ(*get(other_tenant, h), b);
  EXPECT_EQ(*get(other_repo, h), c);
  ASSERT_TRUE(store_->remove(other_tenant, h).ok());
  EXPECT_EQ(*get(repo_, h), a);
  EXPECT_EQ(listing(other_tenant, FileKind::kSnapshot).size(), 0u);
  EXPECT_EQ(listing(other_repo, FileKind::kSnapshot).size(), 1u);
}

TEST_P(ObjectStoreConformance, GarbageNamesAreInvalidArgument) {
  std::vector<RepoRef> bad_repos = {
      {"", "main"},
      {"clinic-a", ""},
      {"..", "main"},
      {"clinic-a", ".."},
      {".", "main"},
      {"clinic-a", "."},
      {"a/b", "main"},
      {"clinic-a", "x/y"},
      {"/", "main"},
      {"clinic-a", "../../e"},
      {std::string("a\0b", 3), "main"},
      {std::string(256, 'a'), "main"},
  };
  Handle good{FileKind::kPack, std::string(64, 'a')};
  Bytes buf(1);
  auto none = [](const FileEntry&) { return base::ok_status(); };
  uint64_t bytes = 0, objects = 0;
  for (const RepoRef& r : bad_repos) {
    SCOPED_TRACE(to_string(r));
    EXPECT_EQ(check_repo(r).code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->create_repo(r).code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->repo_exists(r).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->stat(r, good).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->read(r, good, 0, buf).code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->begin_write(r, good).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->remove(r, good).code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->list(r, FileKind::kPack, none).code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->usage(r, &bytes, &objects).code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->sweep_temp_files(r, 0).status().code(), Code::kInvalidArgument);
  }
  std::vector<Handle> bad_handles = {
      {FileKind::kPack, ""},
      {FileKind::kPack, std::string(63, 'a')},
      {FileKind::kPack, std::string(65, 'a')},
      {FileKind::kPack, std::string(64, 'A')},
      {FileKind::kKey, std::string(62, 'a') + "0g"},
      {FileKind::kKey, "../../../../etc/passwd"},
      {FileKind::kIndex, "../" + std::string(61, 'a')},
      {FileKind::kSnapshot, std::string(64, 'a') + "-tmp-0123456789abcdef"},
      {FileKind::kConfig, "x"},
      {static_cast<FileKind>(42), std::string(64, 'a')},
  };
  for (const Handle& h : bad_handles) {
    SCOPED_TRACE(h.name);
    EXPECT_EQ(store_->stat(repo_, h).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->read(repo_, h, 0, buf).code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->begin_write(repo_, h).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->remove(repo_, h).code(), Code::kInvalidArgument);
  }
}

TEST_P(ObjectStoreConformance, ListStopsAtTheFirstError) {
  for (int i = 0; i < 5; ++i) {
    Bytes data = random_bytes(10, 20 + i);
    ASSERT_TRUE(put(Handle{FileKind::kIndex, hash_name(data)}, data).ok());
  }
  int calls = 0;
  base::Status st = store_->list(repo_, FileKind::kIndex, [&](const FileEntry&) {
    ++calls;
    return calls == 2 ? base::cancelled("enough") : base::ok_status();
  });
  EXPECT_EQ(st.code(), Code::kCancelled);
  EXPECT_EQ(calls, 2);
}

TEST_P(ObjectStoreConformance, ListCallbackMayRemoveWhatItSees) {
  for (int i = 0; i < 20; ++i) {
    Bytes data = random_bytes(10, 30 + i);
    ASSERT_TRUE(put(pack(data), data).ok());
  }
  int seen = 0;
  ASSERT_TRUE(store_
                  ->list(repo_, FileKind::kPack,
                         [&](const FileEntry& e) {
                           ++seen;
                           return store_->remove(repo_, Handle{FileKind::kPack, e.name});
                         })
                  .ok());
  EXPECT_EQ(seen, 20);
  EXPECT_TRUE(listing(repo_, FileKind::kPack).empty());
}

TEST_P(ObjectStoreConformance, UsageCountsEveryObject) {
  uint64_t want_bytes = 0;
  Bytes config = random_bytes(155, 40);
  ASSERT_TRUE(put(Handle{FileKind::kConfig, ""}, config).ok());
  want_bytes += config.size();
  for (int i = 0; i < 10; ++i) {
    Bytes data = random_bytes(1000 + i * 100, 41 + i);
    FileKind kind = backend::kListableKinds[i % 5];
    ASSERT_TRUE(put(Handle{kind, hash_name(data)}, data).ok());
    want_bytes += data.size();
  }
  uint64_t bytes = 0, objects = 0;
  ASSERT_TRUE(store_->usage(repo_, &bytes, &objects).ok());
  EXPECT_EQ(bytes, want_bytes);
  EXPECT_EQ(objects, 11u);
}

TEST_P(ObjectStoreConformance, ManyWritersAtOnce) {
  constexpr int kThreads = 8, kEach = 6;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  std::mutex mu;
  std::map<std::string, Bytes> written;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Bytes data = random_bytes(1000 + 3000 * i, 100 + t * kEach + i);
        bool existed = false;
        if (!put(repo_, pack(data), data, &existed, 1000).ok() || existed) ++failures;
        std::lock_guard<std::mutex> l(mu);
        written[hash_name(data)] = data;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto listed = listing(repo_, FileKind::kPack);
  ASSERT_EQ(listed.size(), written.size());
  for (const auto& [name, data] : written) {
    EXPECT_EQ(listed[name], data.size());
    EXPECT_EQ(*get(repo_, Handle{FileKind::kPack, name}), data);
  }
}

TEST_P(ObjectStoreConformance, TwoUploadsOfOneNameWithTheSameBytesBothSucceed) {
  for (int round = 0; round < 10; ++round) {
    Bytes data = random_bytes(200000, 200 + round);
    Handle h = pack(data);
    std::barrier sync(2);
    base::Status st[2];
    bool existed[2] = {false, false};
    auto upload = [&](int i) {
      auto w = store_->begin_write(repo_, h);
      if (!w.ok()) {
        st[i] = w.status();
        return;
      }
      st[i] = (*w)->append(data);
      sync.arrive_and_wait();
      if (st[i].ok()) st[i] = (*w)->commit(&existed[i]);
    };
    std::thread a(upload, 0), b(upload, 1);
    a.join();
    b.join();
    ASSERT_TRUE(st[0].ok()) << st[0].to_string();
    ASSERT_TRUE(st[1].ok()) << st[1].to_string();
    EXPECT_NE(existed[0], existed[1]) << "exactly one stored it";
    EXPECT_EQ(*get(repo_, h), data);
  }
}

TEST_P(ObjectStoreConformance, ManyUploadsOfOneNameStoreItOnce) {
  constexpr int kThreads = 6;
  Bytes data = random_bytes(300000, 250);
  Handle h = pack(data);
  std::barrier sync(kThreads);
  std::atomic<int> stored{0}, existed_count{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto w = store_->begin_write(repo_, h);
      base::Status st = w.ok() ? (*w)->append(data) : w.status();
      sync.arrive_and_wait();
      bool existed = false;
      if (st.ok()) st = (*w)->commit(&existed);
      if (!st.ok()) {
        ++failed;
      } else if (existed) {
        ++existed_count;
      } else {
        ++stored;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(stored.load(), 1);
  EXPECT_EQ(existed_count.load(), kThreads - 1);
  EXPECT_EQ(*get(repo_, h), data);
  EXPECT_EQ(listing(repo_, FileKind::kPack).size(), 1u);
}

TEST_P(ObjectStoreConformance, TwoUploadsOfOneNameWithDifferentBytesOneWins) {
  for (int round = 0; round < 10; ++round) {
    Bytes data[2] = {random_bytes(200000, 300 + round), random_bytes(200000, 400 + round)};
    Handle h{FileKind::kPack, hash_name(data[0])};
    std::barrier sync(2);
    base::Status st[2];
    auto upload = [&](int i) {
      auto w = store_->begin_write(repo_, h);
      if (!w.ok()) {
        st[i] = w.status();
        return;
      }
      st[i] = (*w)->append(data[i]);
      sync.arrive_and_wait();
      bool existed = false;
      if (st[i].ok()) st[i] = (*w)->commit(&existed);
    };
    std::thread a(upload, 0), b(upload, 1);
    a.join();
    b.join();
    ASSERT_NE(st[0].ok(), st[1].ok()) << st[0].to_string() << " / " << st[1].to_string();
    int winner = st[0].ok() ? 0 : 1;
    EXPECT_EQ(st[1 - winner].code(), Code::kAlreadyExists) << st[1 - winner].to_string();
    EXPECT_EQ(*get(repo_, h), data[winner]);
    ASSERT_TRUE(store_->remove(repo_, h).ok());
  }
}

TEST_P(ObjectStoreConformance, InterleavedUploadsKeepTheirOwnBytes) {
  Bytes a = random_bytes(100000, 50), b = random_bytes(150000, 51);
  auto wa = store_->begin_write(repo_, pack(a));
  auto wb = store_->begin_write(repo_, pack(b));
  ASSERT_TRUE(wa.ok() && wb.ok());
  for (size_t off = 0; off < b.size(); off += 10000) {
    if (off < a.size()) {
      ASSERT_TRUE((*wa)->append(base::ByteSpan(a).subspan(off, 10000)).ok());
    }
    ASSERT_TRUE((*wb)->append(base::ByteSpan(b).subspan(off, 10000)).ok());
  }
  bool existed = false;
  ASSERT_TRUE((*wb)->commit(&existed).ok());
  ASSERT_TRUE((*wa)->commit(&existed).ok());
  EXPECT_EQ(*get(repo_, pack(a)), a);
  EXPECT_EQ(*get(repo_, pack(b)), b);
}

TEST_P(ObjectStoreConformance, SweepKeepsUploadsInProgress) {
  Bytes data = random_bytes(5000, 60);
  auto w = store_->begin_write(repo_, pack(data));
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->append(data).ok());
  auto removed = store_->sweep_temp_files(repo_, -1000000);  // everything counts as old
  ASSERT_TRUE(removed.ok()) << removed.status().to_string();
  EXPECT_EQ(*removed, 0u);
  bool existed = true;
  ASSERT_TRUE((*w)->commit(&existed).ok());
  EXPECT_FALSE(existed);
  EXPECT_EQ(*get(repo_, pack(data)), data);
  EXPECT_EQ(*store_->sweep_temp_files(repo_, -1000000), 0u);
}

INSTANTIATE_TEST_SUITE_P(Stores, ObjectStoreConformance, ::testing::ValuesIn(targets()),
                         [](const ::testing::TestParamInfo<Target>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace kura::objstore
