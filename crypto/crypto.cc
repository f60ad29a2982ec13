#include "crypto/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "crypto/openssl_util.h"

namespace kura::crypto {
namespace {

using internal::openssl_fatal;

// Encrypt-and-MAC runs in slices this big so that the MAC reads ciphertext still in L1/L2.
constexpr size_t kSliceSize = 32 * 1024;

using Iv = std::array<uint8_t, kIvSize>;
using Tag = std::array<uint8_t, kMacSize>;

// Per-thread OpenSSL contexts, reused across calls to avoid allocation and provider lookups.
struct ThreadContexts {
  internal::CipherCtxPtr ctr{EVP_CIPHER_CTX_new()};
  internal::CipherCtxPtr ecb{EVP_CIPHER_CTX_new()};
  internal::MacCtxPtr mac{EVP_MAC_CTX_new(internal::poly1305_mac())};

  ThreadContexts() {
    if (!ctr || !ecb || !mac) openssl_fatal("EVP_CIPHER_CTX_new/EVP_MAC_CTX_new");
  }
};

ThreadContexts& contexts() {
  thread_local ThreadContexts c;
  return c;
}

bool all_zero(base::ByteSpan b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

// Starts Poly1305 with the one-time key r || AES-128-ECB(k, IV), as restic's poly1305PrepareKey.
void start_mac(ThreadContexts& c, const Key& key, const Iv& iv) {
  std::array<uint8_t, 32> one_time;
  std::array<uint8_t, 16> r = clamp_mac_r(key.mac_r);
  std::copy(r.begin(), r.end(), one_time.begin());
  int len = 0;
  if (EVP_EncryptInit_ex2(c.ecb.get(), internal::aes128_ecb(), key.mac_k.data(), nullptr,
                          nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(c.ecb.get(), 0) != 1 ||
      EVP_EncryptUpdate(c.ecb.get(), one_time.data() + 16, &len, iv.data(), int(iv.size())) !=
          1 ||
      len != 16) {
    openssl_fatal("AES-128-ECB for the Poly1305 key");
  }
  if (EVP_MAC_init(c.mac.get(), one_time.data(), one_time.size(), nullptr) != 1) {
    openssl_fatal("EVP_MAC_init(POLY1305)");
  }
  OPENSSL_cleanse(one_time.data(), one_time.size());
}

void mac_update(ThreadContexts& c, base::ByteSpan data) {
  if (EVP_MAC_update(c.mac.get(), data.data(), data.size()) != 1) {
    openssl_fatal("EVP_MAC_update(POLY1305)");
  }
}

Tag mac_final(ThreadContexts& c) {
  Tag tag;
  size_t len = 0;
  if (EVP_MAC_final(c.mac.get(), tag.data(), &len, tag.size()) != 1 || len != tag.size()) {
    openssl_fatal("EVP_MAC_final(POLY1305)");
  }
  return tag;
}

void start_ctr(ThreadContexts& c, const Key& key, const Iv& iv) {
  if (EVP_EncryptInit_ex2(c.ctr.get(), internal::aes256_ctr(), key.encrypt.data(), iv.data(),
                          nullptr) != 1) {
    openssl_fatal("EVP_EncryptInit_ex2(AES-256-CTR)");
  }
}

// CTR is its own inverse, so this both encrypts and decrypts. `in` may equal `out`.
void ctr_xor(ThreadContexts& c, const uint8_t* in, uint8_t* out, size_t n) {
  int len = 0;
  if (EVP_EncryptUpdate(c.ctr.get(), out, &len, in, int(n)) != 1 || size_t(len) != n) {
    openssl_fatal("EVP_EncryptUpdate(AES-256-CTR)");
  }
}

base::Status verification_failed() {
  return base::data_loss("ciphertext verification failed (wrong key or corrupted data)");
}

}  // namespace

bool Key::valid() const { return !all_zero(encrypt) && !all_zero(mac_k) && !all_zero(mac_r); }

std::array<uint8_t, 16> clamp_mac_r(std::array<uint8_t, 16> r) {
  for (int i : {3, 7, 11, 15}) r[i] &= 0x0f;
  for (int i : {4, 8, 12}) r[i] &= 0xfc;
  return r;
}

Key random_key(RandomSource& random) {
  Key k;
  random.fill(k.encrypt);
  random.fill(k.mac_k);
  random.fill(k.mac_r);
  k.mac_r = clamp_mac_r(k.mac_r);
  return k;
}

void seal(const Key& key, base::ByteSpan plaintext, base::MutableByteSpan out,
          RandomSource& random) {
  if (out.size() != plaintext.size() + kCiphertextOverhead) {
    std::fprintf(stderr, "kura: fatal: crypto::seal: output buffer has the wrong size\n");
    std::abort();
  }
  Iv iv;
  do {
    random.fill(iv);
  } while (all_zero(iv));

  ThreadContexts& c = contexts();
  start_mac(c, key, iv);
  start_ctr(c, key, iv);
  uint8_t* ct = out.data() + kIvSize;
  for (size_t done = 0; done < plaintext.size();) {
    size_t n = std::min(kSliceSize, plaintext.size() - done);
    ctr_xor(c, plaintext.data() + done, ct + done, n);
    mac_update(c, base::ByteSpan(ct + done, n));
    done += n;
  }
  Tag tag = mac_final(c);
  std::copy(iv.begin(), iv.end(), out.begin());
  std::copy(tag.begin(), tag.end(), out.end() - kMacSize);
}

base::Bytes seal(const Key& key, base::ByteSpan plaintext, RandomSource& random) {
  base::Bytes out(plaintext.size() + kCiphertextOverhead);
  seal(key, plaintext, out, random);
  return out;
}

base::Status open_into(const Key& key, base::ByteSpan sealed, base::MutableByteSpan out) {
  if (sealed.size() < kCiphertextOverhead) return verification_failed();
  if (out.size() != sealed.size() - kCiphertextOverhead) {
    return base::invalid_argument("crypto::open_into: output buffer has the wrong size");
  }
  Iv iv;
  std::copy_n(sealed.begin(), kIvSize, iv.begin());
  base::ByteSpan ct = sealed.subspan(kIvSize, out.size());
  base::ByteSpan tag = sealed.last(kMacSize);

  ThreadContexts& c = contexts();
  start_mac(c, key, iv);
  mac_update(c, ct);
  Tag expected = mac_final(c);
  if (CRYPTO_memcmp(expected.data(), tag.data(), kMacSize) != 0) return verification_failed();

  start_ctr(c, key, iv);
  for (size_t done = 0; done < ct.size();) {
    size_t n = std::min(kSliceSize, ct.size() - done);
    ctr_xor(c, ct.data() + done, out.data() + done, n);
    done += n;
  }
  return base::ok_status();
}

base::StatusOr<base::Bytes> open(const Key& key, base::ByteSpan sealed) {
  if (sealed.size() < kCiphertextOverhead) return verification_failed();
  base::Bytes out(sealed.size() - kCiphertextOverhead);
  RETURN_IF_ERROR(open_into(key, sealed, out));
  return out;
}

bool ct_equal(base::ByteSpan a, base::ByteSpan b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace kura::crypto
