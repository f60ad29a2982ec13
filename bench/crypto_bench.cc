// Throughput of the crypto primitives on blob-sized inputs: the backup path seals every blob
// and hashes it twice (blob id and pack id). And the scrypt that starts every command.
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <array>
#include <string>
#include <thread>

#include "crypto/crypto.h"
#include "crypto/openssl_util.h"
#include "crypto/scrypt.h"
#include "crypto/sha256.h"

namespace kura::crypto {
namespace {

void BM_Sha256(benchmark::State& state) {
  base::Bytes data(size_t(state.range(0)), 0x5a);
  for (auto _ : state) benchmark::DoNotOptimize(sha256(data));
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20);

void BM_Seal(benchmark::State& state) {
  auto random = seeded_random(1);
  Key key = random_key(*random);
  base::Bytes plain(size_t(state.range(0)), 0x5a);
  base::Bytes out(plain.size() + kCiphertextOverhead);
  for (auto _ : state) {
    seal(key, plain, out, *random);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Seal)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20)->Arg(8 << 20);

void BM_Open(benchmark::State& state) {
  auto random = seeded_random(1);
  Key key = random_key(*random);
  base::Bytes sealed = seal(key, base::Bytes(size_t(state.range(0)), 0x5a), *random);
  base::Bytes out(size_t(state.range(0)));
  for (auto _ : state) {
    if (!open_into(key, sealed, out).ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Open)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20)->Arg(8 << 20);

// Opening a repository derives the key with the parameters restic 0.14 calibrates
// (N=32768, r=8, p=5). Args: threads, lanes at once per thread, V stride (keep every stride-th
// block), ISA (internal::ScryptIsa: 0 the best, 1 portable, 2 SSE2, 3 AVX2, 4 AVX-512); all 0
// is what scrypt64() picks. Process CPU time counts every thread; "scratch_MiB" is the plan's
// memory besides B.
void BM_Scrypt(benchmark::State& state) {
  const base::Bytes salt(64, 0x5a);
  internal::ScryptLimits limits;
  limits.threads = uint32_t(state.range(0));
  limits.lanes_per_thread = uint32_t(state.range(1));
  limits.v_stride = uint32_t(state.range(2));
  limits.isa = internal::ScryptIsa(state.range(3));
  if (!internal::scrypt_isa_supported(limits.isa)) {
    state.SkipWithError("this CPU lacks the ISA");
    return;
  }
  if (limits.threads == 0) {  // as scrypt64() asks
    limits.scratch = kScryptScratchTarget;
    limits.threads = std::thread::hardware_concurrency();
    limits.lanes_per_thread = internal::kScryptMaxLanesPerThread;
  }
  auto plan = internal::plan_scrypt(32768, 8, 5, limits);
  for (auto _ : state) {
    auto out = state.range(0) == 0
                   ? scrypt64("password", salt, 32768, 8, 5)
                   : internal::scrypt64_with_limits("password", salt, 32768, 8, 5, limits);
    if (!out.ok()) state.SkipWithError("scrypt failed");
    benchmark::DoNotOptimize(out);
  }
  if (plan.ok()) {
    state.counters["scratch_MiB"] = double(plan->scratch_bytes) / (1 << 20);
    state.counters["lanes"] = plan->lanes_per_thread;
    state.counters["stride"] = plan->v_stride;
  }
}
BENCHMARK(BM_Scrypt)
    ->ArgNames({"threads", "lanes", "stride", "isa"})
    ->Args({0, 0, 0, 0})
    ->Args({2, 1, 2, 2})  // the plan before packing: one lane at a time, half of V
    ->Args({1, 1, 2, 2})
    ->Args({1, 1, 2, 4})
    ->Args({1, 1, 4, 4})
    ->Args({1, 3, 4, 2})
    ->Args({1, 3, 4, 3})
    ->Args({1, 3, 4, 4})
    ->Args({1, 4, 4, 4})
    ->Args({2, 3, 4, 1})
    ->Args({2, 3, 4, 2})
    ->Args({2, 3, 4, 3})
    ->Args({2, 3, 4, 4})
    ->Args({2, 3, 2, 4})
    ->Args({2, 3, 1, 4})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// The same through OpenSSL's EVP_KDF "SCRYPT" (serial lanes, scalar code), for comparison.
void BM_ScryptOpenSsl(benchmark::State& state) {
  base::Bytes salt(64, 0x5a);
  std::string password = "password";
  uint64_t n = 32768;
  uint32_t r = 8, p = 5;
  internal::KdfCtxPtr ctx(EVP_KDF_CTX_new(internal::scrypt_kdf()));
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, password.data(), password.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.data(), salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_end(),
  };
  std::array<uint8_t, 64> out;
  for (auto _ : state) {
    if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
      state.SkipWithError("EVP_KDF_derive failed");
    }
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_ScryptOpenSsl)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();

}  // namespace
}  // namespace kura::crypto

BENCHMARK_MAIN();
