// The global options restic 0.14 takes from its environment (RESTIC_COMPRESSION,
// RESTIC_PACK_SIZE, RESTIC_PROGRESS_FPS), KURA_* first, and restic's pack size limits.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "apps/kura/app.h"
#include "apps/kura/cli_testing.h"
#include "apps/kura/progress.h"
#include "backend/local_backend.h"
#include "base/clock.h"
#include "base/mem_env.h"
#include "ops/testing.h"

namespace kura::cli {
namespace {

const char* const kVars[] = {"KURA_COMPRESSION", "RESTIC_COMPRESSION", "KURA_PACK_SIZE",
                             "RESTIC_PACK_SIZE", "KURA_PROGRESS_FPS", "RESTIC_PROGRESS_FPS"};

class GlobalEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("KURA_LANG", "en", 1);
    ::setenv("KURA_PASSWORD", ops::testing::kPassword, 1);
    for (const char* v : kVars) ::unsetenv(v);
  }
  void TearDown() override {
    for (const char* v : kVars) ::unsetenv(v);
  }

  // The global options after parsing `kura [args] version`.
  GlobalOptions parsed(std::vector<std::string> args) {
    args.insert(args.begin(), "kura");
    args.push_back("version");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    Cli cli;
    cli.env = &env_;
    ::testing::internal::CaptureStdout();
    run_kura(cli, static_cast<int>(argv.size()), argv.data());
    ::testing::internal::GetCapturedStdout();
    return cli.g;
  }

  base::MemEnv env_;
};

TEST_F(GlobalEnvTest, CompressionFromEnvironment) {
  EXPECT_EQ(parsed({}).compression, "auto");
  ::setenv("RESTIC_COMPRESSION", "off", 1);
  EXPECT_EQ(parsed({}).compression, "off");
  EXPECT_EQ(parsed({"--compression", "max"}).compression, "max");  // the flag wins
  ::setenv("KURA_COMPRESSION", "max", 1);
  EXPECT_EQ(parsed({}).compression, "max");  // KURA_* first
  ::setenv("KURA_COMPRESSION", "bogus", 1);
  ::setenv("RESTIC_COMPRESSION", "bogus", 1);
  EXPECT_EQ(parsed({}).compression, "auto");  // ignored, as restic does
}

TEST_F(GlobalEnvTest, PackSizeFromEnvironment) {
  EXPECT_EQ(parsed({}).pack_size_mib, 16u);
  ::setenv("RESTIC_PACK_SIZE", "32", 1);
  EXPECT_EQ(parsed({}).pack_size_mib, 32u);
  EXPECT_EQ(parsed({"--pack-size", "8"}).pack_size_mib, 8u);
  ::setenv("KURA_PACK_SIZE", "64", 1);
  EXPECT_EQ(parsed({}).pack_size_mib, 64u);
  ::unsetenv("KURA_PACK_SIZE");
  for (const char* bad : {"-5", "12MiB", " 8", "99999999999"}) {
    ::setenv("RESTIC_PACK_SIZE", bad, 1);
    EXPECT_EQ(parsed({}).pack_size_mib, 16u) << bad;
  }
}

TEST_F(GlobalEnvTest, PackSizeOutOfRangeFailsWhenTheRepositoryOpens) {
  auto be = backend::open_local(&env_, "/repo");
  ASSERT_TRUE(be.ok());
  ASSERT_TRUE((*be)->create().ok());
  ASSERT_TRUE(ops::testing::init_repository(be->get(), base::system_clock()).ok());
  ::setenv("RESTIC_PACK_SIZE", "200", 1);
  auto r = testing::run_captured(&env_, {"-r", "/repo", "snapshots"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("pack size larger than limit of 128 MiB"), std::string::npos) << r.err;
  ::unsetenv("RESTIC_PACK_SIZE");
  r = testing::run_captured(&env_, {"-r", "/repo", "--pack-size", "3", "snapshots"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("pack size smaller than minimum of 4 MiB"), std::string::npos) << r.err;
  r = testing::run_captured(&env_, {"-r", "/new", "--pack-size", "129", "init"});
  EXPECT_EQ(r.code, 1);
  EXPECT_FALSE(env_.exists("/new/config"));
  r = testing::run_captured(&env_, {"-r", "/repo", "--pack-size", "0", "snapshots"});  // 0: the default
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(GlobalEnvTest, ProgressFps) {
  EXPECT_EQ(progress_fps(), 0);
  ::setenv("RESTIC_PROGRESS_FPS", "2.5", 1);
  EXPECT_EQ(progress_fps(), 2.5);
  ::setenv("RESTIC_PROGRESS_FPS", "1000", 1);
  EXPECT_EQ(progress_fps(), 60);  // restic's cap
  ::setenv("KURA_PROGRESS_FPS", "10", 1);
  EXPECT_EQ(progress_fps(), 10);
  for (const char* bad : {"0", "-3", "fast", "5x"}) {
    ::setenv("KURA_PROGRESS_FPS", bad, 1);
    EXPECT_EQ(progress_fps(), 0) << bad;
  }
}

}  // namespace
}  // namespace kura::cli
