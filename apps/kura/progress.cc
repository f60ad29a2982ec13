#include "apps/kura/progress.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace kura::cli {

double progress_fps() {
  for (const char* n : {"KURA_PROGRESS_FPS", "RESTIC_PROGRESS_FPS"}) {
    const char* v = std::getenv(n);
    if (!v || !*v) continue;
    char* end = nullptr;
    double fps = std::strtod(v, &end);
    if (*end != '\0' || !(fps > 0)) return 0;
    return fps > 60 ? 60 : fps;
  }
  return 0;
}

ProgressPrinter::ProgressPrinter(const Cli& cli, Render render)
    : render_(std::move(render)), tty_(cli.show_progress()), json_(cli.g.json),
      fps_(progress_fps()), start_(std::chrono::steady_clock::now()) {
  // As restic: with RESTIC_PROGRESS_FPS set, the status is printed as lines where it cannot be
  // redrawn in place.
  lines_ = !tty_ && !json_ && !cli.g.quiet && fps_ > 0;
  if (tty_ || json_ || lines_) thread_ = std::thread([this] { loop(); });
}

ProgressPrinter::~ProgressPrinter() { stop(); }

double ProgressPrinter::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressPrinter::stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (tty_) {
    std::fputs("\r\033[K", stdout);
    std::fflush(stdout);
  }
}

void ProgressPrinter::loop() {
  std::chrono::microseconds period = json_ ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(100);
  if (fps_ > 0) period = std::chrono::microseconds(static_cast<int64_t>(1e6 / fps_));
  std::unique_lock<std::mutex> l(mu_);
  while (!cv_.wait_for(l, period, [&] { return stop_; })) {
    std::string s = render_(elapsed(), json_);
    if (json_ || lines_) {
      s += '\n';
    } else {
      s = "\r\033[K" + s;
    }
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
  }
}

std::string progress_line(const Cli& cli, double elapsed, uint64_t files, uint64_t bytes,
                          uint64_t total_files, uint64_t total_bytes, uint64_t errors,
                          bool scan_done) {
  if (total_files == 0 && !scan_done) {
    // Nothing counted yet (restic's scanner has not reported): no totals to show.
    return fmt::format("[{}] ", format_duration(elapsed)) +
           cli.tr("progress.line_no_total", files, format_bytes(bytes), errors);
  }
  double pct = total_bytes ? 100.0 * static_cast<double>(bytes) / static_cast<double>(total_bytes) : 0;
  if (pct > 100) pct = 100;
  std::string eta;
  if (scan_done && bytes > 0 && total_bytes > bytes && elapsed > 1) {
    double rate = static_cast<double>(bytes) / elapsed;
    eta = " " + cli.tr("progress.eta", format_duration(static_cast<double>(total_bytes - bytes) / rate));
  }
  return fmt::format("[{}] {:.2f}%  ", format_duration(elapsed), pct) +
         cli.tr("progress.line", files, format_bytes(bytes), total_files, format_bytes(total_bytes), errors) +
         eta;
}

}  // namespace kura::cli
