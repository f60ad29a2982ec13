// kura enroll: the device side of kura-server's enrollment (docs/design.md, server part).
//   1. GET /enroll/ca without verifying the server, and accept that CA only if its
//      fingerprint is the one the operator handed over (--ca-fingerprint);
//   2. from then on trust that CA alone, with the host name checked;
//   3. make the key here (it never leaves the device) and POST its CSR with the one-time
//      code to /enroll; the server answers with the certificate and the repository;
//   4. write the profile (profile.h).
// --renew posts a CSR for a new key to /enroll/renew over mTLS with the current certificate
// and replaces the certificate and key in one rename.
#include <curl/curl.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "apps/kura/profile.h"
#include "crypto/x509.h"

namespace kura::cli {
namespace {

constexpr size_t kMaxReply = 1024 * 1024;
// REQUIREMENTS C3 on the device's side too: TLS 1.2 only with ECDHE/DHE and AEAD (TLS 1.3's
// suites are all AEAD).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256";

struct CurlEasyFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlSlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyFree>;
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistFree>;

// Whom the HTTPS client trusts, and with which certificate it introduces itself.
struct Tls {
  bool verify = true;
  std::string ca_pem;       // the pinned CA, in memory (enrollment)
  std::string ca_file;      // or in the profile (renewal)
  std::string client_cert;  // PEM file: certificate and key
};

struct Reply {
  long status = 0;
  std::string body;
  bool too_large = false;
};

size_t collect(char* data, size_t size, size_t n, void* out) {
  auto* reply = static_cast<Reply*>(out);
  if (reply->body.size() + size * n > kMaxReply) {
    reply->too_large = true;
    return 0;  // aborts the transfer
  }
  reply->body.append(data, size * n);
  return size * n;
}

// One HTTPS request: GET, or POST of a JSON body. The body is never part of an error: it
// holds the enrollment code.
base::StatusOr<Reply> https(const std::string& url, const std::string* json_body, const Tls& tls) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CurlEasy c(curl_easy_init());
  if (!c) return base::internal_error("curl_easy_init failed");
  CURL* h = c.get();
  char errbuf[CURL_ERROR_SIZE] = {};
  Reply reply;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "kura/" KURA_VERSION);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(h, CURLOPT_SSLVERSION, long{CURL_SSLVERSION_TLSv1_2});
  curl_easy_setopt(h, CURLOPT_SSL_CIPHER_LIST, kTls12Ciphers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply);
  if (!tls.verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  } else {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    // Only the pinned CA: not the system's bundle, nor its certificate folder.
    curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
    if (!tls.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, tls.ca_file.c_str());
    curl_blob blob{const_cast<char*>(tls.ca_pem.data()), tls.ca_pem.size(), CURL_BLOB_COPY};
    if (!tls.ca_pem.empty()) curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (!tls.client_cert.empty()) {
    curl_easy_setopt(h, CURLOPT_SSLCERT, tls.client_cert.c_str());
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(h, CURLOPT_SSLKEY, tls.client_cert.c_str());
    curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
  }
  CurlSlist headers;
  if (json_body != nullptr) {
    headers.reset(curl_slist_append(nullptr, "Content-Type: application/json"));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(json_body->size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json_body->c_str());
  }
  CURLcode rc = curl_easy_perform(h);
  if (reply.too_large) return base::invalid_argument(url + ": answer larger than 1 MiB");
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    return base::unavailable(url + ": " + why);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

// The server's {"error": "..."}, else a printable excerpt of what it sent.
std::string server_error(const Reply& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  std::string text;
  for (char c : r.body.substr(0, 200)) text += (static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  return text;
}

// "https://HOST[:PORT]" with no path, user or query; a trailing '/' is dropped.
base::StatusOr<std::string> server_url(const Cli& cli, std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  constexpr std::string_view kScheme = "https://";
  bool ok = url.rfind(kScheme, 0) == 0 && url.size() > kScheme.size();
  for (char c : url.substr(std::min(url.size(), kScheme.size()))) {
    ok = ok && c > 0x20 && c < 0x7f && c != '/' && c != '@' && c != '?' && c != '#';
  }
  if (!ok) return base::invalid_argument(cli.tr("enroll.err.server_url", url));
  return url;
}

// Step 1: the CA the server shows, accepted only with the fingerprint the operator gave.
base::StatusOr<std::string> fetch_pinned_ca(Cli& cli, const std::string& server, const std::string& expected) {
  Tls unverified;
  unverified.verify = false;
  ASSIGN_OR_RETURN(Reply r, https(server + "/enroll/ca", nullptr, unverified));
  if (r.status != 200) {
    return base::unavailable(cli.tr("enroll.err.server", server + "/enroll/ca", r.status, server_error(r)));
  }
  auto ca = crypto::parse_cert(r.body);
  if (!ca.ok()) return ca.status().with_context(cli.tr("enroll.err.ca_unreadable", server));
  // Constant time, as for any secret-dependent comparison; both are "SHA256:" + 64 digits.
  if (ca->fingerprint.size() != expected.size() ||
      CRYPTO_memcmp(ca->fingerprint.data(), expected.data(), expected.size()) != 0) {
    return base::permission_denied(cli.tr("enroll.err.fingerprint_mismatch", server, ca->fingerprint, expected));
  }
  return ca->pem;
}

base::StatusOr<std::string> json_string(const Cli& cli, const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) return base::invalid_argument(cli.tr("enroll.err.reply_field", key));
  std::string v = j[key].get<std::string>();
  bool ok = !v.empty();
  if (std::string_view(key) != "certificate" && std::string_view(key) != "ca") {
    for (unsigned char c : v) ok = ok && c >= 0x20 && c != 0x7f;
  }
  if (!ok) return base::invalid_argument(cli.tr("enroll.err.reply_field", key));
  return v;
}

struct Issued {
  std::string cert_pem;
  crypto::CertInfo cert;
  std::string repository, tenant, repo, device;
};

// The server's answer to /enroll or /enroll/renew, checked: a certificate from the pinned CA
// for our key, the same CA, a REST repository over HTTPS.
base::StatusOr<Issued> read_issued(const Cli& cli, const std::string& url, const Reply& r,
                                   const std::string& ca_pem, const std::string& key_pem) {
  if (r.status != 200) return base::permission_denied(cli.tr("enroll.err.server", url, r.status, server_error(r)));
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object()) return base::invalid_argument(cli.tr("enroll.err.reply_json", url));
  Issued out;
  ASSIGN_OR_RETURN(std::string cert_pem, json_string(cli, j, "certificate"));
  ASSIGN_OR_RETURN(out.repository, json_string(cli, j, "repository"));
  ASSIGN_OR_RETURN(out.tenant, json_string(cli, j, "tenant"));
  ASSIGN_OR_RETURN(out.repo, json_string(cli, j, "repo"));
  ASSIGN_OR_RETURN(out.device, json_string(cli, j, "device"));
  base::Status st = crypto::check_issued_cert(cert_pem, ca_pem, key_pem);
  if (!st.ok()) return st.with_context(cli.tr("enroll.err.bad_certificate", url));
  ASSIGN_OR_RETURN(out.cert, crypto::parse_cert(cert_pem));
  if (j.contains("ca")) {
    ASSIGN_OR_RETURN(std::string sent_ca, json_string(cli, j, "ca"));
    auto sent = crypto::cert_fingerprint(sent_ca);
    auto pinned = crypto::cert_fingerprint(ca_pem);
    if (!sent.ok() || !pinned.ok() || *sent != *pinned) {
      return base::invalid_argument(cli.tr("enroll.err.other_ca", url));
    }
  }
  if (out.repository.rfind("rest:https://", 0) != 0) {
    return base::invalid_argument(cli.tr("enroll.err.repository", url, out.repository));
  }
  return out;
}

void fill_profile(Profile& p, const Issued& issued) {
  p.repository = issued.repository;
  p.tenant = issued.tenant;
  p.repo = issued.repo;
  p.device = issued.device;
  p.not_after = rfc3339_utc(issued.cert.not_after);
}

// --json: what was enrolled, for scripts (the text is for people and goes quiet with --json).
void report(const Cli& cli, const Profile& p, const Issued& issued, const std::string& path) {
  if (!cli.g.json) return;
  nlohmann::json j = {{"profile", p.name}, {"path", path}, {"device", p.device}, {"tenant", p.tenant},
                      {"repo", p.repo}, {"repository", p.repository}, {"not_after", p.not_after},
                      {"fingerprint", issued.cert.fingerprint}, {"serial", issued.cert.serial_hex}};
  cli.print_data(j.dump() + "\n");
}

struct DeviceKey {
  std::string key_pem, csr_pem;
};

base::StatusOr<DeviceKey> new_device_key(const Cli& cli) {
  DeviceKey k;
  ASSIGN_OR_RETURN(k.key_pem, crypto::generate_p256_key_pem());
  // The server names the device; the CSR's CN is only a hint for its logs.
  std::string host = cli.hostname();
  bool plain = !host.empty() && host.size() <= 64;
  for (char c : host) plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.');
  if (!plain) host = "kura-device";
  ASSIGN_OR_RETURN(k.csr_pem, crypto::make_csr(k.key_pem, host));
  return k;
}

struct EnrollFlags {
  std::string server;
  std::string code;
  std::string ca_fingerprint;
  std::string key_type = "p256";
  bool renew = false;
};

int enroll(Cli& cli, const EnrollFlags& f, const std::string& dir) {
  const std::string name = cli.g.profile;
  if (f.server.empty()) return cli.fail(base::invalid_argument(cli.msg().get("enroll.err.no_server")));
  if (f.ca_fingerprint.empty()) return cli.fail(base::invalid_argument(cli.msg().get("enroll.err.no_fingerprint")));
  if (cli.env->exists(profile_file(dir, name))) {
    return cli.fail(base::already_exists(cli.tr("enroll.err.profile_exists", name, profile_file(dir, name))));
  }
  auto server = server_url(cli, f.server);
  if (!server.ok()) return cli.fail(server.status());
  auto expected = crypto::normalize_fingerprint(f.ca_fingerprint);
  if (!expected.ok()) return cli.fail(expected.status());
  std::string code = f.code;
  if (code.empty()) {
    auto typed = cli.read_password(cli.msg().get("enroll.prompt_code"));
    if (!typed.ok()) return cli.fail(typed.status());
    code = *typed;
  }
  auto ca = fetch_pinned_ca(cli, *server, *expected);
  if (!ca.ok()) return cli.fail(ca.status());
  cli.verbose(cli.tr("enroll.ca_pinned", *expected) + "\n");
  auto key = new_device_key(cli);
  if (!key.ok()) return cli.fail(key.status());
  Tls pinned;
  pinned.ca_pem = *ca;
  std::string body = nlohmann::json{{"code", code}, {"csr", key->csr_pem}}.dump();
  const std::string url = *server + "/enroll";
  auto reply = https(url, &body, pinned);
  if (!reply.ok()) return cli.fail(reply.status());
  auto issued = read_issued(cli, url, *reply, *ca, key->key_pem);
  if (!issued.ok()) return cli.fail(issued.status());
  Profile p;
  p.name = name;
  p.server = *server;
  fill_profile(p, *issued);
  base::Status st = save_profile(*cli.env, dir, p, *ca, issued->cert.pem + key->key_pem);
  if (!st.ok()) return cli.fail(st.with_context(cli.tr("enroll.err.write_profile", name)));
  report(cli, p, *issued, profile_file(dir, name));
  cli.print(cli.tr("enroll.done", p.device, p.tenant, p.repo, profile_file(dir, name), p.not_after, name) + "\n");
  return kExitOk;
}

int renew(Cli& cli, const std::string& dir) {
  auto p = load_profile(cli.msg(), *cli.env, dir, cli.g.profile);
  if (!p.ok()) return cli.fail(p.status());
  auto ca = cli.env->read_named_file(p->cacert);
  if (!ca.ok()) return cli.fail(ca.status());
  std::string ca_pem(ca->begin(), ca->end());
  auto key = new_device_key(cli);
  if (!key.ok()) return cli.fail(key.status());
  Tls mtls;
  mtls.ca_file = p->cacert;
  mtls.client_cert = p->tls_client_cert;
  std::string body = nlohmann::json{{"csr", key->csr_pem}}.dump();
  const std::string url = p->server + "/enroll/renew";
  auto reply = https(url, &body, mtls);
  if (!reply.ok()) return cli.fail(reply.status());
  auto issued = read_issued(cli, url, *reply, ca_pem, key->key_pem);
  if (!issued.ok()) return cli.fail(issued.status());
  fill_profile(*p, *issued);
  base::Status st = save_profile(*cli.env, dir, *p, ca_pem, issued->cert.pem + key->key_pem);
  if (!st.ok()) return cli.fail(st.with_context(cli.tr("enroll.err.write_profile", p->name)));
  report(cli, *p, *issued, profile_file(dir, p->name));
  cli.print(cli.tr("enroll.renewed", p->name, p->not_after) + "\n");
  return kExitOk;
}

int run_enroll(Cli& cli, const EnrollFlags& f) {
  if (cli.g.profile.empty()) return cli.fail(base::invalid_argument(cli.msg().get("enroll.err.no_profile")));
  base::Status st = check_profile_name(cli.msg(), cli.g.profile);
  if (!st.ok()) return cli.fail(st);
  auto dir = profiles_dir();
  if (!dir.ok()) return cli.fail(dir.status());
  return f.renew ? renew(cli, *dir) : enroll(cli, f, *dir);
}

}  // namespace

void add_enroll_command(CLI::App& app, Cli& cli) {
  auto f = std::make_shared<EnrollFlags>();
  CLI::App* cmd = app.add_subcommand("enroll", cli.msg().get("enroll.description"));
  cmd->add_option("server", f->server, cli.msg().get("enroll.flag_server"));
  cmd->add_option("--code", f->code, cli.msg().get("enroll.flag_code"));
  cmd->add_option("--ca-fingerprint", f->ca_fingerprint, cli.msg().get("enroll.flag_ca_fingerprint"));
  cmd->add_option("--device-key-type", f->key_type, cli.msg().get("enroll.flag_key_type"))
      ->check(CLI::IsMember({"p256"}));
  cmd->add_flag("--renew", f->renew, cli.msg().get("enroll.flag_renew"));
  cmd->callback([&cli, f] { exit_code() = run_enroll(cli, *f); });
}

}  // namespace kura::cli
