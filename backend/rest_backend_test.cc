// RestBackend against a tiny in-test HTTP/1.1 server that answers whatever a test tells it
// to: the exact requests sent (headers, ranges, bodies), v1 listings, garbage, short bodies,
// error statuses, dead servers. Real-server behaviour is covered by the conformance suite.
#include "backend/rest_backend.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "backend/backend_testing.h"
#include "backend/retry_backend.h"

namespace kura::backend {
namespace {

using base::Bytes;
using base::Code;

const bool kIgnoreSigpipe = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

const std::string kId1(64, '1');
const std::string kId2(64, '2');
const std::string kId3(64, '3');

struct HttpRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  int connection = 0;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  bool has(const std::string& name) const { return headers.count(name) > 0; }
};

struct HttpReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool send_content_length = true;
  int64_t declared_length = -1;  // >= 0: announce this length, send body, then hang up
  bool hang = false;             // never answer
};

// One thread per connection, keep-alive, Content-Length bodies only.
class FakeServer {
 public:
  // port 0: any free port.
  explicit FakeServer(std::function<HttpReply(const HttpRequest&)> handler, int port = 0)
      : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    socklen_t len = sizeof a;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "cannot listen";
      return;
    }
    port_ = ntohs(a.sin_port);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~FakeServer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    if (accept_thread_.joinable()) accept_thread_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    hang_cv_.notify_all();
    for (auto& t : conn_threads_) t.join();
  }

  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int connections() const { return connections_.load(); }
  int max_concurrent() const { return max_concurrent_.load(); }
  std::vector<HttpRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Answers from the headers alone, as kura-server refusing an upload does: the reply is
  // sent, then what the client still sends is read and dropped until it hangs up (closing at
  // once with unread data would reset the connection and could destroy the reply).
  // Call before the first request.
  void answer_before_body(std::function<std::optional<HttpReply>(const HttpRequest&)> fn) {
    before_body_ = std::move(fn);
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) {
        if (stopping_) return;
        continue;
      }
      int id = ++connections_;
      std::lock_guard lock(mu_);
      open_fds_.push_back(fd);
      conn_threads_.emplace_back([this, fd, id] { serve(fd, id); });
    }
  }

  static bool send_all(int fd, const std::string& s) {
    size_t done = 0;
    while (done < s.size()) {
      ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  void serve(int fd, int id) {
    std::string buf;
    char chunk[65536];
    for (;;) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return finish(fd);
        buf.append(chunk, static_cast<size_t>(n));
      }
      HttpRequest req;
      req.connection = id;
      std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      size_t line_end = head.find("\r\n");
      std::string line = head.substr(0, line_end);
      size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
      req.method = line.substr(0, sp1);
      req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        size_t e = head.find("\r\n", pos);
        if (e == std::string::npos) e = head.size();
        std::string h = head.substr(pos, e - pos);
        size_t colon = h.find(':');
        if (colon != std::string::npos) {
          std::string name = h.substr(0, colon);
          for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          size_t v = h.find_first_not_of(' ', colon + 1);
          req.headers[name] = v == std::string::npos ? "" : h.substr(v);
        }
        pos = e + 2;
      }
      if (before_body_) {
        if (std::optional<HttpReply> early = before_body_(req)) {
          {
            std::lock_guard lock(mu_);
            requests_.push_back(req);
          }
          send_all(fd, "HTTP/1.1 " + std::to_string(early->status) +
                           " X\r\nConnection: close\r\nContent-Length: " +
                           std::to_string(early->body.size()) + "\r\n\r\n" + early->body);
          ::shutdown(fd, SHUT_WR);
          timeval two_seconds{2, 0};
          ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &two_seconds, sizeof two_seconds);
          while (::recv(fd, chunk, sizeof chunk, 0) > 0) {
          }
          return finish(fd);
        }
      }
      size_t body_len = req.has("content-length") ? std::stoul(req.header("content-length")) : 0;
      while (buf.size() < body_len) {
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return finish(fd);
        buf.append(chunk, static_cast<size_t>(n));
      }
      req.body = buf.substr(0, body_len);
      buf.erase(0, body_len);
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
        int now = ++active_;
        if (now > max_concurrent_) max_concurrent_ = now;
      }
      HttpReply reply = handler_(req);
      if (reply.hang) {
        std::unique_lock lock(mu_);
        hang_cv_.wait(lock, [this] { return stopping_.load(); });
        --active_;
        return finish_locked(fd);
      }
      std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " X\r\n";
      for (auto& [k, v] : reply.headers) out += k + ": " + v + "\r\n";
      if (reply.declared_length >= 0) {
        out += "Content-Length: " + std::to_string(reply.declared_length) + "\r\n";
      } else if (reply.send_content_length) {
        out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
      }
      out += "\r\n";
      if (req.method != "HEAD") out += reply.body;
      bool ok = send_all(fd, out);
      {
        std::lock_guard lock(mu_);
        --active_;
      }
      if (!ok || reply.declared_length >= 0 || (!reply.send_content_length && req.method != "HEAD")) {
        return finish(fd);
      }
    }
  }

  void finish(int fd) {
    std::lock_guard lock(mu_);
    finish_locked(fd);
  }
  void finish_locked(int fd) {
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    std::erase(open_fds_, fd);
  }

  std::function<HttpReply(const HttpRequest&)> handler_;
  std::function<std::optional<HttpReply>(const HttpRequest&)> before_body_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> max_concurrent_{0};
  int active_ = 0;
  std::mutex mu_;
  std::condition_variable hang_cv_;
  std::vector<int> open_fds_;
  std::vector<HttpRequest> requests_;
  std::thread accept_thread_;
  std::vector<std::thread> conn_threads_;
};

