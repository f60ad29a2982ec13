// The openssl command line is the oracle: what kura issues must verify with `openssl verify`
// for its purpose, and CSRs `openssl req` makes must be accepted or refused as C3 says.
#include "crypto/x509.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

namespace kura::crypto {
namespace {

constexpr int64_t kNow = 1764928800;  // 2025-12-05T10:00:00Z

struct Cmd {
  int status = -1;
  std::string out;
};

// Runs a shell command; stdout and stderr together.
Cmd run(const std::string& command) {
  Cmd r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  r.status = pclose(pipe);
  return r;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kura-x509-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name), std::ios::binary) << text;
    return file(name);
  }
  std::string read(const std::string& name) const {
    std::ifstream in(file(name), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string path_;
};

bool has_openssl() { return run("openssl version").status == 0; }

class X509Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = create_ca("kura test CA", kNow, 3650);
    ASSERT_TRUE(ca.ok()) << ca.status().to_string();
    ca_ = *ca;
    ca_file_ = dir_.write("ca.pem", ca_.cert);
  }

  CertInfo issue(const std::string& csr, std::string device = "reception-pc") {
    auto cert = issue_client_cert(ca_, csr, device, "clinic-a", "main", kNow, 365);
    EXPECT_TRUE(cert.ok()) << cert.status().to_string();
    return cert.ok() ? *cert : CertInfo{};
  }

  std::string device_csr() {
    auto key = generate_p256_key_pem();
    EXPECT_TRUE(key.ok());
    key_ = *key;
    auto csr = make_csr(key_, "anything");
    EXPECT_TRUE(csr.ok()) << csr.status().to_string();
    return csr.ok() ? *csr : "";
  }

  // `openssl verify` at kNow + 1 day (the certificates are for a fixed time).
  Cmd verify(const std::string& cert_file, const std::string& extra) {
    return run("openssl verify -attime " + std::to_string(kNow + 86400) + " -CAfile " + ca_file_ +
               " " + extra + " " + cert_file);
  }

  TempDir dir_;
  Pem ca_;
  std::string ca_file_;
  std::string key_;
};

TEST_F(X509Test, CaIsSelfSignedWithCaConstraints) {
  if (!has_openssl()) GTEST_SKIP() << "no openssl command";
  EXPECT_NE(ca_.key.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);  // PKCS#8
  EXPECT_EQ(verify(ca_file_, "").status, 0);
  Cmd text = run("openssl x509 -noout -text -in " + ca_file_);
  EXPECT_NE(text.out.find("X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0"),
            std::string::npos) << text.out;
  EXPECT_NE(text.out.find("X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign"),
            std::string::npos) << text.out;
  EXPECT_NE(text.out.find("X509v3 Subject Key Identifier"), std::string::npos);
  EXPECT_NE(text.out.find("ASN1 OID: prime256v1"), std::string::npos);
  EXPECT_NE(text.out.find("ecdsa-with-SHA256"), std::string::npos);
  auto info = parse_cert(ca_.cert);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->subject_cn, "kura test CA");
  EXPECT_EQ(info->not_before, kNow - 300);
  EXPECT_EQ(info->not_after, kNow + 3650 * 86400LL);
}

