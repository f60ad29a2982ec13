// Test-only helpers shared by the ops tests: a repository in memory with a fixed password, a
// cheap key derivation and a fake clock; source trees in a MemEnv; backups of them. Header-only
// and included only by *_test.cc files, so none of it lands in kura_ops.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "backend/mem_backend.h"
#include "base/clock.h"
#include "base/env.h"
#include "base/mem_env.h"
#include "crypto/random.h"
#include "ops/backup.h"
#include "repo/repository.h"

namespace kura::ops::testing {

inline constexpr char kPassword[] = "pw";
// Where fake clocks start (2023-11-14): snapshot times are reproducible.
inline constexpr int64_t kStartTime = 1700000000;

// Collects what a run reports to its observer (BackupObserver with BackupError,
// RestoreObserver with RestoreError): {path, message} per error, from any thread.
template <typename Observer, typename Error>
class ErrorRecorder : public Observer {
 public:
  void on_error(const std::string& path, const base::Status& st) override {
    std::lock_guard<std::mutex> l(mu_);
    seen.push_back({path, st.message()});
  }
  std::mutex mu_;
  std::vector<Error> seen;
};

// Deterministic incompressible bytes, so files make several blobs and packs.
inline std::string noise(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return s;
}

struct RepoSetup {
  int version = 2;
  uint64_t pack_size = 0;           // 0: the default (16 MiB)
  uint64_t chunker_polynomial = 0;  // 0: a random one
};

// A new repository on `be` with password kPassword, a key cheap to derive, and snapshot and
// lock times from `clock`.
inline base::StatusOr<std::unique_ptr<repo::Repository>> init_repository(
    backend::Backend* be, base::Clock* clock, const RepoSetup& setup = {}) {
  repo::InitOptions init;
  init.version = setup.version;
  init.chunker_polynomial = setup.chunker_polynomial;
  init.kdf = {16384, 8, 1};
  ASSIGN_OR_RETURN(auto r, repo::Repository::init(be, kPassword, init, {crypto::system_random(), clock}));
  if (setup.pack_size != 0) {
    repo::WriteOptions w;
    w.pack_size = setup.pack_size;
    r->set_write_options(w);
  }
  return r;
}

// A fresh Repository on `be` with nothing cached from writing, as a command opens it.
inline base::StatusOr<std::unique_ptr<repo::Repository>> open_repository(
    backend::Backend* be, base::Clock* clock = base::system_clock(), bool load_index = true) {
  ASSIGN_OR_RETURN(auto r, repo::Repository::open(be, kPassword, {crypto::system_random(), clock}));
  if (load_index) RETURN_IF_ERROR(r->load_index());
  return r;
}

// path -> content
using SourceFiles = std::vector<std::pair<std::string, std::string>>;

// Writes every file, making the folders above it.
inline base::Status write_files(base::Env& env, const SourceFiles& files) {
  for (const auto& [path, data] : files) {
    RETURN_IF_ERROR(env.make_dirs(base::path_dirname(path), 0755));
    RETURN_IF_ERROR(env.write_file(path, base::as_bytes(data)));
  }
  return base::ok_status();
}

// The usual fixture: a repository in memory (be_, repo_), a fake clock, and a MemEnv for the
// files to back up.
class RepoTest : public ::testing::Test {
 protected:
  void SetUp() override { init_repo(); }

  // (Re)creates repo_ on a fresh be_.
  void init_repo(const RepoSetup& setup = {}) {
    repo_.reset();
    be_ = backend::new_mem_backend();
    auto r = init_repository(be_.get(), &clock_, setup);
    ASSERT_TRUE(r.ok()) << r.status().message();
    repo_ = std::move(*r);
  }

  void write(const std::string& path, const std::string& data) {
    ASSERT_TRUE(env_.write_file(path, base::as_bytes(data)).ok()) << path;
  }

  // Backs up `targets` from env_ (host "host" unless set) and then moves the clock on a
  // minute, so that every snapshot is newer than the one before. A failed backup or an
  // unreadable file fails the test; the result is then empty.
  BackupResult backup(std::vector<std::string> targets, BackupOptions o = {}) {
    o.targets = std::move(targets);
    if (o.hostname.empty()) o.hostname = "host";
    auto res = run_backup(*repo_, env_, o, nullptr, nullptr);
    clock_.advance(std::chrono::minutes(1));
    EXPECT_TRUE(res.ok()) << res.status().message();
    if (!res.ok()) return {};
    for (const auto& e : res->errors) ADD_FAILURE() << e.path << ": " << e.message;
    return std::move(*res);
  }

  std::unique_ptr<backend::Backend> be_ = backend::new_mem_backend();
  base::FakeClock clock_{{kStartTime, 0}};
  std::unique_ptr<repo::Repository> repo_;
  base::MemEnv env_;
};

}  // namespace kura::ops::testing
