// kura forget, kura prune
#include <algorithm>
#include <atomic>
#include <mutex>

#include "apps/kura/cli.h"
#include "apps/kura/output.h"
#include "apps/kura/progress.h"
#include "base/clock.h"
#include "ops/forget.h"
#include "ops/prune.h"
#include "repo/snapshot.h"

namespace kura::cli {
namespace {

// --- prune flags, shared by forget --prune ---

struct PruneFlags {
  bool dry_run = false;
  std::string max_unused = "5%";
  std::string max_repack_size;
  bool repack_cacheable_only = false, repack_small = false, repack_uncompressed = false;
};

void add_prune_flags(CLI::App* cmd, const Cli& cli, PruneFlags& f) {
  cmd->add_option("--max-unused", f.max_unused, cli.msg().get("prune.flag.max_unused"));
  cmd->add_option("--max-repack-size", f.max_repack_size, cli.msg().get("prune.flag.max_repack_size"));
  cmd->add_flag("--repack-cacheable-only", f.repack_cacheable_only,
                cli.msg().get("prune.flag.repack_cacheable_only"));
  cmd->add_flag("--repack-small", f.repack_small, cli.msg().get("prune.flag.repack_small"));
  cmd->add_flag("--repack-uncompressed", f.repack_uncompressed,
                cli.msg().get("prune.flag.repack_uncompressed"));
}

base::StatusOr<ops::PruneOptions> prune_options(const Cli& cli, const PruneFlags& f) {
  ops::PruneOptions o;
  auto mu = ops::parse_max_unused(f.max_unused);
  if (!mu.ok()) return base::invalid_argument(cli.tr("forget.err.bad_flag", "--max-unused", mu.status().message()));
  o.max_unused = *mu;
  if (!f.max_repack_size.empty()) {
    auto sz = ops::parse_size(f.max_repack_size);
    if (!sz.ok()) {
      return base::invalid_argument(cli.tr("forget.err.bad_flag", "--max-repack-size", sz.status().message()));
    }
    o.max_repack_bytes = *sz;
  }
  o.repack_cacheable_only = f.repack_cacheable_only;
  o.repack_small = f.repack_small;
  o.repack_uncompressed = f.repack_uncompressed;
  repo::WriteOptions w = cli.write_options();
  o.pack_size = w.pack_size;
  o.compression = w.compression;
  o.threads = cli.g.threads;
  return o;
}

std::string reason_text(const Cli& cli, const ops::KeepMatch& m) {
  using R = ops::KeepRule;
  std::string d = m.within.to_string();
  switch (m.rule) {
    case R::kPolicyEmpty: return cli.tr("forget.reason.policy_empty");
    case R::kTags: return cli.tr("forget.reason.tags", "[" + join(m.tags, ", ") + "]");
    case R::kWithin: return cli.tr("forget.reason.within", d);
    case R::kLast: return cli.tr("forget.reason.last");
    case R::kHourly: return cli.tr("forget.reason.hourly");
    case R::kDaily: return cli.tr("forget.reason.daily");
    case R::kWeekly: return cli.tr("forget.reason.weekly");
    case R::kMonthly: return cli.tr("forget.reason.monthly");
    case R::kYearly: return cli.tr("forget.reason.yearly");
    case R::kWithinHourly: return cli.tr("forget.reason.within_hourly", d);
    case R::kWithinDaily: return cli.tr("forget.reason.within_daily", d);
    case R::kWithinWeekly: return cli.tr("forget.reason.within_weekly", d);
    case R::kWithinMonthly: return cli.tr("forget.reason.within_monthly", d);
    case R::kWithinYearly: return cli.tr("forget.reason.within_yearly", d);
  }
  return "";
}

// restic's ExpirePolicy.String(), from catalog pieces.
std::string policy_text(const Cli& cli, const ops::ExpirePolicy& p) {
  auto join_with = [&](const std::vector<std::string>& v, const char* key) {
    std::string s = v.empty() ? "" : v[0];
    for (size_t i = 1; i < v.size(); ++i) s = cli.tr(key, s, v[i]);
    return s;
  };
  auto count = [&](int n) { return n == ops::kUnlimited ? cli.tr("forget.policy.unlimited") : std::to_string(n); };
  std::vector<std::string> keeps, within;
  std::pair<int, const char*> counts[] = {{p.last, "forget.policy.last"},       {p.hourly, "forget.policy.hourly"},
                                          {p.daily, "forget.policy.daily"},     {p.weekly, "forget.policy.weekly"},
                                          {p.monthly, "forget.policy.monthly"}, {p.yearly, "forget.policy.yearly"}};
  for (const auto& [n, key] : counts) {
    if (n != 0) keeps.push_back(cli.tr(key, count(n)));
  }
  std::pair<const ops::Duration*, const char*> durations[] = {
      {&p.within_hourly, "forget.policy.within_hourly"},   {&p.within_daily, "forget.policy.within_daily"},
      {&p.within_weekly, "forget.policy.within_weekly"},   {&p.within_monthly, "forget.policy.within_monthly"},
      {&p.within_yearly, "forget.policy.within_yearly"}};
  for (const auto& [d, key] : durations) {
    if (!d->zero()) within.push_back(cli.tr(key, d->to_string()));
  }
  std::vector<std::string> parts;
  if (!keeps.empty()) parts.push_back(cli.tr("forget.policy.counts", join_with(keeps, "forget.policy.join_list")));
  parts.insert(parts.end(), within.begin(), within.end());
  std::string s = join_with(parts, "forget.policy.join_list");
  std::vector<std::string> extra;
  if (!p.keep_tags.empty()) {
    std::vector<std::string> lists;
    for (const auto& l : p.keep_tags) lists.push_back("[" + join(l, ", ") + "]");
    extra.push_back(cli.tr("forget.policy.tags", "[" + join(lists, " ") + "]"));
  }
  if (!p.within.zero()) extra.push_back(cli.tr("forget.policy.within", p.within.to_string()));
  for (const auto& e : extra) s = s.empty() ? e : cli.tr("forget.policy.join_and", s, e);
  return cli.tr("forget.policy", s);
}

// restic's PrintSnapshots with the reasons column.
std::string snapshot_table(const Cli& cli, const std::vector<ops::SnapshotEntry>& list,
                           const std::vector<ops::KeepReason>* reasons, bool compact) {
  std::vector<std::vector<std::string>> why;
  if (reasons) {
    for (size_t i = 0; i < list.size() && i < reasons->size(); ++i) {
      why.emplace_back();
      for (const auto& m : (*reasons)[i].matches) why.back().push_back(reason_text(cli, m));
    }
  }
  return snapshots_table(cli, list, reasons && !reasons->empty() ? &why : nullptr, compact);
}

// restic's IDSet.String(): "{ab12cd34 ef56...}".
std::string short_id_set(const std::vector<repo::Id>& ids) {
  std::vector<std::string> s;
  for (const auto& id : ids) s.push_back(id.short_hex());
  std::sort(s.begin(), s.end());
  return "{" + join(s, " ") + "}";
}

// --- JSON (restic's ForgetGroup) ---

std::string string_array(const std::vector<std::string>& v) { return json_string_array(v, true); }

std::string snapshot_json(const repo::Snapshot& sn) {
  base::Bytes b = repo::encode_snapshot(sn);
  return std::string(b.begin(), b.end());
}

std::string snapshot_list_json(const std::vector<ops::SnapshotEntry>& v) {
  if (v.empty()) return "null";
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + snapshot_json_with_id(v[i]);
  return s + "]";
}

std::string reasons_json(const ops::PolicyResult& r) {
  if (r.reasons.empty()) return "null";
  std::string s = "[";
  for (size_t i = 0; i < r.reasons.size(); ++i) {
    const auto& kr = r.reasons[i];
    std::vector<std::string> matches;
    for (const auto& m : kr.matches) matches.push_back(ops::match_text(m));
    JsonObject counters;
    std::pair<const char*, int> cs[] = {{"last", kr.counters.last},       {"hourly", kr.counters.hourly},
                                        {"daily", kr.counters.daily},     {"weekly", kr.counters.weekly},
                                        {"monthly", kr.counters.monthly}, {"yearly", kr.counters.yearly}};
    for (const auto& [k, v] : cs) {
      if (v != 0) counters.snum(k, v);
    }
    JsonObject o;
    o.raw("snapshot", snapshot_json(r.keep[i].sn)).raw("matches", string_array(matches));
    o.raw("counters", counters.done());
    s += (i ? "," : "") + o.done();
  }
  return s + "]";
}

std::string forget_json(const std::vector<ops::ForgetGroupResult>& groups) {
  std::string s = "[";
  for (size_t i = 0; i < groups.size(); ++i) {
    const auto& g = groups[i];
    JsonObject o;
    o.raw("tags", string_array(g.group.tags)).raw("host", go_json_string(g.group.hostname));
    o.raw("paths", string_array(g.group.paths));
    o.raw("keep", snapshot_list_json(g.result.keep)).raw("remove", snapshot_list_json(g.result.remove));
    o.raw("reasons", reasons_json(g.result));
    s += (i ? "," : "") + o.done();
  }
  return s + "]\n";
}

// --- progress and messages while pruning ---

class PruneReporter : public ops::PruneObserver {
 public:
  explicit PruneReporter(const Cli& cli) : cli_(cli) {}

