// LocalBackend specifics: restic's on-disk layout and modes, atomic saves that leave no temp
// files behind, stray files, errors that name the repository file, and restic's own repos.
#include "backend/local_backend.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "backend/backend_testing.h"
#include "backend/mem_backend.h"
#include "base/fault_env.h"

namespace kura::backend {
namespace {

namespace fs = std::filesystem;
using base::Bytes;
using base::Code;
using testing::hash_name;
using testing::random_bytes;

uint32_t mode_of(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0xffffffff;
  return st.st_mode & 07777;
}

// Every path below root, relative, with a trailing '/' for directories.
std::set<std::string> tree(const std::string& root) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    std::string rel = fs::relative(it->path(), root).string();
    out.insert(it->is_directory() ? rel + "/" : rel);
  }
  return out;
}

std::set<std::string> dirs_only(const std::set<std::string>& t) {
  std::set<std::string> out;
  for (const auto& p : t) {
    if (p.ends_with("/")) out.insert(p);
  }
  return out;
}

class LocalBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    root_ = dir_.sub("repo");
    auto b = open_local(base::posix_env(), root_ + "///");
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    b_ = *std::move(b);
    ASSERT_TRUE(b_->create().ok());
  }

  testing::TempDir dir_;
  std::string root_;
  std::unique_ptr<Backend> b_;
};

TEST_F(LocalBackendTest, CreateMakesResticsLayout) {
  EXPECT_EQ(b_->location(), root_);
  std::set<std::string> want = {"keys/", "locks/", "snapshots/", "index/", "data/"};
  char sub[16];
  for (int i = 0; i < 256; ++i) {
    std::snprintf(sub, sizeof sub, "data/%02x/", i);
    want.insert(sub);
  }
  EXPECT_EQ(tree(root_), want);
  EXPECT_EQ(mode_of(root_), 0700u);
  for (const auto& d : want) EXPECT_EQ(mode_of(root_ + "/" + d), 0700u) << d;
}

TEST_F(LocalBackendTest, LayoutMatchesResticInit) {
  if (!testing::file_exists(testing::kRestic)) GTEST_SKIP() << "restic is not installed";
  std::string theirs = dir_.sub("restic-repo");
  int rc = testing::run_command({testing::kRestic, "-r", theirs, "init"}, dir_.sub("log"),
                                {"RESTIC_PASSWORD=pw", "RESTIC_CACHE_DIR=" + dir_.sub("cache")});
  ASSERT_EQ(rc, 0) << testing::read_text(dir_.sub("log"));
  EXPECT_EQ(dirs_only(tree(root_)), dirs_only(tree(theirs)));
  // restic's files have the modes ours get.
  for (const auto& p : tree(theirs)) {
    EXPECT_EQ(mode_of(theirs + "/" + p), p.ends_with("/") ? 0700u : 0400u) << p;
  }
}

TEST_F(LocalBackendTest, SavesAreReadOnlyFilesInTheirPlaceWithNoTempLeft) {
  Bytes pack = random_bytes(5000, 1), key = random_bytes(300, 2), cfg = random_bytes(100, 3);
  Handle hp{FileKind::kPack, hash_name(pack)}, hk{FileKind::kKey, hash_name(key)};
  ASSERT_TRUE(b_->save(hp, pack).ok());
  ASSERT_TRUE(b_->save(hk, key).ok());
  ASSERT_TRUE(b_->save(Handle{FileKind::kConfig, ""}, cfg).ok());
  std::string pack_rel = "data/" + hp.name.substr(0, 2) + "/" + hp.name;
  EXPECT_EQ(local_relative_path(hp), pack_rel);
  EXPECT_EQ(local_relative_path(hk), "keys/" + hk.name);
  EXPECT_EQ(local_relative_path(Handle{FileKind::kConfig, ""}), "config");
  std::set<std::string> files;
  for (const auto& p : tree(root_)) {
    if (!p.ends_with("/")) files.insert(p);
  }
  EXPECT_EQ(files, (std::set<std::string>{pack_rel, "keys/" + hk.name, "config"}));
  for (const auto& f : files) EXPECT_EQ(mode_of(root_ + "/" + f), 0400u) << f;
  EXPECT_EQ(fs::file_size(root_ + "/" + pack_rel), 5000u);
  EXPECT_EQ(fs::hard_link_count(root_ + "/" + pack_rel), 1u);
}

