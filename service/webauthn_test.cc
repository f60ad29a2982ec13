#include "service/webauthn.h"

#include <cbor.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "service/webauthn_testing.h"

namespace kura::service {
namespace {

using namespace webauthn_testing;  // NOLINT: the helpers are this test's vocabulary

const WebAuthnConfig& kConfig = kTestConfig;
constexpr auto& kChallenge = kTestChallenge;

base::StatusOr<NewCredential> register_with(const Bytes& cdj, const Bytes& att) {
  return verify_registration(kConfig, cdj, att, kChallenge);
}

void expect_refused(const base::Status& s, base::Code code, std::string_view text) {
  EXPECT_EQ(s.code(), code) << s.to_string();
  EXPECT_NE(s.message().find(text), std::string::npos) << s.to_string();
}

TEST(WebAuthnRegistration, NoneAttestation) {
  FakeAuthenticator a;
  Bytes cdj = client_data("webauthn.create");
  auto cred = register_with(cdj, a.attestation("none", a.auth_data(kUp | kUv | kAt, 7), cdj));
  ASSERT_TRUE(cred.ok()) << cred.status().to_string();
  EXPECT_EQ(cred->credential_id, a.credential_id());
  EXPECT_EQ(cred->cose_public_key, a.cose());
  EXPECT_EQ(cred->sign_count, 7u);
  EXPECT_TRUE(cred->user_verified);
}

TEST(WebAuthnRegistration, PackedSelfAttestation) {
  FakeAuthenticator a;
  Bytes cdj = client_data("webauthn.create");
  auto cred = register_with(cdj, a.attestation("packed", a.auth_data(kUp | kAt, 0), cdj));
  ASSERT_TRUE(cred.ok()) << cred.status().to_string();
  EXPECT_FALSE(cred->user_verified);
  EXPECT_EQ(cred->sign_count, 0u);
}

TEST(WebAuthnRegistration, PackedSelfAttestationBadSignature) {
  FakeAuthenticator a, other;
  Bytes cdj = client_data("webauthn.create");
  auto cred =
      register_with(cdj, a.attestation("packed", a.auth_data(kUp | kAt, 0), cdj, other.key()));
  expect_refused(cred.status(), base::Code::kUnauthenticated, "self attestation: signature");
}

Bytes self_signed_cert(EVP_PKEY* key) {
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("fake attestation"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  EXPECT_GT(X509_sign(cert.get(), key, EVP_sha256()), 0);
  unsigned char* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

TEST(WebAuthnRegistration, PackedWithCertificate) {
  FakeAuthenticator a, attester;
  Bytes cdj = client_data("webauthn.create");
  Bytes auth = a.auth_data(kUp | kAt, 1);
  Bytes cert = self_signed_cert(attester.key());
  auto cred = register_with(cdj, a.attestation("packed", auth, cdj, attester.key(), cert));
  ASSERT_TRUE(cred.ok()) << cred.status().to_string();
  // Signed by the credential key instead of the certificate's: refused.
  auto bad = register_with(cdj, a.attestation("packed", auth, cdj, a.key(), cert));
  expect_refused(bad.status(), base::Code::kUnauthenticated, "attestation certificate");
}

TEST(WebAuthnRegistration, UnknownFormat) {
  FakeAuthenticator a;
  Bytes cdj = client_data("webauthn.create");
  auto cred = register_with(cdj, a.attestation("fido-u2f", a.auth_data(kUp | kAt, 0), cdj));
  expect_refused(cred.status(), base::Code::kInvalidArgument, "not supported");
}

Bytes attestation_with(const std::string& fmt, cbor_item_t* stmt, const Bytes& auth) {
  CborPtr owned(stmt);
  CborPtr att(cbor_new_definite_map(3));
  add(att.get(), cbor_build_string("fmt"), cbor_build_string(fmt.c_str()));
  add(att.get(), cbor_build_string("attStmt"), cbor_incref(stmt));
  add(att.get(), cbor_build_string("authData"), cbor_bytes(auth));
  return serialize(att.get());
}

TEST(WebAuthnRegistration, AttestationStatementShape) {
  FakeAuthenticator a;
  Bytes cdj = client_data("webauthn.create");
  Bytes auth = a.auth_data(kUp | kAt, 0);
  cbor_item_t* none_stmt = cbor_new_definite_map(1);
  add(none_stmt, cbor_build_string("alg"), cbor_int(-7));
  expect_refused(register_with(cdj, attestation_with("none", none_stmt, auth)).status(),
                 base::Code::kInvalidArgument, "must be empty");
  cbor_item_t* rs256 = cbor_new_definite_map(2);
  add(rs256, cbor_build_string("alg"), cbor_int(-257));
  add(rs256, cbor_build_string("sig"), cbor_bytes(Bytes(64, 1)));
  expect_refused(register_with(cdj, attestation_with("packed", rs256, auth)).status(),
                 base::Code::kInvalidArgument, "only ES256 signatures");
  cbor_item_t* no_sig = cbor_new_definite_map(1);
  add(no_sig, cbor_build_string("alg"), cbor_int(-7));
  expect_refused(register_with(cdj, attestation_with("packed", no_sig, auth)).status(),
                 base::Code::kInvalidArgument, "alg and sig are required");
  cbor_item_t* bad_x5c = cbor_new_definite_map(3);
  add(bad_x5c, cbor_build_string("alg"), cbor_int(-7));
  add(bad_x5c, cbor_build_string("sig"), cbor_bytes(Bytes(64, 1)));
  add(bad_x5c, cbor_build_string("x5c"), cbor_new_definite_array(0));
  expect_refused(register_with(cdj, attestation_with("packed", bad_x5c, auth)).status(),
                 base::Code::kInvalidArgument, "x5c");
}

TEST(WebAuthnRegistration, CredentialIdLength) {
  FakeAuthenticator a;
  Bytes cdj = client_data("webauthn.create");
  for (size_t len : {size_t{0}, size_t{1024}}) {
    Bytes auth = a.auth_data(kUp | kAt, 0);
    // Rewrite the credential ID length field (after rpIdHash, flags, count and AAGUID).
    auth[53] = static_cast<uint8_t>(len >> 8);
    auth[54] = static_cast<uint8_t>(len);
    expect_refused(register_with(cdj, a.attestation("none", auth, cdj)).status(),
                   base::Code::kInvalidArgument, "credential ID length out of range");
  }
}

TEST(WebAuthnRegistration, ClientDataChecks) {
  FakeAuthenticator a;
  Bytes auth = a.auth_data(kUp | kAt, 0);
  struct Case {
    Bytes cdj;
    std::string_view error;
  };
  for (const Case& c : {
           Case{client_data("webauthn.get"), "type is \"webauthn.get\""},
           Case{client_data("webauthn.create", "AAAA"), "challenge does not match"},
           Case{client_data("webauthn.create", std::string(kChallenge).replace(0, 1, "r")),
                "challenge does not match"},
           Case{client_data("webauthn.create", kChallenge, "https://evil.example.jp"),
                "origin \"https://evil.example.jp\""},
           Case{client_data("webauthn.create", kChallenge, "https://backup.example.jp"),
                "is not this site's"},
       }) {
    auto cred = register_with(c.cdj, a.attestation("none", auth, c.cdj));
    expect_refused(cred.status(), base::Code::kUnauthenticated, c.error);
  }
  Bytes cross = as_vec(R"({"type":"webauthn.create","challenge":")" + std::string(kChallenge) +
                       R"(","origin":")" + kConfig.origin + R"(","crossOrigin":true})");
  expect_refused(register_with(cross, a.attestation("none", auth, cross)).status(),
                 base::Code::kUnauthenticated, "cross-origin");
  // What the client sent is quoted short and printable only.
  Bytes odd = as_vec(R"({"type":"webauthn.create","challenge":")" + std::string(kChallenge) +
                     R"(","origin":"https://x\n)" + std::string(200, 'a') + R"("})");
  auto odd_origin = register_with(odd, a.attestation("none", auth, odd));
  expect_refused(odd_origin.status(), base::Code::kUnauthenticated, "origin \"https://x?aaa");
  EXPECT_LT(odd_origin.status().message().size(), 250u);
  std::string deep_json = std::string(30000, '[') + std::string(30000, ']');
  for (const std::string& junk : std::vector<std::string>{
           "{}", deep_json, "", "[]", "{", "{\"type\":1}", "\xff\xfe", "{\"type\":\"\xff\"}"}) {
    expect_refused(register_with(as_vec(junk), a.attestation("none", auth, as_vec(junk))).status(),
                   base::Code::kInvalidArgument, "clientDataJSON");
  }
  Bytes huge = client_data("webauthn.create", kChallenge, std::string(70000, 'a'));
  expect_refused(register_with(huge, a.attestation("none", auth, huge)).status(),
                 base::Code::kInvalidArgument, "clientDataJSON: too large");
  EXPECT_EQ(verify_registration(kConfig, client_data("webauthn.create", ""),
                                a.attestation("none", auth, client_data("webauthn.create")), "")
                .status()
                .code(),
            base::Code::kInvalidArgument);
}