  void on_phase_end() override { bar_.reset(); }
  void on_phase(ops::PrunePhase phase, uint64_t total) override {
    using P = ops::PrunePhase;
    std::string m;
    switch (phase) {
      case P::kLoadingSnapshots: m = cli_.tr("prune.loading_snapshots"); break;
      case P::kFindingUsedBlobs: m = cli_.tr("prune.finding_used", total); break;
      case P::kSearchingUsedPacks: m = cli_.tr("prune.searching"); break;
      case P::kCollectingPacks: m = cli_.tr("prune.collecting"); break;
      case P::kDeletingTempFiles: m = cli_.tr("prune.deleting_temp", total); break;
      case P::kDeletingUnreferenced: m = cli_.tr("prune.deleting_unref"); break;
      case P::kRepacking: m = cli_.tr("prune.repacking"); break;
      case P::kRebuildingIndex: m = cli_.tr("prune.rebuilding_index"); break;
      case P::kDeletingIndex: m = cli_.tr("prune.deleting_index"); break;
      case P::kRemovingPacks: m = cli_.tr("prune.removing_packs", total); break;
      case P::kDone: m = cli_.tr("prune.done"); break;
    }
    say(m + "\n");
    // restic's counter for the phase, if it has one.
    const char* unit = nullptr;
    switch (phase) {
      case P::kFindingUsedBlobs: unit = "prune.progress.snapshots"; break;
      case P::kCollectingPacks:
      case P::kRebuildingIndex: unit = "prune.progress.packs"; break;
      case P::kRepacking: unit = "prune.progress.repacked"; break;
      case P::kDeletingTempFiles:
      case P::kDeletingUnreferenced:
      case P::kDeletingIndex:
      case P::kRemovingPacks: unit = "prune.progress.files"; break;
      default: break;
    }
    if (unit != nullptr) bar_ = counter_bar(cli_, progress.done, progress.total, unit);
  }
  void on_forget_missing_pack(const repo::Id& pack) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!missing_header_) cli_.error(cli_.tr("prune.missing_packs"));
    missing_header_ = true;
    cli_.error(cli_.tr("prune.forget_missing", pack.hex()));
  }
  void on_delete_failed(const backend::Handle& h, const base::Status& st) override {
    std::lock_guard<std::mutex> l(mu_);
    cli_.error(cli_.tr("prune.delete_failed", h.to_string(), st.message()));
  }

