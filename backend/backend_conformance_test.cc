// One behaviour suite for every Backend: in memory, local directory (real and in-memory file
// system), REST against a real third-party server (rclone serve restic, plain and TLS with a
// client certificate), and the retry / fault wrappers with no faults armed.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "backend/backend.h"
#include "backend/backend_testing.h"
#include "backend/fault_backend.h"
#include "backend/local_backend.h"
#include "backend/mem_backend.h"
#include "backend/rest_backend.h"
#include "backend/retry_backend.h"
#include "base/env.h"
#include "base/mem_env.h"

namespace kura::backend {
namespace {

using base::Bytes;
using base::Code;
using testing::hash_name;
using testing::random_bytes;

const bool kIgnoreSigpipe = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// What a target needs to live during one test.
struct Fixture {
  std::unique_ptr<testing::TempDir> dir;
  std::unique_ptr<base::MemEnv> mem_env;
  std::unique_ptr<testing::RcloneServer> rclone;
  std::unique_ptr<Backend> backend;
  // rclone 1.60 (unlike rest-server) overwrites an existing file unless in append-only mode.
  bool refuses_overwrite = true;
  std::string skip;   // non-empty: skip the test with this reason
  std::string error;  // non-empty: set-up failed
};

struct Target {
  std::string name;
  std::function<void(Fixture*)> make;
};
// ctest shows each case's parameter: its name, not the struct's raw bytes.
void PrintTo(const Target& t, std::ostream* os) { *os << t.name; }

void make_rest(Fixture* f, bool tls) {
  if (!testing::file_exists(testing::kRclone)) {
    f->skip = "rclone is not installed";
    return;
  }
  f->dir = std::make_unique<testing::TempDir>();
  testing::RcloneServer::Options opt;
  RestOptions ro;
  if (tls) {
    if (!testing::file_exists(testing::kOpenssl)) {
      f->skip = "openssl is not installed";
      return;
    }
    f->error = testing::make_test_certs(f->dir->path());
    if (!f->error.empty()) return;
    opt.cert = f->dir->sub("server.pem");
    opt.key = f->dir->sub("server.key");
    opt.client_ca = f->dir->sub("client.crt");
    ro.cacert = f->dir->sub("server.pem");
    ro.tls_client_cert = f->dir->sub("client.pem");
  }
  f->rclone = std::make_unique<testing::RcloneServer>();
  f->error = f->rclone->start(f->dir->sub("repo"), f->dir->sub("rclone.log"), opt);
  if (!f->error.empty()) return;
  ro.url = "rest:" + f->rclone->url();
  auto b = open_rest(ro);
  if (!b.ok()) {
    f->error = b.status().to_string();
    return;
  }
  f->backend = *std::move(b);
  f->refuses_overwrite = false;
}

std::vector<Target> targets() {
  return {
      {"mem", [](Fixture* f) { f->backend = new_mem_backend(); }},
      {"local",
       [](Fixture* f) {
         f->dir = std::make_unique<testing::TempDir>();
         auto b = open_local(base::posix_env(), f->dir->sub("repo"));
         if (b.ok()) f->backend = *std::move(b);
         else f->error = b.status().to_string();
       }},
      {"local_memenv",
       [](Fixture* f) {
         f->mem_env = std::make_unique<base::MemEnv>();
         auto b = open_local(f->mem_env.get(), "/srv/repo");
         if (b.ok()) f->backend = *std::move(b);
         else f->error = b.status().to_string();
       }},
      {"rest_rclone", [](Fixture* f) { make_rest(f, false); }},
      {"rest_rclone_tls", [](Fixture* f) { make_rest(f, true); }},
      {"retry_over_mem",
       [](Fixture* f) { f->backend = std::make_unique<RetryBackend>(new_mem_backend()); }},
      {"fault_over_mem",
       [](Fixture* f) { f->backend = std::make_unique<FaultBackend>(new_mem_backend()); }},
  };
}

class BackendConformance : public ::testing::TestWithParam<Target> {
 protected:
  void SetUp() override {
    GetParam().make(&f_);
    if (!f_.skip.empty()) GTEST_SKIP() << f_.skip;
    ASSERT_TRUE(f_.error.empty()) << f_.error;
    ASSERT_TRUE(f_.backend);
    b_ = f_.backend.get();
    ASSERT_TRUE(b_->create().ok());
  }

