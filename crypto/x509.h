// X.509 for kura-server's device CA (REQUIREMENTS C3, C4): the CA itself, the server's TLS
// certificate, device keys and their CSRs, and one client certificate per device. Keys are
// ECDSA P-256 by default (RSA >= 2048 and P-384 are accepted in CSRs); every signature is
// SHA-256. All texts are PEM. Every function fails with a Status that says what was wrong,
// never with a key's bytes in it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kura::crypto {

struct Pem {
  std::string cert;
  std::string key;  // PKCS#8, unencrypted
};

// A new ECDSA P-256 private key, PKCS#8 PEM.
base::StatusOr<std::string> generate_p256_key_pem();

// The device CA: a new P-256 key and a self-signed certificate with CN = common_name,
// basicConstraints CA:TRUE pathlen:0 and keyUsage keyCertSign+cRLSign (both critical), a
// subject key id; valid from now_unix - 300 s for `days` days.
base::StatusOr<Pem> create_ca(std::string_view common_name, int64_t now_unix, int days);

// The server's TLS certificate for server_key_pem, signed by the CA: CN = hosts[0],
// subjectAltName with every host (IP addresses as iPAddress, others as dNSName), EKU
// serverAuth, keyUsage digitalSignature, CA:FALSE.
base::StatusOr<std::string> issue_server_cert(const Pem& ca, const std::string& server_key_pem,
                                              const std::vector<std::string>& hosts,
                                              int64_t now_unix, int days);

// A CSR for a device key (the device makes it; the key never leaves the device).
base::StatusOr<std::string> make_csr(const std::string& key_pem, std::string_view common_name);

struct CsrInfo {
  std::string common_name;     // empty when the CSR has none
  std::string public_key_pem;  // SubjectPublicKeyInfo
};

// Parses and verifies a CSR: its self-signature, its key (EC P-256 / P-384 or RSA >= 2048),
// at most 16 KiB of PEM. Every failure is kInvalidArgument with the reason.
base::StatusOr<CsrInfo> parse_csr(std::string_view csr_pem);

struct CertInfo {
  // The serial number as big-endian bytes in lowercase hex, two digits per byte, leading zero
  // bytes dropped (what `openssl x509 -serial` prints, lowercased). Serials kura issues are
  // always 32 digits.
  std::string serial_hex;
  std::string fingerprint;  // "SHA256:<64 lowercase hex>" of the DER
  std::string subject_cn;
  std::vector<std::string> subject_ou;
  int64_t not_before = 0, not_after = 0;  // Unix seconds
  std::string pem;                        // this certificate alone, re-encoded
};

// Issues a client certificate for the CSR's key: subject CN = device_name, O = tenant,
// OU = repo (for an operator reading it; the server decides nothing from these, it looks the
// serial up), a random 128-bit positive serial, EKU clientAuth, keyUsage digitalSignature,
// CA:FALSE, authority and subject key ids, valid from now_unix - 300 s for `days` days.
base::StatusOr<CertInfo> issue_client_cert(const Pem& ca, std::string_view csr_pem,
                                           std::string_view device_name, std::string_view tenant,
                                           std::string_view repo, int64_t now_unix, int days);

// The first certificate in the text.
base::StatusOr<CertInfo> parse_cert(std::string_view pem);

// Checks what a device receives at enrollment: the (first) certificate in cert_pem is
// signed by the CA in ca_pem and holds the public key of key_pem.
base::Status check_issued_cert(std::string_view cert_pem, std::string_view ca_pem,
                               std::string_view key_pem);

// "SHA256:<64 lowercase hex>" of the first certificate in a PEM text.
base::StatusOr<std::string> cert_fingerprint(std::string_view pem);

// A fingerprint as users type or paste it, in the form cert_fingerprint returns: a
// "SHA256:" prefix in any case, openssl's "sha256 Fingerprint=", or none; upper or lower
// hex; with or without ':' or space separators between the bytes.
base::StatusOr<std::string> normalize_fingerprint(std::string_view typed);

}  // namespace kura::crypto
