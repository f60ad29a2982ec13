// The local store's own promises: restic's layout and modes on disk, temp files beside their
// final names, faults at every step leaving nothing partial, sweeping, and stock restic reading
// (and writing) a tenant's repository in place.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "backend/backend_testing.h"
#include "backend/local_backend.h"
#include "base/clock.h"
#include "base/fault_env.h"
#include "objstore/object_store.h"

namespace kura::objstore {
namespace {

namespace fs = std::filesystem;
using backend::FileKind;
using backend::Handle;
using backend::testing::hash_name;
using backend::testing::random_bytes;
using base::Bytes;
using base::Code;

uint32_t mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// Every entry below dir, relative, folders ending in '/'.
std::set<std::string> tree(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string rel = fs::relative(it->path(), dir).string();
    out.insert(it->is_directory() ? rel + "/" : rel);
  }
  return out;
}

std::set<std::string> files(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& p : tree(dir)) {
    if (!p.ends_with("/")) out.insert(p);
  }
  return out;
}

bool is_temp_path(const std::string& rel) {
  std::string name = base::path_basename(rel);
  if (name.starts_with("config-tmp-")) return true;
  return backend::is_temp_name(name);
}

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    root_ = dir_.sub("region");
    store_ = open_local_store(&env_, root_, &clock_);
    ASSERT_TRUE(store_->create_repo(repo_).ok());
    repo_dir_ = root_ + "/clinic-a/main";
  }

  base::Status put(const Handle& h, base::ByteSpan data, bool* existed, size_t piece = 1000) {
    ASSIGN_OR_RETURN(auto w, store_->begin_write(repo_, h));
    for (size_t off = 0; off < data.size(); off += piece) {
      RETURN_IF_ERROR(w->append(data.subspan(off, std::min(piece, data.size() - off))));
    }
    return w->commit(existed);
  }
  base::Status put(const Handle& h, base::ByteSpan data) {
    bool existed = false;
    return put(h, data, &existed);
  }

  base::StatusOr<Bytes> get(const Handle& h) {
    ASSIGN_OR_RETURN(uint64_t size, store_->stat(repo_, h));
    Bytes out(size);
    RETURN_IF_ERROR(store_->read(repo_, h, 0, out));
    return out;
  }

  backend::testing::TempDir dir_;
  base::FaultEnv env_{base::posix_env()};
  base::FakeClock clock_{base::Timespec{2000000000, 0}};
  std::string root_, repo_dir_;
  RepoRef repo_{"clinic-a", "main"};
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(LocalStoreTest, TheLayoutIsResticsWithPrivateModes) {
  EXPECT_EQ(store_->location(), root_);
  for (const std::string& d : {root_, root_ + "/clinic-a", repo_dir_}) {
    EXPECT_EQ(mode_of(d), 0700u) << d;
  }
  std::set<std::string> want = {"keys/", "locks/", "snapshots/", "index/", "data/"};
  char sub[16];
  for (int i = 0; i < 256; ++i) {
    std::snprintf(sub, sizeof sub, "data/%02x/", i);
    want.insert(sub);
  }
  EXPECT_EQ(tree(repo_dir_), want);
  for (const std::string& d : want) EXPECT_EQ(mode_of(repo_dir_ + "/" + d), 0700u) << d;

  Bytes config = random_bytes(155, 1), key = random_bytes(400, 2), data = random_bytes(5000, 3);
  ASSERT_TRUE(put(Handle{FileKind::kConfig, ""}, config).ok());
  ASSERT_TRUE(put(Handle{FileKind::kKey, hash_name(key)}, key).ok());
  ASSERT_TRUE(put(Handle{FileKind::kPack, hash_name(data)}, data).ok());
  std::string pack_rel = "data/" + hash_name(data).substr(0, 2) + "/" + hash_name(data);
  EXPECT_EQ(files(repo_dir_),
            (std::set<std::string>{"config", "keys/" + hash_name(key), pack_rel}));
  for (const std::string& f : files(repo_dir_)) EXPECT_EQ(mode_of(repo_dir_ + "/" + f), 0400u) << f;
  EXPECT_EQ(backend::testing::read_text(repo_dir_ + "/config"),
            std::string(config.begin(), config.end()));
  EXPECT_EQ(object_path(repo_, Handle{FileKind::kPack, hash_name(data)}),
            "clinic-a/main/" + pack_rel);
}

