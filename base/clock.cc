#include "base/clock.h"

#include <ctime>
#include <thread>

namespace kura::base {
namespace {

class SystemClock : public Clock {
 public:
  Timespec now() override {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return {ts.tv_sec, static_cast<int32_t>(ts.tv_nsec)};
  }
  int32_t utc_offset(int64_t unix_sec) override {
    time_t t = static_cast<time_t>(unix_sec);
    struct tm tm;
    if (!localtime_r(&t, &tm)) return 0;
    return static_cast<int32_t>(tm.tm_gmtoff);
  }
  void sleep_for(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }
};

}  // namespace

Clock* system_clock() {
  static SystemClock c;
  return &c;
}

Timespec FakeClock::now() {
  std::lock_guard<std::mutex> l(mu_);
  return now_;
}

void FakeClock::advance(std::chrono::milliseconds d) {
  std::lock_guard<std::mutex> l(mu_);
  int64_t ns = int64_t(now_.nsec) + (d.count() % 1000) * 1000000;
  now_.sec += d.count() / 1000 + ns / 1000000000;
  now_.nsec = static_cast<int32_t>(ns % 1000000000);
}

}  // namespace kura::base
