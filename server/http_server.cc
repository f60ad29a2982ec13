#include "server/http_server.h"

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <csignal>
#include <limits>
#include <optional>
#include <chrono>
#include <functional>
#include <set>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "crypto/sha256.h"
#include "server/api.h"
#include "server/panel.h"
#include "server/panel_assets.h"
#include "server/route.h"
#include "server/tls.h"
#include "server/tls_socket.h"
#include "service/authz.h"

namespace kura::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
// Each worker thread runs its own io_context, and a connection lives on one of them from
// accept to close: no strand, no type-erased executor, no wake-up of another thread per
// completion. (On one shared io_context these cost a third of the server's CPU per GB, most
// of it per 16 KiB TLS record.)
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;
using Stream = TlsSocket<Socket>;
template <typename T>
using Task = asio::awaitable<T, Executor>;
constexpr asio::use_awaitable_t<Executor> use_task;
auto into(error_code& ec) { return asio::redirect_error(use_task, ec); }

constexpr size_t kChunk = 256 * 1024;
constexpr size_t kReadBuffer = 64 * 1024;
constexpr size_t kJsonLimit = 1 << 20;
constexpr char kV2[] = "application/vnd.x.restic.rest.v2";
constexpr char kV1[] = "application/vnd.x.restic.rest.v1";

// One connection. Shared with the stop() walk, which closes idle ones, and the watchdog.
struct Conn {
  Conn(Socket sock, asio::ssl::context& ctx) : stream(std::move(sock), ctx.native_handle()) {}
  Stream stream;
  // Timeouts: each wait on the client sets a deadline (no system call); the watchdog cancels
  // the socket's operations once it has passed, and the waiter sees beast::error::timeout
  // (see timed_out()).
  std::atomic<int64_t> deadline_ns{std::numeric_limits<int64_t>::max()};
  bool timed_out = false;  // on the connection's thread only
  void expires_after(std::chrono::seconds d) {
    deadline_ns.store((std::chrono::steady_clock::now() + d).time_since_epoch().count(),
                      std::memory_order_relaxed);
  }
  // After an operation on the client: its error, with a watchdog cancellation as a timeout.
  error_code checked(error_code ec) {
    if (timed_out) {
      timed_out = false;
      if (ec == asio::error::operation_aborted || !ec) return beast::error::timeout;
    }
    return ec;
  }
  beast::flat_buffer buffer;
  std::string ip;
  PeerCertificate peer;
  bool idle = false;
  // A refusal was sent while the client may still be sending the request body.
  bool body_unread = false;
};

// What one request did, for the response and its access record.
struct Outcome {
  int status = 200;
  std::string action;
  std::string object;
  std::string tenant;
  std::string result = "ok";
  uint64_t bytes_in = 0, bytes_out = 0;
  bool keep_alive = true;
  bool sent = false;  // the handler already wrote the response
  // A request that changes something is recorded and its record stored before the client
  // hears of success: a crash after the response must not lose the record.
  const service::Identity* who = nullptr;
  bool durable = false;
  bool recorded = false;
  // A control-panel request: the user its session belongs to (the record's actor).
  std::optional<service::Identity> user;
  const service::Identity& actor(const service::Identity& fallback) const {
    return user ? *user : who ? *who : fallback;
  }
};

std::chrono::seconds secs(int n) { return std::chrono::seconds(n); }

}  // namespace

struct HttpServer::Impl {
  // Replaced whole on reload; a request keeps the one it started with.
  std::shared_ptr<const ServerConfig> config;
  service::Service* svc;
  AccessLog* log;
  Metrics* metrics;
  // The control panel; null without accounts (the panel's paths are then 404).
  std::unique_ptr<Panel> panel;
  // Panel requests run here, not on the connection's thread: a sign-in's Argon2 verify takes
  // a tenth of a second and 64 MiB, and must neither stall the uploads that share the worker
  // nor run unbounded in parallel.
  std::unique_ptr<asio::thread_pool> panel_pool;
  std::chrono::steady_clock::time_point next_housekeeping{};  // on the first worker's thread
  // One io_context per worker thread; the first also runs the acceptor, signals and timers.
  struct Worker {
    asio::io_context ioc{1};
    asio::executor_work_guard<Executor> keep{ioc.get_executor()};
  };
  std::vector<std::unique_ptr<Worker>> workers;
  size_t next_worker = 0;
  asio::io_context& ioc;
  Acceptor acceptor;
  Timer watchdog;
  std::mutex mu;  // tls, config limits, conns
  std::shared_ptr<asio::ssl::context> tls;
  std::set<std::shared_ptr<Conn>> conns;
  std::atomic<bool> stopping{false};
  bool stopped_watching = false;  // on the first worker's thread
  uint16_t bound_port = 0;
  std::unique_ptr<asio::signal_set> signals;
  std::unique_ptr<asio::steady_timer> grace_timer;
  std::function<void(error_code)> stop_poll;

  static std::vector<std::unique_ptr<Worker>> make_workers(int configured) {
    int n = configured > 0 ? configured
                           : std::max(4, 2 * static_cast<int>(std::thread::hardware_concurrency()));
    std::vector<std::unique_ptr<Worker>> w;
    for (int i = 0; i < n; ++i) w.push_back(std::make_unique<Worker>());
    return w;
  }

  Impl(ServerConfig c, service::Service* s, service::Accounts* accounts, AccessLog* l, Metrics* m)
      : config(std::make_shared<const ServerConfig>(std::move(c))),
        svc(s),
        log(l),
        metrics(m),
        panel(accounts ? std::make_unique<Panel>(s, accounts) : nullptr),
        panel_pool(accounts ? std::make_unique<asio::thread_pool>(2) : nullptr),
        workers(make_workers(config->threads)),
        ioc(workers[0]->ioc),
        acceptor(ioc.get_executor()),
        watchdog(ioc.get_executor()) {}

  ~Impl() {
    if (panel_pool) panel_pool->join();
  }

  void stop_workers() {
    for (auto& w : workers) {
      w->keep.reset();
      w->ioc.stop();
    }
  }

