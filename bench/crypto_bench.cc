// Throughput of the crypto primitives on blob-sized inputs: the backup path seals every blob
// and hashes it twice (blob id and pack id).
#include <benchmark/benchmark.h>

#include "crypto/crypto.h"
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

}  // namespace
}  // namespace kura::crypto

BENCHMARK_MAIN();
