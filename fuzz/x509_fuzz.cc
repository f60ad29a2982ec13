// What kura-server reads from devices and users about certificates. The first byte picks one
// (modulo 3); the rest is its input.
//   0 CSR (PEM)           parse_csr: refused with kInvalidArgument, or accepted with a key
//   1 certificate (PEM)   parse_cert; cert_fingerprint agrees with it; re-encoding is stable
//   2 typed fingerprint   normalize_fingerprint is idempotent and always "SHA256:" + 64 hex
#include <cstddef>
#include <cstdint>
#include <string>

#include "crypto/x509.h"
#include "fuzz/fuzz_common.h"

namespace kura::fuzz {
namespace {

void fuzz_csr(std::string_view text) {
  auto csr = crypto::parse_csr(text);
  if (!csr.ok()) {
    FUZZ_CHECK(csr.status().code() == base::Code::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(csr->public_key_pem.rfind("-----BEGIN PUBLIC KEY-----", 0) == 0);
}

void fuzz_cert(std::string_view text) {
  auto cert = crypto::parse_cert(text);
  auto fp = crypto::cert_fingerprint(text);
  // A certificate with an unreadable date still has a fingerprint (its DER hashes), but
  // parse_cert refuses it.
  if (!cert.ok()) {
    FUZZ_CHECK(cert.status().code() == base::Code::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(fp.ok() && cert->fingerprint == *fp);
  auto again = crypto::parse_cert(cert->pem);
  FUZZ_CHECK(again.ok() && again->fingerprint == cert->fingerprint);
}

void fuzz_fingerprint(std::string_view text) {
  auto n = crypto::normalize_fingerprint(text);
  if (!n.ok()) return;
  FUZZ_CHECK(n->size() == 7 + 64 && n->rfind("SHA256:", 0) == 0);
  auto again = crypto::normalize_fingerprint(*n);
  FUZZ_CHECK(again.ok() && *again == *n);
}

}  // namespace
}  // namespace kura::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in = kura::fuzz::as_text(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: kura::fuzz::fuzz_csr(in); break;
    case 1: kura::fuzz::fuzz_cert(in); break;
    default: kura::fuzz::fuzz_fingerprint(in); break;
  }
  return 0;
}
