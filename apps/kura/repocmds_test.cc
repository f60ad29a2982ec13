// tag, list, rebuild-index, recover, migrate, copy and init --from-repo run in-process on
// repositories in a MemEnv: output, stream and exit code.
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

using Output = testing::CliRun;

class RepoCmdsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("KURA_LANG", "en", 1);
    for (const char* v : {"KURA_PASSWORD", "RESTIC_PASSWORD", "KURA_PASSWORD_FILE", "RESTIC_PASSWORD_FILE",
                          "KURA_PASSWORD_COMMAND", "RESTIC_PASSWORD_COMMAND", "KURA_REPOSITORY",
                          "RESTIC_REPOSITORY", "RESTIC_FROM_REPOSITORY", "RESTIC_FROM_REPOSITORY_FILE",
                          "RESTIC_FROM_PASSWORD", "RESTIC_FROM_PASSWORD_FILE", "RESTIC_FROM_PASSWORD_COMMAND",
                          "RESTIC_FROM_KEY_HINT"}) {
      ::unsetenv(v);
    }
    ::setenv("KURA_PASSWORD", ops::testing::kPassword, 1);
    ASSERT_TRUE(env_.make_dirs("/etc", 0755).ok());
    ASSERT_TRUE(env_.write_file("/etc/pw", base::as_bytes(std::string(ops::testing::kPassword) + "\n")).ok());
  }

  Output kura(std::initializer_list<std::string> args) { return testing::run_captured(&env_, args); }

  // A repository at `path` with `n` snapshots of /data/src.
  void make_repo(const std::string& path, int n, int version = 2) {
    auto be = backend::open_local(&env_, path);
    ASSERT_TRUE(be.ok());
    ASSERT_TRUE((*be)->create().ok());
    auto r = ops::testing::init_repository(be->get(), base::system_clock(), {version});
    ASSERT_TRUE(r.ok()) << r.status().message();
    for (int i = 0; i < n; ++i) {
      std::string name = "/data/src/f" + std::to_string(i);
      ASSERT_TRUE(ops::testing::write_files(env_, {{name, ops::testing::noise(5000, i)}}).ok());
      ops::BackupOptions o;
      o.targets = {"/data/src"};
      o.hostname = i % 2 ? "odd" : "even";
      auto res = ops::run_backup(**r, env_, o, nullptr, nullptr);
      ASSERT_TRUE(res.ok()) << res.status().message();
    }
  }

  std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
      size_t j = s.find('\n', i);
      if (j == std::string::npos) j = s.size();
      out.push_back(s.substr(i, j - i));
      i = j + 1;
    }
    return out;
  }

  base::MemEnv env_;
};

TEST_F(RepoCmdsCliTest, TagNeedsAChangeAndNotSetWithAdd) {
  make_repo("/repo", 1);
  auto none = kura({"-r", "/repo", "tag", "latest"});
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("nothing to do!"), std::string::npos) << none.err;
  auto both = kura({"-r", "/repo", "tag", "--set", "a", "--add", "b"});
  EXPECT_EQ(both.code, 1);
  EXPECT_NE(both.err.find("--set and --add/--remove cannot be given at the same time"), std::string::npos);
}

