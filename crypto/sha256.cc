#include "crypto/sha256.h"

#include <openssl/evp.h>

#include <climits>

#include "crypto/openssl_util.h"

namespace kura::crypto {
namespace {

void init(EVP_MD_CTX* ctx) {
  if (EVP_DigestInit_ex2(ctx, internal::sha256_md(), nullptr) != 1) {
    internal::openssl_fatal("EVP_DigestInit_ex2(SHA-256)");
  }
}

void update(EVP_MD_CTX* ctx, base::ByteSpan data) {
  if (EVP_DigestUpdate(ctx, data.data(), data.size()) != 1) {
    internal::openssl_fatal("EVP_DigestUpdate(SHA-256)");
  }
}

Hash finish(EVP_MD_CTX* ctx) {
  Hash h;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, h.data(), &len) != 1 || len != h.size()) {
    internal::openssl_fatal("EVP_DigestFinal_ex(SHA-256)");
  }
  return h;
}

internal::MdCtxPtr new_ctx() {
  internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) internal::openssl_fatal("EVP_MD_CTX_new");
  return ctx;
}

}  // namespace

Hash sha256(base::ByteSpan data) {
  thread_local internal::MdCtxPtr ctx = new_ctx();
  init(ctx.get());
  update(ctx.get(), data);
  return finish(ctx.get());
}

void Sha256::CtxFree::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Sha256::Sha256() : ctx_(new_ctx().release()) { init(ctx_.get()); }
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(base::ByteSpan data) { crypto::update(ctx_.get(), data); }

Hash Sha256::finish() {
  Hash h = crypto::finish(ctx_.get());
  init(ctx_.get());
  return h;
}

}  // namespace kura::crypto
