// One suite for every Env: the real file system (in a temp dir) and MemEnv.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "base/env.h"
#include "base/fault_env.h"
#include "base/mem_env.h"

namespace kura::base {
namespace {

class EnvTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      char tmpl[] = "/tmp/kura-env-test-XXXXXX";
      ASSERT_NE(mkdtemp(tmpl), nullptr);
      root_ = tmpl;
      env_ = posix_env();
    } else {
      mem_ = std::make_unique<MemEnv>();
      env_ = mem_.get();
      root_ = "/t";
      ASSERT_TRUE(env_->make_dir(root_, 0755).ok());
    }
  }
  void TearDown() override {
    if (GetParam()) {
      ASSERT_TRUE(posix_env()->remove_all(root_).ok());
    }
  }
  std::string p(const std::string& name) { return path_join(root_, name); }

  std::unique_ptr<MemEnv> mem_;
  Env* env_ = nullptr;
  std::string root_;
};

TEST_P(EnvTest, WriteReadStat) {
  ASSERT_TRUE(env_->write_file(p("a"), as_bytes("hello")).ok());
  auto data = env_->read_file(p("a"));
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(as_chars(*data), "hello");
  auto info = env_->lstat(p("a"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->type, FileType::kFile);
  EXPECT_EQ(info->size, 5u);
}

TEST_P(EnvTest, AtomicWriteReplaces) {
  ASSERT_TRUE(env_->write_file_atomic(p("f"), as_bytes("one"), 0400).ok());
  ASSERT_TRUE(env_->write_file_atomic(p("g"), as_bytes("two"), 0600).ok());
  EXPECT_EQ(as_chars(*env_->read_file(p("f"))), "one");
  auto list = env_->list_dir(root_);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);  // no temp files left behind
}

TEST_P(EnvTest, MissingFileIsNotFound) {
  auto r = env_->read_file(p("nope"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("nope"), std::string::npos);
}

TEST_P(EnvTest, MakeDirsOverExistingThings) {
  ASSERT_TRUE(env_->make_dirs(p("a/b"), 0755).ok());
  ASSERT_TRUE(env_->make_symlink("b", p("a/to_b")).ok());
  EXPECT_TRUE(env_->make_dirs(p("a/to_b"), 0755).ok());  // a symlink to a folder will do
  ASSERT_TRUE(env_->write_file(p("a/f"), as_bytes("1")).ok());
  Status st = env_->make_dirs(p("a/f"), 0755);
  EXPECT_EQ(st.code(), Code::kAlreadyExists);
  EXPECT_NE(st.message().find("exists and is not a directory"), std::string::npos);
  EXPECT_FALSE(env_->make_dirs(p("a/f/below"), 0755).ok());
  EXPECT_EQ(env_->lstat(p("a/f"))->type, FileType::kFile);
}

TEST_P(EnvTest, DirsLinksAndRemoveAll) {
  ASSERT_TRUE(env_->make_dirs(p("x/y/z"), 0755).ok());
  ASSERT_TRUE(env_->make_dirs(p("x/y/z"), 0755).ok());
  ASSERT_TRUE(env_->write_file(p("x/y/z/f"), as_bytes("1")).ok());
  ASSERT_TRUE(env_->make_symlink("z/f", p("x/y/l")).ok());
  EXPECT_EQ(*env_->read_link(p("x/y/l")), "z/f");
  EXPECT_EQ(env_->lstat(p("x/y/l"))->type, FileType::kSymlink);
  EXPECT_EQ(env_->stat(p("x/y/l"))->type, FileType::kFile);
  ASSERT_TRUE(env_->make_hardlink(p("x/y/z/f"), p("x/h")).ok());
  EXPECT_EQ(env_->lstat(p("x/h"))->nlink, 2u);
  EXPECT_EQ(env_->remove_dir(p("x")).code(), Code::kAlreadyExists);
  ASSERT_TRUE(env_->remove_all(p("x")).ok());
  EXPECT_FALSE(env_->exists(p("x")));
}

TEST_P(EnvTest, ModeTimesAndSparseWrites) {
  WriteOptions o;
  o.mode = 0600;
  auto f = env_->open_write(p("s"), o);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->write_at(1 << 20, as_bytes("end")).ok());
  ASSERT_TRUE((*f)->close().ok());
  EXPECT_EQ(env_->lstat(p("s"))->size, (1u << 20) + 3);
  ASSERT_TRUE(env_->set_mode(p("s"), 0640).ok());
  ASSERT_TRUE(env_->set_times(p("s"), {100, 5}, {200, 7}).ok());
  auto info = env_->lstat(p("s"));
  EXPECT_EQ(info->mode, 0640u);
  EXPECT_EQ(info->mtime, (Timespec{200, 7}));
}

TEST_P(EnvTest, MetadataThroughTheOpenFile) {
  WriteOptions o;
  o.mode = 0600;
  auto f = env_->open_write(p("m"), o);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->append(as_bytes("data")).ok());
  ASSERT_TRUE((*f)->set_mode(0444).ok());  // the open fd still writes
  Status x = (*f)->set_xattr("user.kura", as_bytes("v"));
  const bool xattrs = x.ok();  // tmpfs without user xattrs says so
  ASSERT_TRUE((*f)->set_times({100, 5}, {200, 7}).ok());
  ASSERT_TRUE((*f)->close().ok());
  auto info = env_->lstat(p("m"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->mode, 0444u);
  EXPECT_EQ(info->size, 4u);
  EXPECT_EQ(info->mtime, (Timespec{200, 7}));
  if (xattrs) {
    EXPECT_EQ(as_chars(*env_->get_xattr(p("m"), "user.kura")), "v");
  }
  if (!GetParam()) {
    EXPECT_TRUE(xattrs);
  }
}

