#include "base/thread_pool.h"

namespace kura::base {

ThreadPool::ThreadPool(int threads) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> l(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void ThreadPool::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stop_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

void TaskGroup::run(std::function<Status()> task) {
  {
    std::lock_guard<std::mutex> l(mu_);
    ++pending_;
  }
  pool_->submit([this, task = std::move(task)] {
    Status st = task();
    std::lock_guard<std::mutex> l(mu_);
    if (!st.ok() && first_error_.ok()) first_error_ = st;
    if (--pending_ == 0) cv_.notify_all();
  });
}

Status TaskGroup::wait() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return pending_ == 0; });
  return first_error_;
}

bool TaskGroup::failed() {
  std::lock_guard<std::mutex> l(mu_);
  return !first_error_.ok();
}

}  // namespace kura::base
