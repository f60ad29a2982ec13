// kill -9 at any moment: a child process uploads objects from several threads into a real
// directory and reports each name over a pipe only after commit() returned; the parent kills it
// with SIGKILL at a different moment each round (during create_repo, mid-upload, mid-commit),
// then checks that every acknowledged object is there with the right bytes and that nothing
// partial is visible through list() or stat(). Object names are the SHA-256 of their bytes, so
// "right bytes" needs no record beyond the name.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "backend/backend_testing.h"
#include "backend/local_backend.h"
#include "base/clock.h"
#include "crypto/sha256.h"
#include "objstore/object_store.h"

namespace kura::objstore {
namespace {

namespace fs = std::filesystem;
using backend::FileKind;
using backend::Handle;
using backend::testing::random_bytes;
using base::Bytes;

constexpr int kRounds = 24;
constexpr int kWriters = 4;
constexpr int kSeeds = 400;  // seeds repeat across rounds: some uploads are re-uploads
const RepoRef kRepo{"clinic-a", "main"};

FileKind kind_of(uint64_t seed) {
  static constexpr FileKind kKinds[] = {FileKind::kPack, FileKind::kIndex, FileKind::kSnapshot,
                                        FileKind::kKey};
  return kKinds[seed % 4];
}

// Mostly small objects, every tenth a pack of a few MiB, as a backup sends them.
Bytes object_bytes(uint64_t seed) {
  size_t size = seed % 10 == 0 ? (1u << 20) + seed * 7919 % (2u << 20) : 100 + seed * 7919 % 65536;
  return random_bytes(size, seed);
}

Bytes config_bytes() { return random_bytes(155, 424242); }

// One acknowledgement on the pipe: kind digit, 64 hex, '\n' (one write, below PIPE_BUF, so
// lines of several threads never mix). An error is "E<message>\n".
void write_line(int fd, const std::string& line) {
  std::string l = line.substr(0, 200) + "\n";
  ssize_t n = ::write(fd, l.data(), l.size());
  (void)n;
}

base::Status upload(ObjectStore* store, const Handle& h, const Bytes& data) {
  ASSIGN_OR_RETURN(auto w, store->begin_write(kRepo, h));
  for (size_t off = 0; off < data.size(); off += 65536) {
    RETURN_IF_ERROR(
        w->append(base::ByteSpan(data).subspan(off, std::min<size_t>(65536, data.size() - off))));
  }
  bool existed = false;
  return w->commit(&existed);
}

[[noreturn]] void run_child(const std::string& root, int round, int fd) {
  auto store = open_local_store(base::posix_env(), root);
  base::Status st = store->create_repo(kRepo);
  if (!st.ok()) {
    write_line(fd, "E" + st.to_string());
    ::_exit(1);
  }
  st = upload(store.get(), Handle{FileKind::kConfig, ""}, config_bytes());
  if (!st.ok()) {
    write_line(fd, "E" + st.to_string());
    ::_exit(1);
  }
  write_line(fd, "0config");
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0;; ++i) {
        uint64_t seed = (static_cast<uint64_t>(round) * 37 + t * 101 + i * 13) % kSeeds;
        Bytes data = object_bytes(seed);
        Handle h{kind_of(seed), base::hex_encode(crypto::sha256(data))};
        base::Status s = upload(store.get(), h, data);
        if (!s.ok()) {
          write_line(fd, "E" + s.to_string());
          ::_exit(1);
        }
        write_line(fd, std::to_string(static_cast<int>(h.kind)) + h.name);
      }
    });
  }
  for (auto& th : threads) th.join();
  ::_exit(0);
}

// The acknowledgement lines of one child.
struct Acks {
  std::set<std::pair<int, std::string>> names;
  std::vector<std::string> errors;
  std::string partial;
  bool eof = false;

  // Stops at the deadline, at end of file, or once `want` names have arrived.
  void read_from(int fd, std::chrono::steady_clock::time_point deadline, bool until_eof,
                 size_t want = SIZE_MAX) {
    char buf[4096];
    while (!eof && names.size() < want) {
      int wait_ms = -1;
      if (!until_eof) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return;
        wait_ms = static_cast<int>(left.count());
      }
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, wait_ms);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return;
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof = true;
        return;
      }
      partial.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
        std::string line = partial.substr(0, nl);
        partial.erase(0, nl + 1);
        if (line.starts_with("E")) {
          errors.push_back(line);
        } else if (line == "0config") {
          names.insert({0, ""});
        } else if (line.size() == 65) {
          names.insert({line[0] - '0', line.substr(1)});
        } else {
          errors.push_back("garbled line: " + line);
        }
      }
    }
  }
};

