#include "ops/forget.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "base/thread_pool.h"

namespace kura::ops {
namespace {

// Go's zero time.Time (0001-01-01T00:00:00Z): findLatestTimestamp's starting value.
constexpr int64_t kGoZeroSec = -62135596800;

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// The wall clock of a time in its own recorded zone, as Go's Time methods see it.
struct Civil {
  int64_t year;
  int month, day, hour, minute, second;
};

Civil civil_of(const repo::NodeTime& t) {
  int64_t local = t.sec + t.offset;
  int64_t days = floor_div(local, 86400);
  int64_t rem = local - days * 86400;
  Civil c{};
  civil_from_days(days, &c.year, &c.month, &c.day);
  c.hour = static_cast<int>(rem / 3600);
  c.minute = static_cast<int>(rem / 60 % 60);
  c.second = static_cast<int>(rem % 60);
  return c;
}

bool after(const repo::NodeTime& a, const repo::NodeTime& b) {
  return a.sec != b.sec ? a.sec > b.sec : a.nsec > b.nsec;
}

// Go: t.AddDate(-y, -m, -d).Add(-h hours), in t's zone (a fixed offset, so no DST shifts).
repo::NodeTime subtract(const repo::NodeTime& t, const Duration& d) {
  Civil c = civil_of(t);
  int64_t month0 = static_cast<int64_t>(c.month - 1) - d.months;
  int64_t year = c.year - d.years + floor_div(month0, 12);
  int month = static_cast<int>(month0 - floor_div(month0, 12) * 12) + 1;
  // Day overflow (Jan 31 - ... = Feb 31) normalises into the next month, as Go's Date does.
  int64_t days = days_from_civil(year, month, 1) + (c.day - 1) - d.days;
  int64_t local = days * 86400 + c.hour * 3600 + c.minute * 60 + c.second;
  repo::NodeTime out = t;
  out.sec = local - t.offset - static_cast<int64_t>(d.hours) * 3600;
  return out;
}

int64_t bucket_value(KeepRule rule, const repo::NodeTime& t, size_t nr) {
  Civil c = civil_of(t);
  switch (rule) {
    case KeepRule::kLast:
      return static_cast<int64_t>(nr);
    case KeepRule::kHourly:
    case KeepRule::kWithinHourly:
      return c.year * 1000000 + c.month * 10000 + c.day * 100 + c.hour;
    case KeepRule::kDaily:
    case KeepRule::kWithinDaily:
      return c.year * 10000 + c.month * 100 + c.day;
    case KeepRule::kWeekly:
    case KeepRule::kWithinWeekly: {
      auto [y, w] = iso_week(c.year, c.month, c.day);
      return y * 100 + w;
    }
    case KeepRule::kMonthly:
    case KeepRule::kWithinMonthly:
      return c.year * 100 + c.month;
    default:
      return c.year;
  }
}

// restic's Snapshot.HasTags: every tag present; "" matches a snapshot without tags.
bool has_tags(const repo::Snapshot& sn, const std::vector<std::string>& list) {
  for (const auto& tag : list) {
    if (tag.empty() && sn.tags.empty()) return true;
    if (std::find(sn.tags.begin(), sn.tags.end(), tag) == sn.tags.end()) return false;
  }
  return true;
}

// restic's TagList.String().
std::string tag_list_text(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s + "]";
}

std::string trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r')) ++a;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\n' || s[b - 1] == '\r')) --b;
  return std::string(s.substr(a, b - a));
}

}  // namespace

// --- calendar ---

