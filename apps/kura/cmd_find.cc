// kura find
#include "apps/kura/cli.h"
#include "apps/kura/output.h"
#include "ops/find.h"
#include "repo/gojson.h"
#include "repo/tree.h"

namespace kura::cli {
namespace {

struct FindFlags {
  std::vector<std::string> patterns;
  std::string oldest, newest;
  std::vector<std::string> snapshots;
  bool blob = false, tree = false, pack = false, show_pack_id = false;
  bool ignore_case = false, long_format = false;
  ops::SnapshotFilter filter;
};

// A matching node in restic's find --json shape: the node's fields without name, inode,
// extended_attributes, device, content and subtree, after "path" and "permissions".
std::string node_json(const std::string& path, const repo::Node& n) {
  base::Bytes buf;
  repo::JsonWriter w(buf);
  w.raw('{');
  w.key("path", true);
  w.string(path);
  w.key("permissions");
  w.string(ops::go_file_mode_string(n.mode));
  w.key("type");
  w.string(repo::node_type_name(n.type));
  if (n.mode) {
    w.key("mode");
    w.number(n.mode);
  }
  w.key("mtime");
  w.time(n.mtime);
  w.key("atime");
  w.time(n.atime);
  w.key("ctime");
  w.time(n.ctime);
  w.key("uid");
  w.number(n.uid);
  w.key("gid");
  w.number(n.gid);
  auto opt_str = [&](const char* k, const std::string& v) {
    if (v.empty()) return;
    w.key(k);
    w.string(v);
  };
  auto opt_num = [&](const char* k, uint64_t v) {
    if (!v) return;
    w.key(k);
    w.number(v);
  };
  opt_str("user", n.user);
  opt_str("group", n.group);
  opt_num("device_id", n.device_id);
  opt_num("size", n.size);
  opt_num("links", n.links);
  opt_str("linktarget", n.linktarget);
  opt_str("error", n.error);
  w.raw('}');
  return std::string(buf.begin(), buf.end());
}

// restic's statefulOutput: text or one JSON array for the whole run.
class Output {
 public:
  explicit Output(const Cli& cli, bool long_format) : cli_(cli), long_(long_format) {}

  void set_snapshot(const ops::SnapshotEntry* sn) { current_ = sn; }

  void match(const std::string& path, const repo::Node& n) {
    if (cli_.g.json) {
      std::string out;
      if (!in_use_) {
        out += "[";
        in_use_ = true;
      }
      if (current_ != shown_) {
        if (shown_) out += close_group() + ",";
        out += R"({"matches":[)";
        shown_ = current_;
        hits_ = 0;
      }
      if (hits_ > 0) out += ",";
      out += node_json(path, n);
      ++hits_;
      cli_.print_data(out);
      return;
    }
    if (current_ != shown_) {
      if (shown_) cli_.print("\n");
      shown_ = current_;
      cli_.print(cli_.tr("find.found_in", shown_->id.short_hex(), local_time(*shown_)) + "\n");
    }
    if (!long_) {
      cli_.print_data(path + "\n");
      return;
    }
    cli_.print_data(long_node_line(path, n) + "\n");
  }

  void object(const ops::ObjectHit& hit) {
    const ops::SnapshotEntry& sn = *current_;
    bool blob = hit.kind == ops::ObjectKind::kBlob;
    if (cli_.g.json) {
      std::string out = in_use_ ? "" : "[";
      in_use_ = true;
      if (hits_ > 0) out += ",";
      ++hits_;
      out += R"({"object_type":)";
      out += blob ? R"("blob")" : R"("tree")";
      out += R"(,"id":")" + hit.id.hex() + R"(","path":)";
      repo::append_json_string(out, hit.path);
      if (blob) out += R"(,"parent_tree":")" + hit.parent_tree.hex() + "\"";
      out += R"(,"snapshot":")" + sn.id.hex() + R"(","time":")" + repo::format_go_time(sn.sn.time) + "\"}";
      cli_.print_data(out);
      return;
    }
    if (blob) {
      cli_.print_data(cli_.tr("find.found_blob", hit.id.hex(), hit.path, hit.parent_tree.hex(),
                              sn.id.short_hex(), local_time(sn)) + "\n");
    } else {
      cli_.print_data(cli_.tr("find.found_tree", hit.id.hex(), hit.path, sn.id.short_hex(), local_time(sn)) + "\n");
    }
  }

