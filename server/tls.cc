#include "server/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl/context.hpp>
#include <fstream>
#include <sstream>

#include "server/config.h"

namespace kura::server {

const char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256";
const char kTls13Suites[] =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:"
    "TLS_AES_128_CCM_SHA256";

namespace {

std::string openssl_error(std::string_view what) {
  std::string msg(what);
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return msg;
}

// Accept the handshake whatever the verification result: the request layer refuses with an
// HTTP status and an access record, which a failed handshake could not carry.
int keep_going(int, X509_STORE_CTX*) { return 1; }

}  // namespace

base::StatusOr<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(
    const ServerConfig& config) {
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* c = ctx->native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE |
                             SSL_OP_SINGLE_ECDH_USE);
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(c, kTls13Suites) != 1) {
    return base::internal_error(openssl_error("TLS cipher configuration"));
  }
  if (SSL_CTX_set1_groups_list(c, "X25519:P-256:P-384") != 1 ||
      SSL_CTX_set1_sigalgs_list(
          c, "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:ed25519:rsa_pss_rsae_sha256:"
             "rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:rsa_pss_pss_sha256:rsa_pss_pss_sha384:"
             "rsa_pss_pss_sha512:RSA+SHA256:RSA+SHA384:RSA+SHA512") != 1) {
    return base::internal_error(openssl_error("TLS group/signature configuration"));
  }
  if (SSL_CTX_use_certificate_chain_file(c, config.tls_cert.c_str()) != 1) {
    return base::failed_precondition(openssl_error("server certificate " + config.tls_cert));
  }
  if (SSL_CTX_use_PrivateKey_file(c, config.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return base::failed_precondition(openssl_error("server key " + config.tls_key));
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return base::failed_precondition(openssl_error("server key " + config.tls_key +
                                                   " does not match " + config.tls_cert));
  }
  if (SSL_CTX_load_verify_locations(c, config.ca_cert.c_str(), nullptr) != 1) {
    return base::failed_precondition(openssl_error("device CA " + config.ca_cert));
  }
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.ca_cert.c_str());
  if (!names) return base::failed_precondition(openssl_error("device CA " + config.ca_cert));
  SSL_CTX_set_client_CA_list(c, names);
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, keep_going);
  SSL_CTX_set_verify_depth(c, 2);
  // Session resumption keeps the peer certificate, and every request re-checks its serial
  // against the device table, so resumption cannot outlive a revocation.
  static const unsigned char kSessionId[] = "kura-server";
  SSL_CTX_set_session_id_context(c, kSessionId, sizeof kSessionId - 1);
  return ctx;
}

PeerCertificate peer_certificate(SSL* ssl) {
  PeerCertificate p;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return p;
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  if (bn) {
    char* hex = BN_bn2hex(bn);
    std::string s = hex ? hex : "";
    OPENSSL_free(hex);
    BN_free(bn);
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (s.size() % 2) s.insert(s.begin(), '0');
    p.serial = s;
  }
  long v = SSL_get_verify_result(ssl);
  p.verified = v == X509_V_OK;
  if (!p.verified) p.problem = X509_verify_cert_error_string(v);
  if (p.serial.empty()) p.serial = "unreadable";
  return p;
}

}  // namespace kura::server
