// kura snapshots, ls, cat
#include "apps/kura/cli.h"
#include <algorithm>
#include <map>

#include "apps/kura/output.h"
#include "crypto/keyfile.h"
#include "fs/go_time.h"
#include "ops/filter.h"
#include "ops/snapshots.h"
#include "ops/walk.h"
#include "repo/gojson.h"
#include "repo/mode.h"
#include "repo/tree.h"

namespace kura::cli {
namespace {

// restic's FilterLastestSnapshots: the newest `limit` snapshots of each host and path set.
std::vector<ops::SnapshotEntry> keep_latest(std::vector<ops::SnapshotEntry> list, int limit) {
  std::stable_sort(list.begin(), list.end(), [](const ops::SnapshotEntry& a, const ops::SnapshotEntry& b) {
    const repo::NodeTime &x = a.sn.time, &y = b.sn.time;
    return x.sec != y.sec ? x.sec > y.sec : x.nsec > y.nsec;
  });
  std::map<std::pair<std::string, std::string>, int> seen;
  std::vector<ops::SnapshotEntry> out;
  for (auto& e : list) {
    std::vector<std::string> paths = e.sn.paths;
    std::sort(paths.begin(), paths.end());
    if (seen[{e.sn.hostname, join(paths, "|")}]++ < limit) out.push_back(std::move(e));
  }
  return out;
}

void sort_oldest_first(std::vector<ops::SnapshotEntry>& list) {
  std::stable_sort(list.begin(), list.end(), [](const ops::SnapshotEntry& a, const ops::SnapshotEntry& b) {
    const repo::NodeTime &x = a.sn.time, &y = b.sn.time;
    return x.sec != y.sec ? x.sec < y.sec : x.nsec < y.nsec;
  });
}

// restic's printSnapshotGroupJSON: a plain array, or with --group-by one object per group.
std::string snapshots_json(const std::vector<ops::SnapshotGroup>& groups, bool grouped) {
  std::string out = "[";
  bool first = true;
  for (const auto& g : groups) {
    if (grouped) {
      out += first ? "" : ",";
      out += R"({"group_key":{"hostname":)" + go_json_string(g.hostname) +
             ",\"paths\":" + json_string_array(g.paths, true) + ",\"tags\":" + json_string_array(g.tags, true) +
             R"(},"snapshots":[)";
      for (size_t i = 0; i < g.snapshots.size(); ++i) out += (i ? "," : "") + snapshot_json_with_id(g.snapshots[i]);
      out += "]}";
      first = false;
      continue;
    }
    for (const auto& e : g.snapshots) {
      out += (first ? "" : ",") + snapshot_json_with_id(e);
      first = false;
    }
  }
  return out + "]\n";
}

struct SnapshotsFlags {
  ops::SnapshotFilter filter;
  std::vector<std::string> ids;
  bool compact = false;
  bool last = false;
  int latest = 0;
  std::string group_by;
};

int run_snapshots(Cli& cli, const SnapshotsFlags& f) {
  auto group_by = ops::parse_group_by(f.group_by);
  if (!group_by.ok()) return cli.fail(group_by.status());
  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  auto lock = cli.lock(**r, false);
  if (!lock.ok()) return cli.fail(lock.status());
  // A damaged snapshot file does not hide the others: warn and list the rest (exit 0, as
  // restic 0.14).
  auto sel = ops::select_snapshots(**r, f.filter, f.ids);
  if (!sel.ok()) return cli.fail(sel.status());
  for (const auto& s : sel->skipped) cli.error(cli.tr("select.ignoring", s.ref, s.error.message()));
  for (const auto& u : sel->unreadable) cli.error(cli.tr("warn.snapshot_unreadable", u.id.short_hex(), u.error.message()));
  if (sel->filter_ignored) cli.error(cli.msg().get("select.filters_ignored"));
  bool grouped = group_by->host || group_by->paths || group_by->tags;
  std::vector<ops::SnapshotGroup> groups = ops::group_snapshots(std::move(sel->snapshots), *group_by);
  for (auto& g : groups) {
    int limit = f.last ? 1 : f.latest;
    if (limit > 0) g.snapshots = keep_latest(std::move(g.snapshots), limit);
    sort_oldest_first(g.snapshots);
  }
  if (cli.g.json) {
    cli.print_data(snapshots_json(groups, grouped));
    return kExitOk;
  }
  std::string out;
  for (const auto& g : groups) {
    if (grouped) out += snapshot_group_header(cli, g);
    out += snapshots_table(cli, g.snapshots, nullptr, f.compact);
  }
  cli.print_data(out);
  return kExitOk;
}

}  // namespace

void add_snapshots_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("snapshots", cli.msg().get("cmd.snapshots"));
  auto f = std::make_shared<SnapshotsFlags>();
  cmd->add_option("ids", f->ids, cli.msg().get("arg.snapshot_ids"));
  cmd->add_option("-H,--host", f->filter.hosts, cli.msg().get("flag.filter_host"));
  cmd->add_option("--path", f->filter.paths, cli.msg().get("flag.filter_path"));
  cmd->add_option("--tag", f->filter.tags, cli.msg().get("flag.filter_tag"));
  cmd->add_flag("-c,--compact", f->compact, cli.msg().get("tools.flag.compact"));
  cmd->add_flag("--last", f->last, cli.msg().get("tools.flag.last"))->group("");
  cmd->add_option("--latest", f->latest, cli.msg().get("tools.flag.latest"))->check(CLI::NonNegativeNumber);
  cmd->add_option("-g,--group-by", f->group_by, cli.msg().get("tools.flag.group_by"));
  cmd->callback([&cli, f] { exit_code() = run_snapshots(cli, *f); });
}

