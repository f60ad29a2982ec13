// The kura command line run in-process for the CLI tests: the exit code and what the command
// printed on each stream, with the file system of the test's Env.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

#include "apps/kura/app.h"
#include "base/env.h"

namespace kura::cli::testing {

struct CliRun {
  int code = -1;
  std::string out, err;
};

inline CliRun run_captured(base::Env* env, std::initializer_list<std::string> args) {
  std::vector<std::string> words = {"kura"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const auto& w : words) argv.push_back(w.c_str());
  Cli cli;
  cli.env = env;
  CliRun r;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  r.code = run_kura(cli, static_cast<int>(argv.size()), argv.data());
  std::fflush(stdout);
  std::fflush(stderr);
  r.out = ::testing::internal::GetCapturedStdout();
  r.err = ::testing::internal::GetCapturedStderr();
  return r;
}

}  // namespace kura::cli::testing