TEST_F(LocalStoreTest, AnUploadWritesATempFileBesideItsFinalName) {
  Bytes data = random_bytes(5000, 4);
  Handle h{FileKind::kPack, hash_name(data)};
  std::string folder = "data/" + h.name.substr(0, 2) + "/";
  {
    auto w = store_->begin_write(repo_, h);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->append(data).ok());
    std::set<std::string> now = files(repo_dir_);
    ASSERT_EQ(now.size(), 1u);
    std::string temp = *now.begin();
    EXPECT_TRUE(temp.starts_with(folder + h.name + "-tmp-")) << temp;
    EXPECT_EQ(temp.size(), folder.size() + 64 + 5 + 16) << temp;
    EXPECT_TRUE(backend::is_temp_name(base::path_basename(temp))) << temp;
    EXPECT_EQ(mode_of(repo_dir_ + "/" + temp), 0400u);
  }
  EXPECT_TRUE(files(repo_dir_).empty());
  ASSERT_TRUE(put(h, data).ok());
  EXPECT_EQ(files(repo_dir_), (std::set<std::string>{folder + h.name}));
  // A config upload's temp file is "config-tmp-…" in the repository folder.
  auto w = store_->begin_write(repo_, Handle{FileKind::kConfig, ""});
  ASSERT_TRUE(w.ok());
  size_t temps = 0;
  for (const std::string& f : files(repo_dir_)) {
    if (f.starts_with("config-tmp-")) {
      ++temps;
      EXPECT_EQ(f.size(), 11u + 16u) << f;
    }
  }
  EXPECT_EQ(temps, 1u);
}

TEST_F(LocalStoreTest, AMissingFolderOfAnExistingRepositoryIsMadeAgain) {
  Bytes data = random_bytes(100, 5);
  Handle h{FileKind::kPack, hash_name(data)};
  std::string sub = repo_dir_ + "/data/" + h.name.substr(0, 2);
  ASSERT_EQ(::rmdir(sub.c_str()), 0);
  Bytes key = random_bytes(100, 6);
  ASSERT_TRUE(fs::remove(repo_dir_ + "/keys"));
  ASSERT_TRUE(put(h, data).ok());
  ASSERT_TRUE(put(Handle{FileKind::kKey, hash_name(key)}, key).ok());
  EXPECT_EQ(mode_of(sub), 0700u);
  EXPECT_EQ(*get(h), data);
}

TEST_F(LocalStoreTest, WritingToAMissingRepositoryMakesNothing) {
  RepoRef none{"clinic-b", "main"};
  auto w = store_->begin_write(none, Handle{FileKind::kPack, std::string(64, 'a')});
  EXPECT_EQ(w.status().code(), Code::kNotFound);
  EXPECT_EQ(w.status().message(), "write clinic-b/main/data/aa/" + std::string(64, 'a') +
                                      ": repository clinic-b/main does not exist");
  EXPECT_FALSE(fs::exists(root_ + "/clinic-b"));
}

