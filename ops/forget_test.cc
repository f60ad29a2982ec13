#include "ops/forget.h"

#include <gtest/gtest.h>

#include "backend/mem_backend.h"
#include "repo/snapshot.h"

namespace kura::ops {
namespace {

// A snapshot whose recorded wall clock is "Y-M-D h:m:s" at UTC offset `offset_hours`.
SnapshotEntry snap(int n, int64_t y, int mo, int d, int h, int mi = 0, int s = 0,
                   int offset_hours = 0, std::vector<std::string> tags = {}) {
  SnapshotEntry e;
  e.id.bytes[0] = static_cast<uint8_t>(n);
  e.id.bytes[1] = static_cast<uint8_t>(n >> 8);
  int32_t off = offset_hours * 3600;
  e.sn.time.sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off;
  e.sn.time.offset = off;
  e.sn.hostname = "host";
  e.sn.paths = {"/data"};
  e.sn.tags = std::move(tags);
  return e;
}

int number(const SnapshotEntry& e) { return e.id.bytes[0] | (e.id.bytes[1] << 8); }

std::vector<int> numbers(const std::vector<SnapshotEntry>& v) {
  std::vector<int> out;
  for (const auto& e : v) out.push_back(number(e));
  return out;
}

std::vector<std::string> texts(const KeepReason& r) {
  std::vector<std::string> out;
  for (const auto& m : r.matches) out.push_back(match_text(m));
  return out;
}

// Far in the future, so every snapshot counts for "latest".
constexpr int64_t kNow = 4102444800;  // 2100-01-01

TEST(Calendar, CivilRoundTrip) {
  for (int64_t days = -800000; days <= 800000; days += 37) {
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    EXPECT_EQ(days_from_civil(y, m, d), days);
  }
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);
  EXPECT_EQ(days_from_civil(1, 1, 1), -719162);  // Go's zero time
}

TEST(Calendar, IsoWeek) {
  using P = std::pair<int64_t, int>;
  EXPECT_EQ(iso_week(2021, 1, 3), P(2020, 53));  // Sunday
  EXPECT_EQ(iso_week(2021, 1, 4), P(2021, 1));   // Monday
  EXPECT_EQ(iso_week(2020, 12, 31), P(2020, 53));
  EXPECT_EQ(iso_week(2024, 12, 30), P(2025, 1));
  EXPECT_EQ(iso_week(2015, 12, 31), P(2015, 53));
  EXPECT_EQ(iso_week(2008, 12, 29), P(2009, 1));
  EXPECT_EQ(iso_week(2010, 1, 3), P(2009, 53));
  EXPECT_EQ(iso_week(2023, 6, 15), P(2023, 24));
}

TEST(Duration, Parse) {
  auto d = parse_duration("1y5m7d2h");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(*d, (Duration{1, 5, 7, 2}));
  EXPECT_EQ(d->to_string(), "1y5m7d2h");
  EXPECT_EQ(parse_duration(" 3d ")->days, 3);
  EXPECT_TRUE(parse_duration("")->zero());
  EXPECT_EQ(parse_duration("2h1d")->to_string(), "1d2h");
  EXPECT_EQ(parse_duration("1d2d")->days, 2);  // a later unit replaces an earlier one
  EXPECT_TRUE(parse_duration("-1d")->negative());
}

TEST(Duration, Garbage) {
  for (const char* s : {"d", "5", "5x", "1y2", "abc", "1 d", "--1d", "99999999999999d", "\xff"}) {
    EXPECT_FALSE(parse_duration(s).ok()) << s;
  }
}

TEST(KeepCount, Parse) {
  EXPECT_EQ(*parse_keep_count("7"), 7);
  EXPECT_EQ(*parse_keep_count("unlimited"), kUnlimited);
  EXPECT_EQ(*parse_keep_count("-1"), -1);
  for (const char* s : {"", "x", "7d", "1.5", " 3"}) EXPECT_FALSE(parse_keep_count(s).ok()) << s;
  ExpirePolicy p;
  p.daily = -2;
  EXPECT_FALSE(p.validate().ok());
  p.daily = -1;
  EXPECT_TRUE(p.validate().ok());
  p.within_daily = {0, 0, -1, 0};
  EXPECT_FALSE(p.validate().ok());
}

TEST(TagList, Parse) {
  EXPECT_EQ(parse_tag_list("a, b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parse_tag_list(""), (std::vector<std::string>{""}));
}

TEST(Policy, EmptyKeepsAll) {
  ExpirePolicy p;
  EXPECT_TRUE(p.empty());
  auto r = apply_policy({snap(1, 2020, 1, 1, 0), snap(2, 2020, 1, 2, 0)}, p, kNow);
  EXPECT_EQ(numbers(r.keep), (std::vector<int>{2, 1}));
  EXPECT_TRUE(r.remove.empty());
  EXPECT_EQ(texts(r.reasons[0]), (std::vector<std::string>{"policy is empty"}));
}

TEST(Policy, KeepLast) {
  std::vector<SnapshotEntry> list;
  for (int i = 1; i <= 5; ++i) list.push_back(snap(i, 2020, 1, i, 12));
  ExpirePolicy p;
  p.last = 3;
  auto r = apply_policy(list, p, kNow);
  EXPECT_EQ(numbers(r.keep), (std::vector<int>{5, 4, 3}));
  EXPECT_EQ(numbers(r.remove), (std::vector<int>{2, 1}));
  ASSERT_EQ(r.reasons.size(), 3u);
  EXPECT_EQ(texts(r.reasons[0]), (std::vector<std::string>{"last snapshot"}));
  EXPECT_EQ(r.reasons[0].counters.last, 2);
  EXPECT_EQ(r.reasons[2].counters.last, 0);
}

TEST(Policy, DailyKeepsNewestOfEachDay) {
  std::vector<SnapshotEntry> list = {
      snap(1, 2020, 3, 1, 9), snap(2, 2020, 3, 1, 18), snap(3, 2020, 3, 2, 8),
      snap(4, 2020, 3, 3, 7), snap(5, 2020, 3, 3, 23, 59, 59), snap(6, 2020, 3, 5, 0),
  };
  ExpirePolicy p;
  p.daily = 3;
  auto r = apply_policy(list, p, kNow);
  EXPECT_EQ(numbers(r.keep), (std::vector<int>{6, 5, 3}));
  EXPECT_EQ(numbers(r.remove), (std::vector<int>{4, 2, 1}));
  EXPECT_EQ(texts(r.reasons[1]), (std::vector<std::string>{"daily snapshot"}));
  EXPECT_EQ(r.reasons[1].counters.daily, 1);
}

TEST(Policy, BucketsUseRecordedOffset) {
  // 14:00Z and 16:00Z on the same UTC day, but recorded at +09:00 they fall on the 1st (23:00)
  // and the 2nd (01:00) local time.
  auto a = snap(1, 2024, 3, 1, 23, 0, 0, 9);
  auto b = snap(2, 2024, 3, 2, 1, 0, 0, 9);
  ASSERT_EQ(b.sn.time.sec - a.sn.time.sec, 2 * 3600);
  ExpirePolicy p;
  p.daily = 5;
  EXPECT_EQ(apply_policy({a, b}, p, kNow).keep.size(), 2u);
  // The same instants recorded in UTC share a day.
  a.sn.time.offset = b.sn.time.offset = 0;
  EXPECT_EQ(numbers(apply_policy({a, b}, p, kNow).keep), (std::vector<int>{2}));
  // Negative offset across a year boundary: 2020-12-31 23:30 at -05:00 is 2021 in UTC.
  auto c = snap(3, 2020, 12, 31, 23, 30, 0, -5);
  auto d = snap(4, 2021, 1, 1, 0, 30, 0, 0);
  p = {};
  p.yearly = 5;
  EXPECT_EQ(apply_policy({c, d}, p, kNow).keep.size(), 2u);
}

TEST(Policy, WeeklyUsesIsoWeeks) {
  std::vector<SnapshotEntry> list = {
      snap(1, 2020, 12, 28, 10),  // Monday of 2020-W53
      snap(2, 2020, 12, 31, 10),  // 2020-W53
      snap(3, 2021, 1, 3, 10),    // Sunday, still 2020-W53
      snap(4, 2021, 1, 4, 10),    // 2021-W01
      snap(5, 2021, 1, 10, 10),   // 2021-W01
      snap(6, 2021, 1, 11, 10),   // 2021-W02
  };
  ExpirePolicy p;
  p.weekly = 3;
  auto r = apply_policy(list, p, kNow);
  EXPECT_EQ(numbers(r.keep), (std::vector<int>{6, 5, 3}));
  p.weekly = 2;
  EXPECT_EQ(numbers(apply_policy(list, p, kNow).keep), (std::vector<int>{6, 5}));
}

TEST(Policy, HourlyMonthlyYearly) {
  std::vector<SnapshotEntry> list = {
      snap(1, 2019, 6, 1, 10), snap(2, 2019, 12, 31, 10), snap(3, 2020, 1, 15, 10, 5),
      snap(4, 2020, 1, 15, 10, 55), snap(5, 2020, 1, 15, 11, 0), snap(6, 2020, 2, 1, 0),
  };
  ExpirePolicy p;
  p.hourly = 2;
  EXPECT_EQ(numbers(apply_policy(list, p, kNow).keep), (std::vector<int>{6, 5}));
  p = {};
  p.monthly = 3;
  EXPECT_EQ(numbers(apply_policy(list, p, kNow).keep), (std::vector<int>{6, 5, 2}));
  p = {};
  p.yearly = 5;
  EXPECT_EQ(numbers(apply_policy(list, p, kNow).keep), (std::vector<int>{6, 2}));
  p.monthly = 1;
  auto r = apply_policy(list, p, kNow);
  EXPECT_EQ(numbers(r.keep), (std::vector<int>{6, 2}));
  EXPECT_EQ(texts(r.reasons[0]), (std::vector<std::string>{"monthly snapshot", "yearly snapshot"}));
  EXPECT_EQ(r.reasons[0].counters.monthly, 0);
  EXPECT_EQ(r.reasons[0].counters.yearly, 4);
}

TEST(Policy, UnlimitedKeepsEveryBucket) {
  std::vector<SnapshotEntry> list;
  for (int i = 0; i < 40; ++i) list.push_back(snap(i + 1, 2020, 1, 1 + i / 2, 10 + i % 2));
  ExpirePolicy p;
  p.daily = kUnlimited;
  auto r = apply_policy(list, p, kNow);
  EXPECT_EQ(r.keep.size(), 20u);
  EXPECT_EQ(r.reasons[0].counters.daily, kUnlimited);
}

TEST(Policy, KeepWithinIsRelativeToLatestSnapshot) {
  std::vector<SnapshotEntry> list = {
      snap(1, 2020, 6, 8, 12, 0, 0),  // exactly 2 days before the latest: not within
      snap(2, 2020, 6, 8, 12, 0, 1), snap(3, 2020, 6, 9, 0), snap(4, 2020, 6, 10, 12),
  };
  ExpirePolicy p;
  p.within = {0, 0, 2, 0};
  auto r = apply_policy(list, p, kNow);
  EXPECT_EQ(numbers(r.keep), (std::vector<int>{4, 3, 2}));
  EXPECT_EQ(texts(r.reasons[0]), (std::vector<std::string>{"within 2d"}));
  // A snapshot from the future does not move "latest".
  list.push_back(snap(5, 2099, 1, 1, 0));
  int64_t now = days_from_civil(2021, 1, 1) * 86400;
  r = apply_policy(list, p, now);
  EXPECT_EQ(numbers(r.keep), (std::vector<int>{5, 4, 3, 2}));
  // Hours count too: 1d13h before 06-10 12:00 is 06-08 23:00; 1d12h is 06-09 00:00 exactly.
  p.within = {0, 0, 1, 13};
  EXPECT_EQ(numbers(apply_policy(list, p, now).keep), (std::vector<int>{5, 4, 3}));
  p.within = {0, 0, 1, 12};
  EXPECT_EQ(numbers(apply_policy(list, p, now).keep), (std::vector<int>{5, 4}));
}

TEST(Policy, KeepWithinUsesCalendarMonths) {
  // 2021-03-31 minus one month is "February 31st" = March 3rd (Go's AddDate normalisation).
  std::vector<SnapshotEntry> list = {snap(1, 2021, 3, 2, 23, 59), snap(2, 2021, 3, 3, 0, 0, 1),
                                     snap(3, 2021, 3, 31, 0)};
  ExpirePolicy p;
  p.within = {0, 1, 0, 0};
  EXPECT_EQ(numbers(apply_policy(list, p, kNow).keep), (std::vector<int>{3, 2}));
  // One year before 2020-02-29 is 2019-03-01.
  list = {snap(1, 2019, 2, 28, 23), snap(2, 2019, 3, 1, 0, 0, 1), snap(3, 2020, 2, 29, 0)};
  p.within = {1, 0, 0, 0};
  EXPECT_EQ(numbers(apply_policy(list, p, kNow).keep), (std::vector<int>{3, 2}));
}

TEST(Policy, KeepWithinBuckets) {
  std::vector<SnapshotEntry> list;
  int n = 0;
  for (int day = 1; day <= 10; ++day) {
    for (int h : {6, 18}) list.push_back(snap(++n, 2020, 5, day, h));
  }
  ExpirePolicy p;
  p.within_daily = {0, 0, 3, 0};  // threshold 2020-05-07 18:00
  auto r = apply_policy(list, p, kNow);
  EXPECT_EQ(numbers(r.keep), (std::vector<int>{20, 18, 16}));
  EXPECT_EQ(texts(r.reasons[0]), (std::vector<std::string>{"daily within 3d"}));
  p = {};
  p.within_hourly = {0, 0, 1, 0};
  EXPECT_EQ(numbers(apply_policy(list, p, kNow).keep), (std::vector<int>{20, 19}));
  p = {};
  p.within_weekly = {0, 0, 14, 0};
  // 2020-05-10 is a Sunday: W19 = May 4..10, W18 = Apr 27..May 3.
  EXPECT_EQ(numbers(apply_policy(list, p, kNow).keep), (std::vector<int>{20, 6}));
  p = {};
  p.within_monthly = {1, 0, 0, 0};
  p.within_yearly = {1, 0, 0, 0};
  r = apply_policy(list, p, kNow);
  EXPECT_EQ(numbers(r.keep), (std::vector<int>{20}));
  EXPECT_EQ(texts(r.reasons[0]), (std::vector<std::string>{"monthly within 1y", "yearly within 1y"}));
}

TEST(Policy, KeepTags) {
  std::vector<SnapshotEntry> list = {
      snap(1, 2020, 1, 1, 0, 0, 0, 0, {"a"}), snap(2, 2020, 1, 2, 0, 0, 0, 0, {"a", "b"}),
      snap(3, 2020, 1, 3, 0, 0, 0, 0, {}), snap(4, 2020, 1, 4, 0, 0, 0, 0, {"c"}),
  };
  ExpirePolicy p;
  p.keep_tags = {{"a", "b"}};
  EXPECT_EQ(numbers(apply_policy(list, p, kNow).keep), (std::vector<int>{2}));
  p.keep_tags = {{"a"}, {"c"}};
  auto r = apply_policy(list, p, kNow);
  EXPECT_EQ(numbers(r.keep), (std::vector<int>{4, 2, 1}));
  EXPECT_EQ(texts(r.reasons[0]), (std::vector<std::string>{"has tags [c]"}));
  p.keep_tags = {{""}};  // "" matches untagged snapshots
  EXPECT_EQ(numbers(apply_policy(list, p, kNow).keep), (std::vector<int>{3}));
  p.keep_tags = {{"a", "b"}};
  p.last = 1;
  r = apply_policy(list, p, kNow);
  EXPECT_EQ(numbers(r.keep), (std::vector<int>{4, 2}));
  EXPECT_EQ(texts(r.reasons[1]), (std::vector<std::string>{"has tags [a, b]"}));
  // Tags and counted rules together, in restic's order.
  p.keep_tags = {{"c"}};
  p.last = 1;
  p.daily = 1;
  r = apply_policy(list, p, kNow);
  EXPECT_EQ(texts(r.reasons[0]), (std::vector<std::string>{"has tags [c]", "last snapshot", "daily snapshot"}));
}

TEST(Policy, TiesAreStable) {
  auto a = snap(1, 2020, 1, 1, 0);
  auto b = snap(2, 2020, 1, 1, 0);
  ExpirePolicy p;
  p.last = 1;
  EXPECT_EQ(numbers(apply_policy({a, b}, p, kNow).keep), (std::vector<int>{1}));
  EXPECT_EQ(numbers(apply_policy({b, a}, p, kNow).keep), (std::vector<int>{2}));
}

TEST(Grouping, ParseGroupBy) {
  auto g = parse_group_by("host,paths");
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->host && g->paths && !g->tags);
  g = parse_group_by("");
  EXPECT_TRUE(!g->host && !g->paths && !g->tags);
  g = parse_group_by("tag,path");
  EXPECT_TRUE(!g->host && g->paths && g->tags);
  for (const char* s : {"hostname", "host;paths", "host,,x", " host"}) {
    EXPECT_FALSE(parse_group_by(s).ok()) << s;
  }
}

TEST(Grouping, GroupsByKey) {
  auto a = snap(1, 2020, 1, 1, 0, 0, 0, 0, {"y", "x"});
  auto b = snap(2, 2020, 1, 2, 0, 0, 0, 0, {"x", "y"});
  auto c = snap(3, 2020, 1, 3, 0);
  c.sn.hostname = "other";
  auto d = snap(4, 2020, 1, 4, 0);
  d.sn.paths = {"/z", "/a"};
  auto groups = group_snapshots({a, b, c, d}, {true, true, false});
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].hostname, "host");
  EXPECT_EQ(groups[0].paths, (std::vector<std::string>{"/a", "/z"}));  // sorted, as restic
  EXPECT_EQ(numbers(groups[1].snapshots), (std::vector<int>{1, 2}));
  EXPECT_TRUE(groups[1].tags.empty());
  EXPECT_EQ(groups[2].hostname, "other");

