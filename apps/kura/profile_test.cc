#include "apps/kura/profile.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "apps/kura/cli_testing.h"
#include "crypto/x509.h"

namespace kura::cli {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kura-profile-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Points XDG_CONFIG_HOME at a fresh folder for the test, and back afterwards.
class ProfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(home_.path().empty());
    if (const char* old = std::getenv("XDG_CONFIG_HOME")) old_xdg_ = old;
    ::setenv("XDG_CONFIG_HOME", home_.path().c_str(), 1);
    ::unsetenv("KURA_PROFILE");
    auto d = profiles_dir();
    ASSERT_TRUE(d.ok());
    dir_ = *d;
  }
  void TearDown() override {
    if (old_xdg_) {
      ::setenv("XDG_CONFIG_HOME", old_xdg_->c_str(), 1);
    } else {
      ::unsetenv("XDG_CONFIG_HOME");
    }
  }

  static Profile sample(const std::string& name) {
    Profile p;
    p.name = name;
    p.repository = "rest:https://backup.example.jp:8443/clinic-a/main/";
    p.server = "https://backup.example.jp:8443";
    p.tenant = "clinic-a";
    p.repo = "main";
    p.device = "reception-pc";
    p.not_after = "2027-12-05T10:00:00Z";
    return p;
  }

  // A profile on disk with a real certificate valid for `days` from now.
  Profile enroll_fake(const std::string& name, int days) {
    int64_t now = static_cast<int64_t>(::time(nullptr));
    auto ca = crypto::create_ca("test CA", now, 3650);
    auto key = crypto::generate_p256_key_pem();
    EXPECT_TRUE(ca.ok() && key.ok());
    auto csr = crypto::make_csr(*key, "x");
    EXPECT_TRUE(csr.ok());
    auto cert = crypto::issue_client_cert(*ca, *csr, "reception-pc", "clinic-a", "main", now, days);
    EXPECT_TRUE(cert.ok());
    Profile p = sample(name);
    p.not_after = rfc3339_utc(cert->not_after);
    EXPECT_TRUE(save_profile(*base::posix_env(), dir_, p, ca->cert, cert->pem + *key).ok());
    fingerprint_ = cert->fingerprint;
    return p;
  }

  TempDir home_;
  std::optional<std::string> old_xdg_;
  std::string dir_;
  std::string fingerprint_;
};

uint32_t mode_of(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0xffffffff;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const base::Messages& messages() {
  static Cli cli;
  return cli.msg();
}

TEST(ProfileName, AcceptsOnlySafeFileNames) {
  const std::pair<const char*, bool> cases[] = {
      {"clinic-a", true}, {"a.b_c-9", true}, {"x", true},   {"", false},     {".hidden", false},
      {"a/b", false},     {"..", false},     {"a b", false}, {"受付", false}, {"a\n", false}};
  for (const auto& [name, ok] : cases) {
    EXPECT_EQ(check_profile_name(messages(), name).ok(), ok) << "name: \"" << name << "\"";
  }
}

TEST(ProfileName, LengthLimit) {
  EXPECT_TRUE(check_profile_name(messages(), std::string(64, 'a')).ok());
  EXPECT_FALSE(check_profile_name(messages(), std::string(65, 'a')).ok());
}

TEST(ProfileText, RoundTripsAnyText) {
  Profile p;
  p.name = "p";
  p.repository = "rest:https://h:1/t/r/";
  p.cacert = "/home/受付 PC/it's \"here\"\\ca.pem";
  p.tls_client_cert = "/tmp/a\tb/client.pem";
  p.server = "https://h:1";
  p.tenant = "クリニック";
  p.repo = "main";
  p.device = "pc \x01 #1";
  p.not_after = "2027-12-05T10:00:00Z";
  auto back = parse_profile(render_profile(p), "p");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->cacert, p.cacert);
  EXPECT_EQ(back->tls_client_cert, p.tls_client_cert);
  EXPECT_EQ(back->tenant, p.tenant);
  EXPECT_EQ(back->device, p.device);
  EXPECT_EQ(back->repository, p.repository);
  EXPECT_EQ(back->not_after, p.not_after);
}