  void finish() {
    if (!cli_.g.json) return;
    std::string out;
    if (shown_) out += close_group();
    out += in_use_ ? "]\n" : "[]\n";
    cli_.print_data(out);
  }

 private:
  std::string close_group() const {
    return fmt::format(R"(],"hits":{},"snapshot":"{}"}})", hits_, shown_->id.hex());
  }
  static std::string local_time(const ops::SnapshotEntry& sn) {
    return format_local_time(sn.sn.time.sec, sn.sn.time.offset);
  }

  const Cli& cli_;
  bool long_;
  const ops::SnapshotEntry* current_ = nullptr;
  const ops::SnapshotEntry* shown_ = nullptr;
  bool in_use_ = false;
  size_t hits_ = 0;
};

void show_pack_ids(const Cli& cli, repo::Repository& repo, const std::vector<std::string>& ids,
                   repo::BlobType type) {
  for (const auto& s : ids) {
    auto id = repo::Id::parse(s);
    if (!id.ok()) {
      cli.print_data(cli.tr("find.object_prefix", s) + "\n");
      continue;
    }
    std::string line = repo.with_index([&](const repo::Index& idx) -> std::string {
      const repo::IndexEntry* e = idx.find(*id, type);
      if (!e) return cli.tr("find.object_not_found", id->short_hex());
      const repo::Id& pack = idx.pack_id(e->pack);
      return cli.tr("find.object_pack", pack.hex(), pack.short_hex(), repo::blob_type_name(type),
                    id->short_hex(), e->offset, e->length, e->uncompressed_length);
    });
    cli.print_data(line + "\n");
  }
}