std::unique_ptr<Backend> open(const std::string& url, RestOptions ro = {}) {
  ro.url = url;
  auto b = open_rest(ro);
  EXPECT_TRUE(b.ok()) << b.status().to_string();
  return b.ok() ? *std::move(b) : nullptr;
}

HttpReply text(int status, std::string body = "",
               std::string type = "text/plain; charset=utf-8") {
  HttpReply r;
  r.status = status;
  r.body = std::move(body);
  r.headers.push_back({"Content-Type", std::move(type)});
  return r;
}

HttpReply v2(std::string body) { return text(200, std::move(body), "application/vnd.x.restic.rest.v2"); }

std::vector<FileEntry> list_all(Backend* b, FileKind kind, base::Status* st) {
  std::vector<FileEntry> out;
  *st = b->list(kind, [&](const FileEntry& e) {
    out.push_back(e);
    return base::ok_status();
  });
  return out;
}

// ---- URLs ----

TEST(RestUrl, LocationDropsCredentialsAndAddsTheSlash) {
  auto b = open("rest:http://alice:s3cret@127.0.0.1:8000/alice/repo");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->location(), "rest:http://127.0.0.1:8000/alice/repo/");
  b = open("https://host.example:443/");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->location(), "rest:https://host.example:443/");
  EXPECT_EQ(b->parallelism(), 5);
}

TEST(RestUrl, BadUrlsAreRejectedWithoutShowingThePassword) {
  for (std::string url : {"rest:", "", "ftp://u:s3cret@host/", "rest:file:///tmp/x",
                          "rest:http://u:s3cret@host/?x=1", "rest:http://u:s3cret@host/#frag",
                          "rest:http://u:s3cret@/", "rest:http://u:s3cret@ho st/", "s3cret"}) {
    RestOptions ro;
    ro.url = url;
    auto b = open_rest(ro);
    ASSERT_FALSE(b.ok()) << url;
    EXPECT_EQ(b.status().code(), Code::kInvalidArgument) << url;
    if (url != "s3cret") {
      EXPECT_EQ(b.status().message().find("s3cret"), std::string::npos) << b.status().to_string();
    }
  }
}

