// kura snapshots, ls, cat
#include "apps/kura/cli.h"
#include "apps/kura/json_out.h"
#include "crypto/keyfile.h"
#include "ops/snapshots.h"
#include "ops/walk.h"
#include "repo/gojson.h"
#include "repo/mode.h"
#include "repo/tree.h"

namespace kura::cli {
namespace {

std::string snapshot_json(const ops::SnapshotEntry& e) {
  JsonObject j;
  j.str("time", repo::format_go_time(e.sn.time));
  if (e.sn.parent) j.str("parent", e.sn.parent->hex());
  j.str("tree", e.sn.tree.hex());
  std::string paths = "[";
  for (size_t i = 0; i < e.sn.paths.size(); ++i) paths += (i ? "," : "") + json_string(e.sn.paths[i]);
  j.raw("paths", paths + "]");
  j.str("hostname", e.sn.hostname).str("username", e.sn.username).num("uid", e.sn.uid).num("gid", e.sn.gid);
  if (!e.sn.tags.empty()) {
    std::string tags = "[";
    for (size_t i = 0; i < e.sn.tags.size(); ++i) tags += (i ? "," : "") + json_string(e.sn.tags[i]);
    j.raw("tags", tags + "]");
  }
  j.str("id", e.id.hex()).str("short_id", e.id.short_hex());
  return j.done();
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

}  // namespace

void add_snapshots_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("snapshots", cli.msg().get("cmd.snapshots"));
  struct Opts {
    ops::SnapshotFilter filter;
    std::vector<std::string> ids;
    bool latest = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("ids", o->ids, cli.msg().get("arg.snapshot_ids"));
  cmd->add_option("-H,--host", o->filter.hosts, cli.msg().get("flag.filter_host"));
  cmd->add_option("--path", o->filter.paths, cli.msg().get("flag.filter_path"));
  cmd->add_option("--tag", o->filter.tags, cli.msg().get("flag.filter_tag"));
  cmd->callback([&cli, o] {
    exit_code() = [&]() -> int {
      auto r = cli.open_repo();
      if (!r.ok()) return cli.fail(r.status());
      // A damaged snapshot file does not hide the others: warn and list the rest (exit 0,
      // as restic 0.14).
      std::vector<ops::SnapshotLoadError> unreadable;
      auto all = ops::load_snapshots(**r, &unreadable);
      if (!all.ok()) return cli.fail(all.status());
      auto wanted = [&](const repo::Id& id) {
        if (o->ids.empty()) return true;
        for (const auto& ref : o->ids) {
          if (id.hex().rfind(ref, 0) == 0) return true;
        }
        return false;
      };
      for (const auto& u : unreadable) {
        if (wanted(u.id)) cli.error(cli.tr("warn.snapshot_unreadable", u.id.short_hex(), u.error.message()));
      }
      std::vector<ops::SnapshotEntry> shown;
      for (auto& e : *all) {
        if (o->filter.matches(e.sn) && wanted(e.id)) shown.push_back(e);
      }
      if (cli.g.json) {
        std::string out = "[";
        for (size_t i = 0; i < shown.size(); ++i) out += (i ? "," : "") + snapshot_json(shown[i]);
        cli.print_data(out + "]\n");
        return kExitOk;
      }
      std::string out = fmt::format("{:<9} {:<19}  {:<12} {:<12} {}\n", cli.msg().get("col.id"),
                                    cli.msg().get("col.time"), cli.msg().get("col.host"),
                                    cli.msg().get("col.tags"), cli.msg().get("col.paths"));
      std::string rule(80, '-');
      out += rule + "\n";
      for (const auto& e : shown) {
        std::string first = e.sn.paths.empty() ? "" : e.sn.paths[0];
        out += fmt::format("{:<9} {:<19}  {:<12} {:<12} {}\n", e.id.short_hex(),
                           format_local_time(e.sn.time.sec, e.sn.time.offset), e.sn.hostname,
                           join(e.sn.tags, ","), first);
        for (size_t i = 1; i < e.sn.paths.size(); ++i) out += fmt::format("{:<57}{}\n", "", e.sn.paths[i]);
      }
      out += rule + "\n" + cli.tr("snapshots.count", shown.size()) + "\n";
      cli.print_data(out);
      return kExitOk;
    }();
  });
}

void add_ls_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("ls", cli.msg().get("cmd.ls"));
  struct Opts {
    std::string snapshot;
    std::vector<std::string> dirs;
    bool long_format = false;
    bool recursive = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("snapshot", o->snapshot, cli.msg().get("arg.snapshot"))->required();
  cmd->add_option("dirs", o->dirs, cli.msg().get("arg.ls_dirs"));
  cmd->add_flag("-l,--long", o->long_format, cli.msg().get("flag.long"));
  cmd->add_flag("--recursive", o->recursive, cli.msg().get("flag.recursive"));
  cmd->callback([&cli, o] {
    exit_code() = [&]() -> int {
      auto r = cli.open_repo();
      if (!r.ok()) return cli.fail(r.status());
      if (auto st = (*r)->load_index(); !st.ok()) return cli.fail(st);
      auto sn = ops::find_snapshot(**r, o->snapshot);
      if (!sn.ok()) return cli.fail(sn.status());
      std::vector<std::string> dirs;
      for (const auto& d : o->dirs) dirs.push_back(d.size() > 1 && d.back() == '/' ? d.substr(0, d.size() - 1) : d);
      // A node is listed if no dirs were given, or it lies below one (recursive), or directly in one.
      auto selected = [&](const std::string& path) {
        if (dirs.empty()) return true;
        for (const auto& d : dirs) {
          if (path == d) return true;
          if (path.rfind(d + "/", 0) == 0) {
            if (o->recursive) return true;
            if (path.find('/', d.size() + 1) == std::string::npos) return true;
          }
        }
        return false;
      };
      auto may_contain = [&](const std::string& path) {
        if (dirs.empty()) return true;
        for (const auto& d : dirs) {
          if (d.rfind(path + "/", 0) == 0 || path == d) return true;
          if (o->recursive && path.rfind(d + "/", 0) == 0) return true;
        }
        return false;
      };
      if (cli.g.json) {
        JsonObject j;
        j.str("time", repo::format_go_time(sn->sn.time)).str("tree", sn->sn.tree.hex());
        j.str("id", sn->id.hex()).str("short_id", sn->id.short_hex()).str("struct_type", "snapshot");
        cli.print_data(j.done() + "\n");
      } else {
        cli.print(cli.tr("ls.header", sn->id.short_hex(), join(sn->sn.paths, " "),
                         format_local_time(sn->sn.time.sec, sn->sn.time.offset)) + "\n");
      }
      base::Status st = ops::walk_tree(**r, sn->sn.tree, "", [&](const std::string& path, const repo::Node& n) -> base::StatusOr<ops::Visit> {
        if (selected(path)) {
          if (cli.g.json) {
            JsonObject j;
            j.str("name", n.name).str("type", std::string(repo::node_type_name(n.type))).str("path", path);
            j.num("uid", n.uid).num("gid", n.gid).num("size", n.size).num("mode", n.mode);
            j.str("mtime", repo::format_go_time(n.mtime)).str("atime", repo::format_go_time(n.atime));
            j.str("ctime", repo::format_go_time(n.ctime)).str("struct_type", "node");
            cli.print_data(j.done() + "\n");
          } else if (o->long_format) {
            cli.print_data(fmt::format("{} {:>5} {:>5} {:>12} {} {}{}\n", ops::go_file_mode_string(n.mode), n.uid, n.gid, n.size,
                                       format_local_time(n.mtime.sec, n.mtime.offset), path,
                                       n.type == repo::NodeType::kSymlink ? " -> " + n.linktarget : ""));
          } else {
            cli.print_data(path + "\n");
          }
        }
        return may_contain(path) ? ops::Visit::kDescend : ops::Visit::kSkip;
      });
      if (!st.ok()) return cli.fail(st);
      return kExitOk;
    }();
  });
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
      if (o->type == "config") {
        emit(repo::encode_config(repo.config()));
        cli.print_data("\n");
        return kExitOk;
      }
      if (o->type == "masterkey") {
        cli.print_data(crypto::master_key_json(repo.key()) + "\n");
        return kExitOk;
      }
      if (auto st = need_id(); !st.ok()) return cli.fail(st);
      auto unpacked = [&](backend::FileKind kind) -> int {
        auto id = repo.find_id(kind, o->id);
        if (!id.ok()) return cli.fail(id.status());
        auto data = repo.load_unpacked(kind, *id);
        if (!data.ok()) return cli.fail(data.status());
        emit(*data);
        if (kind != backend::FileKind::kIndex) cli.print_data("\n");
        return kExitOk;
      };
      if (o->type == "index") return unpacked(backend::FileKind::kIndex);
      if (o->type == "snapshot") {
        auto sn = ops::find_snapshot(repo, o->id);
        if (!sn.ok()) return cli.fail(sn.status());
        auto data = repo.load_unpacked(backend::FileKind::kSnapshot, sn->id);
        if (!data.ok()) return cli.fail(data.status());
        emit(*data);
        cli.print_data("\n");
        return kExitOk;
      }
      if (o->type == "lock") return unpacked(backend::FileKind::kLock);
      if (o->type == "key") {
        auto data = repo.backend()->load({backend::FileKind::kKey, o->id}, 0, 0);
        if (!data.ok()) return cli.fail(data.status());
        emit(*data);
        cli.print_data("\n");
        return kExitOk;
      }
      if (o->type == "pack") {
        auto id = repo::Id::parse(o->id);
        if (!id.ok()) return cli.fail(id.status());
        auto data = repo.backend()->load({backend::FileKind::kPack, o->id}, 0, 0);
        if (!data.ok()) return cli.fail(data.status());
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