  std::shared_ptr<asio::ssl::context> current_tls() {
    std::lock_guard lock(mu);
    return tls;
  }
  std::shared_ptr<const ServerConfig> limits() {
    std::lock_guard lock(mu);
    return config;
  }

  void record(const Conn& c, const service::Identity& who, const Outcome& o) {
    meta::AccessRecord r;
    r.time_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    r.tenant = !o.tenant.empty() ? o.tenant : who.tenant;
    r.actor = who.kind != service::IdentityKind::kAnonymous ? who.actor()
              : c.peer.serial.empty()                       ? "anonymous"
                                                            : "cert:" + c.peer.serial;
    r.source_ip = c.ip;
    r.auth_method = who.kind == service::IdentityKind::kUser ? "session"
                    : c.peer.serial.empty()                  ? "none"
                                                             : "mtls";
    r.action = o.action;
    r.object = o.object;
    r.status = o.status;
    r.result = o.result;
    r.bytes = static_cast<int64_t>(o.bytes_in + o.bytes_out);
    log->add(std::move(r));
  }

  // A short text answer. A status >= 400 becomes the request's recorded result ("denied: ..."
  // for 401 and 403) unless one is already set. With body_unread (the request's body was not
  // read), the connection closes after the answer, and drain() first swallows what the client
  // still sends, so that it reads the answer instead of a reset.
  Task<void> reply_text(Conn& c, unsigned version, Outcome& o, int status, std::string msg,
                        bool body_unread);
  Task<void> accept_loop();
  void watch(error_code ec);
  Task<void> session(Socket sock);
  Task<bool> serve_one(Conn& c, bool first);
  Task<void> drain(Conn& c);
  Task<void> respond(Conn& c, unsigned version, Outcome& o, std::string body,
                     std::string_view content_type,
                     const std::vector<std::pair<std::string, std::string>>& headers = {});
  Task<void> dispatch(Conn& c, http::request_parser<http::empty_body>& hp, const Route& route,
                      const service::Identity& who, const base::Status& who_status, Outcome& o);
  Task<bool> read_small_body(Conn& c, http::request_parser<http::empty_body>& hp,
                             std::string* body, Outcome& o);
  Task<void> panel_api(Conn& c, http::request_parser<http::empty_body>& hp, const Route& route,
                       bool has_body, Outcome& o);
  Task<void> panel_page(Conn& c, const http::request_header<>& req, const Route& route,
                        Outcome& o);
  Task<void> rest(Conn& c, http::request_parser<http::empty_body>& hp, const Route& route,
                  const service::Identity& who, Outcome& o);
  Task<void> upload(Conn& c, http::request_parser<http::empty_body>& hp, const Route& route,
                    const service::RepoAccess& access, const service::Identity& who, Outcome& o);
  Task<void> download(Conn& c, const http::request_header<>& req, const Route& route,
                      const service::RepoAccess& access, Outcome& o);
  Task<void> list(Conn& c, const http::request_header<>& req, const Route& route,
                  const service::RepoAccess& access, Outcome& o);
  void begin_stop(int grace_sec);
};

// --- Accepting and connections ---------------------------------------------------------------

Task<void> HttpServer::Impl::accept_loop() {
  while (!stopping) {
    error_code ec;
    Worker& w = *workers[next_worker++ % workers.size()];
    Socket sock = co_await acceptor.async_accept(w.ioc.get_executor(), into(ec));
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept: {}", ec.message());
      continue;
    }
    if (metrics->open_connections() >= limits()->max_connections) {
      metrics->connection_refused();
      sock.close(ec);
      continue;
    }
    // Responses go out as a header write and a body write; without TCP_NODELAY, Nagle and
    // the client's delayed ACK hold every response on a kept-alive connection ~40 ms.
    sock.set_option(tcp::no_delay(true), ec);
    auto ex = sock.get_executor();
    asio::co_spawn(ex, session(std::move(sock)), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        spdlog::error("connection ended by an unexpected error: {}", x.what());
      }
    });
  }
}

// Every second: the connections whose deadline has passed get their pending operation
// cancelled, on their own thread (where the deadline is looked at again: it may have moved).
void HttpServer::Impl::watch(error_code ec) {
  if (ec || stopped_watching) return;
  const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  {
    std::lock_guard lock(mu);
    for (const auto& conn : conns) {
      if (conn->deadline_ns.load(std::memory_order_relaxed) > now) continue;
      asio::post(conn->stream.get_executor(), [conn] {
        const int64_t t = std::chrono::steady_clock::now().time_since_epoch().count();
        if (conn->deadline_ns.load(std::memory_order_relaxed) > t) return;
        conn->deadline_ns.store(std::numeric_limits<int64_t>::max(), std::memory_order_relaxed);
        conn->timed_out = true;
        error_code ignored;
        conn->stream.socket().cancel(ignored);
      });
    }
  }
  if (panel_pool && std::chrono::steady_clock::now() >= next_housekeeping) {
    // Hourly, off the connections' threads: the usage history the panel charts, and sessions
    // that ended without a sign-out.
    next_housekeeping = std::chrono::steady_clock::now() + std::chrono::hours(1);
    asio::post(*panel_pool, [this] {
      if (base::Status st = svc->sample_usage(); !st.ok()) {
        spdlog::error("usage sample: {}", st.to_string());
      }
      if (base::Status st = panel->housekeeping(); !st.ok()) {
        spdlog::error("removing ended panel sessions: {}", st.to_string());
      }
    });
  }
  watchdog.expires_after(std::chrono::seconds(1));
  watchdog.async_wait([this](error_code e) { watch(e); });
}

