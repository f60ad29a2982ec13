#include "crypto/scrypt.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <string>

#include "crypto/openssl_util.h"

namespace kura::crypto {

base::StatusOr<std::array<uint8_t, 64>> scrypt64(std::string_view password, base::ByteSpan salt,
                                                 uint64_t n, uint32_t r, uint32_t p) {
  auto params_text = [&] {
    return "N=" + std::to_string(n) + " r=" + std::to_string(r) + " p=" + std::to_string(p);
  };
  if (n < 2 || (n & (n - 1)) != 0) {
    return base::invalid_argument("scrypt: N must be a power of two greater than 1 (" +
                                  params_text() + ")");
  }
  if (r == 0 || p == 0) {
    return base::invalid_argument("scrypt: r and p must be positive (" + params_text() + ")");
  }
  // Overflow-safe check of 128·r·(N+2) + 128·r·p <= limit (OpenSSL's own accounting).
  const uint64_t block = uint64_t{128} * r;
  if (n + 2 > kScryptMaxMemory / block || p > kScryptMaxMemory / block ||
      block * (n + 2) + block * p > kScryptMaxMemory) {
    return base::resource_exhausted("scrypt: parameters need more than " +
                                    std::to_string(kScryptMaxMemory >> 20) + " MiB (" +
                                    params_text() + ")");
  }

  internal::KdfCtxPtr ctx(EVP_KDF_CTX_new(internal::scrypt_kdf()));
  if (!ctx) internal::openssl_fatal("EVP_KDF_CTX_new(SCRYPT)");
  uint64_t maxmem = kScryptMaxMemory;
  // OSSL_PARAM wants non-const pointers but does not write through them for input.
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                        const_cast<char*>(password.data()), password.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                        const_cast<uint8_t*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end(),
  };
  std::array<uint8_t, 64> out;
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    unsigned long err = ERR_get_error();
    ERR_clear_error();
    // Memory is checked above, so what OpenSSL refuses here is an N/r/p set outside scrypt's
    // limits (e.g. N >= 2^(16·r)); an allocation failure is reported the same way.
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    return base::invalid_argument("scrypt: derivation failed (" + params_text() + "): " + buf);
  }
  return out;
}

Key key_from_kdf(const std::array<uint8_t, 64>& derived) {
  Key k;
  std::copy_n(derived.begin(), 32, k.encrypt.begin());
  std::copy_n(derived.begin() + 32, 16, k.mac_k.begin());
  std::copy_n(derived.begin() + 48, 16, k.mac_r.begin());
  return k;
}

}  // namespace kura::crypto