TEST_F(X509Test, ClientCertVerifiesForClientAuthOnly) {
  if (!has_openssl()) GTEST_SKIP() << "no openssl command";
  CertInfo cert = issue(device_csr());
  std::string file = dir_.write("client.pem", cert.pem);
  EXPECT_EQ(verify(file, "-purpose sslclient").status, 0);
  EXPECT_NE(verify(file, "-purpose sslserver").status, 0);
  EXPECT_EQ(cert.subject_cn, "reception-pc");
  EXPECT_EQ(cert.subject_ou, std::vector<std::string>{"main"});
  EXPECT_EQ(cert.not_before, kNow - 300);
  EXPECT_EQ(cert.not_after, kNow + 365 * 86400LL);
  Cmd subject = run("openssl x509 -noout -subject -nameopt RFC2253 -in " + file);
  EXPECT_EQ(subject.out, "subject=CN=reception-pc,OU=main,O=clinic-a\n");
  Cmd serial = run("openssl x509 -noout -serial -in " + file);
  std::string lower = serial.out;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(lower, "serial=" + cert.serial_hex + "\n");
  EXPECT_EQ(cert.serial_hex.size(), 32u);
  Cmd text = run("openssl x509 -noout -text -in " + file);
  EXPECT_NE(text.out.find("CA:FALSE"), std::string::npos);
  EXPECT_NE(text.out.find("TLS Web Client Authentication"), std::string::npos);
  EXPECT_NE(text.out.find("X509v3 Authority Key Identifier"), std::string::npos);
  // The certificate holds the device's key, and nothing of the key leaves the device.
  EXPECT_TRUE(check_issued_cert(cert.pem, ca_.cert, key_).ok());
}

TEST_F(X509Test, SerialsAreRandom) {
  std::string csr = device_csr();
  EXPECT_NE(issue(csr).serial_hex, issue(csr).serial_hex);
}

TEST_F(X509Test, FingerprintEqualsOpenssl) {
  if (!has_openssl()) GTEST_SKIP() << "no openssl command";
  CertInfo cert = issue(device_csr());
  std::string file = dir_.write("client.pem", cert.pem);
  Cmd fp = run("openssl x509 -noout -fingerprint -sha256 -in " + file);
  ASSERT_EQ(fp.status, 0);
  auto typed = normalize_fingerprint(fp.out);
  ASSERT_TRUE(typed.ok()) << typed.status().to_string();
  EXPECT_EQ(*typed, cert.fingerprint);
  auto direct = cert_fingerprint(cert.pem);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(*direct, cert.fingerprint);
  EXPECT_EQ(cert.fingerprint.size(), 7u + 64u);
}

TEST_F(X509Test, ServerCertVerifiesForItsHosts) {
  if (!has_openssl()) GTEST_SKIP() << "no openssl command";
  auto key = generate_p256_key_pem();
  ASSERT_TRUE(key.ok());
  auto cert = issue_server_cert(ca_, *key, {"backup.example.jp", "127.0.0.1", "[::1]"}, kNow, 90);
  ASSERT_TRUE(cert.ok()) << cert.status().to_string();
  std::string file = dir_.write("server.pem", *cert);
  EXPECT_EQ(verify(file, "-purpose sslserver -verify_hostname backup.example.jp").status, 0);
  EXPECT_EQ(verify(file, "-purpose sslserver -verify_ip 127.0.0.1").status, 0);
  EXPECT_EQ(verify(file, "-purpose sslserver -verify_ip ::1").status, 0);
  EXPECT_NE(verify(file, "-purpose sslserver -verify_hostname other.example.jp").status, 0);
  EXPECT_NE(verify(file, "-purpose sslclient").status, 0);
  Cmd san = run("openssl x509 -noout -ext subjectAltName -in " + file);
  EXPECT_NE(san.out.find("DNS:backup.example.jp, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"),
            std::string::npos) << san.out;
  auto info = parse_cert(*cert);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->subject_cn, "backup.example.jp");
}