TEST(RestUrl, RedactUrl) {
  EXPECT_EQ(redact_url("http://a:b@h:1/p/"), "http://h:1/p/");
  EXPECT_EQ(redact_url("rest:https://a%40x:p@ss@h/"), "rest:https://h/");
  EXPECT_EQ(redact_url("http://h/p@q"), "http://h/p@q");
  EXPECT_EQ(redact_url("no scheme"), "no scheme");
}

// ---- what goes on the wire ----

TEST(RestWire, RequestsFollowTheProtocol) {
  Bytes data = base::to_bytes("0123456789abcdefghij");
  FakeServer server([&](const HttpRequest& r) -> HttpReply {
    if (r.method == "HEAD") {
      HttpReply h = text(200);
      h.body = std::string(20, 'x');  // Content-Length only; HEAD sends no body
      return h;
    }
    if (r.method == "GET" && r.target.ends_with("/")) {
      return v2("[{\"name\":\"" + kId1 + "\",\"size\":20}]");
    }
    if (r.method == "GET") {
      HttpReply g = text(206, "abcdefghij", "application/octet-stream");
      g.headers.push_back({"Content-Range", "bytes 10-19/20"});
      return g;
    }
    return text(200);
  });
  // Credentials in the URL are percent-decoded, as Go's url.Parse does.
  auto b = open("rest:http://alice:pw%21@" + server.url().substr(7) + "prefix");
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->create().ok());
  Handle h{FileKind::kPack, kId1};
  ASSERT_TRUE(b->save(h, data).ok());
  auto size = b->stat(h);
  ASSERT_TRUE(size.ok()) << size.status().to_string();
  EXPECT_EQ(*size, 20u);
  auto part = b->load(h, 10, 10);
  ASSERT_TRUE(part.ok()) << part.status().to_string();
  EXPECT_EQ(base::as_chars(*part), "abcdefghij");
  base::Status st;
  auto entries = list_all(b.get(), FileKind::kPack, &st);
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].size, 20u);
  ASSERT_TRUE(b->remove(Handle{FileKind::kConfig, ""}).ok());

  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 6u);
  const std::string auth = "Basic " + base::base64_encode(base::as_bytes("alice:pw!"));
  const std::string accept = "application/vnd.x.restic.rest.v2";
  // create: POST /?create=true, no v2 Accept, empty binary body.
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/prefix/?create=true");
  EXPECT_FALSE(reqs[0].has("accept") && reqs[0].header("accept") == accept);
  EXPECT_EQ(reqs[0].header("content-type"), "binary/octet-stream");
  EXPECT_EQ(reqs[0].header("content-length"), "0");
  // save: flat data URL, explicit length, octet-stream, no chunking or Expect.
  EXPECT_EQ(reqs[1].method, "POST");
  EXPECT_EQ(reqs[1].target, "/prefix/data/" + kId1);
  EXPECT_EQ(reqs[1].header("content-type"), "application/octet-stream");
  EXPECT_EQ(reqs[1].header("content-length"), "20");
  EXPECT_FALSE(reqs[1].has("transfer-encoding"));
  EXPECT_FALSE(reqs[1].has("expect"));
  EXPECT_EQ(reqs[1].body, "0123456789abcdefghij");
  EXPECT_EQ(reqs[2].method, "HEAD");
  EXPECT_EQ(reqs[2].target, "/prefix/data/" + kId1);
  EXPECT_EQ(reqs[3].method, "GET");
  EXPECT_EQ(reqs[3].header("range"), "bytes=10-19");
  EXPECT_EQ(reqs[4].method, "GET");
  EXPECT_EQ(reqs[4].target, "/prefix/data/");
  EXPECT_EQ(reqs[5].method, "DELETE");
  EXPECT_EQ(reqs[5].target, "/prefix/config");
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(reqs[i].header("authorization"), auth) << i;
    if (i > 0) {
      EXPECT_EQ(reqs[i].header("accept"), accept) << i;
    }
  }
}