TEST_F(LocalStoreTest, ErrorsNameTheObjectButNotTheRegionRoot) {
  Bytes data = random_bytes(5000, 7);
  Handle h{FileKind::kPack, hash_name(data)};
  env_.set_free_space(3000);
  base::Status st = put(h, data);
  EXPECT_EQ(st.code(), Code::kResourceExhausted);
  EXPECT_EQ(st.message(), "write clinic-a/main/data/" + h.name.substr(0, 2) + "/" + h.name +
                              ": No space left on device");
  EXPECT_TRUE(files(repo_dir_).empty());
  env_.clear();

  env_.fail(base::EnvOp::kSync, "/data/",
            base::data_loss("fsync " + repo_dir_ + "/data/x: Input/output error"));
  st = put(h, data);
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_EQ(st.message(), "commit clinic-a/main/data/" + h.name.substr(0, 2) + "/" + h.name +
                              ": Input/output error");
  EXPECT_TRUE(files(repo_dir_).empty());
  env_.clear();
  ASSERT_TRUE(put(h, data).ok());
  EXPECT_EQ(*get(h), data);
}

// A fault in any file system call of an upload, new or repeated, identical or not: the object
// is either stored whole or absent, a committed one is there, and nothing else is visible.
TEST_F(LocalStoreTest, AFaultAtAnyStepLeavesNothingPartial) {
  Bytes existing = random_bytes(600000, 8);  // larger than one comparison piece
  Handle eh{FileKind::kPack, hash_name(existing)};
  bool existed = false;
  ASSERT_TRUE(put(eh, existing, &existed, 100000).ok());
  const base::EnvOp ops[] = {base::EnvOp::kStat, base::EnvOp::kList,      base::EnvOp::kOpenRead,
                             base::EnvOp::kRead, base::EnvOp::kOpenWrite, base::EnvOp::kWrite,
                             base::EnvOp::kSync, base::EnvOp::kRename,    base::EnvOp::kRemove,
                             base::EnvOp::kMkdir};
  Bytes different = existing;
  different[existing.size() - 10] ^= 0x55;
  std::map<std::string, Bytes> stored{{eh.name, existing}};
  int faults = 0, seed = 100;
  for (base::EnvOp op : ops) {
    for (int skip = 0; skip < 6; ++skip) {
      SCOPED_TRACE("op " + std::to_string(static_cast<int>(op)) + " skip " + std::to_string(skip));
      Bytes fresh = random_bytes(3000, ++seed);
      Handle fh{FileKind::kIndex, hash_name(fresh)};
      env_.fail(op, root_, base::data_loss("injected: Input/output error"), skip, 1);
      base::Status new_st = put(fh, fresh, &existed);
      base::Status same_st = put(eh, existing, &existed, 100000);
      base::Status diff_st = put(eh, different, &existed, 100000);
      env_.clear();
      faults += !new_st.ok() + !same_st.ok() + (diff_st.code() != Code::kAlreadyExists);
      EXPECT_TRUE(same_st.ok() || same_st.code() == Code::kDataLoss) << same_st.to_string();
      EXPECT_NE(diff_st.code(), Code::kOk);
      if (new_st.ok()) {
        stored[fh.name] = fresh;
      } else {
        auto got = get(fh);
        if (got.ok()) {
          EXPECT_EQ(*got, fresh);  // visible means whole (e.g. the folder sync failed)
          stored[fh.name] = fresh;
        } else {
          EXPECT_EQ(got.status().code(), Code::kNotFound) << got.status().to_string();
        }
      }
    }
  }
  EXPECT_GT(faults, 20);
  for (const auto& [name, data] : stored) {
    FileKind kind = name == eh.name ? FileKind::kPack : FileKind::kIndex;
    EXPECT_EQ(*get(Handle{kind, name}), data) << name;
  }
  // Only objects and temp files of failed clean-ups are on disk; sweeping removes the latter.
  for (const std::string& f : files(repo_dir_)) {
    std::string name = base::path_basename(f);
    EXPECT_TRUE(stored.count(name) || is_temp_path(f)) << f;
  }
  clock_.advance(std::chrono::hours(1));
  ASSERT_TRUE(store_->sweep_temp_files(repo_, 60).ok());
  std::set<std::string> want;
  for (const auto& [name, data] : stored) {
    FileKind kind = name == eh.name ? FileKind::kPack : FileKind::kIndex;
    want.insert(backend::local_relative_path(Handle{kind, name}));
  }
  EXPECT_EQ(files(repo_dir_), want);
}

