// kura init, version, unlock, key.
#include <unistd.h>

#include "apps/kura/cli.h"
#include "apps/kura/password.h"
#include "apps/kura/repocmds.h"
#include "chunker/chunker.h"
#include "ops/filter.h"

namespace kura::cli {

void add_init_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("init", cli.msg().get("cmd.init"));
  struct Opts {
    std::string version = "2";
    std::string polynomial;
    bool copy_chunker_params = false;
    SecondaryRepoFlags from;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--repository-version", o->version, cli.msg().get("flag.repository_version"))
      ->check(CLI::IsMember({"1", "2", "latest", "stable"}));
  cmd->add_option("--chunker-polynomial", o->polynomial, cli.msg().get("flag.chunker_polynomial"));
  cmd->add_flag("--copy-chunker-params", o->copy_chunker_params, cli.msg().get("init.flag.copy_chunker_params"));
  add_secondary_repo_flags(cmd, cli, o->from, cli.msg().get("init.from_usage"));
  cmd->callback([&cli, o] {
    exit_code() = [&]() -> int {
      if (base::Status st = cli.check_pack_size(); !st.ok()) return cli.fail(st);
      auto be = cli.open_backend();
      if (!be.ok()) return cli.fail(be.status());
      repo::InitOptions io;
      io.version = o->version == "1" ? 1 : 2;
      io.username = cli.username();
      io.hostname = cli.hostname();
      if (!o->polynomial.empty()) {
        std::string p = o->polynomial;
        if (p.rfind("0x", 0) == 0) p = p.substr(2);
        auto pol = chunker::parse_polynomial(p);
        if (!pol.ok()) return cli.fail(pol.status());
        io.chunker_polynomial = *pol;
      }
      auto copied = chunker_polynomial_from(cli, o->copy_chunker_params, o->from);
      if (!copied.ok()) return cli.fail(copied.status());
      if (*copied) io.chunker_polynomial = *copied;
      auto pw = cli.password(true);
      if (!pw.ok()) return cli.fail(pw.status());
      if (pw->empty()) return cli.fail(base::invalid_argument(cli.msg().get("err.empty_password")));
      auto r = repo::Repository::init(be->get(), *pw, io);
      if (!r.ok()) return cli.fail(r.status());
      if (cli.g.json) {
        cli.print_data(fmt::format("{{\"message_type\":\"initialized\",\"id\":\"{}\",\"repository\":\"{}\"}}\n",
                                   (*r)->config().id, (*be)->location()));
      } else {
        cli.print(cli.tr("init.done", (*r)->config().id.substr(0, 10), (*be)->location()) + "\n");
      }
      return kExitOk;
    }();
  });
}

void add_version_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("version", cli.msg().get("cmd.version"));
  cmd->callback([&cli] {
    if (cli.g.json) {
      cli.print_data(fmt::format("{{\"message_type\":\"version\",\"version\":\"{}\",\"format\":\"restic repository v1/v2\"}}\n", KURA_VERSION));
    } else {
      cli.print_data(cli.tr("version.text", KURA_VERSION) + "\n");
    }
  });
}

void add_unlock_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("unlock", cli.msg().get("cmd.unlock"));
  auto all = std::make_shared<bool>(false);
  cmd->add_flag("--remove-all", *all, cli.msg().get("flag.remove_all"));
  cmd->callback([&cli, all] {
    exit_code() = [&]() -> int {
      auto r = cli.open_repo();
      if (!r.ok()) return cli.fail(r.status());
      auto n = repo::remove_locks(**r, *all, cli.hostname());
      if (!n.ok()) return cli.fail(n.status());
      cli.print(cli.tr("unlock.done", *n) + "\n");
      return kExitOk;
    }();
  });
}