TEST(WebAuthnRegistration, RpIdHashAndFlags) {
  FakeAuthenticator a;
  Bytes cdj = client_data("webauthn.create");
  auto wrong_rp = register_with(
      cdj, a.attestation("none", a.auth_data(kUp | kAt, 0, {}, "evil.example.jp"), cdj));
  expect_refused(wrong_rp.status(), base::Code::kUnauthenticated, "RP ID hash");
  auto no_up = register_with(cdj, a.attestation("none", a.auth_data(kUv | kAt, 0), cdj));
  expect_refused(no_up.status(), base::Code::kUnauthenticated, "user presence");
  auto no_at = register_with(cdj, a.attestation("none", a.auth_data(kUp, 0), cdj));
  expect_refused(no_at.status(), base::Code::kInvalidArgument, "AT flag");
}

TEST(WebAuthnRegistration, OnlyEs256Keys) {
  FakeAuthenticator a;
  Bytes cdj = client_data("webauthn.create");
  Bytes x(32, 1), y(32, 2);
  // RS256 (kty RSA) and Ed25519 (OKP, EdDSA), as COSE maps shaped like theirs.
  CborPtr rsa(cbor_new_definite_map(4));
  add(rsa.get(), cbor_int(1), cbor_int(3));
  add(rsa.get(), cbor_int(3), cbor_int(-257));
  add(rsa.get(), cbor_int(-1), cbor_bytes(Bytes(256, 0xc1)));
  add(rsa.get(), cbor_int(-2), cbor_bytes(Bytes{1, 0, 1}));
  CborPtr ed(cbor_new_definite_map(4));
  add(ed.get(), cbor_int(1), cbor_int(1));
  add(ed.get(), cbor_int(3), cbor_int(-8));
  add(ed.get(), cbor_int(-1), cbor_int(6));
  add(ed.get(), cbor_int(-2), cbor_bytes(x));
  for (const Bytes& key : {serialize(rsa.get()), serialize(ed.get()), cose_key(2, -35, 2, x, y),
                           cose_key(2, -7, 2, x, y)}) {
    auto cred = register_with(cdj, a.attestation("none", a.auth_data(kUp | kAt, 0, key), cdj));
    expect_refused(cred.status(), base::Code::kInvalidArgument,
                   "only ES256 (P-256) keys are accepted");
  }
  // ES256 labels but a point that is not on the curve, or coordinates of the wrong size.
  for (const Bytes& key : {cose_key(2, -7, 1, x, y), cose_key(2, -7, 1, Bytes(31, 1), y)}) {
    auto cred = register_with(cdj, a.attestation("none", a.auth_data(kUp | kAt, 0, key), cdj));
    expect_refused(cred.status(), base::Code::kInvalidArgument, "credential public key");
  }
}

