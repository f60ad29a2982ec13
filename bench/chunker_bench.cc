// Chunker throughput on random data (bytes/s counts every input byte, skipped ones included, as
// a backup sees it).
#include <benchmark/benchmark.h>

#include <random>

#include "base/bytes.h"
#include "chunker/chunker.h"

namespace {

using namespace kura;

constexpr uint64_t kPol = 0x3da3358b4dc173;

const base::Bytes& random_data() {
  static const base::Bytes data = [] {
    base::Bytes d(64 * 1024 * 1024);
    std::mt19937_64 rng(1);
    for (size_t i = 0; i < d.size(); i += 8) base::store_le64(d.data() + i, rng());
    return d;
  }();
  return data;
}

// Whole file in one buffer.
void BM_ChunkAll(benchmark::State& state) {
  const base::Bytes& data = random_data();
  auto tables = chunker::Tables::get(kPol);
  size_t chunks = 0;
  for (auto _ : state) {
    auto result = chunker::chunk_all(data, tables);
    chunks = result.size();
    benchmark::DoNotOptimize(result.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
  state.counters["chunks"] = double(chunks);
}
BENCHMARK(BM_ChunkAll)->Unit(benchmark::kMillisecond);

// Streaming in fixed-size reads, as a file reader would feed it.
void BM_Streaming(benchmark::State& state) {
  const base::Bytes& data = random_data();
  const size_t piece = size_t(state.range(0));
  chunker::Chunker c(chunker::Tables::get(kPol));
  for (auto _ : state) {
    c.reset();
    size_t cuts = 0;
    for (size_t pos = 0; pos < data.size(); pos += piece) {
      base::ByteSpan rest = base::ByteSpan(data).subspan(pos, std::min(piece, data.size() - pos));
      for (size_t n; (n = c.next_cut(rest)) != chunker::kNoCut; rest = rest.subspan(n)) ++cuts;
    }
    benchmark::DoNotOptimize(cuts);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
}
BENCHMARK(BM_Streaming)->Arg(64 << 10)->Arg(1 << 20)->Arg(8 << 20)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