  void say(const std::string& s) {
    std::lock_guard<std::mutex> l(mu_);
    StatusPause pause(cli_);
    cli_.print(s);
  }

  ops::PruneProgress progress;

 private:
  const Cli& cli_;
  std::unique_ptr<ProgressPrinter> bar_;  // reads `progress`: declared after it
  std::mutex mu_;
  bool missing_header_ = false;
};

// restic's formatPercent.
std::string format_percent(uint64_t num, uint64_t den) {
  if (den == 0) return "";
  double p = std::min(100.0, 100.0 * static_cast<double>(num) / static_cast<double>(den));
  return fmt::format("{:3.2f}%", p);
}

std::string prune_stats_text(const Cli& cli, const ops::PruneStats& st) {
  std::string v;  // restic prints these with -v only
  v += "\n" + cli.tr("prune.stats.used", st.blobs.used, format_bytes(st.size.used)) + "\n";
  if (st.blobs.duplicate > 0) {
    v += cli.tr("prune.stats.duplicates", st.blobs.duplicate, format_bytes(st.size.duplicate)) + "\n";
  }
  v += cli.tr("prune.stats.unused", st.blobs.unused, format_bytes(st.size.unused)) + "\n";
  if (st.size.unref > 0) v += cli.tr("prune.stats.unreferenced", format_bytes(st.size.unref)) + "\n";
  v += cli.tr("prune.stats.total", st.total_blobs(), format_bytes(st.total_size())) + "\n";
  v += cli.tr("prune.stats.unused_share", format_percent(st.unused_size(), st.total_size())) + "\n";
  std::string out = cli.g.verbose > 0 ? v : "";
  out += "\n" + cli.tr("prune.stats.to_repack", st.blobs.repack, format_bytes(st.size.repack)) + "\n";
  out += cli.tr("prune.stats.this_removes", st.blobs.repackrm, format_bytes(st.size.repackrm)) + "\n";
  out += cli.tr("prune.stats.to_delete", st.blobs.remove, format_bytes(st.size.remove + st.size.unref)) + "\n";
  out += cli.tr("prune.stats.total_prune", st.prune_blobs(), format_bytes(st.prune_size())) + "\n";
  if (st.stale_temp_files.count > 0) {
    out += cli.tr("prune.stats.temp_files", st.stale_temp_files.count, format_bytes(st.stale_temp_files.size)) + "\n";
  }
  uint64_t remaining = st.total_size() - std::min(st.total_size(), st.prune_size());
  out += cli.tr("prune.stats.remaining", st.total_blobs() - std::min(st.total_blobs(), st.prune_blobs()),
                format_bytes(remaining)) + "\n";
  out += cli.tr("prune.stats.unused_after", format_bytes(st.unused_after()),
                format_percent(st.unused_after(), remaining)) + "\n\n";
  if (cli.g.verbose > 0) {
    out += cli.tr("prune.stats.packs_used", st.packs.used) + "\n";
    out += cli.tr("prune.stats.packs_partly", st.packs.partly_used) + "\n";
    out += cli.tr("prune.stats.packs_unused", st.packs.unused) + "\n\n";
    out += cli.tr("prune.stats.packs_keep", st.packs.keep) + "\n";
    out += cli.tr("prune.stats.packs_repack", st.packs.repack) + "\n";
    out += cli.tr("prune.stats.packs_delete", st.packs.remove) + "\n";
    if (st.packs.unref > 0) out += cli.tr("prune.stats.packs_unref", st.packs.unref) + "\n\n";
  }
  return out;
}