Task<void> HttpServer::Impl::session(Socket sock) {
  metrics->connection_opened();
  struct Closed {
    Metrics* m;
    ~Closed() { m->connection_closed(); }
  } closed{metrics};
  error_code ec;
  std::string ip = sock.remote_endpoint(ec).address().to_string();
  std::shared_ptr<asio::ssl::context> ctx = current_tls();
  auto conn = std::make_shared<Conn>(std::move(sock), *ctx);
  conn->ip = ip;
  // Beast reads at most the buffer's free capacity (but at least 512 bytes) at a time: left
  // at its first size, an upload arrived 512 bytes per read, ~130,000 reads per 64 MiB.
  conn->buffer.reserve(kReadBuffer);
  {
    std::lock_guard lock(mu);
    conns.insert(conn);
  }
  // Not a destructor: a frame still suspended when the server is torn down is destroyed
  // with its io_context, after this set.
  auto forget = [this, &conn] {
    std::lock_guard lock(mu);
    conns.erase(conn);
  };
  const auto lim = limits();
  conn->expires_after(secs(lim->handshake_timeout_sec));
  co_await conn->stream.async_handshake(into(ec));
  ec = conn->checked(ec);
  if (ec) {
    metrics->tls_handshake_failure();
    Outcome o;
    o.status = 0;
    o.action = "tls.handshake";
    o.result = "error: " + ec.message();
    record(*conn, service::Identity{}, o);
    forget();
    co_return;
  }
  conn->peer = peer_certificate(conn->stream.native_handle());
  for (int n = 0; n < lim->max_requests_per_connection && !stopping; ++n) {
    bool keep = co_await serve_one(*conn, n == 0);
    if (!keep) break;
  }
  if (conn->body_unread) co_await drain(*conn);
  conn->expires_after(secs(5));
  co_await conn->stream.async_shutdown(into(ec));
  forget();
}

// After a refusal sent before the request body was read, reads and drops what the client
// still sends, for a moment, before closing. Closing a socket with unread data makes the
// kernel send a reset, and a client still uploading then sees "connection reset" instead of
// the refusal (and retries it as a network error). A client that read the refusal stops
// sending and closes, which ends this at once.
Task<void> HttpServer::Impl::drain(Conn& c) {
  constexpr int kLingerSec = 2;
  constexpr size_t kLingerBytes = 256u << 20;
  std::vector<uint8_t> scratch(64 * 1024);
  size_t dropped = c.buffer.size();
  c.buffer.consume(c.buffer.size());
  c.expires_after(secs(kLingerSec));
  error_code ec;
  while (!ec && dropped < kLingerBytes) {
    dropped += co_await c.stream.async_read_some(asio::buffer(scratch), into(ec));
    ec = c.checked(ec);
  }
}

// --- One request ------------------------------------------------------------------------------

Task<void> HttpServer::Impl::reply_text(Conn& c, unsigned version, Outcome& o, int status,
                                        std::string msg, bool body_unread) {
  o.status = status;
  if (status >= 400 && o.result == "ok") {
    o.result = (status == 401 || status == 403 ? "denied: " : "error: ") + msg;
  }
  if (body_unread) {
    o.keep_alive = false;
    c.body_unread = true;
  }
  co_await respond(c, version, o, msg + "\n", "text/plain; charset=utf-8");
}

Task<void> HttpServer::Impl::respond(
    Conn& c, unsigned version, Outcome& o, std::string body, std::string_view content_type,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  http::response<http::string_body> res{static_cast<http::status>(o.status), version};
  res.set(http::field::server, "kura-server");
  if (!content_type.empty()) res.set(http::field::content_type, std::string(content_type));
  for (const auto& [k, v] : headers) res.set(k, v);
  res.set(http::field::strict_transport_security, "max-age=31536000");
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(o.keep_alive && !stopping);
  res.body() = std::move(body);
  res.prepare_payload();
  o.bytes_out += res.body().size();
  if (o.durable && !o.recorded && o.who) {
    // One short wait for the writer thread (concurrent requests share its transaction).
    record(c, o.actor(*o.who), o);
    o.recorded = true;
    log->flush();
  }
  error_code ec;
  c.expires_after(secs(limits()->body_timeout_sec));
  co_await http::async_write(c.stream, res, into(ec));
  if (c.checked(ec)) o.keep_alive = false;
  o.sent = true;
}

Task<bool> HttpServer::Impl::serve_one(Conn& c, bool first) {
  const auto lim = limits();
  http::request_parser<http::empty_body> hp;
  hp.header_limit(static_cast<uint32_t>(lim->header_limit_bytes));
  hp.body_limit(std::numeric_limits<std::uint64_t>::max());  // each route sets its own
  error_code ec;
  c.idle = true;
  c.expires_after(secs(first ? lim->header_timeout_sec : lim->idle_timeout_sec));
  co_await http::async_read_header(c.stream, c.buffer, hp, into(ec));
  ec = c.checked(ec);
  c.idle = false;
  auto start = std::chrono::steady_clock::now();
  if (ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::ssl::error::stream_truncated || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::connection_reset) {
      if (ec == beast::error::timeout && c.buffer.size() > 0) {
        Outcome o;
        o.status = 408;
        o.action = "http.request";
        o.result = "denied: request headers too slow";
        record(c, service::Identity{}, o);
      }
      co_return false;
    }
    Outcome o;
    o.status = ec == http::error::header_limit ? 431 : 400;
    o.action = "http.request";
    o.result = "denied: " + ec.message();
    o.keep_alive = false;
    co_await respond(c, 11, o, "bad request: " + ec.message() + "\n", "text/plain; charset=utf-8");
    record(c, service::Identity{}, o);
    metrics->request("bad_request", "?", o.status, 0, 0, o.bytes_out);
    co_return false;
  }
  const auto& req = hp.get();
  Route route = parse_route(std::string_view(req.target().data(), req.target().size()));
  service::Identity who;
  base::Status who_status;
  if (!c.peer.serial.empty()) {
    auto id = svc->identify(c.peer.serial, c.peer.verified);
    if (id.ok()) {
      who = std::move(*id);
    } else {
      who_status = id.status();
      if (!c.peer.verified && who_status.code() == base::Code::kUnauthenticated) {
        who_status = base::unauthenticated("client certificate refused: " + c.peer.problem);
      }
    }
  }
  Outcome o;
  o.keep_alive = req.keep_alive();
  o.tenant = route.tenant;
  o.who = &who;
  o.durable = req.method() == http::verb::post || req.method() == http::verb::put ||
              req.method() == http::verb::delete_;
  co_await dispatch(c, hp, route, who, who_status, o);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics->request(std::string(route_kind_name(route.kind)),
                   std::string(req.method_string().data(), req.method_string().size()), o.status,
                   seconds, o.bytes_in, o.bytes_out);
  if (!o.recorded) record(c, o.actor(who), o);
  co_return o.keep_alive && !stopping;
}