  void TearDown() override {
    f_.backend.reset();
    if (f_.rclone) f_.rclone->stop();  // kill + waitpid
  }

  // Saves random data of size n under its hash; returns the handle.
  Handle put(FileKind kind, size_t n, uint64_t seed, Bytes* data_out = nullptr) {
    Bytes data = random_bytes(n, seed);
    Handle h{kind, hash_name(data)};
    base::Status st = b_->save(h, data);
    EXPECT_TRUE(st.ok()) << st.to_string();
    if (data_out) *data_out = std::move(data);
    return h;
  }

  std::map<std::string, uint64_t> listing(FileKind kind) {
    std::map<std::string, uint64_t> out;
    base::Status st = b_->list(kind, [&](const FileEntry& e) {
      EXPECT_TRUE(out.emplace(e.name, e.size).second) << "listed twice: " << e.name;
      return base::ok_status();
    });
    EXPECT_TRUE(st.ok()) << st.to_string();
    return out;
  }

  // How many temporary files list_temp_files reports.
  size_t temp_files(FileKind kind) {
    size_t n = 0;
    base::Status st = b_->list_temp_files(kind, [&](const TempFileEntry&) {
      ++n;
      return base::ok_status();
    });
    EXPECT_TRUE(st.ok()) << st.to_string();
    return n;
  }

  Fixture f_;
  Backend* b_ = nullptr;
};

TEST_P(BackendConformance, CreateIsIdempotentAndStartsEmpty) {
  ASSERT_TRUE(b_->create().ok());
  Handle h = put(FileKind::kKey, 100, 1);
  base::Status st = b_->create();
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(listing(FileKind::kKey).size(), 1u);  // create keeps what is there
  for (FileKind k : {FileKind::kLock, FileKind::kSnapshot, FileKind::kIndex, FileKind::kPack}) {
    EXPECT_TRUE(listing(k).empty()) << kind_dir(k);
  }
  EXPECT_EQ(b_->stat(Handle{FileKind::kConfig, ""}).status().code(), Code::kNotFound);
}

TEST_P(BackendConformance, SaveAndLoadWholeFiles) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{70000}}) {
    Bytes data;
    Handle h = put(FileKind::kPack, n, 10 + n, &data);
    auto got = b_->load(h, 0, 0);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(*got, data) << "size " << n;
    auto size = b_->stat(h);
    ASSERT_TRUE(size.ok()) << size.status().to_string();
    EXPECT_EQ(*size, n);
  }
}

TEST_P(BackendConformance, LoadRanges) {
  Bytes data;
  Handle h = put(FileKind::kPack, 1000, 2, &data);
  struct Case {
    uint64_t off, len;
  };
  for (Case c : {Case{0, 1}, Case{0, 1000}, Case{10, 20}, Case{999, 1}, Case{500, 0},
                 Case{999, 0}, Case{1, 999}}) {
    auto got = b_->load(h, c.off, c.len);
    ASSERT_TRUE(got.ok()) << c.off << "+" << c.len << ": " << got.status().to_string();
    uint64_t n = c.len ? c.len : 1000 - c.off;
    EXPECT_EQ(*got, Bytes(data.begin() + c.off, data.begin() + c.off + n)) << c.off << "+" << c.len;
  }
}

TEST_P(BackendConformance, LoadPastTheEndIsDataLoss) {
  Handle h = put(FileKind::kIndex, 1000, 3);
  for (auto [off, len] : {std::pair<uint64_t, uint64_t>{900, 200}, {2000, 10}, {2000, 0},
                          {0, 1001}}) {
    auto got = b_->load(h, off, len);
    ASSERT_FALSE(got.ok()) << off << "+" << len;
    EXPECT_EQ(got.status().code(), Code::kDataLoss) << got.status().to_string();
    EXPECT_NE(got.status().message().find(h.name.substr(0, 16)), std::string::npos)
        << got.status().to_string();
  }
}