  groups = group_snapshots({a, b, c, d}, {false, false, true});
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_TRUE(groups[0].tags.empty());
  EXPECT_EQ(numbers(groups[0].snapshots), (std::vector<int>{3, 4}));
  EXPECT_EQ(groups[1].tags, (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(groups[1].hostname.empty() && groups[1].paths.empty());

  EXPECT_EQ(group_snapshots({a, b, c, d}, {}).size(), 1u);
}

// --- against a repository ---

class ForgetRepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = repo::Repository::init(&be_, "pw", {2, 0, {16384, 8, 1}, "u", "h"});
    ASSERT_TRUE(r.ok()) << r.status().message();
    repo_ = std::move(*r);
  }

  repo::Id add(int64_t day, const std::string& host, std::vector<std::string> tags = {}) {
    repo::Snapshot sn;
    sn.time = {days_from_civil(2020, 1, 1) * 86400 + day * 86400, 0, 0};
    sn.tree.bytes[0] = 1;
    sn.paths = {"/data"};
    sn.hostname = host;
    sn.tags = std::move(tags);
    auto id = repo_->save_unpacked(backend::FileKind::kSnapshot, repo::encode_snapshot(sn));
    EXPECT_TRUE(id.ok());
    return *id;
  }

  backend::MemBackend be_;
  std::unique_ptr<repo::Repository> repo_;
};