TEST(ProfileText, RefusesGarbage) {
  Profile good;
  good.name = "p";
  good.repository = "rest:https://h:1/t/r/";
  good.cacert = "/a/ca.pem";
  good.tls_client_cert = "/a/client.pem";
  good.server = "https://h:1";
  std::string text = render_profile(good);
  ASSERT_TRUE(parse_profile(text, "p").ok());
  auto replace = [&](std::string from, std::string to) {
    std::string t = text;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  for (const std::string& bad :
       {std::string("garbage"), std::string("\0\1\2", 3), std::string("repository = \"x"),
        replace("cacert = \"/a/ca.pem\"", ""), replace("cacert = \"/a/ca.pem\"", "cacert = 5"),
        replace("\"/a/ca.pem\"", "\"ca.pem\""), replace("rest:https://", "rest:http://"),
        replace("rest:https://h:1/t/r/", "/srv/repo"), replace("\"https://h:1\"", "\"http://h:1\""), text + "cacert = \"/b\"\n", std::string()}) {
    auto p = parse_profile(bad, "p");
    EXPECT_EQ(p.status().code(), base::Code::kInvalidArgument) << bad;
    EXPECT_NE(p.status().message().find("profile p"), std::string::npos) << p.status().message();
  }
}

TEST_F(ProfileTest, SaveWritesTheLayoutWithItsModes) {
  Profile p = enroll_fake("clinic-a", 365);
  EXPECT_EQ(dir_, home_.path() + "/kura/profiles");
  EXPECT_EQ(p.cacert, dir_ + "/clinic-a.d/ca.pem");
  EXPECT_EQ(p.tls_client_cert, dir_ + "/clinic-a.d/client.pem");
  EXPECT_EQ(mode_of(home_.path() + "/kura"), 0700u);
  EXPECT_EQ(mode_of(dir_), 0700u);
  EXPECT_EQ(mode_of(dir_ + "/clinic-a.d"), 0700u);
  EXPECT_EQ(mode_of(dir_ + "/clinic-a"), 0600u);
  EXPECT_EQ(mode_of(p.cacert), 0644u);
  EXPECT_EQ(mode_of(p.tls_client_cert), 0600u);
  std::string client = read_all(p.tls_client_cert);
  EXPECT_LT(client.find("BEGIN CERTIFICATE"), client.find("BEGIN PRIVATE KEY"));
  auto back = load_profile(messages(), *base::posix_env(), dir_, "clinic-a");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->repository, p.repository);
  EXPECT_EQ(back->cacert, p.cacert);
  EXPECT_EQ(list_profiles(*base::posix_env(), dir_), std::vector<std::string>{"clinic-a"});
  // No temporary files left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_ + "/clinic-a.d"),
                          std::filesystem::directory_iterator()), 2);
}

TEST_F(ProfileTest, LoadSaysWhatIsMissing) {
  auto p = load_profile(messages(), *base::posix_env(), dir_, "nothing");
  EXPECT_EQ(p.status().code(), base::Code::kNotFound);
  EXPECT_NE(p.status().message().find("kura enroll"), std::string::npos);
  EXPECT_EQ(load_profile(messages(), *base::posix_env(), dir_, "../x").status().code(),
            base::Code::kInvalidArgument);
}

struct Cmd {
  int status = -1;
  std::string out;
};

Cmd run(const std::string& command) {
  Cmd r;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  r.status = pclose(pipe);
  return r;
}

TEST(ShellQuote, SurvivesTheShell) {
  TempDir dir;
  for (const std::string& value : {std::string("plain"), std::string("/a b/c"), std::string("it's"),
                                   std::string("''"), std::string("$HOME `id` \"x\" \\n"),
                                   std::string("line1\nline2"), std::string("受付 PC"), std::string()}) {
    Profile p;
    p.repository = value;
    p.cacert = value + "1";
    p.tls_client_cert = "x" + value;
    std::string script = dir.path() + "/env.sh";
    std::ofstream(script, std::ios::binary) << profile_env_script(p);
    Cmd c = run("sh -c '. \"$0\"; printf %s \"$RESTIC_REPOSITORY|$RESTIC_CACERT|$RESTIC_TLS_CLIENT_CERT\"' " + script);
    EXPECT_EQ(c.status, 0);
    EXPECT_EQ(c.out, value + "|" + value + "1|x" + value);
  }
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}