// Loads the index, plans, prints the statistics and (unless dry_run) prunes. The caller holds
// the exclusive lock.
int run_prune(Cli& cli, repo::Repository& repo, ops::PruneOptions opts, bool dry_run) {
  PruneReporter rep(cli);
  if (repo.cache() == nullptr) rep.say(cli.msg().get("prune.no_cache") + "\n");
  rep.say(cli.tr("prune.loading_index") + "\n");
  if (auto st = repo.load_index(); !st.ok()) return cli.fail(st);
  base::StatusOr<ops::PrunePlan> plan = ops::plan_prune(repo, opts, &rep, &rep.progress);
  rep.on_phase_end();
  if (!plan.ok()) return cli.fail(plan.status());
  cli.print(prune_stats_text(cli, plan->stats));
  if (dry_run) {
    if (cli.g.verbose > 0) {
      std::string s;
      if (!plan->remove_packs_first.empty()) {
        s += cli.tr("prune.would_remove_unref") + "\n" + short_id_set(plan->remove_packs_first) + "\n\n";
      }
      s += cli.tr("prune.would_repack") + "\n" + short_id_set(plan->repack_packs) + "\n\n";
      s += cli.tr("prune.would_remove") + "\n" + short_id_set(plan->remove_packs) + "\n\n";
      cli.print(s);
    }
    return kExitOk;
  }
  base::StatusOr<ops::PruneResult> res = ops::execute_prune(repo, std::move(*plan), opts, &rep, &rep.progress);
  rep.on_phase_end();
  if (!res.ok()) return cli.fail(res.status());
  if (res->temp_files_deleted > 0) cli.print(cli.tr("prune.temp_removed", res->temp_files_deleted) + "\n");
  if (res->delete_failures > 0) cli.error(cli.tr("prune.delete_failures", res->delete_failures));
  return kExitOk;
}

// --- forget ---

struct ForgetFlags {
  std::vector<std::string> ids;
  std::string last, hourly, daily, weekly, monthly, yearly;
  std::string within, within_hourly, within_daily, within_weekly, within_monthly, within_yearly;
  std::vector<std::string> keep_tags;
  ops::SnapshotFilter filter;
  bool compact = false;
  std::string group_by = "host,paths";
  bool dry_run = false;
  bool prune = false;
  PruneFlags prune_flags;
};

