// The local cache seen from the command line, in-process on a MemEnv: where commands put it,
// --no-cache, `kura cache` (list, --cleanup) and check's temporary cache.
#include <gtest/gtest.h>

#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#include "apps/kura/app.h"
#include "apps/kura/cli_testing.h"
#include "backend/local_backend.h"
#include "base/clock.h"
#include "base/mem_env.h"
#include "ops/testing.h"

namespace kura::cli {
namespace {

using Output = testing::CliRun;

class CacheCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("KURA_LANG", "en", 1);
    for (const char* v : {"KURA_PASSWORD_FILE", "RESTIC_PASSWORD_FILE", "KURA_PASSWORD_COMMAND",
                          "RESTIC_PASSWORD_COMMAND", "KURA_REPOSITORY", "RESTIC_REPOSITORY",
                          "RESTIC_CACHE_DIR"}) {
      ::unsetenv(v);
    }
    ::setenv("KURA_PASSWORD", ops::testing::kPassword, 1);
    ::setenv("KURA_CACHE_DIR", "/cache", 1);
    auto be = backend::open_local(&env_, "/repo");
    ASSERT_TRUE(be.ok());
    ASSERT_TRUE((*be)->create().ok());
    auto r = ops::testing::init_repository(be->get(), base::system_clock());
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_TRUE(ops::testing::write_files(env_, {{"/data/src/f", ops::testing::noise(5000, 1)}}).ok());
    ops::BackupOptions o;
    o.targets = {"/data/src"};
    o.hostname = "host";
    auto res = ops::run_backup(**r, env_, o, nullptr, nullptr);
    ASSERT_TRUE(res.ok()) << res.status().message();
    snapshot_ = res->snapshot_id.hex();
    repo_id_ = (*r)->config().id;
  }
  void TearDown() override { ::unsetenv("KURA_CACHE_DIR"); }

  Output kura(std::initializer_list<std::string> args) { return testing::run_captured(&env_, args); }

  base::MemEnv env_;
  std::string snapshot_, repo_id_;
};

TEST_F(CacheCliTest, CommandsFillTheCacheUnlessNoCache) {
  Output o = kura({"-r", "/repo", "--cache-dir", "/elsewhere", "--no-cache", "snapshots"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_FALSE(env_.exists("/elsewhere"));
  EXPECT_FALSE(env_.exists("/cache"));
  o = kura({"-r", "/repo", "snapshots"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(env_.exists("/cache/CACHEDIR.TAG"));
  EXPECT_TRUE(env_.exists("/cache/" + repo_id_ + "/snapshots/" + snapshot_.substr(0, 2) + "/" + snapshot_));
  o = kura({"-r", "/repo", "--cache-dir", "/elsewhere", "snapshots"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(env_.exists("/elsewhere/" + repo_id_ + "/version"));
}

TEST_F(CacheCliTest, CacheCommandListsAndRemovesOldFolders) {
  ASSERT_EQ(kura({"-r", "/repo", "snapshots"}).code, 0);
  std::string old = "/cache/" + std::string(64, 'a');
  ASSERT_TRUE(env_.make_dirs(old, 0700).ok());
  base::Timespec then{base::system_clock()->now().sec - 40 * 86400, 0};
  ASSERT_TRUE(env_.set_times(old, then, then).ok());

  Output o = kura({"cache", "--no-size"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out,
            "Repo ID     Last Used    Old\n"
            "----------------------------\n"
            "aaaaaaaaaa  40 days ago  yes\n" +
                repo_id_.substr(0, 10) + "  0 days ago\n"
            "----------------------------\n"
            "2 cache dirs in /cache\n");
  o = kura({"cache", "--cleanup"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "remove 1 old cache directories\n");
  EXPECT_FALSE(env_.exists(old));
  EXPECT_TRUE(env_.exists("/cache/" + repo_id_));

  EXPECT_EQ(kura({"cache", "extra"}).code, 1);
  o = kura({"--no-cache", "cache"});
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.err.find("Refusing to do anything, the cache is disabled"), std::string::npos) << o.err;
}

TEST_F(CacheCliTest, CheckUsesATemporaryCacheUnlessWithCache) {
  Output o = kura({"-r", "/repo", "--no-lock", "check"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out.rfind("using temporary cache in /cache/kura-check-cache-", 0), 0u) << o.out;
  auto left = env_.list_dir("/cache");
  ASSERT_TRUE(left.ok());
  for (const auto& e : *left) EXPECT_EQ(e.name.find("kura-check-cache-"), std::string::npos) << e.name;
  EXPECT_FALSE(env_.exists("/cache/" + repo_id_));  // the real cache was not touched

  o = kura({"-r", "/repo", "--no-lock", "check", "--with-cache"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out.find("temporary cache"), std::string::npos) << o.out;
  EXPECT_TRUE(env_.exists("/cache/" + repo_id_ + "/index"));
}

}  // namespace
}  // namespace kura::cli
