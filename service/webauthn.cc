#include "service/webauthn.h"

#include <cbor.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include <array>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "crypto/random.h"
#include "crypto/sha256.h"

namespace kura::service {
namespace {

using base::ByteSpan;
using base::Status;
using base::StatusOr;

// Generous: real clientDataJSON is ~200 bytes and attestation objects a few KiB (an x5c chain).
constexpr size_t kMaxInput = 64 * 1024;
constexpr size_t kMaxCredentialId = 1023;  // WebAuthn L2 §6.5.1
constexpr size_t kAuthDataHeader = 37;     // rpIdHash 32, flags 1, signCount 4
constexpr size_t kAaguidSize = 16;
// Deepest thing read is attestationObject → attStmt → x5c → certificate (3); tags and
// extensions get some room, nothing legitimate comes near this.
constexpr int kMaxCborDepth = 8;
constexpr size_t kMaxMapEntries = 32;
constexpr size_t kMaxSignature = 256;  // a DER ECDSA P-256 signature is at most 72 bytes

constexpr uint8_t kFlagUserPresent = 0x01;
constexpr uint8_t kFlagUserVerified = 0x04;
constexpr uint8_t kFlagAttestedData = 0x40;
constexpr uint8_t kFlagExtensions = 0x80;

// COSE (RFC 8152 / 9053) labels and values for an ES256 key.
constexpr int64_t kCoseKty = 1, kCoseAlg = 3, kCoseCrv = -1, kCoseX = -2, kCoseY = -3;
constexpr int64_t kCoseKtyEc2 = 2, kCoseAlgEs256 = -7, kCoseCrvP256 = 1;

struct CborFree {
  void operator()(cbor_item_t* item) const { cbor_decref(&item); }
};
using CborPtr = std::unique_ptr<cbor_item_t, CborFree>;
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};

Status malformed(std::string_view what, std::string_view why) {
  return base::invalid_argument(std::string(what) + ": " + std::string(why));
}

// The size of the one CBOR item at the start of `in`, checked before libcbor sees it: every
// declared length fits in what is left (so libcbor never allocates more than the input
// justifies), nesting stays within kMaxCborDepth (libcbor's cbor_decref recurses), and
// indefinite lengths, which CTAP2's canonical encoding never uses, are refused.
std::optional<size_t> cbor_item_size(ByteSpan in, int depth) {
  if (depth > kMaxCborDepth || in.empty()) return std::nullopt;
  const uint8_t major = in[0] >> 5, info = in[0] & 0x1f;
  size_t pos = 1;
  uint64_t arg = info;
  if (info >= 24) {
    if (info > 27) return std::nullopt;  // reserved, or indefinite length (31)
    const size_t n = size_t{1} << (info - 24);
    if (in.size() - pos < n) return std::nullopt;
    arg = 0;
    for (size_t i = 0; i < n; ++i) arg = (arg << 8) | in[pos + i];
    pos += n;
  }
  const size_t left = in.size() - pos;
  switch (major) {
    case 2:
    case 3:
      if (arg > left) return std::nullopt;
      return pos + static_cast<size_t>(arg);
    case 4:
    case 5: {
      // Every item takes at least one byte: a count above what is left cannot be honest.
      if (arg > left || (major == 5 && arg > left / 2)) return std::nullopt;
      const uint64_t items = major == 5 ? arg * 2 : arg;
      for (uint64_t i = 0; i < items; ++i) {
        auto n = cbor_item_size(in.subspan(pos), depth + 1);
        if (!n) return std::nullopt;
        pos += *n;
      }
      return pos;
    }
    case 6: {
      auto n = cbor_item_size(in.subspan(pos), depth + 1);
      if (!n) return std::nullopt;
      return pos + *n;
    }
    default:  // 0, 1 integers; 7 simple values and floats, whose argument is the value
      return pos;
  }
}

// The one CBOR item that `in` must consist of, with nothing after it.
StatusOr<CborPtr> load_cbor(ByteSpan in, std::string_view what) {
  auto size = cbor_item_size(in, 0);
  if (!size) return malformed(what, "not well-formed CBOR (or nested too deeply)");
  if (*size != in.size()) return malformed(what, "trailing bytes after the CBOR item");
  cbor_load_result result{};
  CborPtr item(cbor_load(in.data(), in.size(), &result));
  if (!item || result.error.code != CBOR_ERR_NONE || result.read != in.size()) {
    return malformed(what, "CBOR could not be decoded");
  }
  return item;
}

std::optional<int64_t> cbor_to_int(const cbor_item_t* item) {
  if (!cbor_isa_uint(item) && !cbor_isa_negint(item)) return std::nullopt;
  const uint64_t v = cbor_get_int(item);
  if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return cbor_isa_uint(item) ? static_cast<int64_t>(v) : -1 - static_cast<int64_t>(v);
}

std::optional<std::string_view> cbor_to_text(const cbor_item_t* item) {
  if (!cbor_isa_string(item) || !cbor_string_is_definite(item)) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(cbor_string_handle(item)),
                          cbor_string_length(item));
}

