// A status refreshed while long work runs, as restic's: on a terminal up to 60 times a second
// (the status line and, below it, the files being read, each cut to the terminal's width and
// redrawn in place), with --json as a "status" JSON line whenever it changed (at most 60 a
// second), otherwise not at all. RESTIC_PROGRESS_FPS (or KURA_PROGRESS_FPS) sets the rate, at
// most 60, and prints the status as lines where stdout is not a terminal, as restic does.
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

// Holds the terminal while a message is printed between two redraws of the status: clears
// the status (every line of it) first; the next redraw puts it back below the message.
class StatusPause {
 public:
  explicit StatusPause(const Cli& cli);

 private:
  std::unique_lock<std::mutex> lock_;
};

class ProgressPrinter {
 public:
  // render(elapsed_seconds, json) -> the status (text mode: lines separated by '\n') or the
  // JSON object (json mode).
  using Render = std::function<std::string(double elapsed, bool json)>;
  // kStatus: a command's status (JSON lines with --json); kCounter: a counter such as check's
  // packs, text only, as restic shows it (made by counter_bar, which makes none with --json or
  // --quiet).
  enum class Kind { kStatus, kCounter };
  ProgressPrinter(const Cli& cli, Render render, Kind kind = Kind::kStatus);
  ~ProgressPrinter();
  void stop();  // clears the status (kCounter: leaves its last state as a line, as restic)
  double elapsed() const;

 private:
  void loop();
  Render render_;
  Kind kind_;
  bool tty_, json_, lines_ = false;
  double fps_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string last_;  // the last status written: written again only when it changed
  uint64_t pauses_seen_ = 0;
  std::thread thread_;
};

// restic's counter ("[0:01] 50.00%  1 / 2 packs", "[0:01]          5 packs" while the total is
// unknown): redrawn on a terminal, its last state left as a line when it ends (on any stdout,
// as restic's), nothing with --quiet or --json. `unit_key`: the catalog key of the
// "{} / {} packs" text; unit_key + "_count" the "{} packs" one.
std::unique_ptr<ProgressPrinter> counter_bar(const Cli& cli, const std::atomic<uint64_t>& done,
                                             const std::atomic<uint64_t>& total, std::string unit_key);

// "[0:12] 45.00%  1234 files 1.234 GiB, total 5000 files 3.000 GiB, 0 errors ETA 0:15"
std::string progress_line(const Cli& cli, double elapsed, uint64_t files, uint64_t bytes,
                          uint64_t total_files, uint64_t total_bytes, uint64_t errors, bool scan_done);

}  // namespace kura::cli