TEST_F(ProfileTest, ApplyFillsWhatTheCommandLineLeftOpen) {
  Profile p = enroll_fake("clinic-a", 365);
  Cli cli;
  cli.g.profile = "clinic-a";
  ASSERT_TRUE(apply_profile(cli).ok());
  EXPECT_EQ(cli.g.repo, p.repository);
  EXPECT_EQ(cli.g.cacert, p.cacert);
  EXPECT_EQ(cli.g.tls_client_cert, p.tls_client_cert);

  Cli explicit_cli;
  explicit_cli.g.profile = "clinic-a";
  explicit_cli.g.repo = "rest:https://other/";
  explicit_cli.g.cacert = "/my/ca.pem";
  ASSERT_TRUE(apply_profile(explicit_cli).ok());
  EXPECT_EQ(explicit_cli.g.repo, "rest:https://other/");
  EXPECT_EQ(explicit_cli.g.cacert, "/my/ca.pem");
  EXPECT_EQ(explicit_cli.g.tls_client_cert, p.tls_client_cert);

  Cli from_file;
  from_file.g.profile = "clinic-a";
  from_file.g.repository_file = "/some/file";
  ASSERT_TRUE(apply_profile(from_file).ok());
  EXPECT_EQ(from_file.g.repo, "");

  Cli none;
  ASSERT_TRUE(apply_profile(none).ok());
  EXPECT_EQ(none.g.repo, "");
  none.g.profile = "missing";
  EXPECT_EQ(apply_profile(none).code(), base::Code::kNotFound);
}

TEST_F(ProfileTest, OpenBackendTakesTheProfileThenTheEnvironment) {
  Profile p = enroll_fake("clinic-a", 365);
  Cli with_profile;
  with_profile.g.profile = "clinic-a";
  ::setenv("RESTIC_CACERT", "/env/ca.pem", 1);
  ASSERT_TRUE(with_profile.open_backend().ok());  // a REST backend connects on first use
  EXPECT_EQ(with_profile.g.repo, p.repository);
  EXPECT_EQ(with_profile.g.cacert, p.cacert);

  // What eval "$(kura profile env NAME)" exported, without --profile.
  Cli from_env;
  from_env.g.repo = p.repository;
  ::setenv("RESTIC_TLS_CLIENT_CERT", "/env/client.pem", 1);
  ASSERT_TRUE(from_env.open_backend().ok());
  EXPECT_EQ(from_env.g.cacert, "/env/ca.pem");
  EXPECT_EQ(from_env.g.tls_client_cert, "/env/client.pem");
  ::unsetenv("RESTIC_CACERT");
  ::unsetenv("RESTIC_TLS_CLIENT_CERT");
}

TEST_F(ProfileTest, WarnsWhenTheCertificateExpiresSoon) {
  enroll_fake("soon", 10);
  enroll_fake("later", 365);
  auto warned = [](const std::string& name) {
    Cli cli;
    cli.g.profile = name;
    ::testing::internal::CaptureStderr();
    EXPECT_TRUE(apply_profile(cli).ok());
    return ::testing::internal::GetCapturedStderr();
  };
  std::string soon = warned("soon");
  EXPECT_NE(soon.find("expires"), std::string::npos) << soon;
  EXPECT_NE(soon.find("kura enroll --renew --profile soon"), std::string::npos) << soon;
  EXPECT_EQ(warned("later"), "");
}

using testing::run_captured;

