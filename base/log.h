// Logging through spdlog, to stderr. Never log secrets (passwords, keys, tokens).
#pragma once

#include <spdlog/spdlog.h>

namespace kura::base {

enum class LogLevel { kQuiet, kNormal, kVerbose, kDebug };

// Sets the process-wide level: kQuiet = errors only, kVerbose = info, kDebug = debug.
void init_logging(LogLevel level);

}  // namespace kura::base
