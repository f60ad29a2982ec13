#include "crypto/openssl_util.h"

#include <openssl/err.h>

#include <cstdio>
#include <cstdlib>

namespace kura::crypto::internal {

void openssl_fatal(const char* what) {
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  std::fprintf(stderr, "kura: fatal: OpenSSL %s failed: %s\n", what, buf);
  std::abort();
}

namespace {

template <typename T>
T* must(T* p, const char* what) {
  if (p == nullptr) openssl_fatal(what);
  return p;
}

}  // namespace

// Never freed on purpose: they must outlive every thread_local context that uses them.
const EVP_MD* sha256_md() {
  static EVP_MD* md = must(EVP_MD_fetch(nullptr, "SHA2-256", nullptr), "EVP_MD_fetch(SHA2-256)");
  return md;
}

const EVP_CIPHER* aes256_ctr() {
  static EVP_CIPHER* c =
      must(EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr), "EVP_CIPHER_fetch(AES-256-CTR)");
  return c;
}

const EVP_CIPHER* aes128_ecb() {
  static EVP_CIPHER* c =
      must(EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr), "EVP_CIPHER_fetch(AES-128-ECB)");
  return c;
}

EVP_MAC* poly1305_mac() {
  static EVP_MAC* m = must(EVP_MAC_fetch(nullptr, "POLY1305", nullptr), "EVP_MAC_fetch(POLY1305)");
  return m;
}

EVP_KDF* scrypt_kdf() {
  static EVP_KDF* k = must(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr), "EVP_KDF_fetch(SCRYPT)");
  return k;
}

}  // namespace kura::crypto::internal