// Reads an object in 1 MiB pieces, as the server does, and hashes it.
base::StatusOr<std::string> hash_stored(ObjectStore* store, const Handle& h) {
  ASSIGN_OR_RETURN(uint64_t size, store->stat(kRepo, h));
  crypto::Sha256 hash;
  Bytes piece(1 << 20);
  for (uint64_t off = 0; off < size; off += piece.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size(), size - off));
    RETURN_IF_ERROR(store->read(kRepo, h, off, base::MutableByteSpan(piece.data(), n)));
    hash.update(base::ByteSpan(piece.data(), n));
  }
  return base::hex_encode(hash.finish());
}

// Everything acknowledged is there and whole; everything listed is whole; the only other
// files on disk are temp files.
void verify(ObjectStore* store, const std::string& repo_dir,
            const std::set<std::pair<int, std::string>>& acked, uint64_t* temps) {
  for (const auto& [kind, name] : acked) {
    Handle h{static_cast<FileKind>(kind), name};
    if (h.kind == FileKind::kConfig) {
      Bytes config(config_bytes().size());
      ASSERT_TRUE(store->read(kRepo, h, 0, config).ok());
      EXPECT_EQ(config, config_bytes());
      EXPECT_EQ(*store->stat(kRepo, h), config.size());
      continue;
    }
    auto got = hash_stored(store, h);
    ASSERT_TRUE(got.ok()) << "acknowledged " << h.to_string() << ": " << got.status().to_string();
    EXPECT_EQ(*got, name) << "acknowledged " << h.to_string() << " has other bytes";
  }
  std::set<std::string> listed;
  for (FileKind kind : backend::kListableKinds) {
    ASSERT_TRUE(store
                    ->list(kRepo, kind,
                           [&](const backend::FileEntry& e) {
                             Handle h{kind, e.name};
                             auto got = hash_stored(store, h);
                             EXPECT_TRUE(got.ok())
                                 << h.to_string() << ": " << got.status().to_string();
                             if (got.ok()) {
                               EXPECT_EQ(*got, e.name) << "partial object " << h.to_string();
                             }
                             EXPECT_EQ(*store->stat(kRepo, h), e.size) << h.to_string();
                             listed.insert(backend::local_relative_path(h));
                             return base::ok_status();
                           })
                    .ok());
  }
  *temps = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(repo_dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory()) continue;
    std::string rel = fs::relative(it->path(), repo_dir).string();
    std::string name = it->path().filename().string();
    if (rel == "config" || listed.count(rel)) continue;
    bool temp = backend::is_temp_name(name) || name.starts_with("config-tmp-");
    EXPECT_TRUE(temp) << "stray file " << rel;
    *temps += temp;
  }
}

TEST(LocalStoreCrash, KillNineNeverShowsAPartialObjectNorLosesACommittedOne) {
  backend::testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string root = dir.sub("region");
  std::string repo_dir = root + "/clinic-a/main";
  std::set<std::pair<int, std::string>> acked;
  int rounds_with_acks = 0;
  uint64_t max_temps = 0;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a test that died
      ::close(fds[0]);
      run_child(root, round, fds[1]);
    }
    ::close(fds[1]);
    // The first rounds kill during start-up (create_repo, the config upload); the others after
    // 1 to 6 acknowledgements and a few ms more, somewhere among the next uploads.
    Acks acks;
    auto now = std::chrono::steady_clock::now();
    if (round < 4) {
      acks.read_from(fds[0], now + std::chrono::microseconds(200 + round * 1500), false);
    } else {
      acks.read_from(fds[0], now + std::chrono::seconds(30), false, 1 + round % 6);
      acks.read_from(
          fds[0], std::chrono::steady_clock::now() + std::chrono::microseconds(round * 7919 % 6000),
          false);
    }
    ::kill(pid, SIGKILL);
    acks.read_from(fds[0], {}, true);
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child ended on its own: " << status;
    for (const std::string& e : acks.errors) ADD_FAILURE() << "child: " << e;
    rounds_with_acks += !acks.names.empty();
    acked.insert(acks.names.begin(), acks.names.end());

    if (!fs::exists(repo_dir)) continue;  // killed before create_repo made anything
    auto store = open_local_store(base::posix_env(), root);
    uint64_t temps = 0;
    verify(store.get(), repo_dir, acked, &temps);
    max_temps = std::max(max_temps, temps);
    if (HasFatalFailure()) return;
  }
  EXPECT_GE(rounds_with_acks, kRounds - 4) << "most kills should land among uploads";
  EXPECT_GT(acked.size(), 50u);
  EXPECT_GT(max_temps, 0u) << "some kill should have interrupted an upload";

  // Sweeping a day later leaves exactly the objects.
  base::FakeClock later(base::Timespec{base::system_clock()->now().sec + 86400, 0});
  auto store = open_local_store(base::posix_env(), root, &later);
  auto removed = store->sweep_temp_files(kRepo, 3600);
  ASSERT_TRUE(removed.ok()) << removed.status().to_string();
  EXPECT_GE(*removed, max_temps);
  uint64_t temps = 0;
  verify(store.get(), repo_dir, acked, &temps);
  EXPECT_EQ(temps, 0u);
}

}  // namespace
}  // namespace kura::objstore
