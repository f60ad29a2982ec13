#include "repo/lock_json.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include "base/env.h"
#include "repo/gojson.h"

namespace kura::repo {
namespace {

std::string str(const base::Bytes& b) { return std::string(b.begin(), b.end()); }

TEST(LockJson, EncodesLikeRestic) {
  Lock lock;
  lock.time = *parse_go_time("2026-11-25T00:09:10.5+05:30");
  lock.hostname = "vm";
  lock.username = "root";
  lock.pid = 13761;
  EXPECT_EQ(str(encode_lock(lock)),
            R"({"time":"2026-11-25T00:09:10.5+05:30","exclusive":false,"hostname":"vm","username":"root","pid":13761})");
  lock.exclusive = true;
  lock.uid = 1000;
  lock.gid = 100;
  lock.hostname = "";
  lock.username = "a&b";
  EXPECT_EQ(str(encode_lock(lock)),
            R"({"time":"2026-11-25T00:09:10.5+05:30","exclusive":true,"hostname":"","username":"a\u0026b","pid":13761,"uid":1000,"gid":100})");
  auto back = decode_lock(encode_lock(lock));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, lock);
}

TEST(LockJson, DecodeIgnoresUnknownFields) {
  auto lock = decode_lock(base::to_bytes(
      R"({"time":"2024-01-02T03:04:05Z","exclusive":true,"hostname":"h","future":[{}],"pid":-5,"uid":null})"));
  ASSERT_TRUE(lock.ok()) << lock.status().to_string();
  EXPECT_TRUE(lock->exclusive);
  EXPECT_EQ(lock->pid, -5);
  EXPECT_EQ(lock->hostname, "h");
  EXPECT_EQ(lock->time.sec, 1704164645);
}

TEST(LockJson, DecodeErrors) {
  for (std::string_view bad : {"", "{", "[]", R"({"exclusive":"yes"})", R"({"pid":1.5})",
                               R"({"time":"2024-01-02"})", R"({"uid":-1})", R"({} x)"}) {
    auto r = decode_lock(base::to_bytes(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), base::Code::kDataLoss);
    EXPECT_EQ(r.status().message().rfind("lock: ", 0), 0u) << r.status().message();
  }
  std::mt19937 rng(5);
  for (int i = 0; i < 5000; ++i) {
    base::Bytes doc(rng() % 60);
    for (auto& c : doc) c = uint8_t(rng());
    EXPECT_FALSE(decode_lock(doc).ok());
  }
}

constexpr const char* kRestic = "/usr/bin/restic";

std::string run(const std::string& cmd, int* exit_code) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// restic holds a lock while `backup --stdin` waits for input; read that lock with `cat lock`.
TEST(ResticOracle, LockRoundTrips) {
  if (access(kRestic, X_OK) != 0) GTEST_SKIP() << "no " << kRestic;
  char tmpl[] = "/tmp/kura-lock-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  const std::string restic = "cd " + dir + " && TZ=Asia/Kolkata RESTIC_PASSWORD=pw " + kRestic +
                             " --no-cache -q -r repo ";
  int rc = -1;
  run(restic + "init", &rc);
  ASSERT_EQ(rc, 0);
  FILE* backup = popen((restic + "backup --stdin --stdin-filename f >/dev/null 2>&1").c_str(), "w");
  ASSERT_NE(backup, nullptr);
  std::string ids;
  for (int i = 0; i < 300 && ids.empty(); ++i) {
    ids = run(restic + "--no-lock list locks", &rc);
    if (ids.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string json;
  if (!ids.empty()) json = run(restic + "--no-lock cat lock " + ids.substr(0, 64), &rc);
  fputs("data", backup);
  EXPECT_EQ(pclose(backup), 0);
  ASSERT_FALSE(ids.empty()) << "restic never showed its lock";
  ASSERT_EQ(rc, 0);
  auto lock = decode_lock(base::as_bytes(json));
  ASSERT_TRUE(lock.ok()) << lock.status().to_string() << "\n" << json;
  EXPECT_FALSE(lock->exclusive);
  EXPECT_GT(lock->pid, 0);
  EXPECT_EQ(lock->time.offset, 19800);
  // cat prints json.MarshalIndent; without the indentation it is what restic stored.
  JsonReader r(json);
  std::string compact;
  ASSERT_TRUE(r.read_raw_value(compact).ok());
  EXPECT_EQ(str(encode_lock(*lock)), compact);
  base::posix_env()->remove_all(dir).ignore();
}

}  // namespace
}  // namespace kura::repo