TEST_F(LocalBackendTest, SaveRefusesAnExistingFileAndLeavesItAlone) {
  Bytes data = random_bytes(100, 4);
  Handle h{FileKind::kSnapshot, hash_name(data)};
  ASSERT_TRUE(b_->save(h, data).ok());
  base::Status st = b_->save(h, random_bytes(10, 5));
  EXPECT_EQ(st.code(), Code::kAlreadyExists);
  EXPECT_EQ(st.message(), "save snapshots/" + h.name + ": file exists");
  EXPECT_EQ(*b_->load(h, 0, 0), data);
  EXPECT_EQ(tree(root_ + "/snapshots"), (std::set<std::string>{h.name}));
}

TEST_F(LocalBackendTest, ListIgnoresStrayFiles) {
  Bytes key = random_bytes(10, 6), pack = random_bytes(20, 7);
  Handle hk{FileKind::kKey, hash_name(key)}, hp{FileKind::kPack, hash_name(pack)};
  ASSERT_TRUE(b_->save(hk, key).ok());
  ASSERT_TRUE(b_->save(hp, pack).ok());
  auto touch = [&](const std::string& rel) {
    fs::create_directories(fs::path(root_ + "/" + rel).parent_path());
    std::ofstream(root_ + "/" + rel) << "stray";
  };
  std::string other(64, 'c');
  touch("keys/" + hk.name + "-tmp-0123456789abcdef");
  touch("keys/" + std::string(64, 'A'));
  touch("keys/abc");
  touch("keys/.hidden");
  fs::create_directory(root_ + "/keys/" + other);  // a folder with a valid name
  fs::create_symlink(root_ + "/config", root_ + "/keys/" + std::string(64, 'd'));
  touch("data/zz/" + other);                   // not a hex folder
  touch("data/ab/" + other);                   // in the wrong folder
  touch("data/" + other);                      // not in a folder at all
  touch("data/" + hp.name.substr(0, 2) + "/" + hp.name + "-tmp-1");
  touch("index/" + other + ".old");

  auto names = [&](FileKind k) {
    std::set<std::string> out;
    EXPECT_TRUE(b_->list(k, [&](const FileEntry& e) {
      out.insert(e.name);
      return base::ok_status();
    }).ok());
    return out;
  };
  EXPECT_EQ(names(FileKind::kKey), (std::set<std::string>{hk.name}));
  EXPECT_EQ(names(FileKind::kPack), (std::set<std::string>{hp.name}));
  EXPECT_TRUE(names(FileKind::kIndex).empty());
}

TEST(TempNames, OnlyAValidNameDashTmpDashHexOrDecimal) {
  std::string id(64, 'a');
  EXPECT_TRUE(is_temp_name(id + "-tmp-0123456789abcdef"));  // kura
  EXPECT_TRUE(is_temp_name(id + "-tmp-3914277613"));        // restic (os.CreateTemp)
  EXPECT_TRUE(is_temp_name(id + "-tmp-1"));
  EXPECT_TRUE(is_temp_name(id + "-tmp-" + std::string(32, 'f')));
  for (const std::string& bad :
       {std::string(), id, id + "-tmp-", id + "-tmp-" + std::string(33, 'f'), id + "-tmp-ABC",
        id + "-tmp-1/x", id + ".tmp-1", id + "-tmp-1 ", std::string(63, 'a') + "-tmp-1",
        std::string(64, 'A') + "-tmp-1", "../" + id.substr(3) + "-tmp-1", std::string("-tmp-1"),
        std::string("x\0y", 3)}) {
    EXPECT_FALSE(is_temp_name(bad)) << bad;
  }
}

