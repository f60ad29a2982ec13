// kura commands run in-process (run_kura) on a repository in a MemEnv: what they print, to
// which stream, and their exit codes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#include "apps/kura/app.h"
#include "apps/kura/cli_testing.h"
#include "backend/local_backend.h"
#include "base/clock.h"
#include "ops/testing.h"

namespace kura::cli {
namespace {

using backend::FileKind;

using Output = testing::CliRun;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("KURA_LANG", "en", 1);
    for (const char* v : {"KURA_PASSWORD", "RESTIC_PASSWORD", "KURA_PASSWORD_FILE", "RESTIC_PASSWORD_FILE",
                          "KURA_PASSWORD_COMMAND", "RESTIC_PASSWORD_COMMAND", "KURA_REPOSITORY",
                          "RESTIC_REPOSITORY"}) {
      ::unsetenv(v);
    }
    ::setenv("KURA_PASSWORD", ops::testing::kPassword, 1);
  }

  Output kura(std::initializer_list<std::string> args) { return testing::run_captured(&env_, args); }

  // A repository at /repo with `n` snapshots of /data/src (one more file each time).
  void make_repo(int n) {
    auto be = backend::open_local(&env_, "/repo");
    ASSERT_TRUE(be.ok());
    ASSERT_TRUE((*be)->create().ok());
    auto r = ops::testing::init_repository(be->get(), base::system_clock());
    ASSERT_TRUE(r.ok()) << r.status().message();
    for (int i = 0; i < n; ++i) {
      std::string name = "/data/src/f" + std::to_string(i);
      ASSERT_TRUE(ops::testing::write_files(env_, {{name, ops::testing::noise(5000, i)}}).ok());
      ops::BackupOptions o;
      o.targets = {"/data/src"};
      o.hostname = "host";
      auto res = ops::run_backup(**r, env_, o, nullptr, nullptr);
      ASSERT_TRUE(res.ok()) << res.status().message();
      snapshots_.push_back(res->snapshot_id);
    }
  }

  void damage_snapshot(const repo::Id& id) {
    std::string path = "/repo/snapshots/" + id.hex();
    auto data = env_.read_file(path);
    ASSERT_TRUE(data.ok());
    (*data)[data->size() / 2] ^= 1;
    ASSERT_TRUE(env_.remove_file(path).ok());
    ASSERT_TRUE(env_.write_file(path, *data).ok());
  }

  base::MemEnv env_;
  std::vector<repo::Id> snapshots_;
};

