// A status line refreshed while long work runs: on a terminal ~10 times a second, with --json
// as a "status" JSON line every second, otherwise not at all. RESTIC_PROGRESS_FPS (or
// KURA_PROGRESS_FPS) sets the rate, at most 60, and prints the status as lines where stdout
// is not a terminal, as restic does.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "apps/kura/cli.h"

namespace kura::cli {

// The rate from KURA_PROGRESS_FPS / RESTIC_PROGRESS_FPS (capped at 60), 0 when unset or invalid.
double progress_fps();

class ProgressPrinter {
 public:
  // render(elapsed_seconds, final) -> the line (text mode) or JSON object (json mode).
  using Render = std::function<std::string(double elapsed, bool json)>;
  ProgressPrinter(const Cli& cli, Render render);
  ~ProgressPrinter();
  void stop();  // clears the status line
  double elapsed() const;

 private:
  void loop();
  Render render_;
  bool tty_, json_, lines_ = false;
  double fps_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// "[0:12] 45.00%  1234 files 1.234 GiB, total 5000 files 3.000 GiB, 0 errors ETA 0:15"
std::string progress_line(const Cli& cli, double elapsed, uint64_t files, uint64_t bytes,
                          uint64_t total_files, uint64_t total_bytes, uint64_t errors, bool scan_done);

}  // namespace kura::cli