TEST_P(EnvTest, OpenDirectoryLooksUpByName) {
  ASSERT_TRUE(env_->make_dirs(p("d/sub"), 0755).ok());
  ASSERT_TRUE(env_->write_file(p("d/f"), as_bytes("12345")).ok());
  ASSERT_TRUE(env_->make_symlink("f", p("d/l")).ok());
  auto dir = env_->open_directory(p("d"));
  ASSERT_TRUE(dir.ok());
  auto entries = (*dir)->list();
  ASSERT_TRUE(entries.ok());
  std::vector<std::string> names;
  for (const auto& e : *entries) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"f", "l", "sub"}));
  EXPECT_EQ((*dir)->lstat("f")->size, 5u);
  EXPECT_EQ((*dir)->lstat("l")->type, FileType::kSymlink);  // not followed
  EXPECT_EQ((*dir)->lstat("sub")->type, FileType::kDir);
  // Errors name the full path, as the path calls do.
  auto missing = (*dir)->lstat("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find(p("d/nope")), std::string::npos);
  // A directory that is not there fails on open or, for test Envs, on list.
  auto gone = env_->open_directory(p("gone"));
  Status st = gone.ok() ? (*gone)->list().status() : gone.status();
  EXPECT_EQ(st.code(), Code::kNotFound);
  EXPECT_NE(st.message().find(p("gone")), std::string::npos);
}

TEST_P(EnvTest, OpenDirectoryOpensFilesByName) {
  ASSERT_TRUE(env_->make_dirs(p("d"), 0755).ok());
  ASSERT_TRUE(env_->write_file(p("d/f"), as_bytes("12345")).ok());
  ASSERT_TRUE(env_->make_symlink("f", p("d/l")).ok());
  auto dir = env_->open_directory(p("d"));
  ASSERT_TRUE(dir.ok());
  auto in = (*dir)->open_read("f");
  ASSERT_TRUE(in.ok());
  uint8_t buf[8];
  EXPECT_EQ(*(*in)->read_at(0, buf), 5u);
  // A symlink is not followed, as with Env::open_read.
  EXPECT_FALSE((*dir)->open_read("l").ok());
  WriteOptions wo;
  wo.exclusive = true;
  auto out = (*dir)->open_write("new", wo);
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE((*out)->append(as_bytes("abc")).ok());
  ASSERT_TRUE((*out)->close().ok());
  EXPECT_EQ(as_chars(*env_->read_file(p("d/new"))), "abc");
  // Exclusive creation of a name that exists fails and names the full path.
  auto again = (*dir)->open_write("new", wo);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
  EXPECT_NE(again.status().message().find(p("d/new")), std::string::npos);
  auto missing = (*dir)->open_read("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find(p("d/nope")), std::string::npos);
}

TEST_P(EnvTest, XattrsThroughTheOpenFile) {
  ASSERT_TRUE(env_->write_file(p("x"), as_bytes("data")).ok());
  Status set = env_->set_xattr(p("x"), "user.one", as_bytes("1"));
  if (!set.ok()) GTEST_SKIP() << "no user xattrs here: " << set.message();
  ASSERT_TRUE(env_->set_xattr(p("x"), "user.two", as_bytes("")).ok());
  auto f = env_->open_read(p("x"));
  ASSERT_TRUE(f.ok());
  auto names = (*f)->list_xattrs();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, *env_->list_xattrs(p("x")));  // the same names in the same order
  EXPECT_EQ(as_chars(*(*f)->get_xattr("user.one")), "1");
  EXPECT_EQ((*f)->get_xattr("user.two")->size(), 0u);
  EXPECT_FALSE((*f)->get_xattr("user.none").ok());
}

INSTANTIATE_TEST_SUITE_P(Envs, EnvTest, ::testing::Values(true, false),
                         [](const auto& i) { return i.param ? "Posix" : "Mem"; });

TEST(FaultEnvTest, FailsChosenCalls) {
  MemEnv mem;
  FaultEnv env(&mem);
  env.fail(EnvOp::kOpenRead, "secret", permission_denied("open secret: Permission denied"));
  ASSERT_TRUE(env.write_file("/secret", as_bytes("x")).ok());
  ASSERT_TRUE(env.write_file("/public", as_bytes("y")).ok());
  EXPECT_EQ(env.read_file("/secret").status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(env.read_file("/public").ok());
}

TEST(FaultEnvTest, FullDiskTearsWrites) {
  MemEnv mem;
  FaultEnv env(&mem);
  env.set_free_space(4);
  Status st = env.write_file("/f", as_bytes("123456"));
  EXPECT_EQ(st.code(), Code::kResourceExhausted);
  EXPECT_EQ(as_chars(*mem.read_file("/f")), "1234");
  // Atomic writes never leave a partial file under the final name.
  EXPECT_FALSE(env.write_file_atomic("/g", as_bytes("123456"), 0600).ok());
  EXPECT_FALSE(mem.exists("/g"));
  auto list = mem.list_dir("/");
  EXPECT_EQ(list->size(), 1u);
}

}  // namespace
}  // namespace kura::base