std::optional<ByteSpan> cbor_to_bytes(const cbor_item_t* item) {
  if (!cbor_isa_bytestring(item) || !cbor_bytestring_is_definite(item)) return std::nullopt;
  return ByteSpan(cbor_bytestring_handle(item), cbor_bytestring_length(item));
}

bool same_key(const cbor_item_t* a, const cbor_item_t* b) {
  auto ia = cbor_to_int(a), ib = cbor_to_int(b);
  if (ia && ib) return *ia == *ib;
  auto ta = cbor_to_text(a), tb = cbor_to_text(b);
  return ta && tb && *ta == *tb;
}

// A map small enough to search and without a repeated key (which would let two parsers
// disagree on which value counts).
Status check_map(const cbor_item_t* item, std::string_view what) {
  if (!cbor_isa_map(item) || !cbor_map_is_definite(item)) return malformed(what, "not a CBOR map");
  const size_t n = cbor_map_size(item);
  if (n > kMaxMapEntries) return malformed(what, "too many map entries");
  const cbor_pair* pairs = cbor_map_handle(item);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      if (same_key(pairs[i].key, pairs[j].key)) return malformed(what, "repeated map key");
    }
  }
  return base::ok_status();
}

const cbor_item_t* map_find_text(const cbor_item_t* map, std::string_view key) {
  const cbor_pair* pairs = cbor_map_handle(map);
  for (size_t i = 0; i < cbor_map_size(map); ++i) {
    if (cbor_to_text(pairs[i].key) == key) return pairs[i].value;
  }
  return nullptr;
}

const cbor_item_t* map_find_int(const cbor_item_t* map, int64_t key) {
  const cbor_pair* pairs = cbor_map_handle(map);
  for (size_t i = 0; i < cbor_map_size(map); ++i) {
    if (cbor_to_int(pairs[i].key) == key) return pairs[i].value;
  }
  return nullptr;
}

// --- COSE key ---

std::optional<int64_t> cose_int(const cbor_item_t* map, int64_t label) {
  const cbor_item_t* v = map_find_int(map, label);
  return v ? cbor_to_int(v) : std::nullopt;
}

StatusOr<PkeyPtr> p256_key_from_xy(ByteSpan x, ByteSpan y) {
  std::array<uint8_t, 65> point{0x04};  // SEC 1 uncompressed
  std::copy(x.begin(), x.end(), point.begin() + 1);
  std::copy(y.begin(), y.end(), point.begin() + 33);
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  const bool built = ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
                     EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) == 1;
  PkeyPtr key(raw);
  bool valid = false;
  if (built && key) {
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(EVP_PKEY_CTX_new(key.get(), nullptr));
    valid = check && EVP_PKEY_public_check(check.get()) == 1;
  }
  ERR_clear_error();
  if (!valid) return malformed("credential public key", "not a point on P-256");
  return key;
}

