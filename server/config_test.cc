#include "server/config.h"

#include <gtest/gtest.h>

namespace kura::server {
namespace {

const char kMinimal[] = R"(
[server]
listen = "127.0.0.1:8443"
[tls]
cert = "tls/server.pem"
key = "tls/server.key"
[ca]
cert = "ca/ca.pem"
key = "ca/ca.key"
[storage]
sqlite = "meta.db"
[regions]
jp-east = "objects/jp-east"
jp-west = "/srv/west"
)";

TEST(Config, ReadsAndResolvesPaths) {
  auto c = parse_config(kMinimal, "/etc/kura/kura-server.toml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->tls_cert, "/etc/kura/tls/server.pem");
  EXPECT_EQ(c->regions.at("jp-east"), "/etc/kura/objects/jp-east");
  EXPECT_EQ(c->regions.at("jp-west"), "/srv/west");
  EXPECT_EQ(c->public_url, "https://127.0.0.1:8443");
  EXPECT_EQ(c->max_connections, 512);
}

TEST(Config, RenderedConfigReadsBackTheSame) {
  ServerConfig c;
  c.listen = "[::1]:9443";
  c.public_url = "https://backup.example.jp:9443";
  c.tls_cert = "a.pem";
  c.tls_key = "a.key";
  c.ca_cert = "ca.pem";
  c.ca_key = "ca.key";
  c.sqlite = "m.db";
  c.regions = {{"jp-east", "o/e"}};
  c.metrics_allow = {"10.0.0.1"};
  c.idle_timeout_sec = 77;
  c.lock_minutes = 45;
  c.session_idle_minutes = 10;
  auto back = parse_config(render_config(c), "");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->listen, c.listen);
  EXPECT_EQ(back->public_url, c.public_url);
  EXPECT_EQ(back->metrics_allow, c.metrics_allow);
  EXPECT_EQ(back->idle_timeout_sec, 77);
  EXPECT_EQ(back->lock_minutes, 45);
  EXPECT_EQ(back->session_idle_minutes, 10);
  EXPECT_EQ(back->password_min_length, 8);
}

// Found by fuzz/server_fuzz.cc: a carriage return in a path rendered raw, which TOML refuses.
TEST(Config, PathsWithQuotesBackslashesAndControlCharactersRenderBack) {
  ServerConfig c;
  c.listen = "127.0.0.1:8443";
  c.tls_cert = "a\"b\\c\rd\ne\tf\x7f\x01.pem";
  c.tls_key = c.ca_cert = c.ca_key = c.sqlite = "k";
  c.regions = {{"jp-east", "o/\x1b[0m"}};
  auto back = parse_config(render_config(c), "");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->tls_cert, c.tls_cert);
  EXPECT_EQ(back->regions, c.regions);
}

TEST(Config, RefusesWhatItDoesNotUnderstand) {
  struct Case {
    std::string text;
    std::string says;
  } cases[] = {
      {std::string(kMinimal) + "\n[limits]\nmax_conections = 3\n", "unknown setting"},
      {std::string(kMinimal) + "\n[limits]\nmax_connections = \"many\"\n", "must be an integer"},
      {std::string(kMinimal) + "\n[limits]\nmax_connections = 1e98\n", "must be an integer"},
      // Never weaker than the requirements.
      {std::string(kMinimal) + "\n[accounts]\npassword_min_length = 6\n", "between 8 and 64"},
      {std::string(kMinimal) + "\n[accounts]\nlock_after = 5\n", "between 1 and 3"},
      {std::string(kMinimal) + "\n[accounts]\npassword_history = 2\n", "between 5 and 24"},
      {std::string(kMinimal) + "\n[accounts]\nsession_idle_minute = 5\n", "unknown setting"},
      {std::string(kMinimal) + "\n[limits]\nmax_connections = 8.0\n", "must be an integer"},
      {std::string(kMinimal) + "\n[limits]\nmax_connections = 0\n", "between"},
      {std::string(kMinimal) + "\n[nosuch]\n", "unknown section"},
      {"stray = 1\n" + std::string(kMinimal), "unknown section"},
      {std::string(kMinimal) + "\nstray = 1\n", "[regions] stray: must be a string"},
      {"[server]\nlisten = \"nowhere\"\n", "HOST:PORT"},
      {"[server\n", "test.toml:1"},
      {"x = \"\xff\"\n", "test.toml"},
      {"[tls]\ncert = 3\n", "must be a string"},
      {"[server]\nlisten = \"127.0.0.1:8443\"\n", "[tls] cert is required"},
  };
  for (const Case& c : cases) {
    auto r = parse_config(c.text, "test.toml");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
  }
}

TEST(Config, HostPort) {
  std::string h;
  uint16_t p = 0;
  ASSERT_TRUE(split_host_port("[::]:8443", &h, &p).ok());
  EXPECT_EQ(h, "::");
  EXPECT_EQ(p, 8443);
  for (const char* bad : {"", ":80", "host:", "host:0", "host:65536", "host:8x", "host"}) {
    EXPECT_FALSE(split_host_port(bad, &h, &p).ok()) << bad;
  }
}

}  // namespace
}  // namespace kura::server