// Howard Hinnant's algorithms (proleptic Gregorian, any year).
int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = floor_div(y, 400);
  int64_t yoe = y - era * 400;
  int64_t mp = (m + 9) % 12;
  int64_t doy = (153 * mp + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  int64_t era = floor_div(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

std::pair<int64_t, int> iso_week(int64_t y, int m, int d) {
  int64_t days = days_from_civil(y, m, d);
  // 1970-01-01 was a Thursday; ISO weekday Monday=1 .. Sunday=7.
  int weekday = static_cast<int>(floor_div(days + 3, 7) * -7 + days + 3) + 1;
  // The ISO week belongs to the year of its Thursday.
  int64_t thursday = days + (4 - weekday);
  int64_t ty;
  int tm, td;
  civil_from_days(thursday, &ty, &tm, &td);
  int64_t yday = thursday - days_from_civil(ty, 1, 1);
  return {ty, static_cast<int>(yday / 7 + 1)};
}

// --- parsing ---

std::string Duration::to_string() const {
  std::string s;
  if (years) s += std::to_string(years) + "y";
  if (months) s += std::to_string(months) + "m";
  if (days) s += std::to_string(days) + "d";
  if (hours) s += std::to_string(hours) + "h";
  return s;
}

base::StatusOr<Duration> parse_duration(std::string_view in) {
  std::string s = trim(in);
  Duration d;
  size_t i = 0;
  while (i < s.size()) {
    bool negative = false;
    if (s[i] == '-') {
      negative = true;
      ++i;
    }
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) {
      return base::invalid_argument("invalid duration \"" + std::string(in) + "\": no number found");
    }
    int num = 0;
    auto r = std::from_chars(s.data() + start, s.data() + i, num);
    if (r.ec != std::errc()) {
      return base::invalid_argument("invalid duration \"" + std::string(in) + "\": number too large");
    }
    if (negative) num = -num;
    if (i == s.size()) {
      return base::invalid_argument("invalid duration \"" + std::string(in) +
                                    "\": no unit found after number " + std::to_string(num));
    }
    switch (s[i]) {
      case 'y': d.years = num; break;
      case 'm': d.months = num; break;
      case 'd': d.days = num; break;
      case 'h': d.hours = num; break;
      default:
        return base::invalid_argument("invalid duration \"" + std::string(in) + "\": invalid unit '" +
                                      std::string(1, s[i]) + "' after number " + std::to_string(num));
    }
    ++i;
  }
  return d;
}

base::StatusOr<int> parse_keep_count(std::string_view s) {
  if (s == "unlimited") return kUnlimited;
  int v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
    return base::invalid_argument("invalid count \"" + std::string(s) + "\": want a number or \"unlimited\"");
  }
  return v;
}

std::vector<std::string> parse_tag_list(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  for (;;) {
    size_t j = s.find(',', i);
    out.push_back(trim(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i)));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return out;
}

bool ExpirePolicy::empty() const {
  return last == 0 && hourly == 0 && daily == 0 && weekly == 0 && monthly == 0 && yearly == 0 &&
         within.zero() && within_hourly.zero() && within_daily.zero() && within_weekly.zero() &&
         within_monthly.zero() && within_yearly.zero() && keep_tags.empty();
}

base::Status ExpirePolicy::validate() const {
  for (int c : {last, hourly, daily, weekly, monthly, yearly}) {
    if (c < kUnlimited) {
      return base::invalid_argument("negative values other than -1 (unlimited) are not allowed for --keep-*");
    }
  }
  for (const Duration* d : {&within, &within_hourly, &within_daily, &within_weekly, &within_monthly,
                            &within_yearly}) {
    if (d->negative()) {
      return base::invalid_argument("durations containing negative values are not allowed for --keep-within*");
    }
  }
  return base::ok_status();
}

std::string match_text(const KeepMatch& m) {
  switch (m.rule) {
    case KeepRule::kPolicyEmpty: return "policy is empty";
    case KeepRule::kTags: return "has tags " + tag_list_text(m.tags);
    case KeepRule::kWithin: return "within " + m.within.to_string();
    case KeepRule::kLast: return "last snapshot";
    case KeepRule::kHourly: return "hourly snapshot";
    case KeepRule::kDaily: return "daily snapshot";
    case KeepRule::kWeekly: return "weekly snapshot";
    case KeepRule::kMonthly: return "monthly snapshot";
    case KeepRule::kYearly: return "yearly snapshot";
    case KeepRule::kWithinHourly: return "hourly within " + m.within.to_string();
    case KeepRule::kWithinDaily: return "daily within " + m.within.to_string();
    case KeepRule::kWithinWeekly: return "weekly within " + m.within.to_string();
    case KeepRule::kWithinMonthly: return "monthly within " + m.within.to_string();
    case KeepRule::kWithinYearly: return "yearly within " + m.within.to_string();
  }
  return "";
}

