// Internal to crypto/: RAII owners for OpenSSL handles and the algorithms fetched once per
// process. Not part of the public API.
#pragma once

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>

namespace kura::crypto::internal {

struct EvpMdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EvpCipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct EvpMacCtxFree {
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
};
struct EvpKdfCtxFree {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};

using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, EvpCipherCtxFree>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, EvpMacCtxFree>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, EvpKdfCtxFree>;

// Explicitly fetched algorithms, fetched on first use and kept for the life of the process
// (implicit fetching by EVP_aes_256_ctr() & co. repeats the provider lookup on every init).
// They abort the process if the default provider lacks the algorithm: kura cannot work
// without them and there is no sensible way to continue.
const EVP_MD* sha256_md();
const EVP_CIPHER* aes256_ctr();
const EVP_CIPHER* aes128_ecb();
EVP_MAC* poly1305_mac();
EVP_KDF* scrypt_kdf();

// Aborts with a message naming the OpenSSL call; for failures that can only be bugs or an
// out-of-memory condition (e.g. EVP_EncryptUpdate on a correctly set-up context).
[[noreturn]] void openssl_fatal(const char* what);

}  // namespace kura::crypto::internal
