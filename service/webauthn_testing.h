// Test helpers: a software WebAuthn authenticator (one ES256 credential and its counter) that
// builds the messages a browser sends — clientDataJSON, authenticatorData, attestationObject
// (libcbor) and assertion signatures (OpenSSL). For tests only (gtest assertions inside).
#pragma once

#include <cbor.h>
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "base/bytes.h"
#include "crypto/sha256.h"
#include "service/webauthn.h"

namespace kura::service::webauthn_testing {

using base::Bytes;

inline const WebAuthnConfig kTestConfig{"backup.example.jp", "https://backup.example.jp:8443"};
inline constexpr char kTestChallenge[] = "q0Zk3vZ0a7lXYvJ2c1tq5e3f6Dk9Yp2Lw8HhS1uN4mA";

// authenticatorData flags: user present, user verified, attested credential data.
inline constexpr uint8_t kUp = 0x01, kUv = 0x04, kAt = 0x40;

struct CborFree {
  void operator()(cbor_item_t* item) const { cbor_decref(&item); }
};
using CborPtr = std::unique_ptr<cbor_item_t, CborFree>;
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

inline Bytes serialize(const cbor_item_t* item) {
  unsigned char* buf = nullptr;
  size_t cap = 0;
  size_t n = cbor_serialize_alloc(item, &buf, &cap);
  Bytes out(buf, buf + n);
  free(buf);  // NOLINT: libcbor allocates with malloc
  return out;
}

inline void add(cbor_item_t* map, cbor_item_t* key, cbor_item_t* value) {
  ASSERT_TRUE(cbor_map_add(map, cbor_pair{cbor_move(key), cbor_move(value)}));
}

inline cbor_item_t* cbor_int(int64_t v) {
  return v >= 0 ? cbor_build_uint64(static_cast<uint64_t>(v))
                : cbor_build_negint64(static_cast<uint64_t>(-1 - v));
}

inline cbor_item_t* cbor_bytes(const Bytes& b) { return cbor_build_bytestring(b.data(), b.size()); }

inline Bytes cose_key(int64_t kty, int64_t alg, int64_t crv, const Bytes& x, const Bytes& y) {
  CborPtr map(cbor_new_definite_map(5));
  add(map.get(), cbor_int(1), cbor_int(kty));
  add(map.get(), cbor_int(3), cbor_int(alg));
  add(map.get(), cbor_int(-1), cbor_int(crv));
  add(map.get(), cbor_int(-2), cbor_bytes(x));
  add(map.get(), cbor_int(-3), cbor_bytes(y));
  return serialize(map.get());
}

inline Bytes sign(EVP_PKEY* key, const Bytes& msg) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t len = 0;
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key), 1);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, msg.data(), msg.size()), 1);
  Bytes sig(len);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), sig.data(), &len, msg.data(), msg.size()), 1);
  sig.resize(len);
  return sig;
}

inline Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

inline Bytes as_vec(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline Bytes client_data(std::string_view type, std::string_view challenge = kTestChallenge,
                         std::string_view origin = kTestConfig.origin) {
  return as_vec(std::string(R"({"type":")") + std::string(type) + R"(","challenge":")" +
                std::string(challenge) + R"(","origin":")" + std::string(origin) +
                R"(","crossOrigin":false})");
}

// A software authenticator: one P-256 credential and its counter.
class FakeAuthenticator {
 public:
  explicit FakeAuthenticator(Bytes credential_id = Bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                                                         14, 15, 16})
      : key_(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")), id_(std::move(credential_id)) {
    uint8_t point[65];
    size_t len = 0;
    EXPECT_EQ(EVP_PKEY_get_octet_string_param(key_.get(), OSSL_PKEY_PARAM_PUB_KEY, point,
                                              sizeof point, &len),
              1);
    EXPECT_EQ(len, 65u);
    x_.assign(point + 1, point + 33);
    y_.assign(point + 33, point + 65);
  }

  EVP_PKEY* key() const { return key_.get(); }
  Bytes cose() const { return cose_key(2, -7, 1, x_, y_); }
  const Bytes& credential_id() const { return id_; }
  std::string credential_id_b64url() const { return base64url_encode(id_); }

  Bytes auth_data(uint8_t flags, uint32_t count, const Bytes& cred_cose = {},
                  std::string_view rp_id = kTestConfig.rp_id) const {
    crypto::Hash h = crypto::sha256(base::as_bytes(rp_id));
    Bytes out(h.begin(), h.end());
    out.push_back(flags);
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(count >> s));
    if (flags & kAt) {
      out.insert(out.end(), 16, 0xaa);  // AAGUID
      out.push_back(0);
      out.push_back(static_cast<uint8_t>(id_.size()));
      out = concat(out, id_);
      out = concat(out, cred_cose.empty() ? cose() : cred_cose);
    }
    return out;
  }

  // attestationObject for fmt "none" ("packed" adds a self-attestation signature).
  Bytes attestation(const std::string& fmt, const Bytes& auth, const Bytes& cdj,
                    EVP_PKEY* signer = nullptr, const Bytes& x5c = {}) const {
    CborPtr stmt(cbor_new_definite_map(3));
    if (fmt == "packed") {
      add(stmt.get(), cbor_build_string("alg"), cbor_int(-7));
      crypto::Hash ch = crypto::sha256(cdj);
      add(stmt.get(), cbor_build_string("sig"),
          cbor_bytes(sign(signer ? signer : key(), concat(auth, Bytes(ch.begin(), ch.end())))));
      if (!x5c.empty()) {
        cbor_item_t* arr = cbor_new_definite_array(1);
        EXPECT_TRUE(cbor_array_push(arr, cbor_move(cbor_bytes(x5c))));
        add(stmt.get(), cbor_build_string("x5c"), arr);
      }
    }
    CborPtr att(cbor_new_definite_map(3));
    add(att.get(), cbor_build_string("fmt"), cbor_build_string(fmt.c_str()));
    add(att.get(), cbor_build_string("attStmt"), cbor_incref(stmt.get()));
    add(att.get(), cbor_build_string("authData"), cbor_bytes(auth));
    return serialize(att.get());
  }

  Bytes assertion_sig(const Bytes& auth, const Bytes& cdj) const {
    crypto::Hash ch = crypto::sha256(cdj);
    return sign(key(), concat(auth, Bytes(ch.begin(), ch.end())));
  }

 private:
  PkeyPtr key_;
  Bytes x_, y_;
  Bytes id_;
};

}  // namespace kura::service::webauthn_testing
