// The TLS side of kura-server: REQUIREMENTS C3 (IPA "high security" profile) and C4 (client
// certificates from the device CA).
//
// Accepted: TLS 1.3 (AES-256-GCM, ChaCha20-Poly1305, AES-128-GCM, AES-128-CCM) and TLS 1.2
// with ECDHE + AEAD suites only; groups X25519, P-256, P-384; SHA-256 or stronger signatures;
// no renegotiation, no compression. Clients are asked for a certificate from the device CA but
// the handshake does not require one (browsers and enrollment come without); every request
// then decides from the verification result and the certificate's serial (see PeerIdentity).
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>

#include "base/status.h"

namespace boost::asio::ssl {
class context;
}

namespace kura::server {

struct ServerConfig;

// Builds a server context from the configuration's certificate, key and device CA.
base::StatusOr<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(
    const ServerConfig& config);

// What the client presented in the handshake.
struct PeerCertificate {
  std::string serial;   // lowercase hex, as crypto::CertInfo::serial_hex; "" without a certificate
  bool verified = false;  // chains to the device CA and is within its dates
  std::string problem;    // when not verified: OpenSSL's reason ("certificate has expired")
};
PeerCertificate peer_certificate(SSL* ssl);

// The TLS 1.2 cipher list and TLS 1.3 suites configured (tests compare against them).
extern const char kTls12Ciphers[];
extern const char kTls13Suites[];

}  // namespace kura::server
