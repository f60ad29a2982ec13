#include "ops/tag.h"

#include <algorithm>

#include "repo/snapshot.h"

namespace kura::ops {
namespace {

std::string trim_space(std::string_view s) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::vector<std::string> flatten_tag_lists(const std::vector<std::string>& lists) {
  std::vector<std::string> out;
  for (const std::string& list : lists) {
    size_t start = 0;
    for (;;) {
      size_t comma = list.find(',', start);
      std::string tag = trim_space(std::string_view(list).substr(start, comma - start));
      if (!tag.empty()) out.push_back(std::move(tag));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

bool apply_tag_change(repo::Snapshot& sn, const TagChange& change) {
  if (!change.set.empty()) {
    sn.tags = change.set;
    return true;
  }
  bool changed = false;
  for (const std::string& tag : change.add) {
    if (std::find(sn.tags.begin(), sn.tags.end(), tag) != sn.tags.end()) continue;
    sn.tags.push_back(tag);
    changed = true;
  }
  for (const std::string& tag : change.remove) {
    auto it = std::find(sn.tags.begin(), sn.tags.end(), tag);
    if (it == sn.tags.end()) continue;
    // restic removes by moving the last tag into the slot; the order is kept the same so
    // that both programs list the tags alike.
    *it = sn.tags.back();
    sn.tags.pop_back();
    changed = true;
  }
  return changed;
}

base::StatusOr<std::optional<repo::Id>> change_tags(repo::Repository& repo,
                                                    const SnapshotEntry& entry,
                                                    const TagChange& change) {
  repo::Snapshot sn = entry.sn;
  if (!apply_tag_change(sn, change)) return std::optional<repo::Id>();
  if (!sn.original) sn.original = entry.id;
  ASSIGN_OR_RETURN(repo::Id id, repo.save_unpacked(backend::FileKind::kSnapshot, repo::encode_snapshot(sn)));
  RETURN_IF_ERROR(repo.backend()->remove({backend::FileKind::kSnapshot, entry.id.hex()})
                      .with_context("remove old snapshot " + entry.id.short_hex()));
  return std::optional<repo::Id>(id);
}

}  // namespace kura::ops