TEST(RestWire, ConnectionsAreKeptAlive) {
  FakeServer server([](const HttpRequest&) { return text(200, "12345"); });
  RestOptions ro;
  ro.connections = 1;
  auto b = open("rest:" + server.url(), ro);
  ASSERT_TRUE(b);
  for (int i = 0; i < 20; ++i) {
    auto got = b->load(Handle{FileKind::kKey, kId1}, 0, 0);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
  }
  EXPECT_EQ(server.requests().size(), 20u);
  EXPECT_EQ(server.connections(), 1);
}

TEST(RestWire, ParallelRequestsStayWithinTheConnectionLimit) {
  FakeServer server([](const HttpRequest&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return text(200, "12345");
  });
  RestOptions ro;
  ro.connections = 3;
  auto b = open("rest:" + server.url(), ro);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->parallelism(), 3);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (!b->load(Handle{FileKind::kKey, kId1}, 0, 0).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(server.max_concurrent(), 3);
  EXPECT_LE(server.connections(), 3);
  EXPECT_EQ(server.requests().size(), 80u);
}

// ---- listings ----

TEST(RestList, V1ListingFallsBackToAHeadPerFile) {
  FakeServer server([](const HttpRequest& r) -> HttpReply {
    if (r.method == "GET") {
      return text(200, "[\"" + kId1 + "\",\"" + kId2 + "\",\"" + kId3 + "\",\"junk\",\"" +
                           std::string(64, 'A') + "\"]",
                  "application/vnd.x.restic.rest.v1");
    }
    if (r.target.ends_with(kId1)) return text(200, std::string(11, 'x'));
    if (r.target.ends_with(kId2)) return text(200, std::string(22, 'x'));
    return text(404);  // kId3 vanished between the listing and the HEAD
  });
  auto b = open(server.url());
  base::Status st;
  auto entries = list_all(b.get(), FileKind::kIndex, &st);
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].name, kId1);
  EXPECT_EQ(entries[0].size, 11u);
  EXPECT_EQ(entries[1].name, kId2);
  EXPECT_EQ(entries[1].size, 22u);
  int heads = 0;
  for (auto& r : server.requests()) heads += r.method == "HEAD";
  EXPECT_EQ(heads, 3);  // stray names are not asked about
}

TEST(RestList, ContentTypeDecidesTheVersion) {
  // v2-shaped JSON under another Content-Type is a v1 listing, and v1 wants strings.
  FakeServer server([](const HttpRequest&) {
    return text(200, "[{\"name\":\"" + kId1 + "\",\"size\":5}]", "application/json");
  });
  auto b = open(server.url());
  base::Status st;
  list_all(b.get(), FileKind::kKey, &st);
  EXPECT_EQ(st.code(), Code::kDataLoss) << st.to_string();
  EXPECT_NE(st.message().find("v1"), std::string::npos) << st.to_string();
}

TEST(RestList, MissingFolderAndNullAreEmpty) {
  for (HttpReply reply : {text(404, "Not Found"), v2("null"), v2("[]"), v2(" [ ] ")}) {
    FakeServer server([&](const HttpRequest&) { return reply; });
    auto b = open(server.url());
    base::Status st;
    auto entries = list_all(b.get(), FileKind::kLock, &st);
    EXPECT_TRUE(st.ok()) << st.to_string();
    EXPECT_TRUE(entries.empty());
  }
}