TEST_F(RepoCmdsCliTest, TagFiltersByHostAndRewrites) {
  make_repo("/repo", 3);
  auto before = kura({"-r", "/repo", "list", "snapshots"});
  ASSERT_EQ(before.code, 0);
  auto r = kura({"-r", "/repo", "tag", "--host", "even", "--add", "x,y"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "create exclusive lock for repository\nmodified tags on 2 snapshots\n");
  auto again = kura({"-r", "/repo", "tag", "--host", "even", "--add", "x"});
  EXPECT_EQ(again.out, "create exclusive lock for repository\nno snapshots were modified\n");
  auto after = kura({"-r", "/repo", "list", "snapshots"});
  EXPECT_EQ(lines(after.out).size(), 3u);
  EXPECT_NE(after.out, before.out);
  auto quiet = kura({"-q", "-r", "/repo", "tag", "--tag", "x,y", "--remove", "y"});
  EXPECT_EQ(quiet.code, 0);
  EXPECT_EQ(quiet.out, "");
}

TEST_F(RepoCmdsCliTest, ListTypes) {
  make_repo("/repo", 2);
  auto none = kura({"-r", "/repo", "list"});
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("type not specified"), std::string::npos);
  auto bad = kura({"-r", "/repo", "list", "trees"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("invalid type"), std::string::npos);
  auto snaps = kura({"-r", "/repo", "list", "snapshots"});
  EXPECT_EQ(lines(snaps.out).size(), 2u);
  auto keys = kura({"-r", "/repo", "list", "keys"});
  EXPECT_EQ(lines(keys.out).size(), 1u);
  auto blobs = kura({"-r", "/repo", "list", "blobs"});
  for (const auto& l : lines(blobs.out)) {
    EXPECT_TRUE(l.rfind("data ", 0) == 0 || l.rfind("tree ", 0) == 0) << l;
    EXPECT_EQ(l.size(), 69u) << l;
  }
  EXPECT_EQ(kura({"-r", "/repo", "list", "locks"}).out, "");
}

TEST_F(RepoCmdsCliTest, RebuildIndexAndRecoverOnAHealthyRepository) {
  make_repo("/repo", 2);
  auto rb = kura({"-r", "/repo", "rebuild-index"});
  EXPECT_EQ(rb.code, 0) << rb.err;
  // restic's counters end with their last state as a line, then a blank line.
  EXPECT_EQ(rb.out,
            "loading indexes...\ngetting pack files to read...\nrebuilding index\n"
            "[0:00] 100.00%  4 / 4 packs processed\n\n"
            "deleting obsolete index files\n[0:00] 100.00%  2 / 2 files deleted\n\ndone\n");
  EXPECT_EQ(rb.err, "");
  auto rc = kura({"-r", "/repo", "recover"});
  EXPECT_EQ(rc.code, 0) << rc.err;
  EXPECT_NE(rc.out.find("\nfound 0 unreferenced roots\nno snapshot to write.\n"), std::string::npos) << rc.out;
}

TEST_F(RepoCmdsCliTest, MigrateListsAndUpgrades) {
  make_repo("/v2", 0);
  auto none = kura({"-r", "/v2", "migrate"});
  EXPECT_EQ(none.code, 0);
  EXPECT_EQ(none.out, "available migrations:\nno migrations found");
  make_repo("/v1", 1, 1);
  auto list = kura({"-r", "/v1", "migrate"});
  EXPECT_EQ(list.out, "available migrations:\n  upgrade_repo_v2\tupgrade a repository to version 2\n");
  auto up = kura({"-r", "/v1", "migrate", "upgrade_repo_v2"});
  EXPECT_EQ(up.code, 0) << up.err;
  EXPECT_NE(up.out.find("applying migration upgrade_repo_v2...\nmigration upgrade_repo_v2: success\n"),
            std::string::npos)
      << up.out;
  auto twice = kura({"-r", "/v1", "migrate", "upgrade_repo_v2"});
  EXPECT_EQ(twice.code, 0);
  EXPECT_NE(twice.err.find("cannot be applied: check failed"), std::string::npos) << twice.err;
}

TEST_F(RepoCmdsCliTest, CopyNeedsASourceAndSkipsWhatWasCopied) {
  make_repo("/src", 2);
  make_repo("/dst", 0);
  auto missing = kura({"-r", "/dst", "copy"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("Please specify a source repository location"), std::string::npos);
  auto both = kura({"-r", "/dst", "copy", "--from-password-file", "/etc/pw", "--from-password-command", "true",
                    "--from-repo", "/src"});
  EXPECT_EQ(both.code, 1);
  EXPECT_NE(both.err.find("mutually exclusive"), std::string::npos);
  auto first = kura({"-r", "/dst", "copy", "--from-repo", "/src", "--from-password-file", "/etc/pw"});
  EXPECT_EQ(first.code, 0) << first.err;
  EXPECT_NE(first.out.find("  copy started, this may take a while...\n[0:00] 100.00%  "), std::string::npos)
      << first.out;
  EXPECT_NE(first.out.find(" packs copied\n\nsnapshot "), std::string::npos) << first.out;
  EXPECT_EQ(lines(kura({"-r", "/dst", "list", "snapshots"}).out).size(), 2u);
  ::setenv("RESTIC_FROM_PASSWORD", ops::testing::kPassword, 1);
  auto second = kura({"-r", "/dst", "copy", "--from-repo", "/src"});
  EXPECT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.out.find("skipping source snapshot"), std::string::npos) << second.out;
  EXPECT_EQ(second.out.find("copy started"), std::string::npos) << second.out;
  EXPECT_EQ(lines(kura({"-r", "/dst", "list", "snapshots"}).out).size(), 2u);
}

TEST_F(RepoCmdsCliTest, InitCopiesChunkerParams) {
  make_repo("/src", 0);
  ::setenv("RESTIC_FROM_PASSWORD", ops::testing::kPassword, 1);
  auto stray = kura({"-r", "/new", "init", "--from-repo", "/src"});
  EXPECT_EQ(stray.code, 1);
  EXPECT_NE(stray.err.find("only be specified when copying the chunker parameters"), std::string::npos);
  auto ok = kura({"-r", "/new", "init", "--from-repo", "/src", "--copy-chunker-params"});
  ASSERT_EQ(ok.code, 0) << ok.err;
  auto a = backend::open_local(&env_, "/src");
  auto b = backend::open_local(&env_, "/new");
  ASSERT_TRUE(a.ok() && b.ok());
  auto ra = repo::Repository::open(a->get(), ops::testing::kPassword);
  auto rb = repo::Repository::open(b->get(), ops::testing::kPassword);
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ((*ra)->config().chunker_polynomial, (*rb)->config().chunker_polynomial);
  EXPECT_NE((*ra)->config().id, (*rb)->config().id);
}

}  // namespace
}  // namespace kura::cli