StatusOr<PkeyPtr> es256_key_from_cose(ByteSpan cose) {
  constexpr std::string_view kWhat = "credential public key";
  ASSIGN_OR_RETURN(CborPtr map, load_cbor(cose, kWhat));
  RETURN_IF_ERROR(check_map(map.get(), kWhat));
  auto kty = cose_int(map.get(), kCoseKty), alg = cose_int(map.get(), kCoseAlg),
       crv = cose_int(map.get(), kCoseCrv);
  if (kty != kCoseKtyEc2 || alg != kCoseAlgEs256 || crv != kCoseCrvP256) {
    auto show = [](std::optional<int64_t> v) { return v ? std::to_string(*v) : "missing"; };
    return malformed(kWhat, "only ES256 (P-256) keys are accepted (COSE kty " + show(kty) +
                                ", alg " + show(alg) + ", crv " + show(crv) + ")");
  }
  const cbor_item_t* xi = map_find_int(map.get(), kCoseX);
  const cbor_item_t* yi = map_find_int(map.get(), kCoseY);
  auto x = xi ? cbor_to_bytes(xi) : std::nullopt;
  auto y = yi ? cbor_to_bytes(yi) : std::nullopt;
  if (!x || !y || x->size() != 32 || y->size() != 32) {
    return malformed(kWhat, "x and y must be 32-byte byte strings");
  }
  return p256_key_from_xy(*x, *y);
}

// ECDSA with SHA-256 over a || b, the DER signature as WebAuthn carries it.
Status verify_es256(EVP_PKEY* key, ByteSpan a, ByteSpan b, ByteSpan sig, std::string_view what) {
  if (sig.empty() || sig.size() > kMaxSignature) {
    return base::unauthenticated(std::string(what) + ": signature has an impossible length");
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx &&
      EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key, nullptr) == 1 &&
      EVP_DigestVerifyUpdate(ctx.get(), a.data(), a.size()) == 1 &&
      EVP_DigestVerifyUpdate(ctx.get(), b.data(), b.size()) == 1 &&
      EVP_DigestVerifyFinal(ctx.get(), sig.data(), sig.size()) == 1;
  ERR_clear_error();  // a malformed DER signature leaves errors behind
  if (!ok) return base::unauthenticated(std::string(what) + ": signature does not verify");
  return base::ok_status();
}

// --- clientDataJSON (§5.8.1) ---