namespace {

// restic's fs.HasPathPrefix for absolute paths: base is p or one of its parents.
bool has_path_prefix(const std::string& base, const std::string& p) {
  // Absolute, slash-separated paths, cleaned as Go's path.Clean.
  auto abs_clean = [](const std::string& x) { return ops::clean_path(x.empty() || x[0] != '/' ? "/" + x : x); };
  std::string b = abs_clean(base), q = abs_clean(p);
  if (b == q || b == "/") return true;
  return q.size() > b.size() && q.compare(0, b.size(), b) == 0 && q[b.size()] == '/';
}

// restic's lsNodeJSON: size only for files, mode only when set, permissions always.
std::string ls_node_json(const std::string& path, const repo::Node& n) {
  base::Bytes buf;
  repo::JsonWriter w(buf);
  w.raw('{');
  w.key("name", true);
  w.string(n.name);
  w.key("type");
  w.string(repo::node_type_name(n.type));
  w.key("path");
  w.string(path);
  w.key("uid");
  w.number(n.uid);
  w.key("gid");
  w.number(n.gid);
  if (n.type == repo::NodeType::kFile) {
    w.key("size");
    w.number(n.size);
  }
  if (n.mode) {
    w.key("mode");
    w.number(n.mode);
  }
  w.key("permissions");
  w.string(ops::go_file_mode_string(n.mode));
  w.key("mtime");
  w.time(n.mtime);
  w.key("atime");
  w.time(n.atime);
  w.key("ctime");
  w.time(n.ctime);
  w.raw(R"(,"struct_type":"node"})");
  return std::string(buf.begin(), buf.end());
}

struct LsFlags {
  std::string snapshot;
  std::vector<std::string> dirs;
  bool long_format = false;
  bool recursive = false;
  ops::SnapshotFilter filter;
};

int run_ls(Cli& cli, const LsFlags& f) {
  for (const auto& d : f.dirs) {
    if (d.empty() || d[0] != '/') return cli.fail(base::invalid_argument(cli.msg().get("ls.err_relative_dir")));
  }
  // Listed: a node in (or one of) the dirs; entered: dirs on the way to one of them.
  auto within = [&](const std::string& path) {
    if (f.dirs.empty()) return true;
    return std::any_of(f.dirs.begin(), f.dirs.end(), [&](const std::string& d) { return has_path_prefix(d, path); });
  };
  auto approaching = [&](const std::string& path) {
    if (f.dirs.empty()) return true;
    return std::any_of(f.dirs.begin(), f.dirs.end(), [&](const std::string& d) { return has_path_prefix(path, d); });
  };
  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  if (auto st = (*r)->load_index(); !st.ok()) return cli.fail(st);
  auto sel = ops::select_snapshots(**r, f.filter, {f.snapshot});
  if (!sel.ok()) return cli.fail(sel.status());
  for (const auto& s : sel->skipped) cli.error(cli.tr("select.ignoring", s.ref, s.error.message()));
  for (const auto& sn : sel->snapshots) {
    if (cli.g.json) {
      cli.print_data(snapshot_json_with_id(sn, R"("struct_type":"snapshot")") + "\n");
    } else {
      cli.print(cli.tr("ls.header", sn.id.short_hex(), "[" + join(sn.sn.paths, " ") + "]",
                       "[" + join(f.dirs, " ") + "]", fs::go_time_string(sn.sn.time)) + "\n");
    }
    base::Status st = ops::walk_tree(**r, sn.sn.tree, "", [&](const std::string& path, const repo::Node& n)
                                                               -> base::StatusOr<ops::Visit> {
      if (within(path)) {
        if (cli.g.json) {
          cli.print_data(ls_node_json(path, n) + "\n");
        } else if (f.long_format) {
          cli.print_data(long_node_line(path, n) + "\n");
        } else {
          cli.print_data(path + "\n");
        }
        if (f.recursive) return ops::Visit::kDescend;
      }
      return approaching(path) ? ops::Visit::kDescend : ops::Visit::kSkip;
    });
    if (!st.ok()) return cli.fail(st);
  }
  return kExitOk;
}

}  // namespace

