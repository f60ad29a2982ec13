// TlsSocket: a TLS server connection as a Beast/Asio stream, with OpenSSL reading and writing
// the non-blocking socket itself and Asio only waiting for readiness.
//
// Why not asio::ssl::stream: it moves every TLS record through a memory BIO with its own
// 17 KiB buffer, one asynchronous operation per record and several posted handlers per
// operation, each costing a poll of the reactor. A 64 MiB upload took ~130,000 epoll_wait
// calls that way. Here a read takes every record the socket already holds (OpenSSL reads
// ahead into a 64 KiB buffer), and only an empty socket costs a wait.
//
// One operation of each direction at a time (Beast's HTTP code never overlaps two reads or two
// writes). Cancelling the socket (socket().cancel()) ends a pending wait with
// operation_aborted. Internal to server/.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl/error.hpp>

namespace kura::server {

template <typename Socket>
class TlsSocket {
 public:
  using executor_type = typename Socket::executor_type;
  using error_code = boost::system::error_code;

  // ctx: the server context (certificates, verification, suites). Throws std::bad_alloc if
  // OpenSSL cannot make the connection.
  TlsSocket(Socket sock, SSL_CTX* ctx) : sock_(std::move(sock)), ssl_(SSL_new(ctx)) {
    if (!ssl_) throw std::bad_alloc();
    error_code ignored;
    sock_.non_blocking(true, ignored);
    SSL_set_fd(ssl_, static_cast<int>(sock_.native_handle()));
    SSL_set_accept_state(ssl_);
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_read_ahead(ssl_, 1);
    SSL_set_default_read_buffer_len(ssl_, kReadAhead);
  }
  ~TlsSocket() { SSL_free(ssl_); }
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  executor_type get_executor() { return sock_.get_executor(); }
  Socket& socket() { return sock_; }
  SSL* native_handle() { return ssl_; }

  // void(error_code)
  template <typename Token>
  auto async_handshake(Token&& token) {
    return run_void(
        [this](size_t&) { return SSL_get_error(ssl_, SSL_do_handshake(ssl_)); },
        std::forward<Token>(token));
  }

  // Sends close_notify and does not wait for the client's (HTTP closes the connection next).
  template <typename Token>
  auto async_shutdown(Token&& token) {
    return run_void(
        [this](size_t&) {
          int r = SSL_shutdown(ssl_);
          return r >= 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
        },
        std::forward<Token>(token));
  }

  // void(error_code, size_t): everything already readable, up to the first non-empty buffer's
  // size; waits only if nothing is.
  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    boost::asio::mutable_buffer into;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      if (boost::asio::mutable_buffer(*it).size() > 0) {
        into = *it;
        break;
      }
    }
    return run(
        [this, into](size_t& n) {
          if (into.size() == 0) return SSL_ERROR_NONE;
          auto* p = static_cast<char*>(into.data());
          while (n < into.size()) {
            size_t got = 0;
            int r = SSL_read_ex(ssl_, p + n, into.size() - n, &got);
            if (r != 1) {
              int e = SSL_get_error(ssl_, r);
              // What was read is returned now; an end or error shows on the next read.
              return n > 0 ? SSL_ERROR_NONE : e;
            }
            n += got;
          }
          return SSL_ERROR_NONE;
        },
        std::forward<Token>(token));
  }

  // void(error_code, size_t): a prefix of the buffers. Small pieces (an HTTP header and a
  // short body) are gathered into one TLS record.
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    const void* data = nullptr;
    size_t size = 0;
    auto it = boost::asio::buffer_sequence_begin(buffers);
    auto end = boost::asio::buffer_sequence_end(buffers);
    while (it != end && boost::asio::const_buffer(*it).size() == 0) ++it;
    if (it != end && (boost::asio::const_buffer(*it).size() >= kGather ||
                      std::next(it) == end)) {
      boost::asio::const_buffer b(*it);
      data = b.data();
      size = b.size();
    } else {
      gather_.clear();
      for (; it != end && gather_.size() < kGather; ++it) {
        boost::asio::const_buffer b(*it);
        size_t take = std::min(b.size(), kGather - gather_.size());
        auto* p = static_cast<const char*>(b.data());
        gather_.insert(gather_.end(), p, p + take);
      }
      data = gather_.data();
      size = gather_.size();
    }
    return run(
        [this, data, size](size_t& n) {
          if (size == 0) return SSL_ERROR_NONE;
          int r = SSL_write_ex(ssl_, data, size, &n);
          return r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
        },
        std::forward<Token>(token));
  }

 private:
  static constexpr int kReadAhead = 64 * 1024;
  static constexpr size_t kGather = 16 * 1024;

  // One OpenSSL call per readiness of the socket, until it no longer wants to wait. The
  // completion is never invoked from inside the initiating call (Asio's rule).
  template <typename Try, bool kWithSize>
  struct Op {
    Op(TlsSocket* socket, Try a) : s(socket), attempt(std::move(a)) {}
    TlsSocket* s;
    Try attempt;  // int(size_t& n): SSL_ERROR_NONE when done, else SSL_get_error's code
    enum class State { kStart, kWaiting, kPosted } state = State::kStart;
    error_code result;
    size_t n = 0;

    template <typename Self>
    void finish(Self& self, error_code e) {
      if constexpr (kWithSize) {
        self.complete(e, n);
      } else {
        self.complete(e);
      }
    }
    template <typename Self>
    void operator()(Self& self, error_code ec = {}) {
      if (state == State::kPosted) return finish(self, result);
      if (ec) {  // the wait was cancelled, or the socket failed
        n = 0;
        return finish(self, ec);
      }
      ERR_clear_error();
      errno = 0;
      n = 0;
      int e = attempt(n);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        state = State::kWaiting;
        s->sock_.async_wait(e == SSL_ERROR_WANT_READ ? Socket::wait_read : Socket::wait_write,
                            std::move(self));
        return;
      }
      result = e == SSL_ERROR_NONE ? error_code() : to_error(e);
      if (state == State::kStart) {
        state = State::kPosted;
        boost::asio::post(s->sock_.get_executor(), std::move(self));
        return;
      }
      finish(self, result);
    }
  };

  template <typename Try, typename Token>
  auto run(Try attempt, Token&& token) {
    return boost::asio::async_compose<Token, void(error_code, size_t)>(
        Op<Try, true>(this, std::move(attempt)), token, sock_);
  }
  template <typename Try, typename Token>
  auto run_void(Try attempt, Token&& token) {
    return boost::asio::async_compose<Token, void(error_code)>(
        Op<Try, false>(this, std::move(attempt)), token, sock_);
  }

  // OpenSSL's verdict as an error code, as asio::ssl reports them: the end of the stream as
  // eof, a peer that vanished without close_notify as stream_truncated.
  static error_code to_error(int e) {
    if (e == SSL_ERROR_ZERO_RETURN) return boost::asio::error::eof;
    unsigned long err = ERR_peek_last_error();
    if (e == SSL_ERROR_SYSCALL) {
      if (errno != 0 && err == 0) return error_code(errno, boost::system::system_category());
      return boost::asio::ssl::error::stream_truncated;
    }
    if (ERR_GET_LIB(err) == ERR_LIB_SSL &&
        ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      return boost::asio::ssl::error::stream_truncated;
    }
    if (err == 0) return boost::asio::error::operation_not_supported;
    return error_code(static_cast<int>(err), boost::asio::error::get_ssl_category());
  }

  Socket sock_;
  SSL* ssl_;
  std::vector<char> gather_;
};

}  // namespace kura::server