TEST(RestList, GarbageGivesClearErrors) {
  const std::vector<std::string> garbage = {
      "",
      "[",
      "[{",
      "{}",
      "\"string\"",
      "42",
      "<html><body>502 Bad Gateway</body></html>",
      "[1,2,3]",
      "[{\"name\":1,\"size\":1}]",
      "[{\"name\":\"" + kId1 + "\"}]",
      "[{\"name\":\"" + kId1 + "\",\"size\":-1}]",
      "[{\"name\":\"" + kId1 + "\",\"size\":1.5}]",
      "[{\"name\":\"" + kId1 + "\",\"size\":\"12\"}]",
      "[{\"name\":\"" + kId1 + "\",\"size\":99999999999999999999999}]",
      "[null]",
      std::string(100000, '['),
      std::string("[\"\xff\xfe\"]"),
  };
  for (const std::string& body : garbage) {
    FakeServer server([&](const HttpRequest&) { return v2(body); });
    auto b = open(server.url());
    base::Status st;
    auto entries = list_all(b.get(), FileKind::kSnapshot, &st);
    EXPECT_EQ(st.code(), Code::kDataLoss) << body.substr(0, 60) << " -> " << st.to_string();
    EXPECT_NE(st.message().find("list snapshots"), std::string::npos) << st.to_string();
    EXPECT_TRUE(entries.empty());
  }
}

TEST(RestList, StrayNamesAreSkipped) {
  FakeServer server([](const HttpRequest&) {
    return v2("[{\"name\":\"../../etc/passwd\",\"size\":1},{\"name\":\"" + kId2 +
              "\",\"size\":7},{\"name\":\"" + std::string(64, 'F') + "\",\"size\":2}]");
  });
  auto b = open(server.url());
  base::Status st;
  auto entries = list_all(b.get(), FileKind::kPack, &st);
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].name, kId2);
  EXPECT_EQ(entries[0].size, 7u);
}

// ---- loads ----

TEST(RestLoad, ShortAndLongBodiesAreCaught) {
  struct Case {
    HttpReply reply;
    Code want;
  };
  auto ranged = [](int status, std::string body, std::string range) {
    HttpReply r = text(status, std::move(body), "application/octet-stream");
    if (!range.empty()) r.headers.push_back({"Content-Range", std::move(range)});
    return r;
  };
  HttpReply truncated = ranged(206, "abc", "bytes 10-19/100");
  truncated.declared_length = 10;  // says 10, sends 3, hangs up
  std::vector<Case> cases = {
      {ranged(206, "abc", "bytes 10-12/100"), Code::kDataLoss},           // short 206
      {ranged(206, "abc", ""), Code::kDataLoss},                         // short, no range header
      {ranged(206, std::string(12, 'x'), "bytes 10-21/100"), Code::kDataLoss},  // too long
      {ranged(206, std::string(10, 'x'), "bytes 0-9/100"), Code::kDataLoss},    // wrong offset
      {ranged(206, std::string(10, 'x'), "bytes ten/100"), Code::kDataLoss},    // unparsable
      {ranged(200, std::string(15, 'x'), ""), Code::kDataLoss},  // whole file of 15 bytes
      {truncated, Code::kUnavailable},
      {ranged(416, "", "bytes */5"), Code::kDataLoss},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    FakeServer server([&](const HttpRequest&) { return cases[i].reply; });
    auto b = open(server.url());
    auto got = b->load(Handle{FileKind::kPack, kId1}, 10, 10);
    ASSERT_FALSE(got.ok()) << "case " << i;
    EXPECT_EQ(got.status().code(), cases[i].want) << "case " << i << ": "
                                                  << got.status().to_string();
    EXPECT_NE(got.status().message().find("load data/" + kId1), std::string::npos)
        << got.status().to_string();
  }
}

TEST(RestLoad, AServerIgnoringRangeStillGivesTheRightBytes) {
  std::string file = "0123456789abcdefghijklmnopqrstuvwxyz";
  FakeServer server([&](const HttpRequest&) { return text(200, file, "application/octet-stream"); });
  auto b = open(server.url());
  Handle h{FileKind::kConfig, ""};
  EXPECT_EQ(base::as_chars(*b->load(h, 10, 5)), "abcde");
  EXPECT_EQ(base::as_chars(*b->load(h, 30, 0)), "uvwxyz");
  EXPECT_EQ(base::as_chars(*b->load(h, 0, 3)), "012");
  EXPECT_EQ(base::as_chars(*b->load(h, 0, 0)), file);
  EXPECT_EQ(b->load(h, 40, 0).status().code(), Code::kDataLoss);
  EXPECT_EQ(b->load(h, 30, 10).status().code(), Code::kDataLoss);
}

