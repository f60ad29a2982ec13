#include "ops/filter.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "base/mem_env.h"

namespace kura::ops {
namespace {

TEST(Filter, MatchesAsResticDoes) {
  Filter f;
  ASSERT_TRUE(f.add("*.tmp", false).ok());
  ASSERT_TRUE(f.add("cache", false).ok());
  ASSERT_TRUE(f.add("/srv/skip", false).ok());
  ASSERT_TRUE(f.add("*.JPG", true).ok());
  EXPECT_TRUE(f.matches("/a/b/x.tmp"));
  EXPECT_TRUE(f.matches("/home/u/cache"));
  EXPECT_TRUE(f.matches("/home/u/cache/deep/file"));  // and what is below it
  EXPECT_TRUE(f.matches("/srv/skip"));
  EXPECT_TRUE(f.matches("/srv/skip/x"));
  EXPECT_FALSE(f.matches("/x/srv/skip"));  // anchored at the root
  EXPECT_TRUE(f.matches("/photos/a.jpg"));
  EXPECT_FALSE(f.matches("/a/b/x.txt"));
  EXPECT_FALSE(f.matches("/cached"));
  EXPECT_EQ(f.originals(), (std::vector<std::string>{"*.tmp", "cache", "/srv/skip", "*.JPG"}));
}

TEST(Filter, RejectsBadPatterns) {
  Filter f;
  EXPECT_EQ(f.add("", false).code(), base::Code::kInvalidArgument);
  base::Status st = f.add("a[bc", false);
  EXPECT_EQ(st.code(), base::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("a[bc"), std::string::npos) << st.message();
  EXPECT_TRUE(f.empty());
}

TEST(Filter, ReadsPatternFiles) {
  base::MemEnv env;
  ::setenv("KURA_FILTER_TEST_DIR", "/var", 1);
  ASSERT_TRUE(env.write_file("/excl", base::as_bytes(std::string(
                                          "# comment\n\n  *.bak  \n${KURA_FILTER_TEST_DIR}/log\r\n$KURA_FILTER_TEST_DIR/tmp\n"
                                          "no-newline-at-end")))
                  .ok());
  Filter f;
  ASSERT_TRUE(f.add_file(env, "/excl", false).ok());
  EXPECT_EQ(f.originals(), (std::vector<std::string>{"*.bak", "/var/log", "/var/tmp", "no-newline-at-end"}));
  EXPECT_TRUE(f.matches("/home/a.bak"));
  EXPECT_TRUE(f.matches("/var/log/syslog"));
  ::unsetenv("KURA_FILTER_TEST_DIR");
}

// The error names the flag that named the file, the file and the reason, without the syscall.
TEST(Filter, FileErrorsNameTheFlagAndThePath) {
  base::MemEnv env;
  Filter f;
  base::Status st = f.add_file(env, "/missing", false);
  EXPECT_EQ(st.code(), base::Code::kNotFound);
  EXPECT_EQ(st.message().rfind("--exclude-file /missing: ", 0), 0u) << st.message();
  st = f.add_file(env, "/missing", true);
  EXPECT_EQ(st.message().rfind("--iexclude-file /missing: ", 0), 0u) << st.message();

  ASSERT_TRUE(env.write_file("/bad", base::as_bytes(std::string("ok\n[unclosed\n"))).ok());
  st = f.add_file(env, "/bad", false);
  EXPECT_EQ(st.code(), base::Code::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("--exclude-file /bad: ", 0), 0u) << st.message();
  EXPECT_NE(st.message().find("[unclosed"), std::string::npos) << st.message();
}

TEST(ReadFlagFile, ReadsOrNamesFlagPathAndReason) {
  base::MemEnv env;
  ASSERT_TRUE(env.write_file("/list", base::as_bytes(std::string("a\nb\n"))).ok());
  auto data = read_flag_file(env, "--files-from", "/list");
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(std::string(data->begin(), data->end()), "a\nb\n");

  auto missing = read_flag_file(env, "--files-from", "/nope/list");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::Code::kNotFound);
  EXPECT_EQ(missing.status().message().rfind("--files-from /nope/list: ", 0), 0u) << missing.status().message();
  // Only the reason is left after the path: no "open", and the path once.
  std::string m = missing.status().message();
  EXPECT_EQ(m.find("open"), std::string::npos) << m;
  EXPECT_EQ(m.find("/nope/list", 1), m.rfind("/nope/list")) << m;

  ASSERT_TRUE(env.make_dirs("/dir", 0755).ok());
  auto dir = read_flag_file(env, "KURA_PASSWORD_FILE", "/dir");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().message().rfind("KURA_PASSWORD_FILE /dir: ", 0), 0u) << dir.status().message();
}

}  // namespace
}  // namespace kura::ops