TEST_F(X509Test, ServerCertRefusesBadHosts) {
  auto key = generate_p256_key_pem();
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(issue_server_cert(ca_, *key, {}, kNow, 90).status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(issue_server_cert(ca_, *key, {"a b"}, kNow, 90).status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(issue_server_cert(ca_, *key, {"x,DNS:evil"}, kNow, 90).status().code(),
            base::Code::kInvalidArgument);
}

TEST_F(X509Test, MakeCsrVerifiesWithOpenssl) {
  if (!has_openssl()) GTEST_SKIP() << "no openssl command";
  std::string file = dir_.write("csr.pem", device_csr());
  Cmd v = run("openssl req -verify -noout -subject -in " + file);
  EXPECT_EQ(v.status, 0) << v.out;
  EXPECT_NE(v.out.find("CN = anything"), std::string::npos) << v.out;
  auto info = parse_csr(dir_.read("csr.pem"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->common_name, "anything");
  EXPECT_NE(info->public_key_pem.find("-----BEGIN PUBLIC KEY-----"), std::string::npos);
}

struct OpensslCsr {
  const char* name;
  const char* newkey;  // openssl req -newkey arguments
  bool accepted;
};

class OpensslCsrTest : public X509Test, public ::testing::WithParamInterface<OpensslCsr> {};

TEST_P(OpensslCsrTest, AcceptedAsC3Says) {
  if (!has_openssl()) GTEST_SKIP() << "no openssl command";
  Cmd made = run("openssl req -new -nodes -subj /CN=device " + std::string(GetParam().newkey) +
                 " -keyout " + dir_.file("key.pem") + " -out " + dir_.file("csr.pem"));
  ASSERT_EQ(made.status, 0) << made.out;
  std::string csr = dir_.read("csr.pem");
  auto parsed = parse_csr(csr);
  auto cert = issue_client_cert(ca_, csr, "dev", "clinic-a", "main", kNow, 30);
  if (!GetParam().accepted) {
    EXPECT_EQ(parsed.status().code(), base::Code::kInvalidArgument);
    EXPECT_EQ(cert.status().code(), base::Code::kInvalidArgument);
    return;
  }
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->common_name, "device");
  ASSERT_TRUE(cert.ok()) << cert.status().to_string();
  EXPECT_EQ(verify(dir_.write("cert.pem", cert->pem), "-purpose sslclient").status, 0);
  EXPECT_TRUE(check_issued_cert(cert->pem, ca_.cert, dir_.read("key.pem")).ok());
}

INSTANTIATE_TEST_SUITE_P(
    Keys, OpensslCsrTest,
    ::testing::Values(OpensslCsr{"P256", "-newkey ec -pkeyopt ec_paramgen_curve:P-256", true},
                      OpensslCsr{"P384", "-newkey ec -pkeyopt ec_paramgen_curve:P-384", true},
                      OpensslCsr{"RSA2048", "-newkey rsa:2048", true},
                      OpensslCsr{"RSA1024", "-newkey rsa:1024", false},
                      OpensslCsr{"P521", "-newkey ec -pkeyopt ec_paramgen_curve:P-521", false},
                      OpensslCsr{"Ed25519", "-newkey ed25519", false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(X509Test, RefusesTamperedCsr) {
  if (!has_openssl()) GTEST_SKIP() << "no openssl command";
  auto key = generate_p256_key_pem();
  ASSERT_TRUE(key.ok());
  auto csr = make_csr(*key, "device-aaaa");
  ASSERT_TRUE(csr.ok());
  ASSERT_EQ(run("openssl req -in " + dir_.write("csr.pem", *csr) + " -outform DER -out " +
                dir_.file("csr.der")).status, 0);
  std::string der = dir_.read("csr.der");
  size_t at = der.find("device-aaaa");
  ASSERT_NE(at, std::string::npos);
  der[at + 10] = 'b';
  dir_.write("bad.der", der);
  ASSERT_EQ(run("openssl req -inform DER -in " + dir_.file("bad.der") + " -out " +
                dir_.file("bad.pem")).status, 0);
  auto parsed = parse_csr(dir_.read("bad.pem"));
  EXPECT_EQ(parsed.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("bad signature"), std::string::npos)
      << parsed.status().message();
}

TEST_F(X509Test, RefusesGarbageCsr) {
  std::string csr = device_csr();
  std::string oversized = std::string(17 * 1024, '#') + "\n" + csr;
  for (const std::string& text :
       {std::string(), std::string("hello"), std::string("\0\1\2\3", 4),
        std::string("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"),
        csr.substr(0, csr.size() / 2), ca_.cert, oversized}) {
    auto parsed = parse_csr(text);
    EXPECT_EQ(parsed.status().code(), base::Code::kInvalidArgument) << text.substr(0, 40);
    EXPECT_FALSE(parsed.status().message().empty());
  }
  EXPECT_NE(parse_csr(oversized).status().message().find("larger than"), std::string::npos);
  EXPECT_TRUE(parse_csr(csr).ok());
}

TEST_F(X509Test, RefusesGarbageCertificates) {
  for (const std::string& text : {std::string(), std::string("garbage"),
                                  std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
                                  ca_.cert.substr(0, 100)}) {
    EXPECT_EQ(parse_cert(text).status().code(), base::Code::kInvalidArgument);
    EXPECT_EQ(cert_fingerprint(text).status().code(), base::Code::kInvalidArgument);
  }
}

TEST_F(X509Test, RefusesBadNamesAndValidity) {
  std::string csr = device_csr();
  auto code = [&](std::string_view device, int days) {
    return issue_client_cert(ca_, csr, device, "clinic-a", "main", kNow, days).status().code();
  };
  EXPECT_EQ(code("", 30), base::Code::kInvalidArgument);
  EXPECT_EQ(code("pc\n1", 30), base::Code::kInvalidArgument);
  EXPECT_EQ(code(std::string(65, 'x'), 30), base::Code::kInvalidArgument);
  EXPECT_EQ(code("\xff\xfe", 30), base::Code::kInvalidArgument);
  EXPECT_EQ(code("pc", 0), base::Code::kInvalidArgument);
  EXPECT_EQ(code("受付PC", 30), base::Code::kOk);
  EXPECT_EQ(create_ca("", kNow, 30).status().code(), base::Code::kInvalidArgument);
}

TEST_F(X509Test, RefusesCaWithWrongKey) {
  Pem wrong = ca_;
  auto other = generate_p256_key_pem();
  ASSERT_TRUE(other.ok());
  wrong.key = *other;
  auto cert = issue_client_cert(wrong, device_csr(), "pc", "clinic-a", "main", kNow, 30);
  EXPECT_EQ(cert.status().code(), base::Code::kInvalidArgument);
}

TEST_F(X509Test, CheckIssuedCertRefusesOtherKeyAndOtherCa) {
  CertInfo cert = issue(device_csr());
  auto other_key = generate_p256_key_pem();
  auto other_ca = create_ca("other CA", kNow, 30);
  ASSERT_TRUE(other_key.ok() && other_ca.ok());
  EXPECT_TRUE(check_issued_cert(cert.pem, ca_.cert, key_).ok());
  EXPECT_EQ(check_issued_cert(cert.pem, ca_.cert, *other_key).code(), base::Code::kInvalidArgument);
  EXPECT_EQ(check_issued_cert(cert.pem, other_ca->cert, key_).code(), base::Code::kInvalidArgument);
  EXPECT_EQ(check_issued_cert("junk", ca_.cert, key_).code(), base::Code::kInvalidArgument);
}

TEST(Fingerprint, NormalizesWhatUsersType) {
  const std::string want = "SHA256:" + std::string(62, 'a') + "0f";
  for (std::string typed : {want, "sha256:" + std::string(62, 'A') + "0F", std::string(62, 'a') + "0f",
                            "  SHA256:" + std::string(62, 'a') + "0f\n"}) {
    auto n = normalize_fingerprint(typed);
    ASSERT_TRUE(n.ok()) << typed;
    EXPECT_EQ(*n, want);
  }
  std::string colons;
  for (int i = 0; i < 31; ++i) colons += "AA:";
  colons += "0F";
  auto n = normalize_fingerprint("sha256 Fingerprint=" + colons);
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(*n, want);
}

TEST(Fingerprint, RefusesGarbage) {
  for (std::string typed : {std::string(), std::string("SHA256:"), std::string(63, 'a'),
                            std::string(65, 'a'), std::string(63, 'a') + "g", "MD5:" + std::string(64, 'a'),
                            "a:" + std::string(63, 'a'), std::string("\0\0", 2)}) {
    auto n = normalize_fingerprint(typed);
    EXPECT_EQ(n.status().code(), base::Code::kInvalidArgument) << typed;
  }
}

// ---- TLS: a server and a device handshake with these certificates ----

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

bool load_pem_pair(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file) {
  return SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) == 1 &&
         SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) == 1;
}

// Both sides verify the other against the CA; the server requires a client certificate.
// Returns whether both handshakes succeeded.
bool handshake(const std::string& ca_file, const std::string& server_cert, const std::string& server_key,
               const std::string& client_cert, const std::string& client_key) {
  // A side that refuses closes the socket while the other may still write.
  std::signal(SIGPIPE, SIG_IGN);
  SslCtxPtr server_ctx(SSL_CTX_new(TLS_server_method()));
  SslCtxPtr client_ctx(SSL_CTX_new(TLS_client_method()));
  if (!server_ctx || !client_ctx) return false;
  if (!load_pem_pair(server_ctx.get(), server_cert, server_key)) return false;
  if (!client_cert.empty() && !load_pem_pair(client_ctx.get(), client_cert, client_key)) return false;
  for (SSL_CTX* c : {server_ctx.get(), client_ctx.get()}) {
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    if (SSL_CTX_load_verify_locations(c, ca_file.c_str(), nullptr) != 1) return false;
  }
  SSL_CTX_set_verify(server_ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_PEER, nullptr);
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return false;
  SslPtr server(SSL_new(server_ctx.get())), client(SSL_new(client_ctx.get()));
  SSL_set_fd(server.get(), fds[0]);
  SSL_set_fd(client.get(), fds[1]);
  SSL_set1_host(client.get(), "localhost");
  bool server_ok = false, client_ok = false;
  std::thread t([&] {
    server_ok = SSL_accept(server.get()) == 1;
    // TLS 1.3 checks the client certificate after the client's handshake is done: read
    // until the client's close so the server's verdict reaches the client.
    char b;
    if (server_ok) server_ok = SSL_read(server.get(), &b, 1) == 1;
    ::shutdown(fds[0], SHUT_RDWR);
  });
  client_ok = SSL_connect(client.get()) == 1 && SSL_write(client.get(), "x", 1) == 1;
  t.join();
  ::close(fds[0]);
  ::close(fds[1]);
  ERR_clear_error();
  return server_ok && client_ok;
}

TEST_F(X509Test, MutualTlsHandshake) {
  // Issued for now: the handshake checks validity against the real clock.
  int64_t now = static_cast<int64_t>(::time(nullptr));
  auto server_key = generate_p256_key_pem();
  ASSERT_TRUE(server_key.ok());
  auto server_cert = issue_server_cert(ca_, *server_key, {"localhost"}, now, 30);
  ASSERT_TRUE(server_cert.ok());
  std::string key = [&] {
    auto k = generate_p256_key_pem();
    return k.ok() ? *k : "";
  }();
  auto csr = make_csr(key, "x");
  ASSERT_TRUE(csr.ok());
  auto client = issue_client_cert(ca_, *csr, "pc", "clinic-a", "main", now, 30);
  ASSERT_TRUE(client.ok());
  std::string ca_file = ca_file_;
  auto s_cert = dir_.write("s.pem", *server_cert), s_key = dir_.write("s.key", *server_key);
  auto c_cert = dir_.write("c.pem", client->pem), c_key = dir_.write("c.key", key);
  EXPECT_TRUE(handshake(ca_file, s_cert, s_key, c_cert, c_key));
  // Without a client certificate, or with one from another CA, the server refuses.
  EXPECT_FALSE(handshake(ca_file, s_cert, s_key, "", ""));
  auto other_ca = create_ca("other CA", now, 30);
  ASSERT_TRUE(other_ca.ok());
  auto foreign = issue_client_cert(*other_ca, *csr, "pc", "clinic-a", "main", now, 30);
  ASSERT_TRUE(foreign.ok());
  EXPECT_FALSE(handshake(ca_file, s_cert, s_key, dir_.write("f.pem", foreign->pem), c_key));
  // A client certificate does not serve as a server's.
  EXPECT_FALSE(handshake(ca_file, c_cert, c_key, c_cert, c_key));
}

}  // namespace
}  // namespace kura::crypto