// --- the policy ---

PolicyResult apply_policy(std::vector<SnapshotEntry> list, const ExpirePolicy& p, int64_t now_sec,
                          int32_t now_nsec) {
  std::stable_sort(list.begin(), list.end(), [](const SnapshotEntry& a, const SnapshotEntry& b) {
    return after(a.sn.time, b.sn.time);
  });
  PolicyResult res;
  if (p.empty()) {
    for (auto& e : list) {
      res.reasons.push_back({{KeepMatch{KeepRule::kPolicyEmpty, {}, {}}}, {}});
      res.keep.push_back(std::move(e));
    }
    return res;
  }
  if (list.empty()) return res;

  struct Bucket {
    KeepRule rule;
    int count;
    int64_t last = -1;
  };
  Bucket buckets[] = {{KeepRule::kLast, p.last},       {KeepRule::kHourly, p.hourly},
                      {KeepRule::kDaily, p.daily},     {KeepRule::kWeekly, p.weekly},
                      {KeepRule::kMonthly, p.monthly}, {KeepRule::kYearly, p.yearly}};
  struct WithinBucket {
    KeepRule rule;
    Duration within;
    int64_t last = -1;
  };
  WithinBucket within[] = {{KeepRule::kWithinHourly, p.within_hourly},
                           {KeepRule::kWithinDaily, p.within_daily},
                           {KeepRule::kWithinWeekly, p.within_weekly},
                           {KeepRule::kWithinMonthly, p.within_monthly},
                           {KeepRule::kWithinYearly, p.within_yearly}};

  // The newest snapshot that is not in the future; Go's zero time if there is none.
  repo::NodeTime latest{kGoZeroSec, 0, 0};
  repo::NodeTime now{now_sec, now_nsec, 0};
  for (const auto& e : list) {
    if (after(e.sn.time, latest) && after(now, e.sn.time)) latest = e.sn.time;
  }

  for (size_t nr = 0; nr < list.size(); ++nr) {
    const repo::Snapshot& cur = list[nr].sn;
    KeepReason reason;
    for (const auto& tags : p.keep_tags) {
      if (has_tags(cur, tags)) reason.matches.push_back({KeepRule::kTags, tags, {}});
    }
    if (!p.within.zero() && after(cur.time, subtract(latest, p.within))) {
      reason.matches.push_back({KeepRule::kWithin, {}, p.within});
    }
    for (Bucket& b : buckets) {
      if (b.count > 0 || b.count == kUnlimited) {
        int64_t val = bucket_value(b.rule, cur.time, nr);
        if (val != b.last) {
          b.last = val;
          if (b.count > 0) --b.count;
          reason.matches.push_back({b.rule, {}, {}});
        }
      }
    }
    for (WithinBucket& b : within) {
      if (b.within.zero() || !after(cur.time, subtract(latest, b.within))) continue;
      int64_t val = bucket_value(b.rule, cur.time, nr);
      if (val != b.last) {
        b.last = val;
        reason.matches.push_back({b.rule, {}, b.within});
      }
    }
    if (reason.matches.empty()) {
      res.remove.push_back(std::move(list[nr]));
      continue;
    }
    reason.counters = {buckets[0].count, buckets[1].count, buckets[2].count,
                       buckets[3].count, buckets[4].count, buckets[5].count};
    res.reasons.push_back(std::move(reason));
    res.keep.push_back(std::move(list[nr]));
  }
  return res;
}

// --- grouping ---

