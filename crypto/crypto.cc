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

// EVP_EncryptUpdate takes an int length, so huge inputs go through in slices. (Interleaving
// encryption and MAC in cache-sized slices was measured: no faster than two passes.)
constexpr size_t kSliceSize = size_t{1} << 30;

using Iv = std::array<uint8_t, kIvSize>;
using Tag = std::array<uint8_t, kMacSize>;

// Per-thread OpenSSL contexts, reused across calls to avoid allocation and provider lookups.
struct ThreadContexts {
  internal::CipherCtxPtr ctr{EVP_CIPHER_CTX_new()};
  internal::CipherCtxPtr ecb{EVP_CIPHER_CTX_new()};
  internal::MacCtxPtr mac{EVP_MAC_CTX_new(internal::poly1305_mac())};
  // The keys currently scheduled in ctr and ecb, so that a run of calls with one key (the
  // common case: everything uses the master key) skips AES key expansion.
  std::array<uint8_t, 32> ctr_key{};
  bool ctr_keyed = false;
  std::array<uint8_t, 16> ecb_key{};
  bool ecb_keyed = false;

  ThreadContexts() {
    if (!ctr || !ecb || !mac) openssl_fatal("EVP_CIPHER_CTX_new/EVP_MAC_CTX_new");
  }
  ~ThreadContexts() {
    OPENSSL_cleanse(ctr_key.data(), ctr_key.size());
    OPENSSL_cleanse(ecb_key.data(), ecb_key.size());
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
  if (!c.ecb_keyed || !ct_equal(c.ecb_key, key.mac_k)) {
    c.ecb_keyed = false;
    if (EVP_EncryptInit_ex2(c.ecb.get(), internal::aes128_ecb(), key.mac_k.data(), nullptr,
                            nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(c.ecb.get(), 0) != 1) {
      openssl_fatal("EVP_EncryptInit_ex2(AES-128-ECB)");
    }
    c.ecb_key = key.mac_k;
    c.ecb_keyed = true;
  }
  // ECB without padding keeps no state between whole blocks, so the context is reusable.
  int len = 0;
  if (EVP_EncryptUpdate(c.ecb.get(), one_time.data() + 16, &len, iv.data(), int(iv.size())) !=
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
  if (c.ctr_keyed && ct_equal(c.ctr_key, key.encrypt)) {
    // Same key: only the counter block (and the keystream position) is reset.
    if (EVP_EncryptInit_ex2(c.ctr.get(), nullptr, nullptr, iv.data(), nullptr) != 1) {
      openssl_fatal("EVP_EncryptInit_ex2(AES-256-CTR, new IV)");
    }
    return;
  }
  c.ctr_keyed = false;
  if (EVP_EncryptInit_ex2(c.ctr.get(), internal::aes256_ctr(), key.encrypt.data(), iv.data(),
                          nullptr) != 1) {
    openssl_fatal("EVP_EncryptInit_ex2(AES-256-CTR)");
  }
  c.ctr_key = key.encrypt;
  c.ctr_keyed = true;
}

// CTR is its own inverse, so this both encrypts and decrypts. `in` may equal `out`.
void ctr_xor(ThreadContexts& c, base::ByteSpan in, base::MutableByteSpan out) {
  for (size_t done = 0; done < in.size();) {
    size_t n = std::min(kSliceSize, in.size() - done);
    int len = 0;
    if (EVP_EncryptUpdate(c.ctr.get(), out.data() + done, &len, in.data() + done, int(n)) != 1 ||
        size_t(len) != n) {
      openssl_fatal("EVP_EncryptUpdate(AES-256-CTR)");
    }
    done += n;
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
  base::MutableByteSpan ct = out.subspan(kIvSize, plaintext.size());
  ctr_xor(c, plaintext, ct);
  mac_update(c, ct);
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
  ctr_xor(c, ct, out);
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