TEST_P(BackendConformance, LoadIntoFillsExactlyTheBuffer) {
  Bytes data;
  Handle h = put(FileKind::kPack, 1000, 6, &data);
  for (auto [off, len] : {std::pair<uint64_t, size_t>{0, 1000}, {10, 20}, {999, 1}, {0, 0}}) {
    Bytes out(len + 2, 0xee);  // the bytes past the range stay untouched
    base::Status st = b_->load_into(h, off, base::MutableByteSpan(out.data(), len));
    ASSERT_TRUE(st.ok()) << off << "+" << len << ": " << st.to_string();
    EXPECT_EQ(Bytes(out.begin(), out.begin() + len), Bytes(data.begin() + off, data.begin() + off + len));
    EXPECT_EQ(out[len], 0xee);
    EXPECT_EQ(out[len + 1], 0xee);
  }
  Bytes out(200);
  base::Status past = b_->load_into(h, 900, out);
  EXPECT_EQ(past.code(), Code::kDataLoss) << past.to_string();
  EXPECT_NE(past.message().find(h.name.substr(0, 16)), std::string::npos) << past.to_string();
  base::Status missing = b_->load_into(Handle{FileKind::kPack, std::string(64, '0')}, 0, out);
  EXPECT_EQ(missing.code(), Code::kNotFound) << missing.to_string();
}

TEST_P(BackendConformance, StatReportsExactSizes) {
  Handle a = put(FileKind::kSnapshot, 123, 4);
  Handle b = put(FileKind::kLock, 4567, 5);
  EXPECT_EQ(*b_->stat(a), 123u);
  EXPECT_EQ(*b_->stat(b), 4567u);
  Handle missing{FileKind::kSnapshot, std::string(64, 'e')};
  auto st = b_->stat(missing);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), Code::kNotFound) << st.status().to_string();
  // A name stored under one kind does not exist under another.
  EXPECT_EQ(b_->stat(Handle{FileKind::kIndex, a.name}).status().code(), Code::kNotFound);
}

TEST_P(BackendConformance, SaveOfAnExistingFileIsRefused) {
  Bytes data;
  Handle h = put(FileKind::kPack, 500, 6, &data);
  Bytes other = random_bytes(300, 7);
  base::Status st = b_->save(h, other);
  if (!f_.refuses_overwrite) {
    // rclone (non append-only) replaces the file; documented in RcloneOverwrites below.
    GTEST_SKIP() << "this server overwrites existing files";
  }
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kAlreadyExists) << st.to_string();
  EXPECT_EQ(*b_->load(h, 0, 0), data);  // the original is untouched
}

// Packs are written piece by piece into a staged file, then stored from it.
TEST_P(BackendConformance, StagedFilesSaveLikeSave) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{70000}, size_t{3 << 20}}) {
    Bytes data = random_bytes(n, 20 + n);
    auto file = b_->stage(FileKind::kPack);
    ASSERT_TRUE(file.ok()) << file.status().to_string();
    for (size_t at = 0; at < n;) {
      size_t piece = std::min<size_t>(n - at, 1 + (at * 7919) % 100000);
      ASSERT_TRUE((*file)->append(base::ByteSpan(data).subspan(at, piece)).ok());
      at += piece;
    }
    ASSERT_EQ((*file)->size(), n);
    Bytes back(n);
    auto got = (*file)->read_at(0, back);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(*got, n);
    EXPECT_EQ(back, data);
    Handle h{FileKind::kPack, hash_name(data)};
    base::Status st = b_->save_staged(h, **file);
    ASSERT_TRUE(st.ok()) << st.to_string();
    file->reset();  // dropping the staged file keeps what was stored
    auto loaded = b_->load(h, 0, 0);
    ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
    EXPECT_EQ(*loaded, data) << "size " << n;
  }
  // Staged files are not listed as repository files, nor left behind.
  EXPECT_EQ(listing(FileKind::kPack).size(), 4u);
  EXPECT_EQ(temp_files(FileKind::kPack), 0u);
}

TEST_P(BackendConformance, StagedSaveOfAnExistingFileIsRefused) {
  if (!f_.refuses_overwrite) GTEST_SKIP() << "this server overwrites existing files";
  Bytes data;
  Handle h = put(FileKind::kPack, 500, 21, &data);
  auto file = b_->stage(FileKind::kPack);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  ASSERT_TRUE((*file)->append(random_bytes(300, 22)).ok());
  base::Status st = b_->save_staged(h, **file);
  EXPECT_EQ(st.code(), Code::kAlreadyExists) << st.to_string();
  EXPECT_EQ(*b_->load(h, 0, 0), data);
}