base::StatusOr<GroupBy> parse_group_by(std::string_view s) {
  GroupBy g;
  size_t i = 0;
  for (;;) {
    size_t j = s.find(',', i);
    std::string_view opt = s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    if (opt == "host" || opt == "hosts") {
      g.host = true;
    } else if (opt == "path" || opt == "paths") {
      g.paths = true;
    } else if (opt == "tag" || opt == "tags") {
      g.tags = true;
    } else if (!opt.empty()) {
      return base::invalid_argument("unknown grouping option: '" + std::string(opt) + "'");
    }
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return g;
}

std::vector<SnapshotGroup> group_snapshots(std::vector<SnapshotEntry> list, const GroupBy& by) {
  std::vector<SnapshotGroup> groups;
  for (auto& e : list) {
    std::sort(e.sn.paths.begin(), e.sn.paths.end());
    if (by.tags) std::sort(e.sn.tags.begin(), e.sn.tags.end());
    std::string host = by.host ? e.sn.hostname : "";
    std::vector<std::string> paths = by.paths ? e.sn.paths : std::vector<std::string>{};
    std::vector<std::string> tags = by.tags ? e.sn.tags : std::vector<std::string>{};
    auto it = std::find_if(groups.begin(), groups.end(), [&](const SnapshotGroup& g) {
      return g.hostname == host && g.paths == paths && g.tags == tags;
    });
    if (it == groups.end()) {
      groups.push_back({host, paths, tags, {}});
      it = groups.end() - 1;
    }
    it->snapshots.push_back(std::move(e));
  }
  std::sort(groups.begin(), groups.end(), [](const SnapshotGroup& a, const SnapshotGroup& b) {
    return std::tie(a.hostname, a.paths, a.tags) < std::tie(b.hostname, b.paths, b.tags);
  });
  return groups;
}

// --- the command ---

base::StatusOr<ForgetPlan> plan_forget(repo::Repository& repo, const ForgetOptions& opts) {
  RETURN_IF_ERROR(opts.policy.validate());
  ForgetPlan plan;
  std::set<repo::Id> remove;
  if (!opts.snapshot_ids.empty()) {
    bool used_filter = false;
    for (const auto& ref : opts.snapshot_ids) {
      auto sn = ref == "latest" ? find_snapshot(repo, ref, opts.filter) : find_snapshot(repo, ref);
      if (ref == "latest") used_filter = true;
      if (!sn.ok()) {
        plan.ignored_ids.emplace_back(ref, sn.status());
        continue;
      }
      remove.insert(sn->id);
    }
    const SnapshotFilter& f = opts.filter;
    plan.filters_ignored = !used_filter && (!f.hosts.empty() || !f.paths.empty() || !f.tags.empty());
  } else {
    ASSIGN_OR_RETURN(auto all, load_snapshots(repo, &plan.unreadable));
    std::vector<SnapshotEntry> selected;
    for (auto& e : all) {
      if (opts.filter.matches(e.sn)) selected.push_back(std::move(e));
    }
    if (opts.policy.empty()) {
      plan.policy_empty = true;
      return plan;
    }
    for (auto& g : group_snapshots(std::move(selected), opts.group_by)) {
      ForgetGroupResult gr;
      gr.result = apply_policy(g.snapshots, opts.policy, opts.now_sec, opts.now_nsec);
      for (const auto& e : gr.result.remove) remove.insert(e.id);
      gr.group = std::move(g);
      plan.groups.push_back(std::move(gr));
    }
  }
  plan.remove.assign(remove.begin(), remove.end());
  return plan;
}

base::Status remove_snapshots(repo::Repository& repo, const std::vector<repo::Id>& ids,
                              std::atomic<uint64_t>* deleted) {
  base::ThreadPool pool(std::max(1, repo.backend()->parallelism()));
  base::TaskGroup group(&pool);
  for (const repo::Id& id : ids) {
    group.run([&repo, id, deleted]() -> base::Status {
      backend::Handle h{backend::FileKind::kSnapshot, id.hex()};
      RETURN_IF_ERROR(repo.backend()->remove(h));  // every backend names the file itself
      if (deleted) ++*deleted;
      return base::ok_status();
    });
  }
  return group.wait();
}

}  // namespace kura::ops