void add_key_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("key", cli.msg().get("cmd.key"));
  cmd->require_subcommand(1);
  struct Opts {
    std::string new_password_file;
    std::string host, user;  // recorded in new key files (default: this machine's)
    std::string id;
  };
  auto o = std::make_shared<Opts>();
  auto new_password = [&cli, o]() -> base::StatusOr<std::string> {
    // restic's getNewPassword: the file as a password file (decoded, trimmed), else asked.
    if (!o->new_password_file.empty()) return read_password_file(*cli.env, "--new-password-file", o->new_password_file);
    return cli.read_password_twice(cli.msg().get("prompt.new_key_password"), cli.msg().get("prompt.password_again"));
  };

  auto* list = cmd->add_subcommand("list", cli.msg().get("cmd.key_list"));
  list->callback([&cli] {
    exit_code() = [&]() -> int {
      auto r = cli.open_repo();
      if (!r.ok()) return cli.fail(r.status());
      auto keys = (*r)->list_keys();
      if (!keys.ok()) return cli.fail(keys.status());
      if (cli.g.json) {
        std::string out = "[";
        for (size_t i = 0; i < keys->size(); ++i) {
          const auto& k = (*keys)[i];
          if (i) out += ',';
          out += fmt::format("{{\"current\":{},\"id\":\"{}\",\"userName\":\"{}\",\"hostName\":\"{}\",\"created\":\"{}\"}}",
                             k.current ? "true" : "false", k.id, k.username, k.hostname, k.created);
        }
        cli.print_data(out + "]\n");
        return kExitOk;
      }
      std::string out = fmt::format(" {:<10} {:<10} {:<16} {}\n", "ID", "User", "Host", "Created");
      out += std::string(60, '-') + "\n";
      for (const auto& k : *keys) {
        out += fmt::format("{}{:<10} {:<10} {:<16} {}\n", k.current ? "*" : " ", k.id.substr(0, 8),
                           k.username, k.hostname, k.created.substr(0, 19));
      }
      cli.print_data(out);
      return kExitOk;
    }();
  });

  auto* add = cmd->add_subcommand("add", cli.msg().get("cmd.key_add"));
  add->add_option("--new-password-file", o->new_password_file, cli.msg().get("flag.new_password_file"));
  add->add_option("--host", o->host, cli.msg().get("flag.key_host"));
  add->add_option("--user", o->user, cli.msg().get("flag.key_user"));
  add->callback([&cli, new_password, o] {
    exit_code() = [&]() -> int {
      auto r = cli.open_repo();
      if (!r.ok()) return cli.fail(r.status());
      auto pw = new_password();
      if (!pw.ok()) return cli.fail(pw.status());
      auto id = (*r)->add_key(*pw, repo::KdfParams{}, o->user.empty() ? cli.username() : o->user,
                                 o->host.empty() ? cli.hostname() : o->host);
      if (!id.ok()) return cli.fail(id.status());
      cli.print(cli.tr("key.added", id->substr(0, 8)) + "\n");
      return kExitOk;
    }();
  });

  auto* passwd = cmd->add_subcommand("passwd", cli.msg().get("cmd.key_passwd"));
  passwd->add_option("--new-password-file", o->new_password_file, cli.msg().get("flag.new_password_file"));
  passwd->add_option("--host", o->host, cli.msg().get("flag.key_host"));
  passwd->add_option("--user", o->user, cli.msg().get("flag.key_user"));
  passwd->callback([&cli, new_password, o] {
    exit_code() = [&]() -> int {
      auto r = cli.open_repo();
      if (!r.ok()) return cli.fail(r.status());
      auto pw = new_password();
      if (!pw.ok()) return cli.fail(pw.status());
      std::string old = (*r)->key_id();
      auto id = (*r)->add_key(*pw, repo::KdfParams{}, o->user.empty() ? cli.username() : o->user,
                                 o->host.empty() ? cli.hostname() : o->host);
      if (!id.ok()) return cli.fail(id.status());
      // Remove the old key only once the new one is stored.
      base::Status st = (*r)->backend()->remove({backend::FileKind::kKey, old});
      if (!st.ok()) return cli.fail(st);
      cli.print(cli.tr("key.changed", id->substr(0, 8)) + "\n");
      return kExitOk;
    }();
  });

  auto* remove = cmd->add_subcommand("remove", cli.msg().get("cmd.key_remove"));
  remove->add_option("id", o->id, cli.msg().get("arg.key_id"))->required();
  remove->callback([&cli, o] {
    exit_code() = [&]() -> int {
      auto r = cli.open_repo();
      if (!r.ok()) return cli.fail(r.status());
      auto keys = (*r)->list_keys();
      if (!keys.ok()) return cli.fail(keys.status());
      std::string match;
      for (const auto& k : *keys) {
        if (k.id.rfind(o->id, 0) == 0) {
          if (!match.empty()) return cli.fail(base::invalid_argument(cli.tr("err.ambiguous_id", o->id)));
          match = k.id;
        }
      }
      if (match.empty()) return cli.fail(base::not_found(cli.tr("err.key_not_found", o->id)));
      base::Status st = (*r)->remove_key(match);
      if (!st.ok()) return cli.fail(st);
      cli.print(cli.tr("key.removed", match.substr(0, 8)) + "\n");
      return kExitOk;
    }();
  });
}

}  // namespace kura::cli