// Reads a small request body (JSON) into *body; false after answering an error.
Task<bool> HttpServer::Impl::read_small_body(Conn& c, http::request_parser<http::empty_body>& hp,
                                             std::string* body, Outcome& o) {
  auto len = hp.content_length();
  if (len && *len > kJsonLimit) {
    o.status = 413;
    o.result = "denied: body too large";
    o.keep_alive = false;
    co_await respond(c, hp.get().version(), o, R"({"error":"request body too large"})",
                     "application/json");
    co_return false;
  }
  http::request_parser<http::string_body> sp(std::move(hp));
  sp.body_limit(kJsonLimit);
  error_code ec;
  c.expires_after(secs(limits()->body_timeout_sec));
  co_await http::async_read(c.stream, c.buffer, sp, into(ec));
  ec = c.checked(ec);
  if (ec) {
    o.status = 400;
    o.result = "error: request body: " + ec.message();
    o.keep_alive = false;
    if (ec != beast::error::timeout && ec != http::error::end_of_stream) {
      co_await respond(c, 11, o, R"({"error":"unreadable request body"})", "application/json");
    }
    co_return false;
  }
  *body = std::move(sp.get().body());
  o.bytes_in += body->size();
  co_return true;
}

Task<void> HttpServer::Impl::dispatch(Conn& c, http::request_parser<http::empty_body>& hp,
                                      const Route& route, const service::Identity& who,
                                      const base::Status& who_status, Outcome& o) {
  const auto& req = hp.get();
  const unsigned version = req.version();
  const http::verb verb = req.method();
  bool has_body = req.chunked() || (hp.content_length() && *hp.content_length() > 0);
  auto text = [&](int status, std::string msg) {
    return reply_text(c, version, o, status, std::move(msg), has_body);
  };
  auto json_out = [&](ApiResponse r) -> Task<void> {
    o.status = r.status;
    if (!r.action.empty()) o.action = r.action;
    if (!r.object.empty()) o.object = r.object;
    if (!r.tenant.empty()) o.tenant = r.tenant;
    if (r.status >= 400) o.result = (r.status == 401 || r.status == 403 ? "denied: " : "error: ") + r.body;
    co_await respond(c, version, o, std::move(r.body), r.content_type);
  };
  switch (route.kind) {
    case RouteKind::kHealth:
      o.action = "health";
      if (verb != http::verb::get && verb != http::verb::head) co_return co_await text(405, "method not allowed");
      co_return co_await text(200, "ok");
    case RouteKind::kMetrics: {
      o.action = "metrics";
      const auto lim = limits();
      bool allowed = std::find(lim->metrics_allow.begin(), lim->metrics_allow.end(), c.ip) !=
                         lim->metrics_allow.end() ||
                     service::authorize(who, service::Action::kMetrics, {}).ok();
      if (!allowed) co_return co_await text(403, "metrics are not open to this address");
      std::string extra;
      auto tenants = svc->list_tenants();
      if (tenants.ok()) {
        extra += "# HELP kura_tenant_used_bytes Bytes stored by a tenant.\n"
                 "# TYPE kura_tenant_used_bytes gauge\n";
        for (const auto& t : *tenants) {
          extra += "kura_tenant_used_bytes{tenant=\"" + t.tenant.name + "\",region=\"" +
                   t.tenant.region + "\"} " + std::to_string(t.used_bytes) + "\n";
        }
        extra += "# HELP kura_tenant_quota_bytes A tenant's quota (0: none).\n"
                 "# TYPE kura_tenant_quota_bytes gauge\n";
        for (const auto& t : *tenants) {
          extra += "kura_tenant_quota_bytes{tenant=\"" + t.tenant.name + "\"} " +
                   std::to_string(t.tenant.quota_bytes) + "\n";
        }
      }
      o.status = 200;
      co_return co_await respond(c, version, o, metrics->render(extra),
                                 "text/plain; version=0.0.4; charset=utf-8");
    }
    case RouteKind::kEnrollCa:
      o.action = "enroll.ca";
      if (verb != http::verb::get) co_return co_await text(405, "method not allowed");
      o.status = 200;
      co_return co_await respond(c, version, o, svc->options().ca.cert, "application/x-pem-file");
    case RouteKind::kEnroll:
    case RouteKind::kEnrollRenew: {
      o.action = route.kind == RouteKind::kEnroll ? "enroll" : "enroll.renew";
      if (verb != http::verb::post) co_return co_await text(405, "method not allowed");
      if (route.kind == RouteKind::kEnrollRenew) {
        if (!who_status.ok()) co_return co_await json_out(error_response(who_status));
        base::Status st = service::authorize(who, service::Action::kEnrollRenew, {});
        if (!st.ok()) co_return co_await json_out(error_response(st));
      }
      std::string body;
      if (!co_await read_small_body(c, hp, &body, o)) co_return;
      ApiResponse r = route.kind == RouteKind::kEnroll ? handle_enroll(*svc, body)
                                                       : handle_enroll_renew(*svc, who, body);
      co_return co_await json_out(std::move(r));
    }
    case RouteKind::kAdminApi: {
      o.action = "admin";
      if (!who_status.ok()) co_return co_await json_out(error_response(who_status));
      std::string body;
      if (has_body && !co_await read_small_body(c, hp, &body, o)) co_return;
      has_body = false;
      std::string_view method(req.method_string().data(), req.method_string().size());
      if (route.rest == "/device/policy") {
        if (method != "GET") co_return co_await text(405, "method not allowed");
        co_return co_await json_out(handle_device_policy(*svc, who));
      }
      co_return co_await json_out(handle_admin(*svc, who, method, route.rest, route.query, body));
    }
    case RouteKind::kRoot:
    case RouteKind::kPanelPage:
      if (!panel) break;
      o.action = "panel.page";
      if (verb != http::verb::get && verb != http::verb::head) co_return co_await text(405, "method not allowed");
      if (route.kind == RouteKind::kRoot) {
        o.status = 303;
        // Built before the co_await: g++ 12 cannot keep a braced list of literals in a frame.
        std::vector<std::pair<std::string, std::string>> location = panel_security_headers();
        location.emplace_back("Location", "/panel/");
        co_return co_await respond(c, version, o, "", "", location);
      }
      co_return co_await panel_page(c, req, route, o);
    case RouteKind::kPanelApi:
      if (!panel) break;
      co_return co_await panel_api(c, hp, route, has_body, o);
    case RouteKind::kRepoRoot:
    case RouteKind::kRepoConfig:
    case RouteKind::kRepoList:
    case RouteKind::kRepoObject:
      o.object = route.tenant + "/" + route.repo + "/" +
                 (route.kind == RouteKind::kRepoRoot   ? std::string()
                  : route.kind == RouteKind::kRepoList ? std::string(backend::kind_dir(route.handle.kind)) + "/"
                                                       : route.handle.to_string());
      if (!who_status.ok()) {
        o.action = "repo";
        co_return co_await text(401, who_status.message());
      }
      svc->seen(who);
      co_return co_await rest(c, hp, route, who, o);
    case RouteKind::kNotFound:
      break;
  }
  o.action = "http.request";
  o.object = std::string(req.target().data(), std::min<size_t>(req.target().size(), 200));
  co_await text(404, "not found");
}

