// Access records (REQUIREMENTS L1): every request is recorded, refusals and failed handshakes
// included. Requests only queue their record; one thread writes them in batches (one
// transaction per batch), so recording costs an upload almost nothing. Nothing is dropped:
// when the store is slow the queue grows up to a bound, then producers wait; flush() and the
// destructor write everything queued.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

#include "meta/meta_store.h"
#include "server/metrics.h"

namespace kura::server {

class AccessLog {
 public:
  AccessLog(meta::MetaStore* meta, Metrics* metrics, int batch, int flush_ms);
  ~AccessLog();  // writes what is queued
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void add(meta::AccessRecord record);
  // Blocks until every record added before the call is stored.
  void flush();

 private:
  void run();

  meta::MetaStore* meta_;
  Metrics* metrics_;
  size_t batch_;
  int flush_ms_;
  std::mutex mu_;
  std::condition_variable cv_, space_, done_;
  std::deque<meta::AccessRecord> queue_;
  uint64_t added_ = 0, written_ = 0;
  bool stop_ = false;
  bool flush_requested_ = false;
  std::thread thread_;
};

}  // namespace kura::server