TEST_F(LocalBackendTest, TempFilesOfInterruptedSavesAreListedAndRemoved) {
  Bytes key = random_bytes(10, 13), pack = random_bytes(20, 14);
  Handle hk{FileKind::kKey, hash_name(key)}, hp{FileKind::kPack, hash_name(pack)};
  ASSERT_TRUE(b_->save(hk, key).ok());
  ASSERT_TRUE(b_->save(hp, pack).ok());
  auto touch = [&](const std::string& rel, const std::string& text, int64_t mtime) {
    fs::create_directories(fs::path(root_ + "/" + rel).parent_path());
    std::ofstream(root_ + "/" + rel) << text;
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (root_ + "/" + rel).c_str(), ts, 0), 0) << rel;
  };
  std::string sub = hp.name.substr(0, 2);
  std::string ours = hp.name + "-tmp-0123456789abcdef";  // a second upload of the same pack
  std::string restics = sub + std::string(62, '7') + "-tmp-3914277613";
  std::string key_tmp = std::string(64, 'e') + "-tmp-00000000000000ff";
  touch("data/" + sub + "/" + ours, "partial pack", 1000);
  touch("data/" + sub + "/" + restics, "xy", 2000);
  touch("keys/" + key_tmp, "k", 3000);
  // Not temp files of this repository's layout: left alone.
  std::string other = (sub == "cc" ? std::string(64, 'd') : std::string(64, 'c')) + "-tmp-1";
  touch("data/" + sub + "/" + other, "wrong folder", 1000);
  touch("data/zz/" + std::string(64, 'c') + "-tmp-1", "not a hex folder", 1000);
  touch("data/" + std::string(64, 'c') + "-tmp-1", "not in a folder", 1000);
  touch("index/" + std::string(64, 'c') + "-tmp-", "no suffix", 1000);
  touch("index/" + std::string(64, 'c') + ".tmp-1", "other naming", 1000);
  fs::create_directory(root_ + "/snapshots/" + std::string(64, 'c') + "-tmp-1");  // a folder

  auto temps = [&](FileKind k) {
    std::map<std::string, std::pair<uint64_t, int64_t>> out;
    base::Status st = b_->list_temp_files(k, [&](const TempFileEntry& e) {
      out[e.name] = {e.size, e.mtime_sec};
      return base::ok_status();
    });
    EXPECT_TRUE(st.ok()) << st.to_string();
    return out;
  };
  using M = std::map<std::string, std::pair<uint64_t, int64_t>>;
  EXPECT_EQ(temps(FileKind::kPack), (M{{ours, {12, 1000}}, {restics, {2, 2000}}}));
  EXPECT_EQ(temps(FileKind::kKey), (M{{key_tmp, {1, 3000}}}));
  EXPECT_TRUE(temps(FileKind::kIndex).empty());
  EXPECT_TRUE(temps(FileKind::kSnapshot).empty());
  EXPECT_EQ(b_->list_temp_files(FileKind::kConfig, [](const TempFileEntry&) { return base::ok_status(); }).code(),
            Code::kInvalidArgument);
  // list() still shows only the real files.
  std::set<std::string> packs;
  ASSERT_TRUE(b_->list(FileKind::kPack, [&](const FileEntry& e) {
    packs.insert(e.name);
    return base::ok_status();
  }).ok());
  EXPECT_EQ(packs, (std::set<std::string>{hp.name}));

  ASSERT_TRUE(b_->remove_temp_file(FileKind::kPack, ours).ok());
  EXPECT_TRUE(b_->remove_temp_file(FileKind::kPack, ours).ok());  // already gone
  ASSERT_TRUE(b_->remove_temp_file(FileKind::kKey, key_tmp).ok());
  EXPECT_EQ(temps(FileKind::kPack), (M{{restics, {2, 2000}}}));
  EXPECT_TRUE(temps(FileKind::kKey).empty());
  EXPECT_EQ(*b_->load(hp, 0, 0), pack);  // the real pack beside it is untouched
  EXPECT_EQ(*b_->load(hk, 0, 0), key);

  // Only temp file names, and nothing outside the repository.
  EXPECT_EQ(b_->remove_temp_file(FileKind::kPack, hp.name).code(), Code::kInvalidArgument);
  EXPECT_EQ(b_->remove_temp_file(FileKind::kKey, "../../victim-tmp-1").code(), Code::kInvalidArgument);
  EXPECT_EQ(b_->remove_temp_file(FileKind::kConfig, key_tmp).code(), Code::kInvalidArgument);
  EXPECT_TRUE(fs::exists(root_ + "/data/" + sub + "/" + other));
}