TEST_F(LocalStoreTest, SweepRemovesOnlyOldTempFiles) {
  auto touch = [&](const std::string& rel, int64_t age_sec) {
    std::string path = repo_dir_ + "/" + rel;
    std::ofstream(path) << "partial";
    base::Timespec t{clock_.now().sec - age_sec, 0};
    ASSERT_TRUE(base::posix_env()->set_times(path, t, t).ok()) << path;
  };
  std::string a(64, 'a'), b(64, 'b');
  touch("data/aa/" + a + "-tmp-0123456789abcdef", 7200);
  touch("data/aa/" + a + "-tmp-00000000000000ff", 10);
  touch("keys/" + b + "-tmp-1111111111111111", 7200);
  touch("index/" + b + "-tmp-12345678901", 7200);  // restic's own temp name
  touch("config-tmp-fedcba9876543210", 7200);
  touch("config-tmp-1", 10);
  touch("keys/notes.txt", 7200);             // not ours: kept
  touch("data/aa/" + a + "-tmp-xyz", 7200);  // not a temp name: kept
  Bytes data = random_bytes(100, 9);
  ASSERT_TRUE(put(Handle{FileKind::kSnapshot, hash_name(data)}, data).ok());
  auto removed = store_->sweep_temp_files(repo_, 3600);
  ASSERT_TRUE(removed.ok()) << removed.status().to_string();
  EXPECT_EQ(*removed, 4u);
  EXPECT_EQ(files(repo_dir_),
            (std::set<std::string>{"data/aa/" + a + "-tmp-00000000000000ff", "config-tmp-1",
                                   "keys/notes.txt", "data/aa/" + a + "-tmp-xyz",
                                   "snapshots/" + hash_name(data)}));
  // Listing never showed any of them.
  int listed = 0;
  for (FileKind kind : backend::kListableKinds) {
    ASSERT_TRUE(store_
                    ->list(repo_, kind,
                           [&](const backend::FileEntry&) {
                             ++listed;
                             return base::ok_status();
                           })
                    .ok());
  }
  EXPECT_EQ(listed, 1);
  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(*store_->sweep_temp_files(repo_, 3600), 2u);
}

// The file system calls of uploads, in order, to check what a power cut (not only kill -9)
// needs: the temp file is synced after its last write and before it is linked into place, and
// the folder is synced after the link, all before commit() returns.
class RecordingEnv : public base::FaultEnv {
 public:
  using FaultEnv::FaultEnv;

  std::vector<std::string> take() {
    std::lock_guard<std::mutex> l(mu_);
    return std::exchange(log_, {});
  }
  void note(const std::string& event) {
    std::lock_guard<std::mutex> l(mu_);
    log_.push_back(event);
  }

  base::StatusOr<std::unique_ptr<base::WritableFile>> open_write(
      const std::string& path, const base::WriteOptions& opts) override {
    ASSIGN_OR_RETURN(auto f, FaultEnv::open_write(path, opts));
    note("create " + base::path_basename(path));
    return std::unique_ptr<base::WritableFile>(
        std::make_unique<File>(this, std::move(f), base::path_basename(path)));
  }
  base::Status make_hardlink(const std::string& from, const std::string& to) override {
    base::Status st = FaultEnv::make_hardlink(from, to);
    note("link " + base::path_basename(from) + " " + base::path_basename(to) +
         (st.ok() ? "" : " failed"));
    return st;
  }
  base::Status rename(const std::string& from, const std::string& to) override {
    note("rename " + base::path_basename(from) + " " + base::path_basename(to));
    return FaultEnv::rename(from, to);
  }
  base::Status sync_dir(const std::string& path) override {
    note("syncdir " + path);
    return FaultEnv::sync_dir(path);
  }
  base::Status remove_file(const std::string& path) override {
    note("remove " + base::path_basename(path));
    return FaultEnv::remove_file(path);
  }