TEST_F(ForgetRepoTest, PlansPerGroupAndRemoves) {
  repo::Id a1 = add(1, "a"), a2 = add(2, "a"), a3 = add(3, "a");
  repo::Id b1 = add(1, "b"), b2 = add(5, "b", {"keep"});
  ForgetOptions opts;
  opts.policy.last = 1;
  opts.now_sec = kNow;
  auto plan = plan_forget(*repo_, opts);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->groups.size(), 2u);
  EXPECT_EQ(plan->groups[0].group.hostname, "a");
  EXPECT_EQ(plan->groups[0].result.keep[0].id, a3);
  std::vector<repo::Id> want = {a1, a2, b1};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(plan->remove, want);

  // Filters narrow the candidates.
  opts.filter.hosts = {"b"};
  plan = plan_forget(*repo_, opts);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->remove, std::vector<repo::Id>{b1});

  ASSERT_TRUE(remove_snapshots(*repo_, plan->remove).ok());
  auto left = repo_->list_ids(backend::FileKind::kSnapshot);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->size(), 4u);
  (void)b2;
}

TEST_F(ForgetRepoTest, EmptyPolicyRemovesNothing) {
  add(1, "a");
  ForgetOptions opts;
  auto plan = plan_forget(*repo_, opts);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->policy_empty);
  EXPECT_TRUE(plan->remove.empty());
}

TEST_F(ForgetRepoTest, ExplicitIds) {
  repo::Id a1 = add(1, "a"), a2 = add(2, "a");
  add(3, "b");
  ForgetOptions opts;
  opts.snapshot_ids = {a1.hex().substr(0, 8), "latest", "ffffffff"};
  opts.filter.hosts = {"a"};
  auto plan = plan_forget(*repo_, opts);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  std::vector<repo::Id> want = {a1, a2};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(plan->remove, want);  // "latest" honours the host filter
  ASSERT_EQ(plan->ignored_ids.size(), 1u);
  EXPECT_EQ(plan->ignored_ids[0].first, "ffffffff");
  EXPECT_FALSE(plan->filters_ignored);
  opts.snapshot_ids = {a1.hex()};
  EXPECT_TRUE(plan_forget(*repo_, opts)->filters_ignored);
}

TEST_F(ForgetRepoTest, RejectsInvalidPolicy) {
  ForgetOptions opts;
  opts.policy.last = -5;
  EXPECT_EQ(plan_forget(*repo_, opts).status().code(), base::Code::kInvalidArgument);
}

}  // namespace
}  // namespace kura::ops
