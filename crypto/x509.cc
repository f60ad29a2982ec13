#include "crypto/x509.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <strings.h>

#include <cctype>
#include <climits>
#include <cstring>
#include <ctime>
#include <memory>

#include "crypto/openssl_util.h"

namespace kura::crypto {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
void bio_free(BIO* b) { BIO_free(b); }
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, bio_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using GenNamePtr = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME, GENERAL_NAME_free>>;
using OctetPtr = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
using Ia5Ptr = std::unique_ptr<ASN1_IA5STRING, Deleter<ASN1_IA5STRING, ASN1_IA5STRING_free>>;
void openssl_string_free(char* p) { OPENSSL_free(p); }
using OsslString = std::unique_ptr<char, Deleter<char, openssl_string_free>>;
void utf8_free(unsigned char* p) { OPENSSL_free(p); }
using Utf8Ptr = std::unique_ptr<unsigned char, Deleter<unsigned char, utf8_free>>;

constexpr size_t kMaxCsrPem = 16 * 1024;
constexpr size_t kMaxCertPem = 1024 * 1024;
constexpr int kMaxDays = 100 * 366;
constexpr int64_t kBackdate = 300;  // clocks of devices and server drift a little

// The reasons OpenSSL queued for the last failure (and empties the queue, so the next call
// starts clean).
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += reason ? reason : "error " + std::to_string(ERR_GET_REASON(e));
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

base::Status ossl_failure(std::string_view what) {
  return base::internal_error(std::string(what) + ": " + openssl_errors());
}

base::Status ossl_invalid(std::string_view what) {
  return base::invalid_argument(std::string(what) + ": " + openssl_errors());
}

// Never prompts on the terminal for an encrypted key: kura's keys are not encrypted, and a
// prompt inside a library call would hang a server.
int no_password(char*, int, int, void*) { return -1; }

base::StatusOr<BioPtr> read_bio(std::string_view text, size_t limit, std::string_view what) {
  if (text.size() > limit) {
    return base::invalid_argument(std::string(what) + ": larger than " + std::to_string(limit) +
                                  " bytes");
  }
  BioPtr b(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!b) return ossl_failure("BIO_new_mem_buf");
  return b;
}

std::string bio_text(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

base::StatusOr<PkeyPtr> load_key(std::string_view pem) {
  ERR_clear_error();
  ASSIGN_OR_RETURN(BioPtr b, read_bio(pem, kMaxCertPem, "private key"));
  PkeyPtr key(PEM_read_bio_PrivateKey(b.get(), nullptr, no_password, nullptr));
  if (!key) return ossl_invalid("private key: not an unencrypted PEM private key");
  return key;
}

base::StatusOr<X509Ptr> load_cert(std::string_view pem, std::string_view what) {
  ERR_clear_error();
  ASSIGN_OR_RETURN(BioPtr b, read_bio(pem, kMaxCertPem, what));
  X509Ptr cert(PEM_read_bio_X509(b.get(), nullptr, no_password, nullptr));
  if (!cert) return ossl_invalid(std::string(what) + ": not a PEM certificate");
  return cert;
}

base::StatusOr<std::string> key_to_pem(EVP_PKEY* key) {
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_PrivateKey(b.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return ossl_failure("PEM_write_bio_PrivateKey");
  }
  return bio_text(b.get());
}

base::StatusOr<std::string> cert_to_pem(X509* cert) {
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_X509(b.get(), cert) != 1) return ossl_failure("PEM_write_bio_X509");
  return bio_text(b.get());
}

base::StatusOr<PkeyPtr> new_p256_key() {
  ERR_clear_error();
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return ossl_failure("EVP_EC_gen(P-256)");
  return key;
}

// REQUIREMENTS C3: ECDSA P-256 / P-384, or RSA of 2048 bits and more.
base::Status check_key_strength(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1) {
      ERR_clear_error();
      return base::invalid_argument("EC key without a named curve");
    }
    std::string g(group, len);
    if (g == "prime256v1" || g == "P-256" || g == "secp384r1" || g == "P-384") return base::ok_status();
    return base::invalid_argument("EC key on curve " + g + " (P-256 or P-384 needed)");
  }
  if (EVP_PKEY_is_a(key, "RSA")) {
    int bits = EVP_PKEY_get_bits(key);
    if (bits >= 2048) return base::ok_status();
    return base::invalid_argument("RSA key of " + std::to_string(bits) + " bits (2048 or more needed)");
  }
  return base::invalid_argument(std::string("key type ") + EVP_PKEY_get0_type_name(key) +
                                " (ECDSA P-256/P-384 or RSA >= 2048 needed)");
}