TEST(TempFilesElsewhere, MemoryBackendHasNone) {
  auto b = new_mem_backend();
  int n = 0;
  for (FileKind k : kListableKinds) {
    ASSERT_TRUE(b->list_temp_files(k, [&](const TempFileEntry&) {
      ++n;
      return base::ok_status();
    }).ok());
  }
  EXPECT_EQ(n, 0);
  EXPECT_EQ(b->remove_temp_file(FileKind::kPack, "nope").code(), Code::kInvalidArgument);
}

TEST_F(LocalBackendTest, MissingFoldersListAsEmptyAndAreMadeOnSave) {
  fs::remove_all(root_ + "/locks");
  fs::remove_all(root_ + "/data");
  EXPECT_TRUE(b_->list(FileKind::kLock, [](const FileEntry&) { return base::ok_status(); }).ok());
  EXPECT_TRUE(b_->list(FileKind::kPack, [](const FileEntry&) { return base::ok_status(); }).ok());
  Bytes data = random_bytes(50, 8);
  Handle h{FileKind::kPack, hash_name(data)};
  base::Status st = b_->save(h, data);
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(mode_of(root_ + "/data/" + h.name.substr(0, 2)), 0700u);
  EXPECT_EQ(*b_->load(h, 0, 0), data);
}

TEST_F(LocalBackendTest, NamesCannotEscapeTheRepository) {
  std::string outside = dir_.sub("victim");
  std::ofstream(outside) << "keep";
  Handle h{FileKind::kKey, "../victim"};
  EXPECT_EQ(b_->remove(h).code(), Code::kInvalidArgument);
  EXPECT_EQ(b_->save(h, base::as_bytes("x")).code(), Code::kInvalidArgument);
  EXPECT_EQ(b_->load(h, 0, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(testing::read_text(outside), "keep");
}

class LocalFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    root_ = dir_.sub("repo");
    auto b = open_local(&env_, root_);
    ASSERT_TRUE(b.ok());
    b_ = *std::move(b);
    ASSERT_TRUE(b_->create().ok());
  }
  std::set<std::string> files() {
    std::set<std::string> out;
    for (const auto& p : tree(root_)) {
      if (!p.ends_with("/")) out.insert(p);
    }
    return out;
  }

  testing::TempDir dir_;
  std::string root_;
  base::FaultEnv env_{base::posix_env()};
  std::unique_ptr<Backend> b_;
};

TEST_F(LocalFaultTest, AFullDiskNamesTheFileAndLeavesNothingBehind) {
  Bytes data = random_bytes(1000, 9);
  Handle h{FileKind::kPack, hash_name(data)};
  env_.set_free_space(10);
  base::Status st = b_->save(h, data);
  EXPECT_EQ(st.code(), Code::kResourceExhausted);
  EXPECT_EQ(st.message(), "save data/" + h.name.substr(0, 2) + "/" + h.name +
                              ": No space left on device");
  EXPECT_TRUE(files().empty());
  EXPECT_EQ(b_->stat(h).status().code(), Code::kNotFound);
  env_.clear();
  ASSERT_TRUE(b_->save(h, data).ok());
  EXPECT_EQ(*b_->load(h, 0, 0), data);
}