TEST(RestStat, HeadWithoutContentLengthIsAnError) {
  FakeServer server([](const HttpRequest&) {
    HttpReply r = text(200);
    r.send_content_length = false;
    return r;
  });
  auto b = open(server.url());
  auto size = b->stat(Handle{FileKind::kKey, kId1});
  ASSERT_FALSE(size.ok());
  EXPECT_NE(size.status().message().find("Content-Length"), std::string::npos)
      << size.status().to_string();
}

// ---- status mapping ----

TEST(RestStatus, HttpStatusesMapToCodes) {
  struct Case {
    int http;
    const char* op;
    Code want;
  };
  const std::vector<Case> cases = {
      {404, "load", Code::kNotFound},          {404, "stat", Code::kNotFound},
      {404, "remove", Code::kOk},              {403, "save", Code::kAlreadyExists},
      {403, "remove", Code::kPermissionDenied}, {403, "load", Code::kPermissionDenied},
      {401, "load", Code::kUnauthenticated},   {401, "save", Code::kUnauthenticated},
      {401, "list", Code::kUnauthenticated},   {401, "create", Code::kUnauthenticated},
      {507, "save", Code::kResourceExhausted}, {500, "save", Code::kUnavailable},
      {502, "load", Code::kUnavailable},       {503, "list", Code::kUnavailable},
      {504, "stat", Code::kUnavailable},       {500, "create", Code::kUnavailable},
      {429, "load", Code::kUnavailable},       {400, "save", Code::kInvalidArgument},
      {418, "load", Code::kInternal},          {201, "save", Code::kOk},
      {302, "load", Code::kInternal},
  };
  for (const Case& c : cases) {
    FakeServer server([&](const HttpRequest&) { return text(c.http, "server detail"); });
    auto b = open("http://bob:hunter2@" + server.url().substr(7));
    Handle h{FileKind::kPack, kId1};
    std::string op = c.op;
    base::Status st;
    if (op == "load") st = b->load(h, 0, 0).status();
    if (op == "stat") st = b->stat(h).status();
    if (op == "save") st = b->save(h, base::as_bytes("x"));
    if (op == "remove") st = b->remove(h);
    if (op == "create") st = b->create();
    if (op == "list") list_all(b.get(), FileKind::kPack, &st);
    EXPECT_EQ(st.code(), c.want) << c.http << " on " << op << ": " << st.to_string();
    EXPECT_EQ(st.message().find("hunter2"), std::string::npos) << st.to_string();
    if (c.http == 401) {
      EXPECT_NE(st.message().find("server refused credentials"), std::string::npos);
    }
    if (!st.ok() && op != "create" && op != "list") {
      EXPECT_NE(st.message().find(op + " data/" + kId1), std::string::npos) << st.to_string();
    }
  }
}

// kura-server refuses an upload over the quota from its headers, while the client is still
// sending the body: the client reads the refusal, stops sending, and reports the server's
// words with a code that is not retried.
TEST(RestStatus, ARefusalBeforeTheBodyIsReadKeepsTheServersReason) {
  for (int http : {507, 403, 401}) {
    FakeServer server([](const HttpRequest&) { return text(200); });
    server.answer_before_body([http](const HttpRequest& r) -> std::optional<HttpReply> {
      if (r.method != "POST") return std::nullopt;
      return text(http, "quota exceeded for clinic-a: 1000000 of 1000000 bytes used\n");
    });
    auto b = open(server.url());
    Bytes data = testing::random_bytes(24 << 20, 7);
    base::Status st = b->save(Handle{FileKind::kPack, kId1}, data);
    Code want = http == 507 ? Code::kResourceExhausted
                : http == 403 ? Code::kAlreadyExists
                              : Code::kUnauthenticated;
    EXPECT_EQ(st.code(), want) << http << ": " << st.to_string();
    EXPECT_NE(st.message().find("server said: quota exceeded for clinic-a"), std::string::npos)
        << st.to_string();
  }
}