TEST(WebAuthnRegistration, TruncatedAuthDataAtEveryLength) {
  FakeAuthenticator a;
  Bytes cdj = client_data("webauthn.create");
  Bytes auth = a.auth_data(kUp | kAt, 0);
  for (size_t n = 0; n < auth.size(); ++n) {
    Bytes cut(auth.begin(), auth.begin() + static_cast<ptrdiff_t>(n));
    auto cred = register_with(cdj, a.attestation("none", cut, cdj));
    EXPECT_EQ(cred.status().code(), base::Code::kInvalidArgument) << n;
    EXPECT_NE(cred.status().message().find("authenticatorData"), std::string::npos)
        << n << ": " << cred.status().to_string();
  }
  auto longer = register_with(cdj, a.attestation("none", concat(auth, {0}), cdj));
  expect_refused(longer.status(), base::Code::kInvalidArgument, "authenticatorData: trailing");
}

TEST(WebAuthnRegistration, GarbageAndTrailingCbor) {
  FakeAuthenticator a;
  Bytes cdj = client_data("webauthn.create");
  Bytes att = a.attestation("none", a.auth_data(kUp | kAt, 0), cdj);
  expect_refused(register_with(cdj, concat(att, {0x00})).status(), base::Code::kInvalidArgument,
                 "trailing bytes");
  for (const Bytes& junk :
       {Bytes{}, Bytes{0xff}, Bytes{0xa1}, Bytes{0x9f, 0x01, 0xff},
        Bytes{0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        Bytes{0x9b, 0, 0, 0, 1, 0, 0, 0, 0}, Bytes(40, 0x81), Bytes{0x01}, as_vec("hello world")}) {
    auto cred = register_with(cdj, junk);
    EXPECT_EQ(cred.status().code(), base::Code::kInvalidArgument) << cred.status().to_string();
  }
  Bytes random(att.size());
  for (size_t i = 0; i < att.size(); ++i) random[i] = static_cast<uint8_t>(i * 131 + 7);
  EXPECT_FALSE(register_with(cdj, random).ok());
}

class WebAuthnAssertion : public ::testing::Test {
 protected:
  base::StatusOr<uint32_t> get(const Bytes& auth, const Bytes& cdj, const Bytes& sig,
                               uint32_t stored = 5) {
    return verify_assertion(kConfig, auth, cdj, sig, kChallenge, a_.cose(), stored);
  }
  base::StatusOr<uint32_t> get_signed(const Bytes& auth, const Bytes& cdj, uint32_t stored = 5) {
    return get(auth, cdj, a_.assertion_sig(auth, cdj), stored);
  }

  FakeAuthenticator a_;
  Bytes cdj_ = client_data("webauthn.get");
};

TEST_F(WebAuthnAssertion, AfterRegistration) {
  Bytes reg_cdj = client_data("webauthn.create");
  auto cred = register_with(reg_cdj, a_.attestation("none", a_.auth_data(kUp | kAt, 5), reg_cdj));
  ASSERT_TRUE(cred.ok()) << cred.status().to_string();
  Bytes auth = a_.auth_data(kUp | kUv, 6);
  auto count = verify_assertion(kConfig, auth, cdj_, a_.assertion_sig(auth, cdj_), kChallenge,
                                cred->cose_public_key, cred->sign_count);
  ASSERT_TRUE(count.ok()) << count.status().to_string();
  EXPECT_EQ(*count, 6u);
}

TEST_F(WebAuthnAssertion, SignCount) {
  EXPECT_EQ(*get_signed(a_.auth_data(kUp, 0), cdj_, 0), 0u);  // no counter on this device
  expect_refused(get_signed(a_.auth_data(kUp, 5), cdj_, 5).status(), base::Code::kUnauthenticated,
                 "may have been cloned");
  expect_refused(get_signed(a_.auth_data(kUp, 4), cdj_, 5).status(), base::Code::kUnauthenticated,
                 "sign count 4 did not grow past 5");
  expect_refused(get_signed(a_.auth_data(kUp, 0), cdj_, 5).status(), base::Code::kUnauthenticated,
                 "did not grow");
}

TEST_F(WebAuthnAssertion, BadSignature) {
  Bytes auth = a_.auth_data(kUp, 6);
  Bytes sig = a_.assertion_sig(auth, cdj_);
  for (size_t i = 0; i < sig.size(); ++i) {
    Bytes flipped = sig;
    flipped[i] ^= 0x01;
    expect_refused(get(auth, cdj_, flipped).status(), base::Code::kUnauthenticated,
                   "assertion: signature");
  }
  expect_refused(get(auth, cdj_, {}).status(), base::Code::kUnauthenticated, "signature");
  Bytes other_auth = a_.auth_data(kUp, 7);
  expect_refused(get(other_auth, cdj_, sig).status(), base::Code::kUnauthenticated, "signature");
}

TEST_F(WebAuthnAssertion, ClientDataAndAuthDataChecks) {
  Bytes auth = a_.auth_data(kUp, 6);
  expect_refused(get_signed(auth, client_data("webauthn.create")).status(),
                 base::Code::kUnauthenticated, "type is");
  expect_refused(get_signed(auth, client_data("webauthn.get", "xyz")).status(),
                 base::Code::kUnauthenticated, "challenge");
  expect_refused(get_signed(auth, client_data("webauthn.get", kChallenge, "http://a")).status(),
                 base::Code::kUnauthenticated, "origin");
  expect_refused(get_signed(a_.auth_data(kUp, 6, {}, "example.jp"), cdj_).status(),
                 base::Code::kUnauthenticated, "RP ID hash");
  expect_refused(get_signed(a_.auth_data(kUv, 6), cdj_).status(), base::Code::kUnauthenticated,
                 "(UP)");
  expect_refused(get_signed(a_.auth_data(kUp | kAt, 6), cdj_).status(),
                 base::Code::kInvalidArgument, "attested credential data");
}

TEST_F(WebAuthnAssertion, TruncatedAndTrailingAuthData) {
  Bytes auth = a_.auth_data(kUp, 6);
  for (size_t n = 0; n < auth.size(); ++n) {
    Bytes cut(auth.begin(), auth.begin() + static_cast<ptrdiff_t>(n));
    expect_refused(get_signed(cut, cdj_).status(), base::Code::kInvalidArgument,
                   "shorter than 37 bytes");
  }
  expect_refused(get_signed(concat(auth, {0xa0}), cdj_).status(), base::Code::kInvalidArgument,
                 "trailing bytes");
  // Extensions (ED) must be one CBOR map and nothing after it.
  Bytes ext = auth;
  ext[32] |= 0x80;
  EXPECT_TRUE(get_signed(concat(ext, {0xa0}), cdj_).ok());
  expect_refused(get_signed(concat(ext, {0x80}), cdj_).status(), base::Code::kInvalidArgument,
                 "extensions");
  expect_refused(get_signed(concat(ext, {0xa0, 0x00}), cdj_).status(), base::Code::kInvalidArgument,
                 "trailing bytes");
}

TEST_F(WebAuthnAssertion, StoredKeyMustBeEs256) {
  Bytes auth = a_.auth_data(kUp, 6);
  Bytes sig = a_.assertion_sig(auth, cdj_);
  Bytes x(32, 1);
  expect_refused(
      verify_assertion(kConfig, auth, cdj_, sig, kChallenge, cose_key(1, -8, 6, x, x), 0).status(),
      base::Code::kInvalidArgument, "only ES256");
  expect_refused(
      verify_assertion(kConfig, auth, cdj_, sig, kChallenge, concat(a_.cose(), {0}), 0).status(),
      base::Code::kInvalidArgument, "trailing bytes");
}

TEST(WebAuthnCbor, DeepNestingRefused) {
  Bytes deep(10000, 0x81);  // [[[[...
  deep.push_back(0x00);
  FakeAuthenticator a;
  Bytes cdj = client_data("webauthn.create");
  expect_refused(register_with(cdj, deep).status(), base::Code::kInvalidArgument,
                 "nested too deeply");
  // A repeated key is ambiguous.
  Bytes dup = {0xa2, 0x63, 'f', 'm', 't',  0x64, 'n', 'o', 'n', 'e',
               0x63, 'f',  'm', 't', 0x64, 'n',  'o', 'n', 'e'};
  expect_refused(register_with(cdj, dup).status(), base::Code::kInvalidArgument, "repeated");
}

TEST(WebAuthnChallenge, RandomBase64Url) {
  std::string a = new_challenge_b64url(), b = new_challenge_b64url();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_EQ(base64url_encode(as_vec("")), "");
  EXPECT_EQ(base64url_encode(as_vec("f")), "Zg");
  EXPECT_EQ(base64url_encode(as_vec("fo")), "Zm8");
  EXPECT_EQ(base64url_encode(as_vec("foo")), "Zm9v");
  EXPECT_EQ(base64url_encode(Bytes{0xfb, 0xff}), "-_8");
}

TEST(WebAuthnBase64Url, RoundTripAndGarbage) {
  for (size_t n = 0; n < 70; ++n) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 37 + n);
    auto back = base64url_decode(base64url_encode(b));
    ASSERT_TRUE(back.ok()) << n;
    EXPECT_EQ(*back, b) << n;
  }
  EXPECT_EQ(*base64url_decode("Zg=="), as_vec("f"));  // padding is tolerated
  EXPECT_EQ(*base64url_decode("Zm8="), as_vec("fo"));
  EXPECT_EQ(*base64url_decode("-_8"), (Bytes{0xfb, 0xff}));
  for (std::string_view junk : {"Z", "Zg=", "Zh", "Zm9", "Zm9v=", "+/8", "Zm 9v", "Zm9v\n",
                                "Zg===", "=", "\xff\xfe", "AAAAA"}) {
    auto r = base64url_decode(junk, "credential id");
    EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument) << junk;
    EXPECT_NE(r.status().message().find("credential id"), std::string::npos) << junk;
  }
}

