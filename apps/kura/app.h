// The kura command line, callable: parses argv (argv[0] is the program name), runs the command
// with `cli`'s Env and settings, and returns the exit code. Output goes to stdout and stderr.
#pragma once

#include "apps/kura/cli.h"

namespace kura::cli {

int run_kura(Cli& cli, int argc, const char* const* argv);

}  // namespace kura::cli