TEST_P(BackendConformance, DroppedStagedFilesLeaveNothing) {
  {
    auto file = b_->stage(FileKind::kPack);
    ASSERT_TRUE(file.ok()) << file.status().to_string();
    ASSERT_TRUE((*file)->append(random_bytes(1000, 23)).ok());
  }
  EXPECT_TRUE(listing(FileKind::kPack).empty());
  EXPECT_EQ(temp_files(FileKind::kPack), 0u);
}

TEST_P(BackendConformance, RemoveTwiceSucceeds) {
  Handle h = put(FileKind::kLock, 50, 8);
  ASSERT_TRUE(b_->remove(h).ok());
  base::Status st = b_->remove(h);
  EXPECT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(b_->stat(h).status().code(), Code::kNotFound);
  EXPECT_EQ(b_->load(h, 0, 0).status().code(), Code::kNotFound);
  EXPECT_TRUE(listing(FileKind::kLock).empty());
  // The name can be used again after removal.
  ASSERT_TRUE(b_->save(h, random_bytes(50, 8)).ok());
}

TEST_P(BackendConformance, ListGivesNamesAndExactSizesPerKind) {
  std::map<FileKind, std::map<std::string, uint64_t>> want;
  uint64_t seed = 100;
  for (FileKind k : kListableKinds) {
    for (size_t n : {size_t{1}, size_t{17}, size_t{4096}, size_t{33333}}) {
      Handle h = put(k, n + static_cast<size_t>(k), seed++);
      want[k][h.name] = n + static_cast<size_t>(k);
    }
  }
  ASSERT_TRUE(b_->save(Handle{FileKind::kConfig, ""}, random_bytes(200, 9)).ok());
  for (FileKind k : kListableKinds) EXPECT_EQ(listing(k), want[k]) << kind_dir(k);
}

TEST_P(BackendConformance, ListStopsAtTheCallbacksError) {
  for (int i = 0; i < 5; ++i) put(FileKind::kSnapshot, 10, 200 + i);
  int calls = 0;
  base::Status st = b_->list(FileKind::kSnapshot, [&](const FileEntry&) {
    ++calls;
    return base::cancelled("stop here");
  });
  EXPECT_EQ(st.code(), Code::kCancelled);
  EXPECT_EQ(st.message(), "stop here");
  EXPECT_EQ(calls, 1);
}

TEST_P(BackendConformance, ListOfConfigIsInvalid) {
  base::Status st = b_->list(FileKind::kConfig, [](const FileEntry&) { return base::ok_status(); });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
}

TEST_P(BackendConformance, LoadOfAMissingFileIsNotFound) {
  std::string name(64, '0');
  for (FileKind k : kListableKinds) {
    auto got = b_->load(Handle{k, name}, 0, 0);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), Code::kNotFound) << got.status().to_string();
    auto ranged = b_->load(Handle{k, name}, 10, 5);
    EXPECT_EQ(ranged.status().code(), Code::kNotFound) << ranged.status().to_string();
  }
  EXPECT_EQ(b_->load(Handle{FileKind::kConfig, ""}, 0, 0).status().code(), Code::kNotFound);
}

TEST_P(BackendConformance, ConfigHandling) {
  Handle cfg{FileKind::kConfig, ""};
  EXPECT_EQ(b_->stat(cfg).status().code(), Code::kNotFound);
  Bytes data = random_bytes(155, 11);
  ASSERT_TRUE(b_->save(cfg, data).ok());
  EXPECT_EQ(*b_->stat(cfg), 155u);
  EXPECT_EQ(*b_->load(cfg, 0, 0), data);
  EXPECT_EQ(*b_->load(cfg, 5, 10), Bytes(data.begin() + 5, data.begin() + 15));
  if (f_.refuses_overwrite) {
    EXPECT_EQ(b_->save(cfg, random_bytes(10, 12)).code(), Code::kAlreadyExists);
    EXPECT_EQ(*b_->load(cfg, 0, 0), data);
  }
  for (FileKind k : kListableKinds) EXPECT_TRUE(listing(k).empty()) << kind_dir(k);
  ASSERT_TRUE(b_->remove(cfg).ok());
  EXPECT_EQ(b_->stat(cfg).status().code(), Code::kNotFound);
}