base::StatusOr<ops::ExpirePolicy> policy_from_flags(const Cli& cli, const ForgetFlags& f) {
  ops::ExpirePolicy p;
  std::tuple<const char*, const std::string*, int*> counts[] = {
      {"--keep-last", &f.last, &p.last},          {"--keep-hourly", &f.hourly, &p.hourly},
      {"--keep-daily", &f.daily, &p.daily},       {"--keep-weekly", &f.weekly, &p.weekly},
      {"--keep-monthly", &f.monthly, &p.monthly}, {"--keep-yearly", &f.yearly, &p.yearly}};
  for (const auto& [flag, text, out] : counts) {
    if (text->empty()) continue;
    auto n = ops::parse_keep_count(*text);
    if (!n.ok()) return base::invalid_argument(cli.tr("forget.err.bad_flag", flag, n.status().message()));
    *out = *n;
  }
  std::tuple<const char*, const std::string*, ops::Duration*> durations[] = {
      {"--keep-within", &f.within, &p.within},
      {"--keep-within-hourly", &f.within_hourly, &p.within_hourly},
      {"--keep-within-daily", &f.within_daily, &p.within_daily},
      {"--keep-within-weekly", &f.within_weekly, &p.within_weekly},
      {"--keep-within-monthly", &f.within_monthly, &p.within_monthly},
      {"--keep-within-yearly", &f.within_yearly, &p.within_yearly}};
  for (const auto& [flag, text, out] : durations) {
    auto d = ops::parse_duration(*text);
    if (!d.ok()) return base::invalid_argument(cli.tr("forget.err.bad_flag", flag, d.status().message()));
    *out = *d;
  }
  for (const auto& t : f.keep_tags) p.keep_tags.push_back(ops::parse_tag_list(t));
  RETURN_IF_ERROR(p.validate());
  return p;
}

int run_forget(Cli& cli, ForgetFlags& f) {
  auto popts = prune_options(cli, f.prune_flags);
  if (!popts.ok()) return cli.fail(popts.status());
  auto policy = policy_from_flags(cli, f);
  if (!policy.ok()) return cli.fail(policy.status());
  auto group_by = ops::parse_group_by(f.group_by);
  if (!group_by.ok()) return cli.fail(group_by.status());
  if (cli.g.no_lock && !f.dry_run) return cli.fail(base::invalid_argument(cli.tr("forget.err.no_lock")));

  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  repo::Repository& repo = **r;
  auto lock = cli.lock(repo, true);
  if (!lock.ok()) return cli.fail(lock.status());

  ops::ForgetOptions opts;
  opts.policy = *policy;
  opts.filter = f.filter;
  opts.group_by = *group_by;
  opts.snapshot_ids = f.ids;
  base::Timespec now = base::system_clock()->now();
  opts.now_sec = now.sec;
  opts.now_nsec = now.nsec;
  auto plan = ops::plan_forget(repo, opts);
  if (!plan.ok()) return cli.fail(plan.status());
  for (const auto& [ref, st] : plan->ignored_ids) cli.error(cli.tr("forget.ignoring_id", ref, st.message()));
  for (const auto& u : plan->unreadable) {
    cli.error(cli.tr("warn.snapshot_unreadable", u.id.short_hex(), u.error.message()));
  }
  if (plan->filters_ignored) cli.error(cli.tr("forget.filters_ignored"));

  if (f.ids.empty()) {
    if (plan->policy_empty) {
      cli.print(cli.tr("forget.no_policy") + "\n");
    } else {
      cli.print(cli.tr("forget.applying", policy_text(cli, *policy)) + "\n");
      for (const auto& g : plan->groups) {
        if (cli.g.verbose > 0) cli.print(snapshot_group_header(cli, g.group));
        if (!g.result.keep.empty()) {
          cli.print(cli.tr("forget.keep", g.result.keep.size()) + "\n" +
                    snapshot_table(cli, g.result.keep, &g.result.reasons, f.compact) + "\n");
        }
        if (!g.result.remove.empty()) {
          cli.print(cli.tr("forget.remove", g.result.remove.size()) + "\n" +
                    snapshot_table(cli, g.result.remove, nullptr, f.compact) + "\n");
        }
      }
    }
  }

  if (!plan->remove.empty()) {
    if (!f.dry_run) {
      if (auto st = ops::remove_snapshots(repo, plan->remove); !st.ok()) return cli.fail(st);
      cli.print(cli.tr("forget.removed", plan->remove.size()) + "\n");
    } else {
      cli.print(cli.tr("forget.would_remove") + "\n" + short_id_set(plan->remove) + "\n\n");
    }
  }
  if (cli.g.json && !plan->groups.empty()) cli.print_data(forget_json(plan->groups));

  if (!plan->remove.empty() && f.prune) {
    cli.print(cli.tr("forget.running_prune", plan->remove.size()) + "\n");
    popts->ignore_snapshots = plan->remove;
    return run_prune(cli, repo, *popts, f.dry_run);
  }
  return kExitOk;
}

}  // namespace

