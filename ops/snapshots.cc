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

base::StatusOr<std::vector<SnapshotEntry>> load_snapshots(repo::Repository& repo) {
  ASSIGN_OR_RETURN(auto ids, repo.list_ids(backend::FileKind::kSnapshot));
  std::vector<SnapshotEntry> out(ids.size());
  {
    base::ThreadPool pool(std::max(2, repo.backend()->parallelism()));
    base::TaskGroup group(&pool);
    for (size_t i = 0; i < ids.size(); ++i) {
      group.run([&, i]() -> base::Status {
        ASSIGN_OR_RETURN(base::Bytes json, repo.load_unpacked(backend::FileKind::kSnapshot, ids[i]));
        auto sn = repo::decode_snapshot(json);
        if (!sn.ok()) return sn.status().with_context("snapshot " + ids[i].hex());
        out[i] = {ids[i], std::move(*sn)};
        return base::ok_status();
      });
    }
    RETURN_IF_ERROR(group.wait());
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

}  // namespace kura::ops