TEST_P(BackendConformance, LargeObject) {
  Bytes data;
  Handle h = put(FileKind::kPack, 20u << 20, 13, &data);
  EXPECT_EQ(*b_->stat(h), uint64_t{20u << 20});
  auto whole = b_->load(h, 0, 0);
  ASSERT_TRUE(whole.ok()) << whole.status().to_string();
  EXPECT_TRUE(*whole == data);
  uint64_t off = (7u << 20) + 12345, len = (5u << 20) + 77;
  auto part = b_->load(h, off, len);
  ASSERT_TRUE(part.ok()) << part.status().to_string();
  EXPECT_TRUE(*part == Bytes(data.begin() + off, data.begin() + off + len));
  EXPECT_EQ(listing(FileKind::kPack), (std::map<std::string, uint64_t>{{h.name, 20u << 20}}));
}

TEST_P(BackendConformance, ParallelSavesFromSeveralThreads) {
  constexpr int kThreads = 6, kPerThread = 12;
  std::mutex mu;
  std::map<std::string, Bytes> saved;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Bytes data = random_bytes(1000 + 997 * static_cast<size_t>(i + t), 1000 + t * 100 + i);
        Handle h{FileKind::kPack, hash_name(data)};
        base::Status st = b_->save(h, data);
        if (!st.ok()) {
          ++failures;
          ADD_FAILURE() << st.to_string();
          continue;
        }
        std::lock_guard lock(mu);
        saved[h.name] = std::move(data);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  std::map<std::string, uint64_t> want;
  for (auto& [name, data] : saved) want[name] = data.size();
  EXPECT_EQ(listing(FileKind::kPack), want);
  for (auto& [name, data] : saved) EXPECT_EQ(*b_->load(Handle{FileKind::kPack, name}, 0, 0), data);
}

TEST_P(BackendConformance, InvalidNamesAreRejected) {
  Bytes data = random_bytes(10, 14);
  std::string good(64, 'a');
  std::vector<Handle> bad = {
      {FileKind::kPack, ""},
      {FileKind::kPack, good.substr(1)},
      {FileKind::kPack, good + "a"},
      {FileKind::kPack, std::string(64, 'A')},
      {FileKind::kKey, "../../../../../../../../tmp/kura-escape-" + std::string(24, '0')},
      {FileKind::kKey, "../config"},
      {FileKind::kIndex, std::string(62, 'a') + "/b"},
      {FileKind::kSnapshot, std::string(63, 'a') + "g"},
      {FileKind::kLock, std::string(63, 'a') + '\0'},
      {FileKind::kConfig, good},
      {FileKind::kPack, "%2e%2e%2fconfig" + std::string(49, 'a')},
  };
  for (const Handle& h : bad) {
    EXPECT_EQ(b_->save(h, data).code(), Code::kInvalidArgument) << h.to_string();
    EXPECT_EQ(b_->load(h, 0, 0).status().code(), Code::kInvalidArgument) << h.to_string();
    EXPECT_EQ(b_->stat(h).status().code(), Code::kInvalidArgument) << h.to_string();
    EXPECT_EQ(b_->remove(h).code(), Code::kInvalidArgument) << h.to_string();
  }
  for (FileKind k : kListableKinds) EXPECT_TRUE(listing(k).empty());
  EXPECT_FALSE(testing::file_exists("/tmp/kura-escape-" + std::string(24, '0')));
}

TEST_P(BackendConformance, LocationHasNoCredentials) {
  EXPECT_FALSE(b_->location().empty());
  EXPECT_EQ(b_->location().find('@'), std::string::npos);
  EXPECT_GE(b_->parallelism(), 1);
}

INSTANTIATE_TEST_SUITE_P(All, BackendConformance, ::testing::ValuesIn(targets()),
                         [](const ::testing::TestParamInfo<Target>& info) {
                           return info.param.name;
                         });

// ---- rclone specifics and end-to-end checks with stock restic ----

class RcloneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::file_exists(testing::kRclone)) GTEST_SKIP() << "rclone is not installed";
    ASSERT_TRUE(dir_.ok());
  }
  void start(bool append_only) {
    testing::RcloneServer::Options opt;
    opt.append_only = append_only;
    std::string err = server_.start(dir_.sub("repo"), dir_.sub("rclone.log"), opt);
    ASSERT_TRUE(err.empty()) << err;
    RestOptions ro;
    ro.url = "rest:" + server_.url();
    auto b = open_rest(ro);
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    rest_ = *std::move(b);
    ASSERT_TRUE(rest_->create().ok());
  }
  void TearDown() override {
    rest_.reset();
    server_.stop();
  }

  testing::TempDir dir_;
  testing::RcloneServer server_;
  std::unique_ptr<Backend> rest_;
};

TEST_F(RcloneTest, RcloneOverwritesExistingFilesOutsideAppendOnlyMode) {
  start(false);
  Handle h{FileKind::kPack, std::string(64, 'b')};
  ASSERT_TRUE(rest_->save(h, random_bytes(10, 1)).ok());
  // rest-server would answer 403; rclone 1.60 replaces the file. Callers must not rely on
  // already_exists from every server (names are content hashes, so this is harmless).
  EXPECT_TRUE(rest_->save(h, random_bytes(20, 2)).ok());
  EXPECT_EQ(*rest_->stat(h), 20u);
}

TEST_F(RcloneTest, AppendOnlyRefusesDeletesExceptLocks) {
  start(true);
  Handle lock = {FileKind::kLock, std::string(64, '1')};
  ASSERT_TRUE(rest_->save(lock, random_bytes(10, 3)).ok());
  base::Status st = rest_->remove(lock);
  EXPECT_TRUE(st.ok()) << st.to_string();
  for (FileKind k : {FileKind::kKey, FileKind::kSnapshot, FileKind::kIndex, FileKind::kPack,
                     FileKind::kConfig}) {
    Handle h{k, k == FileKind::kConfig ? "" : std::string(64, '2')};
    ASSERT_TRUE(rest_->save(h, random_bytes(10, 4)).ok()) << h.to_string();
    st = rest_->remove(h);
    EXPECT_EQ(st.code(), Code::kPermissionDenied) << h.to_string() << ": " << st.to_string();
    EXPECT_NE(st.message().find(h.to_string()), std::string::npos) << st.to_string();
    EXPECT_EQ(*rest_->stat(h), 10u);
    // And overwriting is refused as already_exists.
    EXPECT_EQ(rest_->save(h, random_bytes(11, 5)).code(), Code::kAlreadyExists);
  }
}

TEST_F(RcloneTest, RetryAfterALostSaveResponseSucceedsInAppendOnlyMode) {
  start(true);
  auto fault = std::make_unique<FaultBackend>(rest_.get());
  FaultBackend* f = fault.get();
  std::vector<std::chrono::milliseconds> sleeps;
  RetryOptions ro;
  ro.sleep = [&](std::chrono::milliseconds d) { sleeps.push_back(d); };
  RetryBackend retry(std::move(fault), ro);
  f->drop_response_after_save();
  Bytes data = random_bytes(4000, 6);
  Handle h{FileKind::kPack, hash_name(data)};
  base::Status st = retry.save(h, data);
  EXPECT_TRUE(st.ok()) << st.to_string();  // 403 on the retry, then stat confirms the size
  EXPECT_EQ(sleeps.size(), 1u);
  EXPECT_EQ(f->calls(FaultOp::kSave), 2);
  EXPECT_EQ(*rest_->load(h, 0, 0), data);
}

// Copies every file of one backend to another.
base::Status copy_repository(Backend* from, Backend* to) {
  RETURN_IF_ERROR(to->create());
  ASSIGN_OR_RETURN(Bytes config, from->load(Handle{FileKind::kConfig, ""}, 0, 0));
  RETURN_IF_ERROR(to->save(Handle{FileKind::kConfig, ""}, config));
  for (FileKind k : kListableKinds) {
    std::vector<std::string> names;
    RETURN_IF_ERROR(from->list(k, [&](const FileEntry& e) {
      names.push_back(e.name);
      return base::ok_status();
    }));
    for (const std::string& name : names) {
      ASSIGN_OR_RETURN(Bytes data, from->load(Handle{k, name}, 0, 0));
      RETURN_IF_ERROR(to->save(Handle{k, name}, data));
    }
  }
  return base::ok_status();
}

