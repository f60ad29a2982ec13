// kura list
#include "apps/kura/cli.h"
#include "apps/kura/repocmds.h"
#include "repo/index.h"

namespace kura::cli {
namespace {

// Every entry of every index file, as restic lists them (a blob in two index files twice).
int list_blobs(Cli& cli, repo::Repository& r) {
  auto ids = r.list_ids(backend::FileKind::kIndex);
  if (!ids.ok()) return cli.fail(ids.status());
  for (const repo::Id& id : *ids) {
    auto json = r.load_unpacked(backend::FileKind::kIndex, id);
    if (!json.ok()) return cli.fail(json.status());
    auto packs = repo::decode_index_json(*json);
    if (!packs.ok()) return cli.fail(packs.status().with_context("index/" + id.hex()));
    std::string out;
    for (const auto& p : *packs) {
      for (const auto& b : p.blobs) {
        out += repo::blob_type_name(b.type);
        out += ' ';
        out += b.id.hex();
        out += '\n';
      }
    }
    cli.print_data(out);
  }
  return kExitOk;
}

int run_list(Cli& cli, const std::string& what) {
  static const std::pair<const char*, backend::FileKind> kKinds[] = {
      {"packs", backend::FileKind::kPack},         {"index", backend::FileKind::kIndex},
      {"snapshots", backend::FileKind::kSnapshot}, {"keys", backend::FileKind::kKey},
      {"locks", backend::FileKind::kLock},
  };
  if (what.empty()) return cli.fail(base::invalid_argument(cli.msg().get("list.err.no_type")));
  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  // Listing locks must work while another process holds an exclusive one.
  std::unique_ptr<repo::RepoLock> lock;
  if (what != "locks") {
    auto l = cli.lock(**r, false);
    if (!l.ok()) return cli.fail(l.status());
    lock = std::move(*l);
  }
  if (what == "blobs") return list_blobs(cli, **r);
  for (const auto& [name, kind] : kKinds) {
    if (what != name) continue;
    auto ids = (*r)->list_ids(kind);
    if (!ids.ok()) return cli.fail(ids.status());
    std::string out;
    for (const repo::Id& id : *ids) out += id.hex() + "\n";
    cli.print_data(out);
    return kExitOk;
  }
  return cli.fail(base::invalid_argument(cli.msg().get("list.err.invalid_type")));
}

}  // namespace

void add_list_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("list", cli.msg().get("cmd.list"));
  auto what = std::make_shared<std::string>();
  cmd->add_option("type", *what, cli.msg().get("list.arg.type"));
  cmd->callback([&cli, what] { exit_code() = run_list(cli, *what); });
}

}  // namespace kura::cli