 private:
  class File : public base::WritableFile {
   public:
    File(RecordingEnv* env, std::unique_ptr<base::WritableFile> f, std::string name)
        : env_(env), f_(std::move(f)), name_(std::move(name)) {}
    base::Status append(base::ByteSpan data) override {
      env_->note("append " + name_);
      return f_->append(data);
    }
    base::Status write_at(uint64_t offset, base::ByteSpan data) override {
      env_->note("append " + name_);
      return f_->write_at(offset, data);
    }
    base::Status truncate(uint64_t size) override { return f_->truncate(size); }
    base::Status sync() override {
      env_->note("sync " + name_);
      return f_->sync();
    }
    base::Status close() override { return f_->close(); }
    base::Status set_owner(uint32_t uid, uint32_t gid) override { return f_->set_owner(uid, gid); }
    base::Status set_mode(uint32_t mode) override { return f_->set_mode(mode); }
    base::Status set_xattr(const std::string& n, base::ByteSpan v) override {
      return f_->set_xattr(n, v);
    }
    base::Status set_times(base::Timespec a, base::Timespec m) override {
      return f_->set_times(a, m);
    }

   private:
    RecordingEnv* env_;
    std::unique_ptr<base::WritableFile> f_;
    std::string name_;
  };

  std::mutex mu_;
  std::vector<std::string> log_;
};

TEST(LocalStoreDurability, AnUploadIsSyncedLinkedAndItsFolderSyncedBeforeCommitReturns) {
  backend::testing::TempDir dir;
  RecordingEnv env(base::posix_env());
  std::string root = dir.sub("region");
  auto store = open_local_store(&env, root);
  RepoRef repo{"clinic-a", "main"};
  ASSERT_TRUE(store->create_repo(repo).ok());
  std::vector<std::string> log = env.take();
  std::string repo_dir = root + "/clinic-a/main";
  ASSERT_GE(log.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(log.end() - 4, log.end()),
            (std::vector<std::string>{"syncdir " + repo_dir + "/data", "syncdir " + repo_dir,
                                      "syncdir " + root + "/clinic-a", "syncdir " + root}));

  Bytes data = random_bytes(3000, 20);
  Handle h{FileKind::kPack, hash_name(data)};
  std::string folder = repo_dir + "/data/" + h.name.substr(0, 2);
  for (int round = 0; round < 2; ++round) {  // a new object, then an identical re-upload
    auto w = store->begin_write(repo, h);
    ASSERT_TRUE(w.ok());
    for (size_t off = 0; off < data.size(); off += 1000) {
      ASSERT_TRUE((*w)->append(base::ByteSpan(data).subspan(off, 1000)).ok());
    }
    bool existed = false;
    ASSERT_TRUE((*w)->commit(&existed).ok());
    env.note("commit returned");
    EXPECT_EQ(existed, round == 1);
    log = env.take();
    ASSERT_FALSE(log.empty());
    std::string temp = log[0].substr(std::string("create ").size());
    EXPECT_TRUE(temp.starts_with(h.name + "-tmp-")) << log[0];
    std::vector<std::string> want = {
        "create " + temp,    "append " + temp,
        "append " + temp,    "append " + temp,
        "sync " + temp,      "link " + temp + " " + h.name + (round == 1 ? " failed" : ""),
        "syncdir " + folder, "remove " + temp,
        "commit returned"};
    EXPECT_EQ(log, want);
  }
}