// Makes a small repository with stock restic at repo (a path or rest: URL).
std::string make_restic_repository(const testing::TempDir& dir, const std::string& repo) {
  std::filesystem::create_directories(dir.sub("src/sub"));
  {
    std::ofstream(dir.sub("src/a.txt")) << "hello from kura\n";
    std::ofstream big(dir.sub("src/sub/big.bin"), std::ios::binary);
    Bytes data = random_bytes(3u << 20, 99);
    big.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  }
  std::vector<std::string> env = {"RESTIC_PASSWORD=pw", "TZ=UTC",
                                  "RESTIC_CACHE_DIR=" + dir.sub("cache")};
  std::string log = dir.sub("restic.log");
  if (testing::run_command({testing::kRestic, "-r", repo, "init"}, log, env) != 0 ||
      testing::run_command({testing::kRestic, "-r", repo, "backup", "--no-cache", dir.sub("src")},
                           log, env) != 0) {
    return "restic failed: " + testing::read_text(log);
  }
  return "";
}

int restic_check(const testing::TempDir& dir, const std::string& repo) {
  std::vector<std::string> env = {"RESTIC_PASSWORD=pw", "TZ=UTC",
                                  "RESTIC_CACHE_DIR=" + dir.sub("cache")};
  return testing::run_command({testing::kRestic, "-r", repo, "--no-cache", "check", "--read-data"},
                              dir.sub("check.log"), env);
}

// A repository written by restic, copied through our local backend into rclone over REST, is
// what restic expects, both in rclone's folder (as a local repository) and over REST.
TEST_F(RcloneTest, RepositoryCopiedThroughRestIsReadableByRestic) {
  if (!testing::file_exists(testing::kRestic)) GTEST_SKIP() << "restic is not installed";
  std::string err = make_restic_repository(dir_, dir_.sub("restic-repo"));
  ASSERT_TRUE(err.empty()) << err;
  start(false);
  auto local = open_local(base::posix_env(), dir_.sub("restic-repo"));
  ASSERT_TRUE(local.ok());
  base::Status st = copy_repository(local->get(), rest_.get());
  ASSERT_TRUE(st.ok()) << st.to_string();

  // Same files, same places: rclone stores data under data/XX/ like restic.
  for (FileKind k : kListableKinds) {
    ASSERT_TRUE((*local)->list(k, [&](const FileEntry& e) {
      std::string rel = local_relative_path(Handle{k, e.name});
      EXPECT_EQ(std::filesystem::file_size(dir_.sub("repo/" + rel)), e.size) << rel;
      return base::ok_status();
    }).ok());
  }
  EXPECT_EQ(restic_check(dir_, dir_.sub("repo")), 0) << testing::read_text(dir_.sub("check.log"));
  EXPECT_EQ(restic_check(dir_, "rest:" + server_.url()), 0)
      << testing::read_text(dir_.sub("check.log"));
}

// The reverse: restic writes through rclone, our local backend reads rclone's folder, and a
// copy made by our local backend passes restic's check.
TEST_F(RcloneTest, RepositoryWrittenByResticOverRestReadsLocally) {
  if (!testing::file_exists(testing::kRestic)) GTEST_SKIP() << "restic is not installed";
  start(false);
  std::string err = make_restic_repository(dir_, "rest:" + server_.url());
  ASSERT_TRUE(err.empty()) << err;
  auto from = open_local(base::posix_env(), dir_.sub("repo"));
  auto copy = open_local(base::posix_env(), dir_.sub("copy"));
  ASSERT_TRUE(from.ok() && copy.ok());
  base::Status st = copy_repository(from->get(), copy->get());
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(restic_check(dir_, dir_.sub("copy")), 0) << testing::read_text(dir_.sub("check.log"));
  // Every stored name is the hash of the bytes, as restic requires.
  for (FileKind k : kListableKinds) {
    ASSERT_TRUE((*copy)->list(k, [&](const FileEntry& e) {
      auto data = (*copy)->load(Handle{k, e.name}, 0, 0);
      EXPECT_TRUE(data.ok());
      EXPECT_EQ(hash_name(*data), e.name);
      EXPECT_EQ(data->size(), e.size);
      return base::ok_status();
    }).ok());
  }
}

}  // namespace
}  // namespace kura::backend
