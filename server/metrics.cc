#include "server/metrics.h"

#include <fmt/format.h>

namespace kura::server {

void Metrics::request(const std::string& route, const std::string& method, int status,
                      double seconds, uint64_t bytes_in, uint64_t bytes_out) {
  std::lock_guard lock(mu_);
  requests_[{route, method, status}]++;
  Histogram& h = latency_[route];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) h.buckets[i]++;
  }
  h.count++;
  h.sum += seconds;
  bytes_in_ += bytes_in;
  bytes_out_ += bytes_out;
}

std::string Metrics::render(const std::string& extra) const {
  std::string o;
  auto line = [&](std::string_view s) {
    o += s;
    o += '\n';
  };
  std::lock_guard lock(mu_);
  line("# HELP kura_http_requests_total HTTP requests answered, by route, method and status.");
  line("# TYPE kura_http_requests_total counter");
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, code] = key;
    o += fmt::format("kura_http_requests_total{{route=\"{}\",method=\"{}\",code=\"{}\"}} {}\n",
                     route, method, code, n);
  }
  line("# HELP kura_http_request_duration_seconds Time from the request's headers to the end "
       "of the response.");
  line("# TYPE kura_http_request_duration_seconds histogram");
  for (const auto& [route, h] : latency_) {
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      o += fmt::format("kura_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                       route, kBuckets[i], h.buckets[i]);
    }
    o += fmt::format("kura_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
                     route, h.count);
    o += fmt::format("kura_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", route, h.sum);
    o += fmt::format("kura_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", route,
                     h.count);
  }
  line("# HELP kura_http_received_bytes_total Request body bytes received.");
  line("# TYPE kura_http_received_bytes_total counter");
  o += fmt::format("kura_http_received_bytes_total {}\n", bytes_in_);
  line("# HELP kura_http_sent_bytes_total Response body bytes sent.");
  line("# TYPE kura_http_sent_bytes_total counter");
  o += fmt::format("kura_http_sent_bytes_total {}\n", bytes_out_);
  line("# HELP kura_tls_handshake_failures_total TLS handshakes that failed.");
  line("# TYPE kura_tls_handshake_failures_total counter");
  o += fmt::format("kura_tls_handshake_failures_total {}\n", tls_failures_.load());
  line("# HELP kura_connections_accepted_total TCP connections accepted.");
  line("# TYPE kura_connections_accepted_total counter");
  o += fmt::format("kura_connections_accepted_total {}\n", accepted_.load());
  line("# HELP kura_connections_refused_total Connections closed at once because the server "
       "was at its connection limit.");
  line("# TYPE kura_connections_refused_total counter");
  o += fmt::format("kura_connections_refused_total {}\n", refused_.load());
  line("# HELP kura_connections_open Connections open now.");
  line("# TYPE kura_connections_open gauge");
  o += fmt::format("kura_connections_open {}\n", open_.load());
  line("# HELP kura_access_records_written_total Access records stored.");
  line("# TYPE kura_access_records_written_total counter");
  o += fmt::format("kura_access_records_written_total {}\n", records_.load());
  o += extra;
  return o;
}

}  // namespace kura::server