// Stock restic reads a repository uploaded object by object through the store, and backs up
// into it in place; the store then lists and counts what restic wrote.
TEST(LocalStoreRestic, ResticUsesATenantsRepositoryInPlace) {
  if (!backend::testing::file_exists(backend::testing::kRestic)) GTEST_SKIP() << "no restic";
  backend::testing::TempDir dir;
  fs::create_directories(dir.sub("src/sub"));
  std::ofstream(dir.sub("src/a.txt")) << "hello from kura-server\n";
  {
    std::ofstream big(dir.sub("src/sub/big.bin"), std::ios::binary);
    Bytes data = random_bytes(3u << 20, 10);
    big.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
  }
  std::vector<std::string> env = {"RESTIC_PASSWORD=pw", "TZ=UTC",
                                  "RESTIC_CACHE_DIR=" + dir.sub("cache")};
  std::string log = dir.sub("restic.log");
  auto restic = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {backend::testing::kRestic, "--no-cache"});
    return backend::testing::run_command(args, log, env);
  };
  ASSERT_EQ(restic({"-r", dir.sub("made"), "init"}), 0) << backend::testing::read_text(log);
  ASSERT_EQ(restic({"-r", dir.sub("made"), "backup", dir.sub("src")}), 0)
      << backend::testing::read_text(log);

  auto store = open_local_store(base::posix_env(), dir.sub("region"));
  RepoRef repo{"clinic-a", "main"};
  ASSERT_TRUE(store->create_repo(repo).ok());
  auto made = backend::open_local(base::posix_env(), dir.sub("made"));
  ASSERT_TRUE(made.ok());
  auto copy = [&](const Handle& h) -> base::Status {
    ASSIGN_OR_RETURN(Bytes data, (*made)->load(h, 0, 0));
    ASSIGN_OR_RETURN(auto w, store->begin_write(repo, h));
    for (size_t off = 0; off < data.size(); off += 65536) {
      RETURN_IF_ERROR(
          w->append(base::ByteSpan(data).subspan(off, std::min<size_t>(65536, data.size() - off))));
    }
    bool existed = false;
    return w->commit(&existed);
  };
  ASSERT_TRUE(copy(Handle{FileKind::kConfig, ""}).ok());
  uint64_t copied = 1;
  for (FileKind kind : backend::kListableKinds) {
    ASSERT_TRUE((*made)
                    ->list(kind,
                           [&](const backend::FileEntry& e) {
                             ++copied;
                             return copy(Handle{kind, e.name});
                           })
                    .ok());
  }
  std::string tenant_repo = dir.sub("region/clinic-a/main");
  ASSERT_EQ(restic({"-r", tenant_repo, "check", "--read-data"}), 0)
      << backend::testing::read_text(log);
  ASSERT_EQ(restic({"-r", tenant_repo, "restore", "latest", "--target", dir.sub("out")}), 0)
      << backend::testing::read_text(log);
  EXPECT_EQ(backend::testing::read_text(dir.sub("out") + dir.sub("src/a.txt")),
            "hello from kura-server\n");

  uint64_t bytes = 0, objects = 0;
  ASSERT_TRUE(store->usage(repo, &bytes, &objects).ok());
  EXPECT_EQ(objects, copied);
  std::ofstream(dir.sub("src/b.txt")) << "a second backup\n";
  ASSERT_EQ(restic({"-r", tenant_repo, "backup", dir.sub("src")}), 0)
      << backend::testing::read_text(log);
  uint64_t bytes2 = 0, objects2 = 0;
  ASSERT_TRUE(store->usage(repo, &bytes2, &objects2).ok());
  EXPECT_GT(objects2, objects);
  EXPECT_GT(bytes2, bytes);
  int snapshots = 0;
  ASSERT_TRUE(
      store
          ->list(repo, FileKind::kSnapshot,
                 [&](const backend::FileEntry& e) {
                   EXPECT_EQ(*store->stat(repo, Handle{FileKind::kSnapshot, e.name}), e.size);
                   ++snapshots;
                   return base::ok_status();
                 })
          .ok());
  EXPECT_EQ(snapshots, 2);
}

}  // namespace
}  // namespace kura::objstore