// HEAD responses have no body; the reason for a refusal comes from a one-byte GET.
TEST(RestStatus, ARefusedStatShowsTheServersReason) {
  for (int http : {401, 403, 507}) {
    FakeServer server([http](const HttpRequest&) {
      return text(http, "this device's certificate has been revoked\n");
    });
    auto b = open(server.url());
    auto st = b->stat(Handle{FileKind::kConfig, ""});
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.status().message().find("stat config: HTTP " + std::to_string(http)),
              std::string::npos)
        << st.status().to_string();
    EXPECT_NE(st.status().message().find("server said: this device's certificate has been revoked"),
              std::string::npos)
        << st.status().to_string();
    auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[1].method, "GET");
    EXPECT_EQ(reqs[1].header("range"), "bytes=0-0");
  }
  // A missing file is not a refusal: no second request.
  FakeServer server([](const HttpRequest&) { return text(404, "no such file"); });
  auto b = open(server.url());
  EXPECT_EQ(b->stat(Handle{FileKind::kConfig, ""}).status().code(), Code::kNotFound);
  EXPECT_EQ(server.requests().size(), 1u);
}

// ---- with RetryBackend, as kura runs it ----

RetryOptions counting_retries(int* sleeps, std::function<void()> on_sleep = {}) {
  RetryOptions opt;
  opt.sleep = [sleeps, on_sleep](std::chrono::milliseconds) {
    ++*sleeps;
    if (on_sleep) on_sleep();
  };
  opt.jitter_seed = 7;
  return opt;
}

// The server is down (connection refused) for a few attempts and comes back on the same port,
// as during a restart: the save lands, its body sent whole on the attempt that got through.
TEST(RestRetry, ASaveOutlivesAServerRestart) {
  int port = testing::free_port();
  std::unique_ptr<FakeServer> server;
  int sleeps = 0;
  RetryOptions opt = counting_retries(&sleeps, [&] {
    if (sleeps == 3) server = std::make_unique<FakeServer>([](const HttpRequest&) { return text(200); }, port);
  });
  RetryBackend b(open("http://127.0.0.1:" + std::to_string(port) + "/"), opt);
  Bytes data = testing::random_bytes(3 << 20, 5);
  base::Status st = b.save(Handle{FileKind::kPack, kId1}, data);
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(sleeps, 3);
  ASSERT_TRUE(server);
  auto reqs = server->requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].body, std::string(base::as_chars(data)));
}