void add_ls_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("ls", cli.msg().get("cmd.ls"));
  auto f = std::make_shared<LsFlags>();
  cmd->add_option("snapshot", f->snapshot, cli.msg().get("arg.snapshot"))->required();
  cmd->add_option("dirs", f->dirs, cli.msg().get("arg.ls_dirs"));
  cmd->add_flag("-l,--long", f->long_format, cli.msg().get("flag.long"));
  cmd->add_flag("--recursive", f->recursive, cli.msg().get("flag.recursive"));
  cmd->add_option("-H,--host", f->filter.hosts, cli.msg().get("ls.flag_host"));
  cmd->add_option("--tag", f->filter.tags, cli.msg().get("ls.flag_tag"));
  cmd->add_option("--path", f->filter.paths, cli.msg().get("ls.flag_path"));
  cmd->callback([&cli, f] { exit_code() = run_ls(cli, *f); });
}

void add_cat_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("cat", cli.msg().get("cmd.cat"));
  struct Opts {
    std::string type, id;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("type", o->type, cli.msg().get("arg.cat_type"))
      ->required()
      ->check(CLI::IsMember({"config", "masterkey", "key", "index", "snapshot", "lock", "pack", "blob", "tree"}));
  cmd->add_option("id", o->id, cli.msg().get("arg.cat_id"));
  cmd->callback([&cli, o] {
    exit_code() = [&]() -> int {
      auto r = cli.open_repo();
      if (!r.ok()) return cli.fail(r.status());
      repo::Repository& repo = **r;
      auto need_id = [&]() -> base::Status {
        if (o->id.empty()) return base::invalid_argument(cli.tr("err.cat_needs_id", o->type));
        return base::ok_status();
      };
      auto emit = [&](base::ByteSpan b) { cli.print_data(std::string(base::as_chars(b))); };
      // restic prints the JSON documents as json.MarshalIndent does, then a newline.
      auto emit_indented = [&](std::string_view json) -> int {
        auto text = json_indent(json);
        if (!text.ok()) return cli.fail(text.status());
        cli.print_data(*text + "\n");
        return kExitOk;
      };
      if (o->type == "config") {
        base::Bytes b = repo::encode_config(repo.config());
        return emit_indented(base::as_chars(b));
      }
      if (o->type == "masterkey") return emit_indented(crypto::master_key_json(repo.key()));
      if (auto st = need_id(); !st.ok()) return cli.fail(st);
      auto unpacked = [&](backend::FileKind kind) -> int {
        auto id = repo.find_id(kind, o->id);
        if (!id.ok()) return cli.fail(id.status());
        auto data = repo.load_unpacked(kind, *id);
        if (!data.ok()) return cli.fail(data.status());
        if (kind == backend::FileKind::kIndex) {  // restic prints the index as stored
          emit(*data);
          cli.print_data("\n");
          return kExitOk;
        }
        return emit_indented(base::as_chars(*data));
      };
      if (o->type == "index") return unpacked(backend::FileKind::kIndex);
      if (o->type == "snapshot") {
        auto sn = ops::find_snapshot(repo, o->id);
        if (!sn.ok()) return cli.fail(sn.status());
        base::Bytes b = repo::encode_snapshot(sn->sn);  // restic re-encodes the loaded snapshot
        return emit_indented(base::as_chars(b));
      }
      if (o->type == "lock") return unpacked(backend::FileKind::kLock);
      if (o->type == "key") {
        auto data = repo.backend()->load({backend::FileKind::kKey, o->id}, 0, 0);
        if (!data.ok()) return cli.fail(data.status());
        return emit_indented(base::as_chars(*data));
      }
      if (o->type == "pack") {
        auto id = repo::Id::parse(o->id);
        if (!id.ok()) return cli.fail(id.status());
        auto data = repo.backend()->load({backend::FileKind::kPack, o->id}, 0, 0);
        if (!data.ok()) return cli.fail(data.status());
        // As restic: a damaged pack is still printed, after a warning.
        if (repo::Id got = repo::hash_id(*data); got != *id) {
          std::fflush(stdout);
          std::fputs(cli.tr("cat.pack_hash_mismatch", id->hex(), got.hex()).c_str(), stderr);
        }
        emit(*data);
        return kExitOk;
      }
      // blob / tree
      auto id = repo::Id::parse(o->id);
      if (!id.ok()) return cli.fail(id.status());
      if (auto st = repo.load_index(); !st.ok()) return cli.fail(st);
      repo::BlobType t = o->type == "tree" ? repo::BlobType::kTree : repo::BlobType::kData;
      auto data = repo.load_blob(t, *id);
      if (!data.ok() && o->type == "blob") data = repo.load_blob(repo::BlobType::kTree, *id);
      if (!data.ok()) return cli.fail(data.status());
      emit(*data);
      return kExitOk;
    }();
  });
}

}  // namespace kura::cli
