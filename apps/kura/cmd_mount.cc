// kura mount: the repository as a read-only directory tree through FUSE (restic mount).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "apps/kura/cli.h"
#include "fs/fuse_mount.h"
#include "fs/go_time.h"
#include "fs/repo_fs.h"

namespace kura::cli {
namespace {

struct MountFlags {
  std::vector<std::string> args;
  bool allow_other = false;
  bool no_default_permissions = false;
  bool owner_root = false;
  ops::SnapshotFilter filter;
  std::vector<std::string> path_templates;
  std::string time_template = fs::kDefaultTimeTemplate;
  std::string snapshot_template;  // deprecated name of --time-template
  bool snapshot_template_set = false;
};

base::Status check_flags(Cli& cli, MountFlags& f) {
  if (f.snapshot_template_set) {
    cli.error(cli.msg().get("mount.snapshot_template_deprecated"));
    f.time_template = f.snapshot_template;
  }
  if (f.time_template.empty()) return base::invalid_argument(cli.msg().get("mount.err_time_template_empty"));
  if (f.time_template.front() == '/' || f.time_template.back() == '/') {
    return base::invalid_argument(cli.msg().get("mount.err_time_template_slash"));
  }
  if (f.args.size() != 1) return base::invalid_argument(cli.msg().get("mount.err_args"));
  return base::ok_status();
}

int run(Cli& cli, MountFlags& f) {
  if (auto st = check_flags(cli, f); !st.ok()) return cli.fail(st);
  const std::string& mountpoint = f.args[0];
  auto r = cli.open_repo();
  if (!r.ok()) return cli.fail(r.status());
  repo::Repository& repo = **r;
  auto lock = cli.lock(repo, false);
  if (!lock.ok()) return cli.fail(lock.status());
  if (auto st = repo.load_index(); !st.ok()) return cli.fail(st);

  struct stat st;
  if (::stat(mountpoint.c_str(), &st) != 0) {
    return cli.fail(base::not_found(cli.tr("mount.err_no_mountpoint", mountpoint)));
  }
  if (!S_ISDIR(st.st_mode)) return cli.fail(base::invalid_argument(cli.tr("mount.err_not_dir", mountpoint)));

  fs::FsOptions o;
  o.filter = f.filter;
  o.path_templates = f.path_templates;
  o.time_template = f.time_template;
  o.owner_root = f.owner_root;
  o.uid = f.owner_root ? 0 : ::getuid();
  o.gid = f.owner_root ? 0 : ::getgid();
  fs::RepoFs rfs(repo, o);
  // The first listing now, so that an unreadable repository fails here and not as EIO later.
  if (auto s = rfs.refresh(); !s.ok()) return cli.fail(s);

  fs::FuseOptions fo;
  fo.allow_other = f.allow_other;
  fo.no_default_permissions = f.no_default_permissions;
  fo.on_ready = [&] {
    cli.print(cli.tr("mount.serving", mountpoint) + "\n");
    cli.print(cli.msg().get("mount.hint") + "\n");
    cli.print(cli.msg().get("mount.hint_quit") + "\n");
    std::fflush(stdout);
  };
  fo.on_error = [&](const std::string& path, const base::Status& s) {
    cli.error(cli.tr("mount.read_error", path, s.message()));
  };
  if (auto s = fs::serve_fuse(rfs, mountpoint, fo); !s.ok()) {
    return cli.fail(base::Status(s.code(), cli.tr("mount.err_no_fuse", mountpoint, s.message())));
  }
  return kExitOk;
}

}  // namespace

void add_mount_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("mount", cli.msg().get("cmd.mount"));
  auto f = std::make_shared<MountFlags>();
  cmd->add_option("mountpoint", f->args, cli.msg().get("mount.arg_mountpoint"));
  cmd->add_flag("--allow-other", f->allow_other, cli.msg().get("mount.flag_allow_other"));
  cmd->add_flag("--no-default-permissions", f->no_default_permissions,
                cli.msg().get("mount.flag_no_default_permissions"));
  cmd->add_flag("--owner-root", f->owner_root, cli.msg().get("mount.flag_owner_root"));
  cmd->add_option("-H,--host", f->filter.hosts, cli.msg().get("mount.flag_host"))->allow_extra_args(false);
  cmd->add_option("--tag", f->filter.tags, cli.msg().get("mount.flag_tag"))->allow_extra_args(false);
  cmd->add_option("--path", f->filter.paths, cli.msg().get("mount.flag_path"))->allow_extra_args(false);
  cmd->add_option("--path-template", f->path_templates, cli.msg().get("mount.flag_path_template"))
      ->allow_extra_args(false);
  cmd->add_option("--time-template", f->time_template, cli.msg().get("mount.flag_time_template"));
  cmd->add_option_function<std::string>(
      "--snapshot-template",
      [f](const std::string& v) {
        f->snapshot_template = v;
        f->snapshot_template_set = true;
      },
      cli.msg().get("mount.flag_snapshot_template"));
  cmd->callback([&cli, f] { exit_code() = run(cli, *f); });
}

}  // namespace kura::cli
