#include "service/backup_policy.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace kura::service {
namespace {

using nlohmann::json;

TEST(BackupPolicy, FillsDefaultsInCanonicalForm) {
  auto p = normalize_backup_policy(R"({"targets":["C:\\カルテ"]})");
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  json j = json::parse(*p);
  EXPECT_EQ(j["schedule"], "daily 02:00");
  EXPECT_EQ(j["retention"]["keep_daily"], 7);
  EXPECT_EQ(j["retention"]["keep_last"], 0);
  EXPECT_EQ(j["bandwidth"]["limit_kbps"], 0);
  EXPECT_EQ(j["exclusions"].size(), 0u);
  // Canonical: normalizing again changes nothing.
  EXPECT_EQ(*normalize_backup_policy(*p), *p);
  EXPECT_EQ(schedule_grace_seconds(*p), 26 * 3600);
}

TEST(BackupPolicy, AcceptsEverySchedule) {
  for (const char* s : {"hourly", "daily 00:00", "daily 23:59", "weekly sun 03:00", "weekly sat 22:30"}) {
    json in{{"targets", {"/srv"}}, {"schedule", s}};
    EXPECT_TRUE(normalize_backup_policy(in.dump()).ok()) << s;
  }
  EXPECT_EQ(schedule_grace_seconds(*normalize_backup_policy(R"({"targets":["/a"],"schedule":"hourly"})")), 7200);
}

TEST(BackupPolicy, RefusesGarbage) {
  const char* bad[] = {
      "", "[]", "{", "null", R"({})", R"({"targets":[]})", R"({"targets":"C:"})",
      R"({"targets":[""]})", R"({"targets":["a\u0001b"]})", R"({"targets":[1]})",
      R"({"targets":["/a"],"schedule":"daily 24:00"})", R"({"targets":["/a"],"schedule":"daily 2:00"})",
      R"({"targets":["/a"],"schedule":"weekly xyz 03:00"})", R"({"targets":["/a"],"schedule":"monthly"})",
      R"({"targets":["/a"],"schedule":7})", R"({"targets":["/a"],"retention":{"keep_daily":-1}})",
      R"({"targets":["/a"],"retention":{"keep_daily":1.5}})", R"({"targets":["/a"],"retention":{"keep_forever":1}})",
      R"({"targets":["/a"],"retention":{"keep_daily":0}})", R"({"targets":["/a"],"retention":[]})",
      R"({"targets":["/a"],"bandwidth":{"limit_kbps":-5}})", R"({"targets":["/a"],"bandwidth":{"window":"22-06"}})",
      R"({"targets":["/a"],"bandwidth":{"burst":1}})", R"({"targets":["/a"],"colour":"red"})",
      R"({"targets":["/a"],"exclusions":"*.tmp"})"};
  for (const char* text : bad) {
    auto p = normalize_backup_policy(text);
    EXPECT_EQ(p.status().code(), base::Code::kInvalidArgument) << text;
  }
  json many{{"targets", json::array()}};
  for (int i = 0; i < 65; ++i) many["targets"].push_back("/t" + std::to_string(i));
  EXPECT_FALSE(normalize_backup_policy(many.dump()).ok());
  EXPECT_EQ(schedule_grace_seconds("not json"), 0);
}

}  // namespace
}  // namespace kura::service