// --- The control panel -----------------------------------------------------------------------

Task<void> HttpServer::Impl::panel_api(Conn& c, http::request_parser<http::empty_body>& hp,
                                       const Route& route, bool has_body, Outcome& o) {
  // Everything from the header first: reading the body moves the parser (and its header).
  const auto& req = hp.get();
  const unsigned version = req.version();
  auto field = [&](auto name) {
    auto it = req.find(name);
    return it == req.end() ? std::string() : std::string(it->value());
  };
  const std::string cookie = field(http::field::cookie), csrf = field("X-CSRF-Token"),
                    content_type = field(http::field::content_type),
                    method(req.method_string().data(), req.method_string().size());
  o.action = "panel.request";
  std::string body;
  if (has_body && !co_await read_small_body(c, hp, &body, o)) co_return;
  PanelRequest pr;
  pr.method = method;
  pr.path = route.rest;
  pr.query = route.query;
  pr.cookie = cookie;
  pr.csrf_token = csrf;
  pr.content_type = content_type;
  pr.body = body;
  pr.source_ip = c.ip;
  // Handled on the panel's pool; this coroutine sleeps on a timer that the pool cancels when
  // the answer is ready (the frame, and so pr and r, outlive the wait).
  PanelResponse r;
  Timer done(co_await asio::this_coro::executor);
  done.expires_at(Timer::time_point::max());
  asio::post(*panel_pool, [&] {
    // A handler that throws (a library's exception) answers 500 for this request only: an
    // exception escaping a pool thread would end the whole server.
    try {
      r = panel->handle(pr);
    } catch (const std::exception& e) {
      spdlog::error("panel {} {}: {}", pr.method, pr.path, e.what());
      r = PanelResponse{};
      r.status = 500;
      r.body = R"({"error":"error.internal"})";
      r.action = "panel.request";
      r.result = "error: internal";
    }
    asio::post(done.get_executor(), [&done] { done.cancel(); });
  });
  error_code ec;
  co_await done.async_wait(into(ec));
  if (r.delay_ms > 0) {
    // A refused sign-in answers late: the same growing delay for every kind of refusal.
    done.expires_after(std::chrono::milliseconds(r.delay_ms));
    co_await done.async_wait(into(ec));
  }
  o.status = r.status;
  o.action = r.action.empty() ? "panel.request" : r.action;
  o.object = std::move(r.object);
  o.tenant = std::move(r.tenant);
  o.result = std::move(r.result);
  if (r.who.kind != service::IdentityKind::kAnonymous) o.user = std::move(r.who);
  std::vector<std::pair<std::string, std::string>> headers = panel_security_headers();
  headers.emplace_back("Cache-Control", "no-store");
  for (auto& h : r.headers) headers.push_back(std::move(h));
  co_await respond(c, version, o, std::move(r.body), "application/json; charset=utf-8", headers);
}

Task<void> HttpServer::Impl::panel_page(Conn& c, const http::request_header<>& req,
                                        const Route& route, Outcome& o) {
  o.object = route.rest.substr(0, 200);
  std::vector<std::pair<std::string, std::string>> headers = panel_security_headers();
  const PanelAsset* asset = panel_asset(route.rest);
  if (!asset) {
    o.status = 404;
    co_return co_await respond(c, req.version(), o, "not found\n", "text/plain; charset=utf-8",
                               headers);
  }
  // The page itself is never cached (it names the current modules); the assets are
  // revalidated by their ETag, so an upgraded server serves its own front end at once.
  const bool page = route.rest.empty() || route.rest == "index.html";
  headers.emplace_back("Cache-Control", page ? "no-store" : "no-cache");
  headers.emplace_back("ETag", std::string(asset->etag));
  auto inm = req.find(http::field::if_none_match);
  if (!page && inm != req.end() &&
      std::string_view(inm->value().data(), inm->value().size()) == asset->etag) {
    o.status = 304;
    co_return co_await respond(c, req.version(), o, "", "", headers);
  }
  o.status = 200;
  // Not a `cond ? std::string() : std::string(...)` argument: g++ 12 destroys such a temporary
  // twice inside a co_await (a double free on the first page load).
  std::string body;
  if (req.method() != http::verb::head) body = std::string(asset->body);
  co_await respond(c, req.version(), o, std::move(body), asset->content_type, headers);
}

// --- The restic REST API ---------------------------------------------------------------------

