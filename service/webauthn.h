// The stronger second sign-in factor (REQUIREMENTS A1): WebAuthn Level 2 relying-party checks
// (W3C WebAuthn L2 §7.1 registration, §7.2 assertion) for ES256 (ECDSA P-256 with SHA-256)
// credentials. Pure functions over the bytes the browser sends; the caller base64url-decodes
// them, keeps the challenge it issued and stores the credential and its sign count.
//
// Errors: kInvalidArgument for input that cannot be parsed or uses something unsupported
// (a key that is not ES256, an attestation format other than "none" and "packed");
// kUnauthenticated for well-formed input that does not prove what it must (challenge, origin,
// RP ID, user presence, signature, sign count).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace kura::service {

struct WebAuthnConfig {
  std::string rp_id;   // the host, no scheme or port: "backup.example.jp"
  std::string origin;  // exactly as the browser reports it: "https://backup.example.jp:8443"
};

struct NewCredential {
  std::vector<uint8_t> credential_id;  // 1..1023 bytes
  // The COSE_Key bytes as in authData; stored, and given back to verify_assertion.
  std::vector<uint8_t> cose_public_key;
  uint32_t sign_count = 0;
  bool user_verified = false;  // the UV flag (PIN or biometrics on the authenticator)
};

// navigator.credentials.create(): clientDataJSON and attestationObject. Attestation "none"
// and "packed" are accepted; packed statements are checked for a valid signature only, not
// for a trusted chain (kura does not restrict authenticator models).
base::StatusOr<NewCredential> verify_registration(const WebAuthnConfig& config,
                                                  base::ByteSpan client_data_json,
                                                  base::ByteSpan attestation_object,
                                                  std::string_view expected_challenge_b64url);

// navigator.credentials.get(): authenticatorData, clientDataJSON and the DER ECDSA signature,
// checked against the stored credential. Returns the new sign count for the caller to store.
// A count that did not grow while either count is non-zero is refused: the authenticator may
// have been cloned.
base::StatusOr<uint32_t> verify_assertion(const WebAuthnConfig& config,
                                          base::ByteSpan authenticator_data,
                                          base::ByteSpan client_data_json, base::ByteSpan signature,
                                          std::string_view expected_challenge_b64url,
                                          base::ByteSpan cose_public_key,
                                          uint32_t stored_sign_count);

// 32 bytes from the system CSPRNG, base64url without padding (43 characters).
std::string new_challenge_b64url();

// RFC 4648 §5 base64url without padding, as WebAuthn's JSON carries bytes.
std::string base64url_encode(base::ByteSpan data);
// Its inverse. Padding ('=' up to a multiple of 4) is tolerated; any other character, an
// impossible length or non-zero unused bits are kInvalidArgument naming `what`.
base::StatusOr<base::Bytes> base64url_decode(std::string_view text,
                                             std::string_view what = "base64url value");

}  // namespace kura::service
