// Prometheus metrics of kura-server (text exposition format 0.0.4): requests, bytes, latency
// histograms, errors, TLS handshake failures, open connections; per-tenant usage is added by
// the caller when rendering. Thread-safe; recording a request is a few atomic adds and one
// short lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace kura::server {

class Metrics {
 public:
  static constexpr std::array<double, 14> kBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1,     2.5,  5,     10,  30,   60};

  void request(const std::string& route, const std::string& method, int status, double seconds,
               uint64_t bytes_in, uint64_t bytes_out);
  void tls_handshake_failure() { tls_failures_.fetch_add(1, std::memory_order_relaxed); }
  void connection_opened() { open_.fetch_add(1, std::memory_order_relaxed); accepted_++; }
  void connection_closed() { open_.fetch_sub(1, std::memory_order_relaxed); }
  void connection_refused() { refused_.fetch_add(1, std::memory_order_relaxed); }
  void access_records_written(uint64_t n) { records_.fetch_add(n, std::memory_order_relaxed); }
  int64_t open_connections() const { return open_.load(); }

  // The exposition text; `extra` (per-tenant usage, already formatted) is appended.
  std::string render(const std::string& extra) const;

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;  // route, method, code
  std::map<std::string, Histogram> latency_;                                // by route
  uint64_t bytes_in_ = 0, bytes_out_ = 0;
  std::atomic<uint64_t> tls_failures_{0}, refused_{0}, records_{0}, accepted_{0};
  std::atomic<int64_t> open_{0};
};

}  // namespace kura::server