// Names go into certificates that operators read and logs that print them: printable text
// only, within X.520's 64-character limit (OpenSSL checks the length and the UTF-8).
base::Status check_name(std::string_view what, std::string_view value) {
  if (value.empty()) return base::invalid_argument(std::string(what) + " is empty");
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      return base::invalid_argument(std::string(what) + " contains a control character");
    }
  }
  return base::ok_status();
}

base::Status add_name_entry(X509_NAME* name, const char* field, std::string_view value) {
  ERR_clear_error();
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return ossl_invalid(std::string("subject ") + field + " \"" + std::string(value) + "\"");
  }
  return base::ok_status();
}

std::string name_text(const ASN1_STRING* s) {
  unsigned char* out = nullptr;
  int n = ASN1_STRING_to_UTF8(&out, s);
  if (n < 0) {
    ERR_clear_error();
    return "";
  }
  Utf8Ptr owned(out);
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

std::vector<std::string> name_values(const X509_NAME* name, int nid) {
  std::vector<std::string> out;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    out.push_back(name_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))));
  }
  return out;
}

// A random 128-bit serial with the top bit set: positive, always 16 bytes (32 hex digits),
// 127 bits of entropy (CA/Browser Forum asks for 64).
base::Status set_random_serial(X509* cert) {
  BnPtr bn(BN_new());
  if (!bn || BN_rand(bn.get(), 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return ossl_failure("random serial number");
  }
  return base::ok_status();
}

base::Status check_validity_args(int64_t now_unix, int days) {
  if (days < 1 || days > kMaxDays) {
    return base::invalid_argument("validity of " + std::to_string(days) + " days (1.." +
                                  std::to_string(kMaxDays) + " allowed)");
  }
  if (now_unix < kBackdate) return base::invalid_argument("current time " + std::to_string(now_unix));
  return base::ok_status();
}

// X.509 v3, a random serial, the validity window; subject, key and extensions are the
// caller's.
base::StatusOr<X509Ptr> new_cert(int64_t now_unix, int days) {
  RETURN_IF_ERROR(check_validity_args(now_unix, days));
  ERR_clear_error();
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return ossl_failure("X509_new");
  RETURN_IF_ERROR(set_random_serial(cert.get()));
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(now_unix - kBackdate)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                     static_cast<time_t>(now_unix + int64_t{days} * 86400))) {
    return ossl_failure("certificate validity");
  }
  return cert;
}

// One extension in openssl.cnf syntax ("critical,CA:FALSE"); issuer may be cert itself.
base::Status add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return ossl_failure(std::string("extension ") + OBJ_nid2sn(nid) + " " + value);
  }
  return base::ok_status();
}

base::Status sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, internal::sha256_md()) <= 0) return ossl_failure("X509_sign");
  return base::ok_status();
}

struct LoadedCa {
  X509Ptr cert;
  PkeyPtr key;
};

base::StatusOr<LoadedCa> load_ca(const Pem& ca) {
  LoadedCa out;
  ASSIGN_OR_RETURN(out.cert, load_cert(ca.cert, "CA certificate"));
  auto key = load_key(ca.key);
  if (!key.ok()) return key.status().with_context("CA key");
  out.key = std::move(*key);
  if (X509_check_private_key(out.cert.get(), out.key.get()) != 1) {
    return ossl_invalid("CA key does not belong to the CA certificate");
  }
  return out;
}

std::string hex_lower(const unsigned char* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

base::StatusOr<std::string> fingerprint_of(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, internal::sha256_md(), md, &n) != 1 || n != 32) {
    return ossl_failure("X509_digest");
  }
  return "SHA256:" + hex_lower(md, n);
}