TEST_F(CliTest, SnapshotsWarnsAboutADamagedSnapshotAndListsTheRest) {
  make_repo(3);
  damage_snapshot(snapshots_[1]);
  std::string bad = snapshots_[1].short_hex();

  Output r = kura({"-r", "/repo", "snapshots"});
  EXPECT_EQ(r.code, 0) << r.err;  // as restic 0.14
  EXPECT_NE(r.err.find("kura: could not load snapshot " + bad + ": "), std::string::npos) << r.err;
  EXPECT_NE(r.out.find(snapshots_[0].short_hex()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(snapshots_[2].short_hex()), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(bad), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 snapshots"), std::string::npos) << r.out;

  // --json: the list on stdout stays machine-readable, the warning goes to stderr.
  r = kura({"-r", "/repo", "--json", "snapshots"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.front(), '[');
  EXPECT_EQ(r.out.find("\"short_id\":\"" + bad), std::string::npos) << r.out;  // (a parent may name it)
  EXPECT_NE(r.out.find("\"short_id\":\"" + snapshots_[2].short_hex()), std::string::npos) << r.out;
  EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;

  // Only the snapshots asked for are warned about.
  r = kura({"-r", "/repo", "snapshots", snapshots_[0].short_hex()});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.err.find(bad), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("1 snapshots"), std::string::npos) << r.out;
}

TEST_F(CliTest, ForgetAndFindGoOnWithoutADamagedSnapshot) {
  make_repo(3);
  damage_snapshot(snapshots_[2]);
  std::string bad = snapshots_[2].short_hex();
  Output r = kura({"-r", "/repo", "forget", "--keep-last", "1", "--dry-run"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("could not load snapshot " + bad), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("remove 1 snapshots"), std::string::npos) << r.out;

  r = kura({"-r", "/repo", "find", "f0"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("could not load snapshot " + bad), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("/data/src/f0"), std::string::npos) << r.out;

  // "latest" cannot be chosen while a snapshot is unreadable: ls warns naming it and lists
  // nothing (exit 0, as restic 0.14's ls ignores a snapshot ID it cannot resolve).
  r = kura({"-r", "/repo", "ls", "latest"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(snapshots_[2].hex()), std::string::npos) << r.err;
}

TEST_F(CliTest, PruneDeletesStaleTempFilesAndSaysSo) {
  make_repo(1);
  int64_t now = base::system_clock()->now().sec;
  std::string old_tmp = "/repo/data/ab/" + std::string(64, 'a').replace(0, 2, "ab") + "-tmp-0123456789abcdef";
  std::string young_tmp = "/repo/data/cd/" + std::string(64, 'b').replace(0, 2, "cd") + "-tmp-3914277613";
  ASSERT_TRUE(env_.write_file(old_tmp, base::Bytes(2048, 1)).ok());
  ASSERT_TRUE(env_.write_file(young_tmp, base::Bytes(10, 1)).ok());
  ASSERT_TRUE(env_.set_times(old_tmp, {now - 3 * 86400, 0}, {now - 3 * 86400, 0}).ok());
  ASSERT_TRUE(env_.set_times(young_tmp, {now - 60, 0}, {now - 60, 0}).ok());

  Output r = kura({"-r", "/repo", "prune", "--dry-run"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("temp files:            1 files / 2.000 KiB"), std::string::npos) << r.out;
  EXPECT_TRUE(env_.exists(old_tmp));

  r = kura({"-r", "/repo", "prune"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("removed 1 temporary files left by interrupted uploads"), std::string::npos) << r.out;
  EXPECT_FALSE(env_.exists(old_tmp));
  EXPECT_TRUE(env_.exists(young_tmp));

  r = kura({"-r", "/repo", "prune"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("temp"), std::string::npos) << r.out;
}

// Files named on the command line: the error names the flag (or variable), the path and why.
TEST_F(CliTest, MissingFilesNameTheFlag) {
  make_repo(1);
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  const Case cases[] = {
      {{"-r", "/repo", "backup", "--exclude-file", "/missing", "/data/src"},
       "kura: --exclude-file /missing: No such file or directory\n"},
      {{"-r", "/repo", "backup", "--iexclude-file", "/missing", "/data/src"},
       "kura: --iexclude-file /missing: No such file or directory\n"},
      {{"-r", "/repo", "--password-file", "/missing", "snapshots"},
       "kura: --password-file /missing: No such file or directory\n"},
      {{"-r", "/repo", "-p", "/missing", "snapshots"},
       "kura: --password-file /missing: No such file or directory\n"},
      {{"-r", "/repo", "key", "add", "--new-password-file", "/missing"},
       "kura: --new-password-file /missing: No such file or directory\n"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> words = {"kura"};
    words.insert(words.end(), c.args.begin(), c.args.end());
    std::vector<const char*> argv;
    for (const auto& w : words) argv.push_back(w.c_str());
    Cli cli;
    cli.env = &env_;
    ::testing::internal::CaptureStderr();
    ::testing::internal::CaptureStdout();
    int code = run_kura(cli, static_cast<int>(argv.size()), argv.data());
    std::string err = ::testing::internal::GetCapturedStderr();
    ::testing::internal::GetCapturedStdout();
    EXPECT_EQ(code, 1) << c.args[3];
    EXPECT_EQ(err, c.want);
  }

  // --files-from: the flag and the path are named (backup reads it itself).
  Output r = kura({"-r", "/repo", "backup", "--files-from", "/missing"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--files-from"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/missing"), std::string::npos) << r.err;

  ::unsetenv("KURA_PASSWORD");
  ::setenv("KURA_PASSWORD_FILE", "/missing", 1);
  r = kura({"-r", "/repo", "snapshots"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "kura: KURA_PASSWORD_FILE /missing: No such file or directory\n");
  ::unsetenv("KURA_PASSWORD_FILE");
}

TEST_F(CliTest, UsageErrorsExitOneNamingTheWord) {
  Output r = kura({"bakup"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bakup"), std::string::npos) << r.err;
  r = kura({"snapshots", "--no-such-flag"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no-such-flag"), std::string::npos) << r.err;
}

// restic's key --host/--user: the names recorded in the new key file.
TEST_F(CliTest, KeyAddRecordsTheGivenHostAndUser) {
  make_repo(1);
  ASSERT_TRUE(env_.write_file("/newpw", base::as_bytes("second password\n")).ok());
  Output r = kura({"-r", "/repo", "key", "add", "--new-password-file", "/newpw", "--host", "reception-pc",
                   "--user", "nurse"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = kura({"-r", "/repo", "--json", "key", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"userName\":\"nurse\",\"hostName\":\"reception-pc\""), std::string::npos) << r.out;
}

// --unsafe-recover-no-free-space takes the repository's id and nothing else (restic's check).
TEST_F(CliTest, UnsafeRecoveryNeedsTheRepositoryId) {
  make_repo(1);
  Output r = kura({"-r", "/repo", "prune", "--unsafe-recover-no-free-space", "wrong"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("must pass id '"), std::string::npos) << r.err;
  auto cfg = kura({"-r", "/repo", "cat", "config"});
  ASSERT_EQ(cfg.code, 0) << cfg.err;
  size_t at = cfg.out.find("\"id\": \"");
  ASSERT_NE(at, std::string::npos) << cfg.out;
  std::string id = cfg.out.substr(at + 7, 64);
  r = kura({"-r", "/repo", "prune", "--unsafe-recover-no-free-space", id});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(kura({"-r", "/repo", "check"}).code, 0);
}

}  // namespace
}  // namespace kura::cli