// What the client sent, fit for an error message and a log line: short, printable ASCII only.
std::string printable_quote(std::string_view s) {
  constexpr size_t kMax = 80;
  std::string out = "\"";
  for (char c : s.substr(0, kMax)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

Status check_client_data(const WebAuthnConfig& config, ByteSpan json_bytes, std::string_view type,
                         std::string_view challenge) {
  constexpr std::string_view kWhat = "clientDataJSON";
  if (challenge.empty()) return base::invalid_argument("no challenge was issued");
  if (json_bytes.size() > kMaxInput) return malformed(kWhat, "too large");
  auto c = nlohmann::json::parse(json_bytes.begin(), json_bytes.end(), nullptr,
                                 /*allow_exceptions=*/false);
  if (!c.is_object()) return malformed(kWhat, "not a JSON object");
  auto text = [&c](const char* key) -> std::optional<std::string> {
    auto it = c.find(key);
    if (it == c.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  auto got_type = text("type"), got_challenge = text("challenge"), got_origin = text("origin");
  if (!got_type || !got_challenge || !got_origin) {
    return malformed(kWhat, "type, challenge and origin must be strings");
  }
  if (*got_type != type) {
    return base::unauthenticated("clientDataJSON: type is " + printable_quote(*got_type) +
                                 ", expected " + printable_quote(type));
  }
  if (got_challenge->size() != challenge.size() ||
      CRYPTO_memcmp(got_challenge->data(), challenge.data(), challenge.size()) != 0) {
    return base::unauthenticated("clientDataJSON: challenge does not match the one issued");
  }
  if (*got_origin != config.origin) {
    return base::unauthenticated("clientDataJSON: origin " + printable_quote(*got_origin) +
                                 " is not this site's " + printable_quote(config.origin));
  }
  // The panel is never framed by another site; a cross-origin ceremony is not ours.
  if (auto it = c.find("crossOrigin"); it != c.end() && *it == true) {
    return base::unauthenticated("clientDataJSON: cross-origin ceremonies are refused");
  }
  // kura's TLS has no Token Binding, so a client claiming one is bound elsewhere (§7.1 step 10).
  if (auto it = c.find("tokenBinding"); it != c.end() && it->is_object()) {
    auto status = it->find("status");
    if (status != it->end() && *status == "present") {
      return base::unauthenticated("clientDataJSON: token binding is not supported");
    }
  }
  return base::ok_status();
}

// --- authenticatorData (§6.1) ---

struct AuthData {
  ByteSpan rp_id_hash;
  uint8_t flags = 0;
  uint32_t sign_count = 0;
  ByteSpan credential_id;  // with attested credential data only
  ByteSpan cose_key;
};

uint32_t load_be32(ByteSpan p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

StatusOr<AuthData> parse_auth_data(ByteSpan in) {
  constexpr std::string_view kWhat = "authenticatorData";
  if (in.size() < kAuthDataHeader) return malformed(kWhat, "shorter than 37 bytes");
  if (in.size() > kMaxInput) return malformed(kWhat, "too large");
  AuthData d;
  d.rp_id_hash = in.first(32);
  d.flags = in[32];
  d.sign_count = load_be32(in.subspan(33, 4));
  size_t pos = kAuthDataHeader;
  if (d.flags & kFlagAttestedData) {
    if (in.size() - pos < kAaguidSize + 2) {
      return malformed(kWhat, "attested credential data cut short");
    }
    pos += kAaguidSize;
    const size_t id_len = size_t{in[pos]} << 8 | in[pos + 1];
    pos += 2;
    if (id_len == 0 || id_len > kMaxCredentialId) {
      return malformed(kWhat, "credential ID length out of range");
    }
    if (in.size() - pos < id_len) return malformed(kWhat, "credential ID cut short");
    d.credential_id = in.subspan(pos, id_len);
    pos += id_len;
    auto key_size = cbor_item_size(in.subspan(pos), 0);
    if (!key_size) return malformed(kWhat, "credential public key is not well-formed CBOR");
    d.cose_key = in.subspan(pos, *key_size);
    pos += *key_size;
  }
  if (d.flags & kFlagExtensions) {
    auto size = cbor_item_size(in.subspan(pos), 0);
    if (!size || (in[pos] >> 5) != 5) return malformed(kWhat, "extensions are not a CBOR map");
    pos += *size;
  }
  if (pos != in.size()) return malformed(kWhat, "trailing bytes");
  return d;
}

// The checks §7.1 and §7.2 share: the RP ID hash and user presence.
Status check_auth_data(const WebAuthnConfig& config, const AuthData& d) {
  const crypto::Hash want = crypto::sha256(base::as_bytes(config.rp_id));
  if (CRYPTO_memcmp(d.rp_id_hash.data(), want.data(), want.size()) != 0) {
    return base::unauthenticated("authenticatorData: RP ID hash is not that of \"" + config.rp_id +
                                 "\"");
  }
  if (!(d.flags & kFlagUserPresent)) {
    return base::unauthenticated("authenticatorData: user presence flag (UP) is not set");
  }
  return base::ok_status();
}

// --- attestation statements (§8.2 packed, §8.7 none) ---

Status verify_packed(const cbor_item_t* stmt, ByteSpan auth_data, ByteSpan client_hash,
                     EVP_PKEY* credential_key) {
  constexpr std::string_view kWhat = "packed attestation";
  const cbor_item_t* alg_item = map_find_text(stmt, "alg");
  const cbor_item_t* sig_item = map_find_text(stmt, "sig");
  auto alg_value = alg_item ? cbor_to_int(alg_item) : std::nullopt;
  auto sig = sig_item ? cbor_to_bytes(sig_item) : std::nullopt;
  if (!alg_value || !sig) return malformed(kWhat, "alg and sig are required");
  if (const int64_t alg = alg_value.value_or(0); alg != kCoseAlgEs256) {
    return malformed(kWhat, "only ES256 signatures are accepted (alg " + std::to_string(alg) + ")");
  }
  const cbor_item_t* x5c = map_find_text(stmt, "x5c");
  if (!x5c) return verify_es256(credential_key, auth_data, client_hash, *sig, "self attestation");
  // Full attestation: the signature is checked with the leaf certificate's key, but the chain
  // is not checked against any trust anchor (nor the §8.2.1 certificate requirements): kura
  // accepts any authenticator model, so the certificate proves nothing it relies on.
  if (!cbor_isa_array(x5c) || cbor_array_size(x5c) == 0) {
    return malformed(kWhat, "x5c is not a non-empty array");
  }
  auto der = cbor_to_bytes(cbor_array_handle(x5c)[0]);
  if (!der) return malformed(kWhat, "x5c[0] is not a byte string");
  const unsigned char* p = der->data();
  std::unique_ptr<X509, X509Free> cert(d2i_X509(nullptr, &p, static_cast<long>(der->size())));
  ERR_clear_error();
  if (!cert || p != der->data() + der->size()) {
    return malformed(kWhat, "x5c[0] is not a DER certificate");
  }
  EVP_PKEY* leaf_key = X509_get0_pubkey(cert.get());
  char group[32] = {};
  if (!leaf_key || !EVP_PKEY_is_a(leaf_key, "EC") ||
      EVP_PKEY_get_group_name(leaf_key, group, sizeof group, nullptr) != 1 ||
      std::string_view(group) != "prime256v1") {
    ERR_clear_error();
    return malformed(kWhat, "the certificate's key is not a P-256 key");
  }
  return verify_es256(leaf_key, auth_data, client_hash, *sig, "attestation certificate");
}

Status verify_attestation(std::string_view fmt, const cbor_item_t* stmt, ByteSpan auth_data,
                          ByteSpan client_hash, EVP_PKEY* credential_key) {
  RETURN_IF_ERROR(check_map(stmt, "attStmt"));
  if (fmt == "none") {
    if (cbor_map_size(stmt) != 0) return malformed("attStmt", "must be empty for format \"none\"");
    return base::ok_status();
  }
  if (fmt == "packed") return verify_packed(stmt, auth_data, client_hash, credential_key);
  return malformed("attestationObject", "attestation format " + printable_quote(fmt) +
                                            " is not supported (only none and packed)");
}

}  // namespace

std::string base64url_encode(ByteSpan data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = uint32_t{data[i]} << 16 | uint32_t{data[i + 1]} << 8 | data[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (const size_t rest = data.size() - i; rest > 0) {
    uint32_t v = uint32_t{data[i]} << 16;
    if (rest == 2) v |= uint32_t{data[i + 1]} << 8;
    for (size_t k = 0; k <= rest; ++k) out += kAlphabet[(v >> (18 - 6 * k)) & 63];
  }
  return out;
}

StatusOr<base::Bytes> base64url_decode(std::string_view text, std::string_view what) {
  if (text.size() % 4 == 0) {
    for (int i = 0; i < 2 && !text.empty() && text.back() == '='; ++i) text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) {
    return base::invalid_argument(std::string(what) + ": not base64url (impossible length)");
  }
  base::Bytes out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    int v = ch >= 'A' && ch <= 'Z'   ? ch - 'A'
            : ch >= 'a' && ch <= 'z' ? ch - 'a' + 26
            : ch >= '0' && ch <= '9' ? ch - '0' + 52
            : ch == '-'              ? 62
            : ch == '_'              ? 63
                                     : -1;
    if (v < 0) return base::invalid_argument(std::string(what) + ": not base64url");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return base::invalid_argument(std::string(what) + ": not base64url (stray bits)");
  return out;
}

std::string new_challenge_b64url() {
  std::array<uint8_t, 32> bytes;
  crypto::system_random()->fill(bytes);
  return base64url_encode(bytes);
}

StatusOr<NewCredential> verify_registration(const WebAuthnConfig& config, ByteSpan client_data_json,
                                            ByteSpan attestation_object,
                                            std::string_view expected_challenge_b64url) {
  RETURN_IF_ERROR(
      check_client_data(config, client_data_json, "webauthn.create", expected_challenge_b64url));
  constexpr std::string_view kWhat = "attestationObject";
  if (attestation_object.size() > kMaxInput) return malformed(kWhat, "too large");
  ASSIGN_OR_RETURN(CborPtr att, load_cbor(attestation_object, kWhat));
  RETURN_IF_ERROR(check_map(att.get(), kWhat));
  const cbor_item_t* fmt_item = map_find_text(att.get(), "fmt");
  const cbor_item_t* stmt = map_find_text(att.get(), "attStmt");
  const cbor_item_t* auth_item = map_find_text(att.get(), "authData");
  auto fmt = fmt_item ? cbor_to_text(fmt_item) : std::nullopt;
  auto auth_bytes = auth_item ? cbor_to_bytes(auth_item) : std::nullopt;
  if (!fmt || !stmt || !auth_bytes) {
    return malformed(kWhat, "fmt (text), attStmt and authData (bytes) are required");
  }
  ASSIGN_OR_RETURN(AuthData auth, parse_auth_data(*auth_bytes));
  RETURN_IF_ERROR(check_auth_data(config, auth));
  if (!(auth.flags & kFlagAttestedData)) {
    return malformed("authenticatorData",
                     "no attested credential data (AT flag) in a registration");
  }
  ASSIGN_OR_RETURN(PkeyPtr key, es256_key_from_cose(auth.cose_key));
  const crypto::Hash client_hash = crypto::sha256(client_data_json);
  RETURN_IF_ERROR(verify_attestation(*fmt, stmt, *auth_bytes, client_hash, key.get()));
  NewCredential cred;
  cred.credential_id.assign(auth.credential_id.begin(), auth.credential_id.end());
  cred.cose_public_key.assign(auth.cose_key.begin(), auth.cose_key.end());
  cred.sign_count = auth.sign_count;
  cred.user_verified = (auth.flags & kFlagUserVerified) != 0;
  return cred;
}

StatusOr<uint32_t> verify_assertion(const WebAuthnConfig& config, ByteSpan authenticator_data,
                                    ByteSpan client_data_json, ByteSpan signature,
                                    std::string_view expected_challenge_b64url,
                                    ByteSpan cose_public_key, uint32_t stored_sign_count) {
  ASSIGN_OR_RETURN(PkeyPtr key, es256_key_from_cose(cose_public_key));
  RETURN_IF_ERROR(
      check_client_data(config, client_data_json, "webauthn.get", expected_challenge_b64url));
  ASSIGN_OR_RETURN(AuthData auth, parse_auth_data(authenticator_data));
  if (auth.flags & kFlagAttestedData) {
    return malformed("authenticatorData", "attested credential data in an assertion");
  }
  RETURN_IF_ERROR(check_auth_data(config, auth));
  const crypto::Hash client_hash = crypto::sha256(client_data_json);
  RETURN_IF_ERROR(verify_es256(key.get(), authenticator_data, client_hash, signature, "assertion"));
  // §7.2 step 21: authenticators without a counter always send 0.
  if ((auth.sign_count != 0 || stored_sign_count != 0) && auth.sign_count <= stored_sign_count) {
    return base::unauthenticated("assertion: sign count " + std::to_string(auth.sign_count) +
                                 " did not grow past " + std::to_string(stored_sign_count) +
                                 "; the authenticator may have been cloned");
  }
  return auth.sign_count;
}

}  // namespace kura::service