TEST_F(ProfileTest, ProfileCommands) {
  Profile p = enroll_fake("clinic-a", 365);
  auto env = run_captured(base::posix_env(), {"profile", "env", "clinic-a"});
  EXPECT_EQ(env.code, 0) << env.err;
  EXPECT_EQ(env.out, profile_env_script(p));

  auto show = run_captured(base::posix_env(), {"--profile", "clinic-a", "profile", "show"});
  EXPECT_EQ(show.code, 0) << show.err;
  for (const std::string& want : {std::string("reception-pc"), std::string("clinic-a"), std::string("main"),
                                  p.server, fingerprint_}) {
    EXPECT_NE(show.out.find(want), std::string::npos) << want << "\n" << show.out;
  }
  EXPECT_EQ(show.out.find("PRIVATE"), std::string::npos);

  auto json = run_captured(base::posix_env(), {"--json", "profile", "show", "clinic-a"});
  EXPECT_EQ(json.code, 0);
  EXPECT_NE(json.out.find("\"fingerprint\":\"" + fingerprint_ + "\""), std::string::npos) << json.out;
  auto json_list = run_captured(base::posix_env(), {"--json", "profile", "list"});
  EXPECT_EQ(json_list.out, "[\"clinic-a\"]\n");

  auto list = run_captured(base::posix_env(), {"profile", "list"});
  EXPECT_EQ(list.code, 0);
  EXPECT_EQ(list.out.rfind("clinic-a ", 0), 0u) << list.out;

  auto missing = run_captured(base::posix_env(), {"profile", "show", "nope"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("nope"), std::string::npos);
}

TEST_F(ProfileTest, EnrollChecksItsArgumentsBeforeAnyRequest) {
  auto no_profile = run_captured(base::posix_env(), {"enroll", "https://127.0.0.1:1", "--code", "c"});
  EXPECT_EQ(no_profile.code, 1);
  EXPECT_NE(no_profile.err.find("--profile"), std::string::npos) << no_profile.err;

  auto bad_name = run_captured(base::posix_env(), {"enroll", "https://127.0.0.1:1", "--profile", "../x"});
  EXPECT_EQ(bad_name.code, 1);
  EXPECT_NE(bad_name.err.find("profile name"), std::string::npos) << bad_name.err;

  auto no_fp = run_captured(base::posix_env(), {"enroll", "https://127.0.0.1:1", "--profile", "p", "--code", "c"});
  EXPECT_EQ(no_fp.code, 1);
  EXPECT_NE(no_fp.err.find("--ca-fingerprint"), std::string::npos) << no_fp.err;

  std::string fp = "SHA256:" + std::string(64, 'a');
  auto http = run_captured(base::posix_env(),
                           {"enroll", "http://127.0.0.1:1", "--profile", "p", "--code", "c", "--ca-fingerprint", fp});
  EXPECT_EQ(http.code, 1);
  EXPECT_NE(http.err.find("https://"), std::string::npos) << http.err;

  auto bad_fp = run_captured(base::posix_env(), {"enroll", "https://127.0.0.1:1", "--profile", "p", "--code",
                                                 "secret-code", "--ca-fingerprint", "SHA256:12"});
  EXPECT_EQ(bad_fp.code, 1);
  EXPECT_NE(bad_fp.err.find("fingerprint"), std::string::npos) << bad_fp.err;
  EXPECT_EQ(bad_fp.err.find("secret-code"), std::string::npos);

  enroll_fake("taken", 30);
  auto taken = run_captured(base::posix_env(), {"enroll", "https://127.0.0.1:1", "--profile", "taken", "--code",
                                                "c", "--ca-fingerprint", fp});
  EXPECT_EQ(taken.code, 1);
  EXPECT_NE(taken.err.find("already exists"), std::string::npos) << taken.err;

  // Nothing listens on port 1: the error names the address, never the code.
  auto refused = run_captured(base::posix_env(), {"enroll", "https://127.0.0.1:1", "--profile", "p", "--code",
                                                  "secret-code", "--ca-fingerprint", fp});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("127.0.0.1"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.err.find("secret-code"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/p"));
}

}  // namespace
}  // namespace kura::cli
