#include "fs/snapshot_dirs.h"

#include <algorithm>

#include "fs/go_time.h"
#include "ops/filter.h"

namespace kura::fs {
namespace {

std::string filename_from_tag(const std::string& tag) {
  if (tag.empty() || tag == ".") return "_";
  if (tag == "..") return "__";
  std::string out = tag;
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

bool time_before(const repo::NodeTime& a, const repo::NodeTime& b) {
  return a.sec != b.sec ? a.sec < b.sec : a.nsec < b.nsec;
}

}  // namespace

std::vector<std::string> default_path_templates() {
  return {"ids/%i", "snapshots/%T", "hosts/%h/%T", "tags/%t/%T"};
}

std::string static_prefix(const std::string& path_template) {
  bool in_verb = false;
  size_t pattern_start = std::string::npos;
  for (size_t i = 0; i < path_template.size(); ++i) {
    char c = path_template[i];
    if (!in_verb) {
      in_verb = c == '%';
      continue;
    }
    in_verb = false;
    if (std::string_view("iIuhtT").find(c) != std::string_view::npos) {
      pattern_start = i;
      break;
    }
  }
  if (pattern_start == std::string::npos) return "";
  std::string p = path_template.substr(0, pattern_start);
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "" : p.substr(0, slash);
}

TemplatePaths paths_from_snapshot(const std::string& path_template, const std::string& time_template,
                                  const ops::SnapshotEntry& sn) {
  std::string time = format_go_layout(sn.sn.time, time_template);
  bool in_verb = false, write_time = false;
  std::vector<std::string> out(1);
  auto append_all = [&](const std::string& s) {
    for (auto& o : out) o += s;
  };
  for (char c : path_template) {
    // %T is written when the next character comes; at the end it becomes the time suffix.
    if (write_time) {
      append_all(time);
      write_time = false;
    }
    if (!in_verb) {
      if (c == '%') in_verb = true;
      else append_all(std::string(1, c));
      continue;
    }
    in_verb = false;
    std::string repl;
    switch (c) {
      case 'T': write_time = true; continue;
      case 't': {
        const auto& tags = sn.sn.tags;
        if (tags.empty()) return {};
        if (tags.size() == 1) {
          repl = tags[0];  // restic 0.14 uses a single tag as it is
          break;
        }
        std::vector<std::string> expanded;
        for (const auto& tag : tags) {
          for (const auto& o : out) expanded.push_back(o + filename_from_tag(tag));
        }
        out = std::move(expanded);
        continue;
      }
      case 'i': repl = sn.id.short_hex(); break;
      case 'I': repl = sn.id.hex(); break;
      case 'u': repl = sn.sn.username; break;
      case 'h': repl = sn.sn.hostname; break;
      default: repl = std::string(1, c); break;
    }
    append_all(repl);
  }
  TemplatePaths r;
  r.paths = std::move(out);
  if (write_time) r.time_suffix = time;
  return r;
}

SnapshotDirs::SnapshotDirs(std::vector<ops::SnapshotEntry> snapshots,
                           const std::vector<std::string>& path_templates,
                           const std::string& time_template)
    : snapshots_(std::move(snapshots)) {
  mount("", nullptr, "", "", nullptr);
  for (const auto& t : path_templates) {
    std::string p = static_prefix(t);
    if (!p.empty()) mount(ops::clean_path("/" + p), nullptr, "", "", nullptr);
  }
  std::map<std::string, repo::NodeTime> latest_time;
  for (const auto& sn : snapshots_) {
    for (const auto& t : path_templates) {
      TemplatePaths tp = paths_from_snapshot(t, time_template, sn);
      for (std::string p : tp.paths) {
        if (!p.empty()) p = "/" + p;
        // restic's uniqueName: "-1", "-2", ... after a name already taken.
        std::string suffix = tp.time_suffix;
        for (int i = 1; entries_.count(p + suffix); ++i) suffix = tp.time_suffix + "-" + std::to_string(i);
        mount(ops::clean_path(p + suffix), &sn, "", "", nullptr);
        if (tp.time_suffix.empty()) continue;
        auto lt = latest_time.find(p);
        if (lt == latest_time.end() || !time_before(sn.sn.time, lt->second)) {
          mount(ops::clean_path(p + "/latest"), &sn, suffix, "", nullptr);
          latest_time[p] = sn.sn.time;
        }
      }
    }
  }
}

void SnapshotDirs::mount(const std::string& path, const ops::SnapshotEntry* sn,
                         const std::string& link_target, const std::string& child_name,
                         const VirtualEntry* child) {
  VirtualEntry& e = entries_[path];
  if (sn != nullptr) {
    e.snapshot = sn;
    e.link_target = link_target;
  } else if (child != nullptr) {
    e.names[child_name] = child;
  }
  size_t slash = path.rfind('/');
  if (slash != std::string::npos) mount(path.substr(0, slash), nullptr, "", path.substr(slash + 1), &e);
}

const VirtualEntry* SnapshotDirs::find(const std::string& path) const {
  auto it = entries_.find(path);
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace kura::fs
