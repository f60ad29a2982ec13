#include "ops/snapshots.h"

#include <algorithm>

#include "base/thread_pool.h"

namespace kura::ops {

bool SnapshotFilter::matches(const repo::Snapshot& sn) const {
  if (!hosts.empty() && std::find(hosts.begin(), hosts.end(), sn.hostname) == hosts.end()) {
    return false;
  }
  for (const auto& p : paths) {
    if (std::find(sn.paths.begin(), sn.paths.end(), p) == sn.paths.end()) return false;
  }
  if (tags.empty()) return true;
  for (const auto& group : tags) {
    bool all = true;
    size_t i = 0;
    while (i <= group.size()) {
      size_t j = group.find(',', i);
      if (j == std::string::npos) j = group.size();
      std::string tag = group.substr(i, j - i);
      i = j + 1;
      if (tag.empty()) continue;
      if (std::find(sn.tags.begin(), sn.tags.end(), tag) == sn.tags.end()) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

base::StatusOr<std::vector<SnapshotEntry>> load_snapshots(repo::Repository& repo,
                                                          std::vector<SnapshotLoadError>* unreadable) {
  ASSIGN_OR_RETURN(auto ids, repo.list_ids(backend::FileKind::kSnapshot));
  std::vector<SnapshotEntry> out(ids.size());
  std::vector<base::Status> errors(ids.size());
  {
    base::ThreadPool pool(std::max(2, repo.backend()->parallelism()));
    base::TaskGroup group(&pool);
    for (size_t i = 0; i < ids.size(); ++i) {
      group.run([&, i]() -> base::Status {
        base::Status st = [&]() -> base::Status {
          ASSIGN_OR_RETURN(base::Bytes json, repo.load_unpacked(backend::FileKind::kSnapshot, ids[i]));
          auto sn = repo::decode_snapshot(json);
          if (!sn.ok()) return sn.status().with_context("snapshot " + ids[i].hex());
          out[i] = {ids[i], std::move(*sn)};
          return base::ok_status();
        }();
        if (unreadable == nullptr) return st;
        errors[i] = std::move(st);
        return base::ok_status();
      });
    }
    RETURN_IF_ERROR(group.wait());
  }
  if (unreadable != nullptr) {
    std::vector<SnapshotEntry> readable;
    readable.reserve(out.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      if (errors[i].ok()) {
        readable.push_back(std::move(out[i]));
      } else {
        unreadable->push_back({ids[i], std::move(errors[i])});
      }
    }
    out = std::move(readable);
  }
  std::sort(out.begin(), out.end(), [](const SnapshotEntry& a, const SnapshotEntry& b) {
    if (a.sn.time.sec != b.sn.time.sec) return a.sn.time.sec < b.sn.time.sec;
    if (a.sn.time.nsec != b.sn.time.nsec) return a.sn.time.nsec < b.sn.time.nsec;
    return a.id < b.id;
  });
  return out;
}

base::StatusOr<SnapshotEntry> find_snapshot(repo::Repository& repo, const std::string& ref,
                                            const SnapshotFilter& filter) {
  if (ref == "latest") {
    ASSIGN_OR_RETURN(auto all, load_snapshots(repo));
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      if (filter.matches(it->sn)) return std::move(*it);
    }
    return base::not_found("no snapshot found" +
                           std::string(filter.hosts.empty() && filter.paths.empty() && filter.tags.empty()
                                           ? ""
                                           : " matching the filter"));
  }
  ASSIGN_OR_RETURN(repo::Id id, repo.find_id(backend::FileKind::kSnapshot, ref));
  ASSIGN_OR_RETURN(base::Bytes json, repo.load_unpacked(backend::FileKind::kSnapshot, id));
  auto sn = repo::decode_snapshot(json);
  if (!sn.ok()) return sn.status().with_context("snapshot " + id.hex());
  return SnapshotEntry{id, std::move(*sn)};
}

base::StatusOr<SnapshotSelection> select_snapshots(repo::Repository& repo,
                                                   const SnapshotFilter& filter,
                                                   const std::vector<std::string>& refs) {
  SnapshotSelection out;
  if (refs.empty()) {
    ASSIGN_OR_RETURN(auto all, load_snapshots(repo, &out.unreadable));
    for (auto& e : all) {
      if (filter.matches(e.sn)) out.snapshots.push_back(std::move(e));
    }
    return out;
  }
  bool used_filter = false;
  for (const auto& ref : refs) {
    bool latest = ref == "latest";
    used_filter |= latest;
    auto e = find_snapshot(repo, ref, latest ? filter : SnapshotFilter{});
    if (!e.ok()) {
      base::Code c = e.status().code();
      if (c != base::Code::kNotFound && c != base::Code::kInvalidArgument && c != base::Code::kDataLoss) {
        return e.status();
      }
      out.skipped.push_back({ref, e.status()});
      continue;
    }
    bool dup = std::any_of(out.snapshots.begin(), out.snapshots.end(),
                           [&](const SnapshotEntry& s) { return s.id == e->id; });
    if (!dup) out.snapshots.push_back(std::move(*e));
  }
  out.filter_ignored =
      !used_filter && (!filter.hosts.empty() || !filter.paths.empty() || !filter.tags.empty());
  return out;
}

}  // namespace kura::ops