base::StatusOr<int64_t> unix_time(const ASN1_TIME* t) {
  struct tm tm = {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return ossl_invalid("certificate time");
  return static_cast<int64_t>(timegm(&tm));
}

base::StatusOr<std::string> serial_hex(X509* cert) {
  BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) return ossl_failure("serial number");
  if (BN_is_zero(bn.get())) return std::string("00");
  OsslString hex(BN_bn2hex(bn.get()));
  if (!hex) return ossl_failure("BN_bn2hex");
  std::string s = hex.get();
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

base::StatusOr<CertInfo> describe(X509* cert) {
  CertInfo info;
  ASSIGN_OR_RETURN(info.serial_hex, serial_hex(cert));
  ASSIGN_OR_RETURN(info.fingerprint, fingerprint_of(cert));
  const X509_NAME* subject = X509_get_subject_name(cert);
  auto cn = name_values(subject, NID_commonName);
  if (!cn.empty()) info.subject_cn = cn.front();
  info.subject_ou = name_values(subject, NID_organizationalUnitName);
  ASSIGN_OR_RETURN(info.not_before, unix_time(X509_get0_notBefore(cert)));
  ASSIGN_OR_RETURN(info.not_after, unix_time(X509_get0_notAfter(cert)));
  ASSIGN_OR_RETURN(info.pem, cert_to_pem(cert));
  return info;
}

// A host of the server's certificate as an iPAddress (brackets around IPv6 allowed) or a
// dNSName (letters, digits, '-', '.', and '*' for a wildcard).
base::StatusOr<GenNamePtr> host_name(std::string host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  GenNamePtr gn(GENERAL_NAME_new());
  if (!gn) return ossl_failure("GENERAL_NAME_new");
  if (OctetPtr ip{a2i_IPADDRESS(host.c_str())}) {
    GENERAL_NAME_set0_value(gn.get(), GEN_IPADD, ip.release());
    return gn;
  }
  ERR_clear_error();
  bool ok = !host.empty() && host.size() <= 253;
  for (char c : host) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '*');
  if (!ok) return base::invalid_argument("server host \"" + host + "\": not an IP address or DNS name");
  Ia5Ptr dns(ASN1_IA5STRING_new());
  if (!dns || ASN1_STRING_set(dns.get(), host.data(), static_cast<int>(host.size())) != 1) {
    return ossl_failure("ASN1_STRING_set");
  }
  GENERAL_NAME_set0_value(gn.get(), GEN_DNS, dns.release());
  return gn;
}

base::Status add_subject_alt_names(X509* cert, const std::vector<std::string>& hosts) {
  NamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return ossl_failure("sk_GENERAL_NAME_new_null");
  for (const auto& h : hosts) {
    ASSIGN_OR_RETURN(GenNamePtr gn, host_name(h));
    if (sk_GENERAL_NAME_push(names.get(), gn.get()) <= 0) return ossl_failure("sk_GENERAL_NAME_push");
    gn.release();  // owned by names now
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return ossl_failure("subjectAltName");
  }
  return base::ok_status();
}

// A parsed CSR whose self-signature and key have been checked.
base::StatusOr<ReqPtr> load_csr(std::string_view csr_pem) {
  ERR_clear_error();
  ASSIGN_OR_RETURN(BioPtr b, read_bio(csr_pem, kMaxCsrPem, "CSR"));
  ReqPtr req(PEM_read_bio_X509_REQ(b.get(), nullptr, no_password, nullptr));
  if (!req) return ossl_invalid("CSR: not a PEM certificate request");
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr) return ossl_invalid("CSR: unreadable public key");
  if (X509_REQ_verify(req.get(), key) != 1) return ossl_invalid("CSR: bad signature");
  base::Status st = check_key_strength(key);
  if (!st.ok()) return st.with_context("CSR");
  return req;
}

}  // namespace

base::StatusOr<std::string> generate_p256_key_pem() {
  ASSIGN_OR_RETURN(PkeyPtr key, new_p256_key());
  return key_to_pem(key.get());
}