Task<void> HttpServer::Impl::rest(Conn& c, http::request_parser<http::empty_body>& hp,
                                  const Route& route, const service::Identity& who, Outcome& o) {
  using service::Action;
  const auto& req = hp.get();
  const http::verb verb = req.method();
  const bool has_body = req.chunked() || (hp.content_length() && *hp.content_length() > 0);
  auto text = [&](int status, std::string msg) {
    return reply_text(c, req.version(), o, status, std::move(msg), has_body);
  };
  // Which action this is.
  std::optional<Action> action;
  const bool is_lock = route.handle.kind == backend::FileKind::kLock;
  switch (route.kind) {
    case RouteKind::kRepoRoot:
      if (verb == http::verb::post) action = Action::kRepoCreate;
      break;
    case RouteKind::kRepoConfig:
      if (verb == http::verb::get || verb == http::verb::head) action = Action::kConfigRead;
      if (verb == http::verb::post) action = Action::kConfigWrite;
      if (verb == http::verb::delete_) action = Action::kConfigDelete;
      break;
    case RouteKind::kRepoList:
      if (verb == http::verb::get) action = Action::kList;
      break;
    case RouteKind::kRepoObject:
      if (verb == http::verb::get || verb == http::verb::head) action = Action::kRead;
      if (verb == http::verb::post) action = Action::kWrite;
      if (verb == http::verb::delete_) action = is_lock ? Action::kDeleteLock : Action::kDelete;
      break;
    default:
      break;
  }
  if (!action) {
    o.action = "repo";
    co_return co_await text(405, "method not allowed");
  }
  o.action = std::string(service::action_name(*action));
  const service::Target target{route.tenant, route.repo};
  base::Status allowed = service::authorize(who, *action, target);
  if (!allowed.ok()) co_return co_await text(http_status(allowed), allowed.message());
  auto access = svc->repo(route.tenant, route.repo);
  if (!access.ok()) co_return co_await text(http_status(access.status()), access.status().message());

  if (route.kind == RouteKind::kRepoRoot) {
    if (!route.create) co_return co_await text(400, "expected ?create=true");
    base::Status st = access->store->create_repo(access->ref);
    if (!st.ok()) co_return co_await text(http_status(st), st.message());
    co_return co_await text(200, "created");
  }
  if (route.kind == RouteKind::kRepoList) co_return co_await list(c, req, route, *access, o);
  if (verb == http::verb::post) co_return co_await upload(c, hp, route, *access, who, o);
  if (verb == http::verb::get || verb == http::verb::head) {
    co_return co_await download(c, req, route, *access, o);
  }
  // DELETE: of a missing file succeeds (restic's rule), once the caller may delete at all.
  auto size = access->store->stat(access->ref, route.handle);
  if (!size.ok()) {
    if (size.status().code() == base::Code::kNotFound) co_return co_await text(200, "ok");
    co_return co_await text(500, "cannot delete");
  }
  if (is_lock) {
    if (!svc->owns_lock(*access, route.handle.name, who.device_id)) {
      o.action = std::string(service::action_name(Action::kDeleteLockOfOther));
      base::Status st = service::authorize(who, Action::kDeleteLockOfOther, target);
      if (!st.ok()) co_return co_await text(403, "a device may remove only its own locks");
    }
  } else {
    base::Status st = svc->may_delete(*access, route.handle);
    if (!st.ok()) co_return co_await text(http_status(st), st.message());
  }
  base::Status st = access->store->remove(access->ref, route.handle);
  if (!st.ok()) {
    spdlog::error("delete {}: {}", o.object, st.to_string());
    co_return co_await text(500, "cannot delete");
  }
  if (is_lock) svc->forget_lock(*access, route.handle.name);
  svc->record_removed(*access, static_cast<int64_t>(*size)).ignore();
  co_await text(200, "ok");
}

Task<void> HttpServer::Impl::list(Conn& c, const http::request_header<>& req, const Route& route,
                                  const service::RepoAccess& access, Outcome& o) {
  const bool v2 = req[http::field::accept] == kV2;
  std::string body = "[";
  bool firstItem = true;
  base::Status st = access.store->list(access.ref, route.handle.kind,
                                       [&](const backend::FileEntry& e) {
                                         if (!firstItem) body += ',';
                                         firstItem = false;
                                         if (v2) {
                                           body += "{\"name\":\"" + e.name + "\",\"size\":" +
                                                   std::to_string(e.size) + "}";
                                         } else {
                                           body += "\"" + e.name + "\"";
                                         }
                                         return base::ok_status();
                                       });
  if (!st.ok() && st.code() != base::Code::kNotFound) {
    spdlog::error("list {}: {}", o.object, st.to_string());
    o.status = 500;
    o.result = "error: " + st.message();
    co_return co_await respond(c, req.version(), o, "cannot list\n", "text/plain; charset=utf-8");
  }
  if (st.code() == base::Code::kNotFound) body = "[";
  body += "]";
  o.status = 200;
  co_await respond(c, req.version(), o, std::move(body), v2 ? kV2 : kV1);
}

