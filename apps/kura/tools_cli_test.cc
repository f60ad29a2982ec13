// In-process tests of the global flags and listings of issue 12: passwords and repository
// files read as restic reads them, -o, --key-hint, cat's indented JSON, snapshots --latest.
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

using Result = testing::CliRun;

class ToolsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("KURA_LANG", "en", 1);
    for (const char* v : {"KURA_PASSWORD", "RESTIC_PASSWORD", "KURA_PASSWORD_FILE", "RESTIC_PASSWORD_FILE",
                          "KURA_PASSWORD_COMMAND", "RESTIC_PASSWORD_COMMAND", "KURA_REPOSITORY",
                          "RESTIC_REPOSITORY", "KURA_REPOSITORY_FILE", "RESTIC_REPOSITORY_FILE", "KURA_KEY_HINT",
                          "RESTIC_KEY_HINT"}) {
      ::unsetenv(v);
    }
    auto be = backend::open_local(&env_, "/repo");
    ASSERT_TRUE(be.ok());
    ASSERT_TRUE((*be)->create().ok());
    auto r = ops::testing::init_repository(be->get(), base::system_clock());
    ASSERT_TRUE(r.ok()) << r.status().message();
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(ops::testing::write_files(env_, {{"/data/src/f" + std::to_string(i), ops::testing::noise(100, i)}}).ok());
      ops::BackupOptions o;
      o.targets = {"/data/src"};
      o.hostname = i == 2 ? "other" : "host";
      ASSERT_TRUE(ops::run_backup(**r, env_, o, nullptr, nullptr).ok());
    }
  }

  void write(const std::string& path, std::string_view text) {
    ASSERT_TRUE(env_.write_file(path, base::Bytes(text.begin(), text.end())).ok());
  }

  Result kura(std::initializer_list<std::string> args) { return testing::run_captured(&env_, args); }

  base::MemEnv env_;
};

TEST_F(ToolsCliTest, PasswordFileIsTrimmedLikeRestic) {
  std::string pw = ops::testing::kPassword;
  write("/pw-spaces", pw + " \t\r\n\n");
  write("/pw-bom", "\xef\xbb\xbf" + pw + "\n");
  for (const char* file : {"/pw-spaces", "/pw-bom"}) {
    Result r = kura({"-r", "/repo", "--password-file", file, "snapshots", "--compact"});
    EXPECT_EQ(r.code, 0) << file << ": " << r.err;
  }
  ::setenv("RESTIC_PASSWORD_FILE", "/pw-spaces", 1);
  EXPECT_EQ(kura({"-r", "/repo", "snapshots"}).code, 0);
  Result both = kura({"-r", "/repo", "--password-command", "echo x", "snapshots"});
  EXPECT_EQ(both.code, 1);
  EXPECT_EQ(both.err, "kura: Password file and command are mutually exclusive options\n");
}

TEST_F(ToolsCliTest, RepositoryFileAndItsConflictWithRepo) {
  ::setenv("KURA_PASSWORD", ops::testing::kPassword, 1);
  write("/repo-file", "  /repo \n");
  EXPECT_EQ(kura({"--repository-file", "/repo-file", "snapshots"}).code, 0);
  ::setenv("RESTIC_REPOSITORY_FILE", "/repo-file", 1);
  EXPECT_EQ(kura({"snapshots"}).code, 0);
  Result r = kura({"-r", "/repo", "snapshots"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "kura: Options -r and --repository-file are mutually exclusive, please specify only one\n");
}

TEST_F(ToolsCliTest, ExtendedOptionsOfThisBackendAreChecked) {
  ::setenv("KURA_PASSWORD", ops::testing::kPassword, 1);
  EXPECT_EQ(kura({"-r", "/repo", "-o", "local.connections=4", "-o", "rest.connections=2", "-o", "s3.region=x",
                  "snapshots"}).code, 0);
  Result r = kura({"-r", "/repo", "-o", "local.foo=1", "snapshots"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "kura: option local.foo is not known\n");
  EXPECT_EQ(kura({"-r", "/repo", "-o", "local.connections=x", "snapshots"}).code, 1);
}

TEST_F(ToolsCliTest, KeyHintIsTriedFirstAndAWrongOneIgnored) {
  ::setenv("KURA_PASSWORD", ops::testing::kPassword, 1);
  auto keys = env_.list_dir("/repo/keys");
  ASSERT_TRUE(keys.ok());
  ASSERT_FALSE(keys->empty());
  EXPECT_EQ(kura({"-r", "/repo", "--key-hint", (*keys)[0].name.substr(0, 6), "snapshots"}).code, 0);
  EXPECT_EQ(kura({"-r", "/repo", "--key-hint", "ffff", "snapshots"}).code, 0);
}

TEST_F(ToolsCliTest, CatIndentsAsGoMarshalIndent) {
  ::setenv("KURA_PASSWORD", ops::testing::kPassword, 1);
  Result r = kura({"-r", "/repo", "cat", "config"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("{\n  \"version\": 2,\n  \"id\": \"", 0), 0u) << r.out;
  EXPECT_EQ(r.out.substr(r.out.size() - 4), "\"\n}\n");
}

TEST_F(ToolsCliTest, SnapshotsLatestPerHostAndPaths) {
  ::setenv("KURA_PASSWORD", ops::testing::kPassword, 1);
  Result r = kura({"-r", "/repo", "snapshots", "--latest", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("2 snapshots\n"), std::string::npos) << r.out;
  r = kura({"-r", "/repo", "snapshots", "--group-by", "host", "--compact"});
  EXPECT_NE(r.out.find("snapshots for (host [host]):\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("snapshots for (host [other]):\n"), std::string::npos) << r.out;
  EXPECT_EQ(kura({"-r", "/repo", "snapshots", "--group-by", "nope"}).code, 1);
}

}  // namespace
}  // namespace kura::cli