void add_forget_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("forget", cli.msg().get("cmd.forget"));
  auto f = std::make_shared<ForgetFlags>();
  cmd->add_option("ids", f->ids, cli.msg().get("forget.arg.ids"));
  cmd->add_option("-l,--keep-last", f->last, cli.msg().get("forget.flag.keep_last"));
  cmd->add_option("-H,--keep-hourly", f->hourly, cli.msg().get("forget.flag.keep_hourly"));
  cmd->add_option("-d,--keep-daily", f->daily, cli.msg().get("forget.flag.keep_daily"));
  cmd->add_option("-w,--keep-weekly", f->weekly, cli.msg().get("forget.flag.keep_weekly"));
  cmd->add_option("-m,--keep-monthly", f->monthly, cli.msg().get("forget.flag.keep_monthly"));
  cmd->add_option("-y,--keep-yearly", f->yearly, cli.msg().get("forget.flag.keep_yearly"));
  cmd->add_option("--keep-within", f->within, cli.msg().get("forget.flag.keep_within"));
  cmd->add_option("--keep-within-hourly", f->within_hourly, cli.msg().get("forget.flag.keep_within_hourly"));
  cmd->add_option("--keep-within-daily", f->within_daily, cli.msg().get("forget.flag.keep_within_daily"));
  cmd->add_option("--keep-within-weekly", f->within_weekly, cli.msg().get("forget.flag.keep_within_weekly"));
  cmd->add_option("--keep-within-monthly", f->within_monthly, cli.msg().get("forget.flag.keep_within_monthly"));
  cmd->add_option("--keep-within-yearly", f->within_yearly, cli.msg().get("forget.flag.keep_within_yearly"));
  cmd->add_option("--keep-tag", f->keep_tags, cli.msg().get("forget.flag.keep_tag"));
  cmd->add_option("--host", f->filter.hosts, cli.msg().get("forget.flag.host"));
  cmd->add_option("--tag", f->filter.tags, cli.msg().get("forget.flag.tag"));
  cmd->add_option("--path", f->filter.paths, cli.msg().get("forget.flag.path"));
  cmd->add_flag("-c,--compact", f->compact, cli.msg().get("forget.flag.compact"));
  cmd->add_option("-g,--group-by", f->group_by, cli.msg().get("forget.flag.group_by"));
  cmd->add_flag("-n,--dry-run", f->dry_run, cli.msg().get("forget.flag.dry_run"));
  cmd->add_flag("--prune", f->prune, cli.msg().get("forget.flag.prune"));
  add_prune_flags(cmd, cli, f->prune_flags);
  cmd->callback([&cli, f] { exit_code() = run_forget(cli, *f); });
}

void add_prune_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("prune", cli.msg().get("cmd.prune"));
  auto f = std::make_shared<PruneFlags>();
  auto unsafe_id = std::make_shared<std::string>();
  cmd->add_flag("-n,--dry-run", f->dry_run, cli.msg().get("prune.flag.dry_run"));
  add_prune_flags(cmd, cli, *f);
  cmd->add_option("--unsafe-recover-no-free-space", *unsafe_id, cli.msg().get("prune.flag.unsafe_recovery"));
  cmd->callback([&cli, f, unsafe_id] {
    exit_code() = [&]() -> int {
      auto opts = prune_options(cli, *f);
      if (!opts.ok()) return cli.fail(opts.status());
      if (cli.g.no_lock && !f->dry_run) return cli.fail(base::invalid_argument(cli.tr("prune.err.no_lock")));
      auto r = cli.open_repo();
      if (!r.ok()) return cli.fail(r.status());
      if (!unsafe_id->empty()) {
        // The repository's id as the flag's value: proof that the user means this repository.
        if (*unsafe_id != (*r)->config().id) {
          return cli.fail(base::invalid_argument(cli.tr("prune.err.unsafe_id", (*r)->config().id)));
        }
        opts->unsafe_recovery = true;
      }
      auto lock = cli.lock(**r, true);
      if (!lock.ok()) return cli.fail(lock.status());
      return run_prune(cli, **r, *opts, f->dry_run);
    }();
  });
}

}  // namespace kura::cli