// Server errors are retried; refusals stop at the first answer with the server's words.
TEST(RestRetry, ServerErrorsAreRetriedRefusalsAreNot) {
  std::atomic<int> posts{0};
  FakeServer server([&](const HttpRequest& r) {
    if (r.target.find(kId1) != std::string::npos) return ++posts <= 2 ? text(503, "busy") : text(200);
    if (r.target.find(kId2) != std::string::npos) return text(507, "quota exceeded for clinic-a: full");
    if (r.method == "DELETE") return text(403, "device may not repo.delete");
    return text(401, "this device's certificate has been revoked");
  });
  int sleeps = 0;
  RetryBackend b(open(server.url()), counting_retries(&sleeps));
  EXPECT_TRUE(b.save(Handle{FileKind::kPack, kId1}, base::as_bytes("x")).ok());
  EXPECT_EQ(sleeps, 2);
  struct Case {
    std::function<base::Status()> call;
    Code code;
    const char* said;
  };
  const std::vector<Case> cases = {
      {[&] { return b.save(Handle{FileKind::kPack, kId2}, base::as_bytes("x")); },
       Code::kResourceExhausted, "quota exceeded for clinic-a"},
      {[&] { return b.remove(Handle{FileKind::kSnapshot, kId3}); }, Code::kPermissionDenied,
       "device may not repo.delete"},
      {[&] { return b.load(Handle{FileKind::kKey, kId3}, 0, 0).status(); },
       Code::kUnauthenticated, "certificate has been revoked"},
      {[&] { return b.stat(Handle{FileKind::kConfig, ""}).status(); }, Code::kUnauthenticated,
       "certificate has been revoked"},
  };
  for (const Case& c : cases) {
    sleeps = 0;
    base::Status st = c.call();
    EXPECT_EQ(st.code(), c.code) << st.to_string();
    EXPECT_NE(st.message().find(c.said), std::string::npos) << st.to_string();
    EXPECT_EQ(sleeps, 0) << st.to_string();
  }
}

TEST(RestStatus, DeadServersAreUnavailable) {
  int port = testing::free_port();
  auto b = open("http://u:hunter2@127.0.0.1:" + std::to_string(port) + "/");
  auto got = b->load(Handle{FileKind::kKey, kId1}, 0, 0);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kUnavailable) << got.status().to_string();
  EXPECT_EQ(got.status().message().find("hunter2"), std::string::npos);
  EXPECT_NE(got.status().message().find("load keys/" + kId1), std::string::npos);
}

TEST(RestStatus, HangUpsAndTimeoutsAreUnavailable) {
  FakeServer server([](const HttpRequest& r) {
    HttpReply h;
    h.hang = r.method == "GET";
    h.send_content_length = false;  // POST: answer without a length and hang up
    return h;
  });
  RestOptions ro;
  ro.request_timeout_s = 1;
  auto b = open(server.url(), ro);
  auto got = b->load(Handle{FileKind::kKey, kId1}, 0, 0);
  EXPECT_EQ(got.status().code(), Code::kUnavailable) << got.status().to_string();
}

TEST(RestTls, UntrustedServersAndBadCertificateFilesFailClearly) {
  if (!testing::file_exists(testing::kRclone) || !testing::file_exists(testing::kOpenssl)) {
    GTEST_SKIP() << "needs rclone and openssl";
  }
  testing::TempDir dir;
  ASSERT_EQ(testing::make_test_certs(dir.path()), "");
  testing::RcloneServer server;
  testing::RcloneServer::Options opt;
  opt.cert = dir.sub("server.pem");
  opt.key = dir.sub("server.key");
  opt.client_ca = dir.sub("client.crt");
  ASSERT_EQ(server.start(dir.sub("repo"), dir.sub("rclone.log"), opt), "");

  RestOptions ro;  // no CA: the self-signed server is not trusted
  auto b = open(server.url(), ro);
  base::Status st = b->create();
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.to_string();

  ro.cacert = dir.sub("missing-ca.pem");
  b = open(server.url(), ro);
  st = b->create();
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.to_string();
  EXPECT_NE(st.message().find("missing-ca.pem"), std::string::npos) << st.to_string();

  ro.cacert = dir.sub("server.pem");
  ro.tls_client_cert = dir.sub("missing-client.pem");
  b = open(server.url(), ro);
  st = b->create();
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.to_string();
  EXPECT_NE(st.message().find("missing-client.pem"), std::string::npos) << st.to_string();

  ro.tls_client_cert = "";  // the server demands a client certificate
  b = open(server.url(), ro);
  st = b->create();
  EXPECT_FALSE(st.ok());

  ro.tls_client_cert = dir.sub("client.pem");
  b = open(server.url(), ro);
  st = b->create();
  EXPECT_TRUE(st.ok()) << st.to_string();
  server.stop();
}

}  // namespace
}  // namespace kura::backend
