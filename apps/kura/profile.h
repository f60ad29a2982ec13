// Enrollment profiles: what `kura enroll` writes so that a device reaches its kura-server
// repository with its client certificate, and what the global --profile (KURA_PROFILE) reads.
//
// Layout, under $XDG_CONFIG_HOME/kura/profiles (default ~/.config/kura/profiles), folders 0700:
//   NAME         0600  TOML: repository, cacert, tls_client_cert, server, tenant, repo,
//                      device, not_after (all strings; paths absolute)
//   NAME.d/ca.pem      0644  the server's device CA, pinned by fingerprint at enrollment
//   NAME.d/client.pem  0600  the device certificate followed by its private key (restic's
//                            --tls-client-cert takes this file as it is)
// The NAME file is written last, so a profile exists only once its certificate does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "apps/kura/cli.h"
#include "base/env.h"
#include "base/status.h"

namespace kura::cli {

struct Profile {
  std::string name;
  std::string repository;       // rest:https://HOST:PORT/<tenant>/<repo>/
  std::string cacert;           // NAME.d/ca.pem
  std::string tls_client_cert;  // NAME.d/client.pem
  std::string server;           // https://HOST:PORT (enrollment and renewal)
  std::string tenant, repo, device;
  std::string not_after;  // RFC 3339 UTC, of the current certificate
};

// [A-Za-z0-9._-]{1,64}, not starting with a dot.
base::Status check_profile_name(const base::Messages& msg, std::string_view name);

// $XDG_CONFIG_HOME/kura/profiles when XDG_CONFIG_HOME is an absolute path, else
// $HOME/.config/kura/profiles.
base::StatusOr<std::string> profiles_dir();
std::string profile_file(const std::string& dir, const std::string& name);
std::string profile_data_dir(const std::string& dir, const std::string& name);

// The profile file's text, and its strict reading (every key present, a string, and the
// name's paths absolute). `name` only labels errors and fills Profile::name.
std::string render_profile(const Profile& p);
base::StatusOr<Profile> parse_profile(std::string_view text, const std::string& name);

base::StatusOr<Profile> load_profile(const base::Messages& msg, base::Env& env, const std::string& dir,
                                     const std::string& name);
std::vector<std::string> list_profiles(base::Env& env, const std::string& dir);

// Writes NAME.d/ca.pem and NAME.d/client.pem (certificate, then key), then the profile file,
// each through a temporary file renamed into place. Sets p.cacert and p.tls_client_cert.
base::Status save_profile(base::Env& env, const std::string& dir, Profile& p,
                          const std::string& ca_pem, const std::string& client_pem);

// A word for a POSIX shell: single-quoted, with ' written as '\''.
std::string shell_quote(std::string_view s);
// The `export RESTIC_…=…` lines of `kura profile env`: RESTIC_REPOSITORY, RESTIC_CACERT and
// RESTIC_TLS_CLIENT_CERT, which kura and restic releases after 0.14 read (0.14 itself reads
// only the first; give it --cacert and --tls-client-cert).
std::string profile_env_script(const Profile& p);

// "2027-12-05T10:00:00Z".
std::string rfc3339_utc(int64_t unix_seconds);

// Global --profile / KURA_PROFILE: fills the repository, --cacert and --tls-client-cert from
// the profile where the command line (or KURA_REPOSITORY) gave none, and warns on stderr when
// the certificate expires within 30 days. Nothing to do without a profile.
base::Status apply_profile(Cli& cli);

void add_enroll_command(CLI::App& app, Cli& cli);
void add_profile_command(CLI::App& app, Cli& cli);

}  // namespace kura::cli