Task<void> HttpServer::Impl::download(Conn& c, const http::request_header<>& req,
                                      const Route& route, const service::RepoAccess& access,
                                      Outcome& o) {
  auto size = access.store->stat(access.ref, route.handle);
  if (!size.ok()) {
    o.status = http_status(size.status());
    if (o.status != 404) spdlog::error("stat {}: {}", o.object, size.status().to_string());
    o.result = o.status == 404 ? "error: not found" : "error: " + size.status().message();
    co_return co_await respond(c, req.version(), o, o.status == 404 ? "not found\n" : "error\n",
                               "text/plain; charset=utf-8");
  }
  uint64_t start = 0, length = *size;
  int status = 200;
  std::string range(req[http::field::range]);
  if (!range.empty() && *size > 0) {
    // "bytes=<first>-" or "bytes=<first>-<last>"; anything else is served whole (200).
    uint64_t first = 0, last = 0;
    char dash = 0;
    int n = 0;
    if (range.rfind("bytes=", 0) == 0 && range.find(',') == std::string::npos) {
      std::string spec = range.substr(6);
      size_t d = spec.find('-');
      if (d != std::string::npos && d > 0) {
        auto p1 = std::from_chars(spec.data(), spec.data() + d, first);
        bool ok1 = p1.ec == std::errc() && p1.ptr == spec.data() + d;
        bool open_end = d + 1 == spec.size();
        bool ok2 = open_end;
        if (!open_end) {
          auto p2 = std::from_chars(spec.data() + d + 1, spec.data() + spec.size(), last);
          ok2 = p2.ec == std::errc() && p2.ptr == spec.data() + spec.size() && last >= first;
        }
        if (ok1 && ok2) {
          dash = '-';
          n = open_end ? 1 : 2;
        }
      }
    }
    if (dash) {
      if (first >= *size) {
        o.status = 416;
        o.result = "error: range not satisfiable";
        // Built before the co_await: g++ 12 cannot keep a braced list of literals in a
        // coroutine frame.
        std::vector<std::pair<std::string, std::string>> headers;
        headers.emplace_back("Content-Range", "bytes */" + std::to_string(*size));
        co_return co_await respond(c, req.version(), o, "range not satisfiable\n",
                                   "text/plain; charset=utf-8", headers);
      }
      start = first;
      uint64_t end = n == 2 ? std::min(last, *size - 1) : *size - 1;
      length = end - first + 1;
      status = 206;
    }
  }
  http::response<http::buffer_body> res{static_cast<http::status>(status), req.version()};
  res.set(http::field::server, "kura-server");
  res.set(http::field::content_type, "application/octet-stream");
  res.set(http::field::accept_ranges, "bytes");
  if (status == 206) {
    res.set(http::field::content_range, "bytes " + std::to_string(start) + "-" +
                                            std::to_string(start + length - 1) + "/" +
                                            std::to_string(*size));
  }
  res.content_length(length);
  res.keep_alive(o.keep_alive && !stopping);
  o.status = status;
  o.sent = true;
  error_code ec;
  const int timeout = limits()->body_timeout_sec;
  if (req.method() == http::verb::head) {
    http::response<http::empty_body> head{static_cast<http::status>(status), req.version()};
    head.base() = res.base();
    head.content_length(length);
    http::response_serializer<http::empty_body> hs{head};
    c.expires_after(secs(timeout));
    co_await http::async_write_header(c.stream, hs, into(ec));
    ec = c.checked(ec);
    if (ec) o.keep_alive = false;
    co_return;
  }
  res.body().data = nullptr;
  res.body().more = true;
  http::response_serializer<http::buffer_body> sr{res};
  c.expires_after(secs(timeout));
  co_await http::async_write_header(c.stream, sr, into(ec));
  ec = c.checked(ec);
  std::vector<uint8_t> chunk(std::min<uint64_t>(kChunk, std::max<uint64_t>(length, 1)));
  uint64_t off = start, left = length;
  while (!ec && left > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), left));
    base::Status st = access.store->read(access.ref, route.handle, off,
                                         base::MutableByteSpan(chunk.data(), n));
    if (!st.ok()) {
      // The status line is gone; all that is left is to cut the connection short, which the
      // client sees as a truncated body.
      spdlog::error("read {}: {}", o.object, st.to_string());
      o.result = "error: " + st.message();
      o.keep_alive = false;
      co_return;
    }
    res.body().data = chunk.data();
    res.body().size = n;
    res.body().more = left > n;
    c.expires_after(secs(timeout));
    co_await http::async_write(c.stream, sr, into(ec));
    ec = c.checked(ec);
    if (ec == http::error::need_buffer) ec = {};
    off += n;
    left -= n;
    o.bytes_out += n;
  }
  if (!ec && !sr.is_done()) {
    res.body().data = nullptr;
    res.body().size = 0;
    res.body().more = false;
    co_await http::async_write(c.stream, sr, into(ec));
    ec = c.checked(ec);
  }
  if (ec) {
    o.keep_alive = false;
    o.result = "error: client went away: " + ec.message();
  }
}

Task<void> HttpServer::Impl::upload(Conn& c, http::request_parser<http::empty_body>& hp,
                                    const Route& route, const service::RepoAccess& access,
                                    const service::Identity& who, Outcome& o) {
  const unsigned version = hp.get().version();
  auto fail = [&](int status, std::string msg, bool body_unread) {
    return reply_text(c, version, o, status, std::move(msg), body_unread);
  };
  auto len = hp.content_length();
  if (hp.get().chunked() || !len) co_return co_await fail(411, "Content-Length required", true);
  const auto lim = limits();
  if (*len > static_cast<uint64_t>(lim->max_object_bytes)) {
    co_return co_await fail(413, "object larger than the server accepts (" +
                                     std::to_string(lim->max_object_bytes) + " bytes)", true);
  }
  auto reservation = svc->reserve(access, static_cast<int64_t>(*len));
  if (!reservation.ok()) co_return co_await fail(507, reservation.status().message(), true);
  auto writer = access.store->begin_write(access.ref, route.handle);
  if (!writer.ok()) {
    spdlog::error("upload {}: {}", o.object, writer.status().to_string());
    co_return co_await fail(500, "cannot store the object", true);
  }
  error_code ec;
  if (beast::iequals(hp.get()[http::field::expect], "100-continue")) {
    http::response<http::empty_body> cont{http::status::continue_, version};
    c.expires_after(secs(lim->body_timeout_sec));
    co_await http::async_write(c.stream, cont, into(ec));
    ec = c.checked(ec);
    if (ec) {
      o.status = 0;
      o.keep_alive = false;
      o.result = "error: client went away";
      co_return;
    }
  }
  http::request_parser<http::buffer_body> bp(std::move(hp));
  bp.body_limit(static_cast<uint64_t>(lim->max_object_bytes));
  std::vector<uint8_t> chunk(std::min<uint64_t>(kChunk, std::max<uint64_t>(*len, 1)));
  crypto::Sha256 hash;
  base::Status st;
  while (!bp.is_done()) {
    bp.get().body().data = chunk.data();
    bp.get().body().size = chunk.size();
    c.expires_after(secs(lim->body_timeout_sec));
    co_await http::async_read(c.stream, c.buffer, bp, into(ec));
    ec = c.checked(ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) break;
    size_t n = chunk.size() - bp.get().body().size;
    base::ByteSpan piece(chunk.data(), n);
    hash.update(piece);
    st = (*writer)->append(piece);
    o.bytes_in += n;
    if (!st.ok()) break;
  }
  if (ec) {
    // The client stopped sending (gone, or too slow): nothing becomes visible.
    o.status = 400;
    o.keep_alive = false;
    o.result = "error: incomplete upload: " + ec.message();
    co_return;
  }
  if (!st.ok()) {
    spdlog::error("upload {}: {}", o.object, st.to_string());
    co_return co_await fail(st.code() == base::Code::kResourceExhausted ? 507 : 500,
                            "cannot store the object", true);
  }
  if (route.handle.kind != backend::FileKind::kConfig &&
      base::hex_encode(hash.finish()) != route.handle.name) {
    co_return co_await fail(400, "the body's SHA-256 does not match its name", false);
  }
  bool existed = false;
  st = (*writer)->commit(&existed);
  if (st.code() == base::Code::kAlreadyExists) {
    co_return co_await fail(403, "an object of that name exists with different content", false);
  }
  if (!st.ok()) {
    spdlog::error("upload {}: {}", o.object, st.to_string());
    co_return co_await fail(st.code() == base::Code::kResourceExhausted ? 507 : 500,
                            "cannot store the object", false);
  }
  if (!existed) {
    base::Status u = svc->record_stored(access, static_cast<int64_t>(*len));
    if (!u.ok()) spdlog::error("usage of {}: {}", to_string(access.ref), u.to_string());
  }
  if (route.handle.kind == backend::FileKind::kLock) {
    base::Status owner = svc->note_lock_owner(access, route.handle.name, who.device_id);
    if (!owner.ok()) spdlog::error("lock owner of {}: {}", o.object, owner.to_string());
  }
  o.status = 200;
  co_await respond(c, version, o, "", "");
}

