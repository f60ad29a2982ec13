#include "server/access_log.h"

#include <spdlog/spdlog.h>

#include <vector>

namespace kura::server {
namespace {
constexpr size_t kMaxQueued = 100000;
}

AccessLog::AccessLog(meta::MetaStore* meta, Metrics* metrics, int batch, int flush_ms)
    : meta_(meta),
      metrics_(metrics),
      batch_(static_cast<size_t>(batch)),
      flush_ms_(flush_ms),
      thread_([this] { run(); }) {}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void AccessLog::add(meta::AccessRecord record) {
  std::unique_lock lock(mu_);
  space_.wait(lock, [&] { return queue_.size() < kMaxQueued || stop_; });
  queue_.push_back(std::move(record));
  ++added_;
  if (queue_.size() >= batch_) cv_.notify_one();
}

void AccessLog::flush() {
  std::unique_lock lock(mu_);
  uint64_t target = added_;
  flush_requested_ = true;
  cv_.notify_one();
  done_.wait(lock, [&] { return written_ >= target; });
}

void AccessLog::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait_for(lock, std::chrono::milliseconds(flush_ms_),
                 [&] { return stop_ || flush_requested_ || queue_.size() >= batch_; });
    flush_requested_ = false;
    if (queue_.empty()) {
      if (stop_) return;
      continue;
    }
    std::vector<meta::AccessRecord> batch;
    size_t n = std::min(queue_.size(), batch_ * 4);
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    base::Status st = meta_->append_access_records(batch);
    while (!st.ok()) {
      // Never drop a record: retry until the store takes it (a busy database, a full disk an
      // operator is fixing). The queue's bound makes requests wait meanwhile.
      spdlog::error("access records: cannot store {} records: {}; retrying", batch.size(),
                    st.to_string());
      std::this_thread::sleep_for(std::chrono::seconds(1));
      st = meta_->append_access_records(batch);
    }
    metrics_->access_records_written(batch.size());
    lock.lock();
    written_ += batch.size();
    space_.notify_all();
    done_.notify_all();
  }
}

}  // namespace kura::server