// Writes the fuzz seed corpus (fuzz/corpus/webauthn) when KURA_WEBAUTHN_SEEDS names a folder;
// the layout of each file is the one fuzz/webauthn_fuzz.cc reads.
TEST(WebAuthnSeeds, Write) {
  const char* dir = std::getenv("KURA_WEBAUTHN_SEEDS");
  if (!dir) GTEST_SKIP() << "set KURA_WEBAUTHN_SEEDS=<dir> to write the fuzz seeds";
  auto part = [](const Bytes& b) {
    Bytes out{static_cast<uint8_t>(b.size() >> 8), static_cast<uint8_t>(b.size())};
    return concat(out, b);
  };
  auto write = [&](const std::string& name, const Bytes& data) {
    std::ofstream f(std::string(dir) + "/" + name, std::ios::binary);
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  };
  FakeAuthenticator a, attester;
  // The fuzz target's fixed configuration and challenge.
  const WebAuthnConfig cfg{"example.org", "https://example.org"};
  const std::string challenge = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  Bytes reg = client_data("webauthn.create", challenge, cfg.origin);
  Bytes auth = a.auth_data(kUp | kAt, 1, {}, cfg.rp_id);
  auto write_registration = [&](const std::string& name, const Bytes& att) {
    ASSERT_TRUE(verify_registration(cfg, reg, att, challenge).ok()) << name;
    write(name, concat(Bytes{0}, concat(part(reg), part(att))));
  };
  write_registration("seed-register-none", a.attestation("none", auth, reg));
  write_registration("seed-register-packed", a.attestation("packed", auth, reg));
  write_registration("seed-register-x5c", a.attestation("packed", auth, reg, attester.key(),
                                                        self_signed_cert(attester.key())));
  Bytes get_cdj = client_data("webauthn.get", challenge, cfg.origin);
  Bytes get_auth = a.auth_data(kUp | kUv, 2, {}, cfg.rp_id);
  Bytes sig = a.assertion_sig(get_auth, get_cdj);
  write("seed-assert",
        concat(Bytes{1},
               concat(part(get_auth), concat(part(get_cdj), concat(part(sig), part(a.cose()))))));
  ASSERT_TRUE(verify_assertion(cfg, get_auth, get_cdj, sig, challenge, a.cose(), 1).ok());
}

}  // namespace
}  // namespace kura::service
