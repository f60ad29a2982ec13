// Clock: wall time and the local time zone behind an interface, so tests can fix both.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

#include "base/env.h"

namespace kura::base {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (UTC, since the Unix epoch).
  virtual Timespec now() = 0;
  // Seconds east of UTC of the local time zone at that instant (DST-aware).
  virtual int32_t utc_offset(int64_t unix_sec) = 0;
  virtual void sleep_for(std::chrono::milliseconds d) = 0;
};

// The machine's clock and TZ (localtime_r).
Clock* system_clock();

// A clock that only moves when told to; sleeping advances it.
class FakeClock : public Clock {
 public:
  explicit FakeClock(Timespec start, int32_t offset = 0) : now_(start), offset_(offset) {}
  Timespec now() override;
  int32_t utc_offset(int64_t) override { return offset_; }
  void sleep_for(std::chrono::milliseconds d) override { advance(d); }
  void advance(std::chrono::milliseconds d);

 private:
  std::mutex mu_;
  Timespec now_;
  int32_t offset_;
};

}  // namespace kura::base
