#include "apps/kura/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "apps/kura/output.h"

namespace kura::cli {

namespace {

// One lock for the terminal: the status redraws and the messages printed between them.
std::mutex& terminal_mutex() {
  static std::mutex mu;
  return mu;
}
// How many times a message cleared the status (so the next tick draws it again).
std::atomic<uint64_t> g_pauses{0};

// "\r\033[J": back to the first column of the status's first line, everything below erased.
constexpr const char* kClearStatus = "\r\033[J";

// The status lines for a terminal `width` columns wide, as restic's termstatus draws them:
// each cut to width - 2 columns, the cursor taken back up to the first line afterwards.
std::string draw_status(const std::string& status, int width) {
  std::vector<std::string> lines = split_lines(status);
  std::string out = kClearStatus;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += '\n';
    out += width > 2 ? truncate_to_width(lines[i], static_cast<size_t>(width - 2)) : lines[i];
  }
  if (lines.size() > 1) out += fmt::format("\033[{}A", lines.size() - 1);
  return out;
}

int terminal_width() {
  struct winsize ws {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0) return 0;
  return ws.ws_col;
}

}  // namespace

StatusPause::StatusPause(const Cli& cli) : lock_(terminal_mutex()) {
  if (cli.show_progress()) std::fputs(kClearStatus, stdout);
  g_pauses.fetch_add(1);
}

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

ProgressPrinter::ProgressPrinter(const Cli& cli, Render render, Kind kind)
    : render_(std::move(render)), kind_(kind), tty_(cli.show_progress()),
      json_(cli.g.json && kind == Kind::kStatus),
      fps_(progress_fps()), start_(std::chrono::steady_clock::now()) {
  // As restic: with RESTIC_PROGRESS_FPS set, the status is printed as lines where it cannot be
  // redrawn in place.
  lines_ = !tty_ && !cli.g.json && !cli.g.quiet && fps_ > 0;
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
  std::string out;
  if (tty_) out = kClearStatus;
  if (kind_ == Kind::kCounter) {
    // restic ends a counter with its last state and a line feed: "\r" then "\n" on a
    // terminal, "\n" then "\n" (a blank line) elsewhere.
    out += render_(elapsed(), false) + (tty_ ? "\n" : "\n\n");
  }
  if (out.empty()) return;
  std::lock_guard<std::mutex> t(terminal_mutex());
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

void ProgressPrinter::loop() {
  // restic: 60 a second on a terminal and for JSON (a JSON line only when the status changed,
  // which its seconds_elapsed does every second), RESTIC_PROGRESS_FPS otherwise.
  std::chrono::microseconds period = std::chrono::microseconds(1000000 / 60);
  if (fps_ > 0) period = std::chrono::microseconds(static_cast<int64_t>(1e6 / fps_));
  std::unique_lock<std::mutex> l(mu_);
  while (!cv_.wait_for(l, period, [&] { return stop_; })) {
    std::string s = render_(elapsed(), json_);
    if (s.empty()) continue;
    if (lines_) {
      s += '\n';
    } else {
      // Written again only when it changed (or a message wiped it from the terminal).
      uint64_t pauses = g_pauses.load();
      if (s == last_ && pauses == pauses_seen_) continue;
      last_ = s;
      pauses_seen_ = pauses;
      s = json_ ? s + '\n' : draw_status(s, terminal_width());
    }
    std::lock_guard<std::mutex> t(terminal_mutex());
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
  }
}

std::unique_ptr<ProgressPrinter> counter_bar(const Cli& cli, const std::atomic<uint64_t>& done,
                                             const std::atomic<uint64_t>& total, std::string unit_key) {
  if (cli.g.quiet || cli.g.json) return nullptr;
  auto render = [&cli, &done, &total, unit_key](double elapsed, bool) {
    uint64_t d = done.load(), t = total.load();
    std::string head = "[" + format_duration(elapsed) + "] ";
    if (t == 0) return head + "         " + cli.tr(unit_key + "_count", d);
    double pct = std::min(100.0, 100.0 * static_cast<double>(d) / static_cast<double>(t));
    return head + fmt::format("{:.2f}%  ", pct) + cli.tr(unit_key, d, t);
  };
  return std::make_unique<ProgressPrinter>(cli, render, ProgressPrinter::Kind::kCounter);
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
