#include "fs/go_time.h"

#include <gtest/gtest.h>

namespace kura::fs {
namespace {

// 2023-11-14 22:13:20 UTC, a Tuesday.
constexpr int64_t kT = 1700000000;

TEST(GoTimeTest, Rfc3339InUtcEndsInZ) {
  EXPECT_EQ(format_go_layout({kT, 0, 0}, kDefaultTimeTemplate), "2023-11-14T22:13:20Z");
}

TEST(GoTimeTest, Rfc3339KeepsTheRecordedOffset) {
  EXPECT_EQ(format_go_layout({kT, 0, 9 * 3600}, kDefaultTimeTemplate), "2023-11-15T07:13:20+09:00");
  EXPECT_EQ(format_go_layout({kT, 0, -(5 * 3600 + 30 * 60)}, kDefaultTimeTemplate),
            "2023-11-14T16:43:20-05:30");
}

TEST(GoTimeTest, LayoutWithoutColons) {
  EXPECT_EQ(format_go_layout({kT, 0, 0}, "2006-01-02_15-04-05"), "2023-11-14_22-13-20");
}

TEST(GoTimeTest, NamesTwelveHourClockAndYearDay) {
  EXPECT_EQ(format_go_layout({kT, 0, 0}, "Mon Monday Jan January 3:4:5 PM pm 06 002 _2 1/2"),
            "Tue Tuesday Nov November 10:13:20 PM pm 23 318 14 11/14");
  // A lower-case letter after "Jan"/"Mon" makes them literal, as in Go.
  EXPECT_EQ(format_go_layout({kT, 0, 0}, "Month"), "Month");
}

TEST(GoTimeTest, FractionsOfSeconds) {
  repo::NodeTime t{kT, 120000000, 0};
  EXPECT_EQ(format_go_layout(t, "05.000"), "20.120");
  EXPECT_EQ(format_go_layout(t, "05.999999"), "20.12");
  EXPECT_EQ(format_go_layout({kT, 0, 0}, "05.999"), "20");
}

// time.Time.String(), as restic's ls header and copy lines print a snapshot's time.
TEST(GoTimeTest, TimeString) {
  EXPECT_NE(go_time_string({kT, 120000000, 0}).find(":20.12 +0000 UTC"), std::string::npos);
  EXPECT_NE(go_time_string({kT, 0, 0}).find(":20 +0000 UTC"), std::string::npos);
}

TEST(GoTimeTest, ZoneForms) {
  repo::NodeTime t{kT, 0, 3600};
  EXPECT_EQ(format_go_layout(t, "-0700 -07 Z0700"), "+0100 +01 +0100");
  EXPECT_EQ(format_go_layout({kT, 0, 0}, "-0700 Z0700 MST"), "+0000 Z UTC");
}

}  // namespace
}  // namespace kura::fs