// --- Lifecycle ---------------------------------------------------------------------------------

void HttpServer::Impl::begin_stop(int grace_sec) {
  if (stopping.exchange(true)) return;
  error_code ec;
  acceptor.close(ec);
  if (signals) signals->cancel(ec);
  std::vector<std::shared_ptr<Conn>> snapshot;
  {
    std::lock_guard lock(mu);
    snapshot.assign(conns.begin(), conns.end());
  }
  for (auto& conn : snapshot) {
    asio::post(conn->stream.get_executor(), [conn] {
      error_code ignored;
      if (conn->idle) conn->stream.socket().cancel(ignored);
    });
  }
  // Poll until the last connection has closed, or the grace period is over.
  auto deadline = std::chrono::steady_clock::now() + secs(grace_sec);
  grace_timer = std::make_unique<asio::steady_timer>(ioc);
  stop_poll = [this, deadline](error_code e) {
    if (e) return;
    if (metrics->open_connections() == 0 || std::chrono::steady_clock::now() >= deadline) {
      stopped_watching = true;
      error_code ignored;
      watchdog.cancel(ignored);
      stop_workers();
      return;
    }
    grace_timer->expires_after(std::chrono::milliseconds(50));
    grace_timer->async_wait(stop_poll);
  };
  stop_poll(error_code());
}

HttpServer::HttpServer(ServerConfig config, service::Service* service,
                       service::Accounts* accounts, AccessLog* log, Metrics* metrics)
    : impl_(std::make_unique<Impl>(std::move(config), service, accounts, log, metrics)) {}

HttpServer::~HttpServer() = default;

base::Status HttpServer::start() {
  // OpenSSL writes to the socket itself (see tls_socket.h), without MSG_NOSIGNAL: a client
  // that closed its end would otherwise kill the process with SIGPIPE on the next write.
  ::signal(SIGPIPE, SIG_IGN);
  ASSIGN_OR_RETURN(impl_->tls, make_tls_context(*impl_->config));
  std::string host;
  uint16_t port = 0;
  RETURN_IF_ERROR(split_host_port(impl_->config->listen, &host, &port));
  error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return base::invalid_argument("listen address " + host + ": not an IP address");
  tcp::endpoint ep(addr, port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return base::unavailable("cannot listen on " + impl_->config->listen + ": " + ec.message());
  impl_->bound_port = a.local_endpoint().port();
  return base::ok_status();
}

uint16_t HttpServer::port() const { return impl_->bound_port; }

void HttpServer::run(bool handle_signals) {
  Impl& s = *impl_;
  // Declared before the threads run, so the handler outlives every call of it.
  std::function<void(error_code, int)> on_signal = [this, &s, &on_signal](error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      base::Status st = reload();
      if (st.ok()) {
        spdlog::info("configuration and certificates reloaded");
      } else {
        spdlog::error("reload failed, keeping the running configuration: {}", st.to_string());
      }
      s.signals->async_wait(on_signal);
      return;
    }
    spdlog::info("signal {}: finishing requests in flight, then stopping", sig);
    s.begin_stop(30);
  };
  if (handle_signals) {
    s.signals = std::make_unique<asio::signal_set>(s.ioc, SIGTERM, SIGINT, SIGHUP);
    s.signals->async_wait(on_signal);
  }
  asio::co_spawn(s.ioc.get_executor(), s.accept_loop(), asio::detached);
  s.watch(error_code());
  std::vector<std::thread> pool;
  for (size_t i = 1; i < s.workers.size(); ++i) {
    pool.emplace_back([w = s.workers[i].get()] { w->ioc.run(); });
  }
  s.ioc.run();
  for (auto& t : pool) t.join();
}

void HttpServer::stop(int grace_sec) {
  asio::post(impl_->ioc, [this, grace_sec] { impl_->begin_stop(grace_sec); });
}

base::Status HttpServer::reload() {
  Impl& s = *impl_;
  ServerConfig next = *s.limits();
  if (!next.path.empty()) {
    ASSIGN_OR_RETURN(next, load_config(next.path));
    if (next.listen != s.config->listen) {
      spdlog::warn("reload: a new listen address takes effect only after a restart");
      next.listen = s.config->listen;
    }
  }
  ASSIGN_OR_RETURN(auto ctx, make_tls_context(next));
  std::lock_guard lock(s.mu);
  s.tls = std::move(ctx);
  s.config = std::make_shared<const ServerConfig>(std::move(next));
  return base::ok_status();
}

}  // namespace kura::server
