// kura profile list | show NAME | env NAME: the profiles kura enroll wrote (profile.h).
// Nothing here prints a secret: the private key stays in client.pem.
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/kura/profile.h"
#include "base/clock.h"
#include "crypto/x509.h"

namespace kura::cli {
namespace {

// NAME as given, else the global --profile / KURA_PROFILE.
base::StatusOr<Profile> named_profile(Cli& cli, const std::string& given) {
  std::string name = given.empty() ? cli.g.profile : given;
  if (name.empty()) return base::invalid_argument(cli.msg().get("profile.err.no_name"));
  ASSIGN_OR_RETURN(std::string dir, profiles_dir());
  return load_profile(cli.msg(), *cli.env, dir, name);
}

std::string expiry_text(const Cli& cli, int64_t not_after) {
  int64_t left = not_after - base::system_clock()->now().sec;
  if (left <= 0) return cli.tr("profile.expired_on", rfc3339_utc(not_after));
  return cli.tr("profile.expires_in", rfc3339_utc(not_after), left / 86400);
}

int show(Cli& cli, const std::string& given) {
  auto p = named_profile(cli, given);
  if (!p.ok()) return cli.fail(p.status());
  auto pem = cli.env->read_named_file(p->tls_client_cert);
  if (!pem.ok()) return cli.fail(pem.status());
  auto cert = crypto::parse_cert(std::string(pem->begin(), pem->end()));
  if (!cert.ok()) return cli.fail(cert.status().with_context(p->tls_client_cert));
  if (cli.g.json) {
    nlohmann::json j = {{"name", p->name}, {"device", p->device}, {"tenant", p->tenant}, {"repo", p->repo},
                        {"server", p->server}, {"repository", p->repository}, {"cacert", p->cacert},
                        {"tls_client_cert", p->tls_client_cert}, {"not_after", rfc3339_utc(cert->not_after)},
                        {"fingerprint", cert->fingerprint}, {"serial", cert->serial_hex}};
    cli.print_data(j.dump() + "\n");
    return kExitOk;
  }
  std::string out;
  auto line = [&](const char* key, const std::string& value) {
    // fmt pads by display width, so Japanese labels line up too.
    out += fmt::format("{:<14} {}\n", cli.msg().get(key), value);
  };
  line("profile.label_name", p->name);
  line("profile.label_device", p->device);
  line("profile.label_tenant", p->tenant);
  line("profile.label_repo", p->repo);
  line("profile.label_server", p->server);
  line("profile.label_repository", p->repository);
  line("profile.label_expires", expiry_text(cli, cert->not_after));
  line("profile.label_fingerprint", cert->fingerprint);
  line("profile.label_serial", cert->serial_hex);
  cli.print_data(out);
  return kExitOk;
}

int list(Cli& cli) {
  auto dir = profiles_dir();
  if (!dir.ok()) return cli.fail(dir.status());
  std::vector<std::string> names = list_profiles(*cli.env, *dir);
  if (cli.g.json) {
    cli.print_data(nlohmann::json(names).dump() + "\n");
    return kExitOk;
  }
  if (names.empty()) {
    cli.print(cli.tr("profile.none", *dir) + "\n");
    return kExitOk;
  }
  std::string out;
  for (const auto& name : names) {
    auto p = load_profile(cli.msg(), *cli.env, *dir, name);
    if (!p.ok()) {
      out += fmt::format("{:<20} {}\n", name, p.status().message());
      continue;
    }
    out += fmt::format("{:<20} {}/{} {} ({}) {}\n", name, p->tenant, p->repo, p->device, p->server,
                       cli.tr("profile.until", p->not_after));
  }
  cli.print_data(out);
  return kExitOk;
}

int env(Cli& cli, const std::string& given) {
  auto p = named_profile(cli, given);
  if (!p.ok()) return cli.fail(p.status());
  cli.print_data(profile_env_script(*p));
  return kExitOk;
}

}  // namespace

void add_profile_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("profile", cli.msg().get("profile.description"));
  cmd->require_subcommand(1);
  auto name = std::make_shared<std::string>();
  cmd->add_subcommand("list", cli.msg().get("profile.cmd_list"))->callback([&cli] { exit_code() = list(cli); });
  auto* show_cmd = cmd->add_subcommand("show", cli.msg().get("profile.cmd_show"));
  show_cmd->add_option("name", *name, cli.msg().get("profile.arg_name"));
  show_cmd->callback([&cli, name] { exit_code() = show(cli, *name); });
  auto* env_cmd = cmd->add_subcommand("env", cli.msg().get("profile.cmd_env"));
  env_cmd->add_option("name", *name, cli.msg().get("profile.arg_name"));
  env_cmd->callback([&cli, name] { exit_code() = env(cli, *name); });
}

}  // namespace kura::cli