TEST_F(LocalFaultTest, AFailedSyncLeavesNothingBehind) {
  env_.fail(base::EnvOp::kSync, "/index/", base::data_loss("sync: Input/output error"), 0, 1);
  Bytes data = random_bytes(100, 10);
  Handle h{FileKind::kIndex, hash_name(data)};
  base::Status st = b_->save(h, data);
  EXPECT_EQ(st.code(), Code::kDataLoss) << st.to_string();
  EXPECT_NE(st.message().find("save index/" + h.name), std::string::npos) << st.to_string();
  EXPECT_TRUE(files().empty());
}

TEST_F(LocalFaultTest, FileSystemsWithoutHardLinksStillWork) {
  Bytes data = random_bytes(100, 11);
  Handle h{FileKind::kKey, hash_name(data)};
  std::string path = root_ + "/keys/" + h.name;
  // The second write-ish call on the path is the link(2) into place.
  env_.fail(base::EnvOp::kOpenWrite, path, base::permission_denied("link: Operation not permitted"),
            1, -1);
  base::Status st = b_->save(h, data);
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(files(), (std::set<std::string>{"keys/" + h.name}));
  EXPECT_EQ(*b_->load(h, 0, 0), data);
  EXPECT_EQ(b_->save(h, data).code(), Code::kAlreadyExists);
  EXPECT_EQ(files(), (std::set<std::string>{"keys/" + h.name}));
}

TEST_F(LocalFaultTest, ReadErrorsNameTheFile) {
  Bytes data = random_bytes(100, 12);
  Handle h{FileKind::kSnapshot, hash_name(data)};
  ASSERT_TRUE(b_->save(h, data).ok());
  env_.fail(base::EnvOp::kOpenRead, "/snapshots/", base::permission_denied(
                                                      "open " + root_ + "/snapshots/" + h.name +
                                                      ": Permission denied"));
  auto got = b_->load(h, 0, 0);
  EXPECT_EQ(got.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(got.status().message(), "load snapshots/" + h.name + ": Permission denied");
}

// A repository written by stock restic lists with the exact sizes, and every file's name is
// the hash of its bytes.
TEST(LocalBackendRestic, ReadsARepositoryWrittenByRestic) {
  if (!testing::file_exists(testing::kRestic)) GTEST_SKIP() << "restic is not installed";
  testing::TempDir dir;
  fs::create_directories(dir.sub("src"));
  std::ofstream(dir.sub("src/file.txt")) << "some content for restic\n";
  std::vector<std::string> env = {"RESTIC_PASSWORD=pw", "RESTIC_CACHE_DIR=" + dir.sub("cache")};
  std::string repo = dir.sub("repo");
  ASSERT_EQ(testing::run_command({testing::kRestic, "-r", repo, "init"}, dir.sub("log"), env), 0);
  ASSERT_EQ(testing::run_command({testing::kRestic, "-r", repo, "backup", dir.sub("src")},
                                 dir.sub("log"), env),
            0)
      << testing::read_text(dir.sub("log"));
  auto b = open_local(base::posix_env(), repo);
  ASSERT_TRUE(b.ok());
  std::map<FileKind, int> counts;
  for (FileKind k : kListableKinds) {
    ASSERT_TRUE((*b)->list(k, [&](const FileEntry& e) {
      ++counts[k];
      std::string path = repo + "/" + local_relative_path(Handle{k, e.name});
      EXPECT_EQ(fs::file_size(path), e.size);
      auto data = (*b)->load(Handle{k, e.name}, 0, 0);
      EXPECT_TRUE(data.ok());
      EXPECT_EQ(hash_name(*data), e.name);
      return base::ok_status();
    }).ok());
  }
  EXPECT_EQ(counts[FileKind::kKey], 1);
  EXPECT_EQ(counts[FileKind::kSnapshot], 1);
  EXPECT_GE(counts[FileKind::kIndex], 1);
  EXPECT_GE(counts[FileKind::kPack], 2);  // a tree pack and a data pack
  EXPECT_EQ(counts[FileKind::kLock], 0);
  auto cfg = (*b)->stat(Handle{FileKind::kConfig, ""});
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(*cfg, fs::file_size(repo + "/config"));
}

}  // namespace
}  // namespace kura::backend
