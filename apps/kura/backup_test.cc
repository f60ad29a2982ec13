// kura backup run in-process on a MemEnv: which targets it takes, what it says on which
// stream, and its exit codes (restic 0.14's, see tests/backup_oracle_test.sh for the oracle).
#include <gtest/gtest.h>

#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#include "apps/kura/app.h"
#include "apps/kura/cli_testing.h"
#include "base/mem_env.h"
#include "ops/testing.h"

namespace kura::cli {
namespace {

using Output = testing::CliRun;

class BackupCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("KURA_LANG", "en", 1);
    ::setenv("KURA_PASSWORD", ops::testing::kPassword, 1);
    ASSERT_TRUE(ops::testing::write_files(env_, {{"/data/a/x", "x"}, {"/data/b/y", "y"},
                                                 {"/data/big", std::string(5000, 'b')}})
                    .ok());
    ASSERT_EQ(kura({"-r", "/repo", "init"}).code, 0);
  }

  Output kura(std::initializer_list<std::string> args) { return testing::run_captured(&env_, args); }

  size_t snapshots() {
    auto names = env_.list_dir("/repo/snapshots");
    return names.ok() ? names->size() : 0;
  }

  base::MemEnv env_;
};

// Regression: one missing target aborted the whole backup.
TEST_F(BackupCliTest, MissingTargetIsSkippedWithAWarning) {
  Output o = kura({"-r", "/repo", "backup", "/data/a", "/data/gone"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.err.find("/data/gone does not exist, skipping"), std::string::npos) << o.err;
  EXPECT_EQ(snapshots(), 1u);
  o = kura({"-r", "/repo", "backup", "/data/gone", "/data/gone2"});
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.err.find("all target directories/files do not exist"), std::string::npos) << o.err;
  EXPECT_EQ(snapshots(), 1u);
}

// Regression: --files-from neither expanded patterns nor trimmed spaces.
TEST_F(BackupCliTest, FilesFromExpandsTrimmedPatterns) {
  ASSERT_TRUE(env_.write_file("/list", base::as_bytes(std::string("  /data/[ab]  \n# comment\n/data/no*\n"))).ok());
  Output o = kura({"-r", "/repo", "backup", "--json", "--files-from", "/list"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.err.find("pattern \"/data/no*\" does not match any files, skipping"), std::string::npos) << o.err;
  EXPECT_NE(o.out.find("\"total_files_processed\":2"), std::string::npos) << o.out;
}

TEST_F(BackupCliTest, JsonSummaryHasRestic014sKeys) {
  Output o = kura({"-r", "/repo", "backup", "--json", "/data"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out.find("data_added_packed"), std::string::npos) << o.out;
  size_t at = o.out.find("\"snapshot_id\":\"");
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(o.out.substr(at + 15 + 8, 2), "\"}") << "a short id, as restic 0.14";
}

TEST_F(BackupCliTest, BadFlagValuesFailBeforeAnythingIsWritten) {
  // The flag and its value, then what the message must say.
  for (auto args : {std::vector<std::string>{"--time", "yesterday", "time option"},
                    std::vector<std::string>{"--exclude-larger-than", "10x", "--exclude-larger-than"},
                    std::vector<std::string>{"--exclude-if-present", ":hdr", "exclusion tagfile"},
                    std::vector<std::string>{"--stdin", "--files-from", "--stdin and --files-from"}}) {
    std::string want = args.back();
    args.pop_back();
    std::vector<std::string> all = {"-r", "/repo", "backup"};
    all.insert(all.end(), args.begin(), args.end());
    if (args[0] == "--stdin") all.push_back("/list");
    std::vector<const char*> argv = {"kura"};
    for (const auto& a : all) argv.push_back(a.c_str());
    Cli cli;
    cli.env = &env_;
    ::testing::internal::CaptureStderr();
    int code = run_kura(cli, static_cast<int>(argv.size()), argv.data());
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(code, 1) << args[0] << ": " << err;
    EXPECT_NE(err.find(want), std::string::npos) << err;
  }
  EXPECT_EQ(snapshots(), 0u);
}

TEST_F(BackupCliTest, ExcludeLargerThanAndTime) {
  Output o = kura({"-r", "/repo", "backup", "--json", "--exclude-larger-than", "4k", "--time",
                   "2021-03-04 05:06:07", "/data"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("\"total_files_processed\":2"), std::string::npos) << o.out;
}

TEST_F(BackupCliTest, HelpListsRestic014sBackupFlags) {
  Output o = kura({"backup", "--help"});
  for (const char* flag : {"--exclude-if-present", "--exclude-larger-than", "--files-from-verbatim",
                           "--files-from-raw", "--ignore-inode", "--ignore-ctime", "--time",
                           "--read-concurrency", "--use-fs-snapshot", "--with-atime", "--dry-run",
                           "--force", "--host", "--parent", "--one-file-system", "--iexclude-file"}) {
    EXPECT_NE(o.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace kura::cli
