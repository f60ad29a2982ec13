// WebAuthn registration and sign-in as the browser sends them (service/webauthn.h), with a
// fixed relying party and challenge so that seeds signed for them get past the first checks.
// Input: one byte picking the ceremony (even: registration, odd: assertion), then its parts,
// each a 2-byte big-endian length and that many bytes (a missing part is empty):
//   registration  clientDataJSON, attestationObject
//   assertion     authenticatorData, clientDataJSON, signature, stored COSE key
// Properties: never a crash; refusals are kInvalidArgument or kUnauthenticated only; an
// accepted registration yields a credential that an assertion can be checked against.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_common.h"
#include "service/webauthn.h"

namespace kura::fuzz {
namespace {

const service::WebAuthnConfig kConfig{"example.org", "https://example.org"};
constexpr std::string_view kChallenge = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

std::vector<base::ByteSpan> split(base::ByteSpan in, size_t parts) {
  std::vector<base::ByteSpan> out;
  while (out.size() < parts) {
    if (in.size() < 2) {
      out.emplace_back();
      continue;
    }
    size_t n = size_t{in[0]} << 8 | in[1];
    in = in.subspan(2);
    n = std::min(n, in.size());
    out.push_back(in.first(n));
    in = in.subspan(n);
  }
  return out;
}

void check_refusal(const base::Status& s) {
  FUZZ_CHECK(s.code() == base::Code::kInvalidArgument || s.code() == base::Code::kUnauthenticated);
  FUZZ_CHECK(!s.message().empty());
}

void fuzz_registration(base::ByteSpan in) {
  auto p = split(in, 2);
  auto cred = service::verify_registration(kConfig, p[0], p[1], kChallenge);
  if (!cred.ok()) return check_refusal(cred.status());
  FUZZ_CHECK(!cred->credential_id.empty() && cred->credential_id.size() <= 1023);
  // The stored key must be one verify_assertion accepts as a key: whatever it refuses next
  // is the (empty) assertion, never the key.
  auto next = service::verify_assertion(kConfig, {}, {}, {}, kChallenge, cred->cose_public_key,
                                        cred->sign_count);
  FUZZ_CHECK(!next.ok() &&
             next.status().message().find("credential public key") == std::string::npos);
}

void fuzz_assertion(base::ByteSpan in) {
  auto p = split(in, 4);
  auto count = service::verify_assertion(kConfig, p[0], p[1], p[2], kChallenge, p[3], 1);
  if (!count.ok()) return check_refusal(count.status());
  FUZZ_CHECK(*count > 1);
}

}  // namespace
}  // namespace kura::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  kura::base::ByteSpan in(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    kura::fuzz::fuzz_registration(in);
  } else {
    kura::fuzz::fuzz_assertion(in);
  }
  return 0;
}
