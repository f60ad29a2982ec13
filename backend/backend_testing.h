// Test helpers for backend tests (header-only, so nothing of it lands in the library):
// temporary directories, random data named by its hash, running commands, and a real
// `rclone serve restic` server started on a free port and stopped by PID.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backend/backend.h"
#include "base/bytes.h"
#include "crypto/sha256.h"

extern char** environ;

namespace kura::backend::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/kura-backend-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) != nullptr) path_ = buf.data();
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    // Files are 0400 and folders 0700; make sure removal works whoever runs the test.
    for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec)) {
        std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ec);
      }
    }
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline base::Bytes random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  base::Bytes out(n);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) base::store_le64(&out[i], rng());
  for (; i < n; ++i) out[i] = static_cast<uint8_t>(rng());
  return out;
}

// The repository name of data: its SHA-256 in lowercase hex.
inline std::string hash_name(base::ByteSpan data) { return base::hex_encode(crypto::sha256(data)); }

inline bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs argv with stdout and stderr going to log_path; returns the exit status (-1 if it
// could not start). extra_env entries ("K=V") are added to the environment.
inline int run_command(const std::vector<std::string>& argv, const std::string& log_path,
                       const std::vector<std::string>& extra_env = {}) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store(extra_env);
  std::vector<char*> env;
  for (auto& e : env_store) env.push_back(e.data());
  for (char** e = environ; *e; ++e) env.push_back(*e);
  env.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A TCP port on 127.0.0.1 that was free a moment ago.
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

inline bool can_connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

constexpr char kRclone[] = "/usr/bin/rclone";
constexpr char kRestic[] = "/usr/bin/restic";
constexpr char kOpenssl[] = "/usr/bin/openssl";

// `rclone serve restic` on a free port, serving dir. Stopped (SIGTERM, then waitpid) on
// destruction or stop().
class RcloneServer {
 public:
  struct Options {
    bool append_only = false;
    std::string cert, key, client_ca;  // TLS when cert is set
  };

  RcloneServer() = default;
  RcloneServer(const RcloneServer&) = delete;
  RcloneServer& operator=(const RcloneServer&) = delete;
  ~RcloneServer() { stop(); }

  // Empty on success, else why it failed (with rclone's log).
  std::string start(const std::string& dir, const std::string& log_path, const Options& opt) {
    log_path_ = log_path;
    tls_ = !opt.cert.empty();
    std::string last_error;
    for (int attempt = 0; attempt < 3; ++attempt) {  // the free port may be taken meanwhile
      port_ = free_port();
      std::vector<std::string> argv = {kRclone, "serve", "restic", "--addr",
                                       "127.0.0.1:" + std::to_string(port_)};
      if (opt.append_only) argv.push_back("--append-only");
      if (tls_) {
        argv.insert(argv.end(), {"--cert", opt.cert, "--key", opt.key});
        if (!opt.client_ca.empty()) argv.insert(argv.end(), {"--client-ca", opt.client_ca});
      }
      argv.push_back(dir);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                       0600);
      posix_spawn_file_actions_adddup2(&fa, 1, 2);
      int rc = posix_spawn(&pid_, kRclone, &fa, nullptr, args.data(), environ);
      posix_spawn_file_actions_destroy(&fa);
      if (rc != 0) {
        pid_ = -1;
        return "cannot start rclone: " + std::string(std::strerror(rc));
      }
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;  // exited: port taken or bad arguments
        }
        if (can_connect(port_)) return "";
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
      }
      last_error = "rclone did not start serving: " + read_text(log_path);
      stop();
    }
    return last_error;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  int port() const { return port_; }
  std::string url() const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + "/";
  }

 private:
  pid_t pid_ = -1;
  int port_ = -1;
  bool tls_ = false;
  std::string log_path_;
};

// Makes a self-signed server certificate for 127.0.0.1 and a self-signed client certificate
// in dir: server.pem, server.key, client.crt (also the client CA) and client.pem (cert and
// key together, the --tls-client-cert form). Empty on success, else the reason.
inline std::string make_test_certs(const std::string& dir) {
  std::string log = dir + "/openssl.log";
  int rc = run_command({kOpenssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", dir + "/server.key",
                        "-out", dir + "/server.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"},
                       log);
  if (rc != 0) return "openssl (server cert) failed: " + read_text(log);
  rc = run_command({kOpenssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", dir + "/client.key", "-out",
                    dir + "/client.crt", "-days", "2", "-subj", "/CN=kura-test-client"},
                   log);
  if (rc != 0) return "openssl (client cert) failed: " + read_text(log);
  std::ofstream out(dir + "/client.pem");
  out << read_text(dir + "/client.crt") << read_text(dir + "/client.key");
  return out ? "" : "cannot write client.pem";
}

}  // namespace kura::backend::testing