base::StatusOr<Pem> create_ca(std::string_view common_name, int64_t now_unix, int days) {
  RETURN_IF_ERROR(check_name("CA name", common_name));
  ASSIGN_OR_RETURN(PkeyPtr key, new_p256_key());
  ASSIGN_OR_RETURN(X509Ptr cert, new_cert(now_unix, days));
  X509_NAME* name = X509_get_subject_name(cert.get());
  RETURN_IF_ERROR(add_name_entry(name, "CN", common_name));
  if (X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key.get()) != 1) {
    return ossl_failure("CA certificate");
  }
  X509* c = cert.get();
  RETURN_IF_ERROR(add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  RETURN_IF_ERROR(add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign"));
  RETURN_IF_ERROR(add_ext(c, c, NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(sign(c, key.get()));
  Pem out;
  ASSIGN_OR_RETURN(out.cert, cert_to_pem(c));
  ASSIGN_OR_RETURN(out.key, key_to_pem(key.get()));
  return out;
}

base::StatusOr<std::string> issue_server_cert(const Pem& ca, const std::string& server_key_pem,
                                              const std::vector<std::string>& hosts,
                                              int64_t now_unix, int days) {
  if (hosts.empty()) return base::invalid_argument("server certificate: no host name");
  ASSIGN_OR_RETURN(LoadedCa issuer, load_ca(ca));
  auto key = load_key(server_key_pem);
  if (!key.ok()) return key.status().with_context("server key");
  base::Status st = check_key_strength(key->get());
  if (!st.ok()) return st.with_context("server key");
  ASSIGN_OR_RETURN(X509Ptr cert, new_cert(now_unix, days));
  X509* c = cert.get();
  std::string cn = hosts.front();
  if (cn.size() > 2 && cn.front() == '[' && cn.back() == ']') cn = cn.substr(1, cn.size() - 2);
  RETURN_IF_ERROR(add_name_entry(X509_get_subject_name(c), "CN", cn));
  if (X509_set_issuer_name(c, X509_get_subject_name(issuer.cert.get())) != 1 ||
      X509_set_pubkey(c, key->get()) != 1) {
    return ossl_failure("server certificate");
  }
  RETURN_IF_ERROR(add_subject_alt_names(c, hosts));
  RETURN_IF_ERROR(add_ext(c, issuer.cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(add_ext(c, issuer.cert.get(), NID_key_usage, "critical,digitalSignature"));
  RETURN_IF_ERROR(add_ext(c, issuer.cert.get(), NID_ext_key_usage, "serverAuth"));
  RETURN_IF_ERROR(add_ext(c, issuer.cert.get(), NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(add_ext(c, issuer.cert.get(), NID_authority_key_identifier, "keyid:always"));
  RETURN_IF_ERROR(sign(c, issuer.key.get()));
  return cert_to_pem(c);
}

base::StatusOr<std::string> make_csr(const std::string& key_pem, std::string_view common_name) {
  RETURN_IF_ERROR(check_name("CSR common name", common_name));
  ASSIGN_OR_RETURN(PkeyPtr key, load_key(key_pem));
  RETURN_IF_ERROR(check_key_strength(key.get()));
  ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1) return ossl_failure("X509_REQ_new");
  NamePtr name(X509_NAME_new());
  if (!name) return ossl_failure("X509_NAME_new");
  RETURN_IF_ERROR(add_name_entry(name.get(), "CN", common_name));
  if (X509_REQ_set_subject_name(req.get(), name.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1) {
    return ossl_failure("CSR");
  }
  if (X509_REQ_sign(req.get(), key.get(), internal::sha256_md()) <= 0) return ossl_failure("X509_REQ_sign");
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_X509_REQ(b.get(), req.get()) != 1) return ossl_failure("PEM_write_bio_X509_REQ");
  return bio_text(b.get());
}

base::StatusOr<CsrInfo> parse_csr(std::string_view csr_pem) {
  ASSIGN_OR_RETURN(ReqPtr req, load_csr(csr_pem));
  CsrInfo info;
  auto cn = name_values(X509_REQ_get_subject_name(req.get()), NID_commonName);
  if (!cn.empty()) info.common_name = cn.front();
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_PUBKEY(b.get(), X509_REQ_get0_pubkey(req.get())) != 1) {
    return ossl_failure("PEM_write_bio_PUBKEY");
  }
  info.public_key_pem = bio_text(b.get());
  return info;
}

base::StatusOr<CertInfo> issue_client_cert(const Pem& ca, std::string_view csr_pem,
                                           std::string_view device_name, std::string_view tenant,
                                           std::string_view repo, int64_t now_unix, int days) {
  RETURN_IF_ERROR(check_name("device name", device_name));
  RETURN_IF_ERROR(check_name("tenant", tenant));
  RETURN_IF_ERROR(check_name("repository", repo));
  ASSIGN_OR_RETURN(ReqPtr req, load_csr(csr_pem));
  ASSIGN_OR_RETURN(LoadedCa issuer, load_ca(ca));
  ASSIGN_OR_RETURN(X509Ptr cert, new_cert(now_unix, days));
  X509* c = cert.get();
  X509_NAME* subject = X509_get_subject_name(c);
  RETURN_IF_ERROR(add_name_entry(subject, "O", tenant));
  RETURN_IF_ERROR(add_name_entry(subject, "OU", repo));
  RETURN_IF_ERROR(add_name_entry(subject, "CN", device_name));
  if (X509_set_issuer_name(c, X509_get_subject_name(issuer.cert.get())) != 1 ||
      X509_set_pubkey(c, X509_REQ_get0_pubkey(req.get())) != 1) {
    return ossl_failure("client certificate");
  }
  RETURN_IF_ERROR(add_ext(c, issuer.cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(add_ext(c, issuer.cert.get(), NID_key_usage, "critical,digitalSignature"));
  RETURN_IF_ERROR(add_ext(c, issuer.cert.get(), NID_ext_key_usage, "clientAuth"));
  RETURN_IF_ERROR(add_ext(c, issuer.cert.get(), NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(add_ext(c, issuer.cert.get(), NID_authority_key_identifier, "keyid:always"));
  RETURN_IF_ERROR(sign(c, issuer.key.get()));
  return describe(c);
}

base::StatusOr<CertInfo> parse_cert(std::string_view pem) {
  ASSIGN_OR_RETURN(X509Ptr cert, load_cert(pem, "certificate"));
  return describe(cert.get());
}

base::Status check_issued_cert(std::string_view cert_pem, std::string_view ca_pem,
                               std::string_view key_pem) {
  ASSIGN_OR_RETURN(X509Ptr cert, load_cert(cert_pem, "certificate"));
  ASSIGN_OR_RETURN(X509Ptr ca, load_cert(ca_pem, "CA certificate"));
  ASSIGN_OR_RETURN(PkeyPtr key, load_key(key_pem));
  ERR_clear_error();
  if (X509_verify(cert.get(), X509_get0_pubkey(ca.get())) != 1) {
    return ossl_invalid("certificate is not signed by the CA");
  }
  if (EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key.get()) != 1) {
    ERR_clear_error();
    return base::invalid_argument("certificate is not for this device's key");
  }
  return base::ok_status();
}

base::StatusOr<std::string> cert_fingerprint(std::string_view pem) {
  ASSIGN_OR_RETURN(X509Ptr cert, load_cert(pem, "certificate"));
  return fingerprint_of(cert.get());
}

base::StatusOr<std::string> normalize_fingerprint(std::string_view typed) {
  auto bad = [&](std::string_view why) {
    std::string shown(typed.substr(0, 120));
    return base::invalid_argument("fingerprint \"" + shown + "\": " + std::string(why) +
                                  " (expected SHA256: and 64 hex digits)");
  };
  std::string_view s = typed;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  auto strip_prefix = [&](std::string_view prefix) {
    if (s.size() < prefix.size() || strncasecmp(s.data(), prefix.data(), prefix.size()) != 0) return false;
    s.remove_prefix(prefix.size());
    return true;
  };
  if (!strip_prefix("sha256 fingerprint=")) strip_prefix("sha256:");
  std::string hex;
  for (char c : s) {
    if (c == ':' || c == ' ') {
      // Only between two whole bytes.
      if (hex.empty() || hex.size() % 2 != 0) return bad("misplaced separator");
      continue;
    }
    if (!std::isxdigit(static_cast<unsigned char>(c))) return bad("not a hex digit");
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 64) return bad(std::to_string(hex.size()) + " hex digits");
  return "SHA256:" + hex;
}

}  // namespace kura::crypto