int run(Cli& cli, FindFlags& f) {
  if (f.patterns.empty()) return cli.fail(base::invalid_argument(cli.msg().get("find.err_no_pattern")));
  if (int(f.blob) + int(f.tree) + int(f.pack) > 1) {
    return cli.fail(base::invalid_argument(cli.msg().get("find.err_id_types")));
  }
  ops::FindOptions fo;
  fo.patterns = f.patterns;
  fo.ignore_case = f.ignore_case;
  for (auto [text, target] : {std::pair{&f.oldest, &fo.oldest}, std::pair{&f.newest, &fo.newest}}) {
    if (text->empty()) continue;
    auto t = ops::parse_find_time(*text);
    if (!t.ok()) return cli.fail(base::invalid_argument(cli.tr("find.err_time", *text)));
    *target = *t;
  }
  bool by_id = f.blob || f.tree || f.pack;
  std::optional<ops::Finder> finder;
  std::optional<ops::IdFinder> id_finder;
  if (by_id) {
    for (const auto& p : f.patterns) {
      if (!ops::IdFinder::create({p}, {}).ok()) return cli.fail(base::invalid_argument(cli.tr("find.err_bad_id", p)));
    }
    auto idf = ops::IdFinder::create(f.blob ? f.patterns : std::vector<std::string>{},
                                     f.tree ? f.patterns : std::vector<std::string>{});
    if (!idf.ok()) return cli.fail(idf.status());
    id_finder = std::move(*idf);
  } else {
    for (const auto& p : f.patterns) {
      auto np = ops::NamePattern::parse(p, f.ignore_case);
      if (!np.ok()) return cli.fail(base::invalid_argument(cli.tr("find.err_bad_pattern", p)));
    }
    auto fd = ops::Finder::create(fo);
    if (!fd.ok()) return cli.fail(fd.status());
    finder = std::move(*fd);
  }

  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  repo::Repository& repo = **r;
  auto lock = cli.lock(repo, false);
  if (!lock.ok()) return cli.fail(lock.status());
  if (auto st = repo.load_index(); !st.ok()) return cli.fail(st);
  if (f.pack) {
    auto pb = ops::blobs_of_packs(repo, f.patterns);
    if (!pb.ok()) return cli.fail(pb.status());
    if (!pb->from_index.empty()) {
      std::string list;
      for (const auto& id : pb->from_index) list += (list.empty() ? "" : " ") + id.hex();
      cli.error(cli.tr("find.packs_from_index", list));
    }
    id_finder->add_blobs(pb->blobs);
  }
  auto sel = ops::select_snapshots(repo, f.filter, f.snapshots);
  if (!sel.ok()) return cli.fail(sel.status());
  for (const auto& s : sel->skipped) cli.error(cli.tr("select.ignoring", s.ref, s.error.message()));
  for (const auto& u : sel->unreadable) {
    cli.error(cli.tr("warn.snapshot_unreadable", u.id.short_hex(), u.error.message()));
  }
  if (sel->filter_ignored) cli.error(cli.msg().get("select.filters_ignored"));

  Output out(cli, f.long_format);
  for (const auto& sn : sel->snapshots) {
    out.set_snapshot(&sn);
    auto on_tree_error = [&](const repo::Id& parent, const base::Status& st) {
      cli.error(cli.tr("find.tree_error", parent.hex(), sn.id.hex(), st.message()));
    };
    base::Status st;
    if (finder) {
      st = finder->find_in(repo, sn.sn.tree, [&](const std::string& path, const repo::Node& n) { out.match(path, n); },
                           on_tree_error);
    } else {
      st = id_finder->find_in(repo, sn.sn.tree, [&](const ops::ObjectHit& h) { out.object(h); }, on_tree_error);
    }
    if (!st.ok()) {
      out.finish();
      return cli.fail(st.with_context("snapshot " + sn.id.short_hex()));
    }
  }
  out.finish();
  if (f.show_pack_id && id_finder) {
    show_pack_ids(cli, repo, id_finder->blob_patterns(), repo::BlobType::kData);
    show_pack_ids(cli, repo, id_finder->tree_patterns(), repo::BlobType::kTree);
  }
  return kExitOk;
}

}  // namespace

void add_find_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("find", cli.msg().get("cmd.find"));
  auto f = std::make_shared<FindFlags>();
  cmd->add_option("patterns", f->patterns, cli.msg().get("find.arg_patterns"));
  cmd->add_option("-O,--oldest", f->oldest, cli.msg().get("find.flag_oldest"));
  cmd->add_option("-N,--newest", f->newest, cli.msg().get("find.flag_newest"));
  cmd->add_option("-s,--snapshot", f->snapshots, cli.msg().get("find.flag_snapshot"))->allow_extra_args(false);
  cmd->add_flag("--blob", f->blob, cli.msg().get("find.flag_blob"));
  cmd->add_flag("--tree", f->tree, cli.msg().get("find.flag_tree"));
  cmd->add_flag("--pack", f->pack, cli.msg().get("find.flag_pack"));
  cmd->add_flag("--show-pack-id", f->show_pack_id, cli.msg().get("find.flag_show_pack_id"));
  cmd->add_flag("-i,--ignore-case", f->ignore_case, cli.msg().get("find.flag_ignore_case"));
  cmd->add_flag("-l,--long", f->long_format, cli.msg().get("find.flag_long"));
  cmd->add_option("-H,--host", f->filter.hosts, cli.msg().get("find.flag_host"))->allow_extra_args(false);
  cmd->add_option("--tag", f->filter.tags, cli.msg().get("find.flag_tag"))->allow_extra_args(false);
  cmd->add_option("--path", f->filter.paths, cli.msg().get("find.flag_path"))->allow_extra_args(false);
  cmd->callback([&cli, f] { exit_code() = run(cli, *f); });
}

}  // namespace kura::cli
