// forget: which snapshots a retention policy keeps (restic 0.14 semantics, RESTIC_FORMAT.md §11),
// and removing the snapshot files of the others. The policy engine (apply_policy) is a pure
// function of the snapshot list, the policy and "now"; plan_forget adds loading, filtering and
// grouping, and remove_snapshots deletes files (the caller holds an exclusive lock).
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ops/snapshots.h"
#include "repo/repository.h"

namespace kura::ops {

// A calendar duration such as "1y5m7d2h" (restic's Duration): applied with calendar arithmetic
// in the zone of the snapshot it is measured from, so "1m" is a month, not 30 days.
struct Duration {
  int years = 0, months = 0, days = 0, hours = 0;
  bool zero() const { return years == 0 && months == 0 && days == 0 && hours == 0; }
  bool negative() const { return years < 0 || months < 0 || days < 0 || hours < 0; }
  // "1y5m7d2h" with zero parts left out (restic's String()).
  std::string to_string() const;
  friend bool operator==(const Duration&, const Duration&) = default;
};

// restic's ParseDuration: numbers each followed by one of y, m, d, h; a later unit of the same
// kind replaces an earlier one. "" is the zero duration.
base::StatusOr<Duration> parse_duration(std::string_view s);

// Count flags accept a number or "unlimited" (= -1: every bucket is kept; restic 0.16+).
constexpr int kUnlimited = -1;
base::StatusOr<int> parse_keep_count(std::string_view s);

// "a,b" -> {"a","b"} with spaces trimmed (restic's TagList).
std::vector<std::string> parse_tag_list(std::string_view s);

struct ExpirePolicy {
  int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;  // or kUnlimited
  Duration within;  // keep everything newer than (latest - within)
  Duration within_hourly, within_daily, within_weekly, within_monthly, within_yearly;
  // A snapshot carrying every tag of any one of these lists is kept.
  std::vector<std::vector<std::string>> keep_tags;

  bool empty() const;
  // invalid_argument for counts below -1 or negative durations.
  base::Status validate() const;
};

// Why a snapshot was kept. The JSON "matches" strings are restic's (match_text).
enum class KeepRule {
  kPolicyEmpty,
  kTags,  // KeepMatch::tags
  kWithin,  // KeepMatch::within
  kLast, kHourly, kDaily, kWeekly, kMonthly, kYearly,
  kWithinHourly, kWithinDaily, kWithinWeekly, kWithinMonthly, kWithinYearly,  // ::within
};

struct KeepMatch {
  KeepRule rule = KeepRule::kLast;
  std::vector<std::string> tags;
  Duration within;
};

// restic's English text of a match ("daily snapshot", "has tags [a, b]", "within 1d", ...), as
// restic's forget --json writes it. Machine-readable output, not UI text.
std::string match_text(const KeepMatch& m);

// Bucket counters left after a snapshot was evaluated (restic's KeepReason.Counters).
struct KeepCounters {
  int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;
};

struct KeepReason {
  std::vector<KeepMatch> matches;
  KeepCounters counters;
};

struct PolicyResult {
  std::vector<SnapshotEntry> keep, remove;  // both newest first
  std::vector<KeepReason> reasons;          // reasons[i] is why keep[i] is kept
};

// Applies the policy to one group. The list is sorted newest first (stable). "Latest" for the
// within rules is the newest snapshot that is strictly older than now (now: Unix seconds).
// Buckets (hour, day, ISO week, month, year) use each snapshot's own recorded UTC offset.
PolicyResult apply_policy(std::vector<SnapshotEntry> list, const ExpirePolicy& policy,
                          int64_t now_sec, int32_t now_nsec = 0);

// --- grouping (restic's --group-by) ---
struct GroupBy {
  bool host = false, paths = false, tags = false;
};
// Comma-separated "host", "paths", "tags" (singular forms too); "" disables grouping.
base::StatusOr<GroupBy> parse_group_by(std::string_view s);

struct SnapshotGroup {
  // The group key; a field not grouped by is empty (JSON null). paths and tags are sorted.
  std::string hostname;
  std::vector<std::string> paths, tags;
  std::vector<SnapshotEntry> snapshots;  // in input order
};

// Groups in a stable order (sorted by key). As restic, each snapshot's paths get sorted.
std::vector<SnapshotGroup> group_snapshots(std::vector<SnapshotEntry> list, const GroupBy& by);

// --- the whole command ---
struct ForgetOptions {
  ExpirePolicy policy;
  SnapshotFilter filter;
  GroupBy group_by{true, true, false};
  // Explicit snapshots to forget ("latest" or id prefixes): the policy is then not used.
  std::vector<std::string> snapshot_ids;
  int64_t now_sec = 0;
  int32_t now_nsec = 0;
};

struct ForgetGroupResult {
  SnapshotGroup group;
  PolicyResult result;
};

struct ForgetPlan {
  bool policy_empty = false;               // no policy and no ids: nothing is removed
  std::vector<ForgetGroupResult> groups;   // empty when ids were given or the policy is empty
  std::vector<repo::Id> remove;            // sorted, unique
  // Explicit ids that did not resolve, with why (restic warns "Ignoring ..." and goes on).
  std::vector<std::pair<std::string, base::Status>> ignored_ids;
  bool filters_ignored = false;  // filters given together with explicit ids (except "latest")
  // Without ids: snapshot files that could not be read. They are neither kept nor removed and
  // the policy is applied to the others (restic warns and goes on).
  std::vector<SnapshotLoadError> unreadable;
};

// Loads the snapshots and decides; changes nothing.
base::StatusOr<ForgetPlan> plan_forget(repo::Repository& repo, const ForgetOptions& opts);

// Deletes the snapshot files (in parallel); the first failure is returned, as restic's
// DeleteFilesChecked. `deleted` (optional) counts files removed so far.
base::Status remove_snapshots(repo::Repository& repo, const std::vector<repo::Id>& ids,
                              std::atomic<uint64_t>* deleted = nullptr);

// Calendar helpers, exposed for tests: civil date of a day number (days since 1970-01-01) and
// back, and the ISO 8601 (year, week) of a date.
int64_t days_from_civil(int64_t y, int m, int d);
void civil_from_days(int64_t days, int64_t* y, int* m, int* d);
std::pair<int64_t, int> iso_week(int64_t y, int m, int d);

}  // namespace kura::ops
