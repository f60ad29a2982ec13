// SHA-256 (names every repository file and blob). OpenSSL EVP underneath, so SHA-NI / AVX2
// code is used where the CPU has it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "base/bytes.h"

struct evp_md_ctx_st;

namespace kura::crypto {

using Hash = std::array<uint8_t, 32>;

// One-shot hash. Thread-safe; reuses a per-thread context, so it does not allocate.
Hash sha256(base::ByteSpan data);

// Incremental hash for data that arrives in pieces (pack files, streamed uploads).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(base::ByteSpan data);
  // Returns the hash of everything given to update() since construction or the last
  // finish(), and starts over with an empty message.
  Hash finish();

 private:
  struct CtxFree {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, CtxFree> ctx_;
};

}  // namespace kura::crypto
