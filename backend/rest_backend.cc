#include "backend/rest_backend.h"

#include <curl/curl.h>

#include <array>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace kura::backend {
namespace {

constexpr char kContentTypeV2[] = "application/vnd.x.restic.rest.v2";
constexpr char kAcceptV2[] = "Accept: application/vnd.x.restic.rest.v2";
constexpr size_t kMaxErrorBody = 4096;

struct CurlEasyFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyFree>;

struct CurlShareFree {
  void operator()(CURLSH* s) const { curl_share_cleanup(s); }
};
using CurlShare = std::unique_ptr<CURLSH, CurlShareFree>;

struct CurlSlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistFree>;

struct CurlUrlFree {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlFree>;

struct CurlStringFree {
  void operator()(char* p) const { curl_free(p); }
};
using CurlString = std::unique_ptr<char, CurlStringFree>;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i], b = prefix[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

// A short printable excerpt of a server's error body, for messages.
std::string body_excerpt(const base::Bytes& body) {
  std::string s;
  for (uint8_t c : body) {
    if (s.size() >= 200) {
      s += "...";
      break;
    }
    s += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : ' ';
  }
  size_t b = s.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(' ');
  return s.substr(b, e - b + 1);
}

// Parses "bytes <first>-<last>/<total|*>"; total is -1 when unknown.
bool parse_content_range(std::string_view v, uint64_t* first, int64_t* total) {
  constexpr std::string_view kPrefix = "bytes ";
  if (!starts_with_icase(v, kPrefix)) return false;
  v.remove_prefix(kPrefix.size());
  auto number = [&v](uint64_t* out) {
    size_t i = 0;
    uint64_t n = 0;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') {
      if (n > (std::numeric_limits<uint64_t>::max() - 9) / 10) return false;
      n = n * 10 + static_cast<uint64_t>(v[i] - '0');
      ++i;
    }
    if (i == 0) return false;
    v.remove_prefix(i);
    *out = n;
    return true;
  };
  uint64_t last = 0;
  if (!number(first) || v.empty() || v[0] != '-') return false;
  v.remove_prefix(1);
  if (!number(&last) || v.empty() || v[0] != '/') return false;
  v.remove_prefix(1);
  if (v == "*") {
    *total = -1;
    return true;
  }
  uint64_t t = 0;
  if (!number(&t) || !v.empty() || t > uint64_t(std::numeric_limits<int64_t>::max())) {
    return false;
  }
  *total = static_cast<int64_t>(t);
  return true;
}

enum class Op { kCreate, kStat, kSave, kLoad, kRemove, kList };

// Maps a non-success HTTP status to a Status that says what failed on which object.
base::Status http_error(Op op, long code, std::string_view what, const base::Bytes& body) {
  std::string m(what);
  m += ": HTTP " + std::to_string(code);
  std::string excerpt = body_excerpt(body);
  auto with_body = [&](std::string text) {
    if (!excerpt.empty()) text += " (server said: " + excerpt + ")";
    return text;
  };
  switch (code) {
    case 404: return base::not_found(m + ": no such file");
    case 401: return base::unauthenticated(with_body(m + ": server refused credentials"));
    case 403:
      if (op == Op::kSave) return base::already_exists(with_body(m + ": file exists"));
      if (op == Op::kRemove) {
        return base::permission_denied(
            with_body(m + ": server refused to delete (append-only mode?)"));
      }
      return base::permission_denied(with_body(m + ": forbidden"));
    case 416: return base::data_loss(m + ": range starts past the end of the file");
    case 507:
      return base::resource_exhausted(with_body(m + ": server storage full or quota exceeded"));
    case 408:
    case 429: return base::unavailable(with_body(m + ": server busy"));
    default: break;
  }
  if (code >= 500 && code <= 599) return base::unavailable(with_body(m + ": server error"));
  if (code == 400 || code == 411 || code == 413) {
    return base::invalid_argument(with_body(m + ": server rejected the request"));
  }
  return base::internal_error(with_body(m + ": unexpected response status"));
}

struct Response {
  long status = 0;
  std::string content_type;
  std::string content_range;
  int64_t content_length = -1;  // from the headers; -1 when absent
  base::Bytes body;
};

// Where a response body goes. For ranged reads it drops the bytes before the offset when the
// server ignored the Range header (200), and stops once it has what was asked for.
struct Sink {
  CURL* curl = nullptr;
  Response* response = nullptr;
  uint64_t range_offset = 0;
  uint64_t range_length = 0;  // 0: unbounded
  bool ranged = false;
  bool decided = false;
  uint64_t skip = 0;
  uint64_t limit = std::numeric_limits<uint64_t>::max();
  bool success = false;
  bool stopped_early = false;  // we have everything we asked for
  bool overflow = false;       // a 206 longer than the range

  size_t write(const char* data, size_t n) {
    if (!decided) {
      decided = true;
      long code = 0;
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
      success = code >= 200 && code <= 299;
      if (!success) {
        limit = kMaxErrorBody;
      } else if (ranged && code != 206) {
        // The server sent the whole file: keep only [offset, offset + length).
        skip = range_offset;
        if (range_length > 0) limit = range_length;
      } else if (ranged && range_length > 0) {
        limit = range_length;
      }
    }
    size_t used = 0;
    if (skip > 0) {
      size_t s = static_cast<size_t>(std::min<uint64_t>(skip, n));
      skip -= s;
      used = s;
    }
    base::Bytes& body = response->body;
    size_t room = static_cast<size_t>(std::min<uint64_t>(limit - body.size(), n - used));
    body.insert(body.end(), data + used, data + used + room);
    used += room;
    if (used < n) {
      if (!success) return n;  // an excerpt of an error body is enough; drain the rest
      long code = 0;
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
      if (code == 206) {
        overflow = true;
      } else {
        stopped_early = true;
      }
      return 0;  // abort the transfer
    }
    return n;
  }

  static size_t callback(char* data, size_t size, size_t nmemb, void* self) {
    return static_cast<Sink*>(self)->write(data, size * nmemb);
  }
};

// Feeds a staged file to libcurl as a request body. Reads fail the transfer with the error
// kept for the message; curl may rewind (a redirect, an auth round trip).
struct Source {
  StagedFile* file = nullptr;
  uint64_t offset = 0;
  base::Status error;

  static size_t read(char* out, size_t size, size_t nmemb, void* self) {
    auto* s = static_cast<Source*>(self);
    auto n = s->file->read_at(s->offset, base::MutableByteSpan(reinterpret_cast<uint8_t*>(out),
                                                               size * nmemb));
    if (!n.ok()) {
      s->error = n.status();
      return CURL_READFUNC_ABORT;
    }
    s->offset += *n;
    return *n;
  }
  static int seek(void* self, curl_off_t offset, int origin) {
    auto* s = static_cast<Source*>(self);
    if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
    s->offset = static_cast<uint64_t>(offset);
    return CURL_SEEKFUNC_OK;
  }
};

struct Request {
  const char* method = "GET";  // GET, HEAD, POST or DELETE
  std::string url;
  base::ByteSpan body;                // POST only
  StagedFile* upload = nullptr;       // POST only: the body comes from this file instead
  const char* content_type = nullptr; // POST only
  bool accept_v2 = true;
  bool ranged = false;
  uint64_t offset = 0;
  uint64_t length = 0;
};

class RestBackend : public Backend {
 public:
  RestBackend(RestOptions options, std::string base_url, std::string username,
              std::string password)
      : options_(std::move(options)),
        base_url_(std::move(base_url)),
        username_(std::move(username)),
        password_(std::move(password)) {
    if (options_.connections < 1) options_.connections = 1;
    init_share();
  }

  std::string location() const override { return "rest:" + base_url_; }
  int parallelism() const override { return options_.connections; }

  base::Status create() override {
    Request r;
    r.method = "POST";
    r.url = base_url_ + "?create=true";
    r.content_type = "Content-Type: binary/octet-stream";
    r.accept_v2 = false;  // restic sends none on create
    ASSIGN_OR_RETURN(Response resp, perform(r, "create repository at " + location()));
    if (resp.status < 200 || resp.status > 299) {
      return http_error(Op::kCreate, resp.status, "create repository at " + location(),
                        resp.body);
    }
    return base::ok_status();
  }

  base::StatusOr<uint64_t> stat(const Handle& h) override {
    RETURN_IF_ERROR(check_handle(h));
    return head(h.to_string(), url_of(h), "stat " + h.to_string());
  }

  base::Status save(const Handle& h, base::ByteSpan data) override {
    Request r;
    r.body = data;
    return post(h, r);
  }

  // Streams the file from disk: a pack in flight costs no memory.
  base::Status save_staged(const Handle& h, StagedFile& file) override {
    Request r;
    r.upload = &file;
    return post(h, r);
  }

  base::Status post(const Handle& h, Request& r) {
    RETURN_IF_ERROR(check_handle(h));
    std::string what = "save " + h.to_string();
    r.method = "POST";
    r.url = url_of(h);
    r.content_type = "Content-Type: application/octet-stream";
    ASSIGN_OR_RETURN(Response resp, perform(r, what));
    if (resp.status < 200 || resp.status > 299) {
      return http_error(Op::kSave, resp.status, what, resp.body);
    }
    return base::ok_status();
  }

  base::StatusOr<base::Bytes> load(const Handle& h, uint64_t offset, uint64_t length) override {
    RETURN_IF_ERROR(check_handle(h));
    std::string what = "load " + h.to_string();
    Request r;
    r.url = url_of(h);
    r.ranged = offset != 0 || length != 0;
    r.offset = offset;
    r.length = length;
    ASSIGN_OR_RETURN(Response resp, perform(r, what));
    if (resp.status != 200 && resp.status != 206) {
      return http_error(Op::kLoad, resp.status, what, resp.body);
    }
    return check_loaded(h, offset, length, std::move(resp));
  }

  base::Status remove(const Handle& h) override {
    RETURN_IF_ERROR(check_handle(h));
    std::string what = "remove " + h.to_string();
    Request r;
    r.method = "DELETE";
    r.url = url_of(h);
    ASSIGN_OR_RETURN(Response resp, perform(r, what));
    if (resp.status == 404) return base::ok_status();  // removing a missing file succeeds
    if (resp.status < 200 || resp.status > 299) {
      return http_error(Op::kRemove, resp.status, what, resp.body);
    }
    return base::ok_status();
  }

  base::Status list(FileKind kind,
                    const std::function<base::Status(const FileEntry&)>& fn) override {
    if (kind == FileKind::kConfig) return base::invalid_argument("list: config is not a folder");
    std::string dir(kind_dir(kind));
    std::string what = "list " + dir;
    Request r;
    r.url = base_url_ + dir + "/";
    ASSIGN_OR_RETURN(Response resp, perform(r, what));
    if (resp.status == 404) return base::ok_status();  // no folder yet: nothing stored
    if (resp.status != 200) return http_error(Op::kList, resp.status, what, resp.body);
    std::vector<FileEntry> entries;
    bool v2 = resp.content_type == kContentTypeV2;
    RETURN_IF_ERROR(parse_listing(resp.body, v2, what, &entries));
    for (FileEntry& e : entries) {
      if (!v2) {
        // v1 listings carry no sizes: ask for each, as restic does.
        Handle h{kind, e.name};
        auto size = head(h.to_string(), url_of(h), what + ": stat " + h.to_string());
        if (!size.ok()) {
          if (size.status().code() == base::Code::kNotFound) continue;  // removed meanwhile
          return size.status();
        }
        e.size = *size;
      }
      RETURN_IF_ERROR(fn(e));
    }
    return base::ok_status();
  }

 private:
  std::string url_of(const Handle& h) const {
    if (h.kind == FileKind::kConfig) return base_url_ + "config";
    std::string u = base_url_;
    u += kind_dir(h.kind);
    u += '/';
    u += h.name;
    return u;
  }

  base::StatusOr<uint64_t> head(const std::string& file, const std::string& url,
                                const std::string& what) {
    Request r;
    r.method = "HEAD";
    r.url = url;
    ASSIGN_OR_RETURN(Response resp, perform(r, what));
    if (resp.status == 401 || resp.status == 403 || resp.status == 507) {
      resp.body = refusal_reason(url, resp.status, what);
    }
    if (resp.status != 200) return http_error(Op::kStat, resp.status, what, resp.body);
    if (resp.content_length < 0) {
      return base::data_loss(what + ": server sent no Content-Length for " + file);
    }
    return static_cast<uint64_t>(resp.content_length);
  }

  // A refusal of a HEAD request carries no body, so the server's reason (revoked, not
  // allowed, quota) would be lost: a one-byte GET of the same URL fetches it. Empty when that
  // request is answered differently.
  base::Bytes refusal_reason(const std::string& url, long status, const std::string& what) {
    Request r;
    r.url = url;
    r.ranged = true;
    r.length = 1;
    auto again = perform(r, what);
    if (!again.ok() || again->status != status) return {};
    return std::move(again->body);
  }

  base::StatusOr<base::Bytes> check_loaded(const Handle& h, uint64_t offset, uint64_t length,
                                           Response resp) {
    std::string what = "load " + h.to_string();
    base::Bytes& body = resp.body;
    if (resp.status == 206 && !resp.content_range.empty()) {
      uint64_t first = 0;
      int64_t total = -1;
      if (!parse_content_range(resp.content_range, &first, &total)) {
        return base::data_loss(what + ": unparsable Content-Range \"" +
                               body_excerpt(base::to_bytes(resp.content_range)) + "\"");
      }
      if (first != offset) {
        return base::data_loss(what + ": server sent the range at " + std::to_string(first) +
                               ", asked for " + std::to_string(offset));
      }
      if (total >= 0) {
        // Checks the range against the size the server reports (some servers answer a range
        // past the end with an empty 206 instead of 416).
        ASSIGN_OR_RETURN(uint64_t want,
                         range_length(h, static_cast<uint64_t>(total), offset, length));
        if (body.size() != want) return short_read(what, body.size(), want);
        return std::move(body);
      }
    }
    if (resp.status == 200 && offset > 0 && resp.content_length >= 0 &&
        static_cast<uint64_t>(resp.content_length) < offset) {
      return range_length(h, static_cast<uint64_t>(resp.content_length), offset, length)
          .status();
    }
    if (length > 0 && body.size() != length) return short_read(what, body.size(), length);
    return std::move(body);
  }

  static base::Status short_read(const std::string& what, uint64_t got, uint64_t want) {
    return base::data_loss(what + ": server sent " + std::to_string(got) + " bytes, expected " +
                           std::to_string(want));
  }

  static base::Status parse_listing(const base::Bytes& body, bool v2, const std::string& what,
                                    std::vector<FileEntry>* out) {
    using nlohmann::json;
    const char* version = v2 ? "v2" : "v1";
    json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      return base::data_loss(what + ": server sent an invalid " + std::string(version) +
                             " listing (not JSON): " + body_excerpt(body));
    }
    if (doc.is_null()) return base::ok_status();  // old servers list an empty folder as null
    if (!doc.is_array()) {
      return base::data_loss(what + ": server sent a " + std::string(version) +
                             " listing that is not a JSON array: " + body_excerpt(body));
    }
    size_t index = 0;
    for (const json& item : doc) {
      FileEntry e;
      auto bad = [&](const char* why) {
        return base::data_loss(what + ": entry " + std::to_string(index) + " of the " +
                               version + " listing " + why);
      };
      if (v2) {
        if (!item.is_object()) return bad("is not an object");
        auto name = item.find("name");
        auto size = item.find("size");
        if (name == item.end() || !name->is_string()) return bad("has no string \"name\"");
        if (size == item.end() || !size->is_number_integer()) {
          return bad("has no integer \"size\"");
        }
        if (size->is_number_unsigned()) {
          e.size = size->get<uint64_t>();
        } else {
          int64_t s = size->get<int64_t>();
          if (s < 0) return bad("has a negative size");
          e.size = static_cast<uint64_t>(s);
        }
        e.name = name->get<std::string>();
      } else {
        if (!item.is_string()) return bad("is not a string");
        e.name = item.get<std::string>();
      }
      ++index;
      // Stray names (not 64 lowercase hex) cannot be addressed; skip them like the local
      // backend skips stray files.
      if (is_valid_name(e.name)) out->push_back(std::move(e));
    }
    return base::ok_status();
  }

  // ---- transport ----

  struct Share {
    CurlShare handle;
    std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;
  };

  static void share_lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Share*>(user)->locks[data].lock();
  }
  static void share_unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Share*>(user)->locks[data].unlock();
  }

  void init_share() {
    global_init();
    share_ = std::make_unique<Share>();
    share_->handle.reset(curl_share_init());
    if (!share_->handle) return;  // sharing is an optimisation only
    CURLSH* s = share_->handle.get();
    curl_share_setopt(s, CURLSHOPT_LOCKFUNC, &RestBackend::share_lock);
    curl_share_setopt(s, CURLSHOPT_UNLOCKFUNC, &RestBackend::share_unlock);
    curl_share_setopt(s, CURLSHOPT_USERDATA, share_.get());
    // Not CURL_LOCK_DATA_CONNECT: libcurl's shared connection cache is not safe across
    // threads. Each pooled handle keeps its own connection alive instead.
    curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }

  CurlEasy acquire() {
    std::unique_lock lock(pool_mu_);
    pool_cv_.wait(lock, [this] { return active_ < options_.connections; });
    ++active_;
    if (!idle_.empty()) {
      CurlEasy h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
    lock.unlock();
    return CurlEasy(curl_easy_init());
  }

  void release(CurlEasy h) {
    std::lock_guard lock(pool_mu_);
    if (h) idle_.push_back(std::move(h));
    --active_;
    pool_cv_.notify_one();
  }

  base::StatusOr<Response> perform(const Request& req, const std::string& what) {
    CurlEasy h = acquire();
    if (!h) {
      release(nullptr);
      return base::resource_exhausted(what + ": cannot allocate a libcurl handle");
    }
    auto result = perform_on(h.get(), req, what);
    release(std::move(h));
    return result;
  }

  base::StatusOr<Response> perform_on(CURL* c, const Request& req, const std::string& what) {
    // Reset clears options but keeps the handle's live connection, so requests reuse it.
    curl_easy_reset(c);
    Response resp;
    Sink sink;
    Source source;
    sink.curl = c;
    sink.response = &resp;
    sink.ranged = req.ranged;
    sink.range_offset = req.offset;
    sink.range_length = req.length;
    char errbuf[CURL_ERROR_SIZE] = {0};

    CurlSlist headers;
    auto add_header = [&headers](const char* line) {
      curl_slist* l = curl_slist_append(headers.get(), line);
      if (l) {
        (void)headers.release();
        headers.reset(l);
      }
    };
    if (req.accept_v2) add_header(kAcceptV2);
    if (req.content_type) add_header(req.content_type);
    std::string range;
    if (req.ranged) {
      range = std::to_string(req.offset) + "-";
      if (req.length > 0) range += std::to_string(req.offset + req.length - 1);
    }

    curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (share_->handle) curl_easy_setopt(c, CURLOPT_SHARE, share_->handle.get());
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, long{CURL_HTTP_VERSION_2TLS});
    curl_easy_setopt(c, CURLOPT_USERAGENT, "kura/0.1");
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, long{options_.connect_timeout_s});
    if (options_.stall_timeout_s > 0) {
      curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, long{options_.stall_timeout_s});
    }
    if (options_.request_timeout_s > 0) {
      curl_easy_setopt(c, CURLOPT_TIMEOUT, long{options_.request_timeout_s});
    }
    if (!username_.empty() || !password_.empty()) {
      curl_easy_setopt(c, CURLOPT_HTTPAUTH, long{CURLAUTH_BASIC});
      curl_easy_setopt(c, CURLOPT_USERNAME, username_.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, password_.c_str());
    }
    if (!options_.cacert.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.cacert.c_str());
    if (options_.insecure_tls) {
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!options_.tls_client_cert.empty()) {
      curl_easy_setopt(c, CURLOPT_SSLCERT, options_.tls_client_cert.c_str());
      curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(c, CURLOPT_SSLKEY, options_.tls_client_cert.c_str());
      curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    }
    std::string_view method = req.method;
    if (method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (method == "POST") {
      // An explicit Content-Length, never chunked, and no "Expect: 100-continue" round trip.
      add_header("Expect:");
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      if (req.upload) {
        source.file = req.upload;
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(req.upload->size()));
        curl_easy_setopt(c, CURLOPT_READFUNCTION, &Source::read);
        curl_easy_setopt(c, CURLOPT_READDATA, &source);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, &Source::seek);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, &source);
      } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(req.body.size()));
        static const char kEmpty[] = "";
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.empty()
                                                    ? kEmpty
                                                    : reinterpret_cast<const char*>(req.body.data()));
      }
    } else if (method == "DELETE") {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    if (!range.empty()) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
    if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Sink::callback);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    if (method == "GET" && req.ranged && req.length > 0 && req.length < (64u << 20)) {
      resp.body.reserve(static_cast<size_t>(req.length));
    }

    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
    curl_off_t cl = -1;
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK) {
      resp.content_length = cl;
    }
    char* ct = nullptr;
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) resp.content_type = ct;
    curl_header* hdr = nullptr;
    if (curl_easy_header(c, "Content-Range", 0, CURLH_HEADER, -1, &hdr) == CURLHE_OK && hdr) {
      resp.content_range = hdr->value;
    }
    if (rc == CURLE_WRITE_ERROR && sink.stopped_early) rc = CURLE_OK;
    if (rc == CURLE_WRITE_ERROR && sink.overflow) {
      return base::data_loss(what + ": server sent more bytes than the " +
                             std::to_string(req.length) + " requested");
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK && !source.error.ok()) {
      return source.error.with_context(what);
    }
    if (rc != CURLE_OK) return transport_error(rc, errbuf, what);
    return resp;
  }

  base::Status transport_error(CURLcode rc, const char* errbuf, const std::string& what) const {
    std::string m = what + ": " + curl_easy_strerror(rc);
    if (errbuf[0] && std::strcmp(errbuf, curl_easy_strerror(rc)) != 0) {
      std::string detail(errbuf);
      while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) {
        detail.pop_back();
      }
      m += " (" + detail + ")";
    }
    m += " [" + location() + "]";
    switch (rc) {
      case CURLE_SSL_CACERT_BADFILE:
        return base::failed_precondition(m + ": cannot use CA file " + options_.cacert);
      case CURLE_SSL_CERTPROBLEM:
        return base::failed_precondition(m + ": cannot use client certificate " +
                                         options_.tls_client_cert);
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_ENGINE_NOTFOUND:
      case CURLE_SSL_ENGINE_SETFAILED:
      case CURLE_SSL_CRL_BADFILE: return base::failed_precondition(m);
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_URL_MALFORMAT: return base::invalid_argument(m);
      case CURLE_OUT_OF_MEMORY: return base::resource_exhausted(m);
      case CURLE_ABORTED_BY_CALLBACK: return base::cancelled(m);
      case CURLE_WRITE_ERROR:
      case CURLE_BAD_FUNCTION_ARGUMENT:
      case CURLE_UNKNOWN_OPTION: return base::internal_error(m);
      default: return base::unavailable(m);  // connection, timeout, reset, partial body...
    }
  }

  RestOptions options_;
  std::string base_url_;  // scheme://host:port/prefix/ without credentials
  std::string username_;
  std::string password_;

  // The share outlives the handles that use it (members are destroyed in reverse order).
  std::unique_ptr<Share> share_;
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<CurlEasy> idle_;
  int active_ = 0;
};

base::StatusOr<std::string> url_part(CURLU* u, CURLUPart part, unsigned flags) {
  char* p = nullptr;
  CURLUcode rc = curl_url_get(u, part, &p, flags);
  CurlString owned(p);
  if (rc != CURLUE_OK || !p) return base::not_found("no such URL part");
  return std::string(p);
}

}  // namespace

std::string redact_url(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  size_t host = scheme + 3;
  size_t end = url.find_first_of("/?#", host);
  if (end == std::string_view::npos) end = url.size();
  size_t at = url.substr(host, end - host).rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, host));
  out += url.substr(host + at + 1);
  return out;
}

base::StatusOr<std::unique_ptr<Backend>> open_rest(const RestOptions& options) {
  global_init();
  std::string_view spec = options.url;
  if (spec.starts_with("rest:")) spec.remove_prefix(5);
  std::string shown = "rest:" + redact_url(spec);
  if (!starts_with_icase(spec, "http://") && !starts_with_icase(spec, "https://")) {
    return base::invalid_argument("REST repository URL " + shown +
                                  ": want rest:http(s)://host:port/[prefix/]");
  }
  CurlUrl u(curl_url());
  if (!u) return base::resource_exhausted("cannot allocate a libcurl URL");
  std::string text(spec);
  if (curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return base::invalid_argument("REST repository URL " + shown + " is malformed");
  }
  if (url_part(u.get(), CURLUPART_QUERY, 0).ok() ||
      url_part(u.get(), CURLUPART_FRAGMENT, 0).ok()) {
    return base::invalid_argument("REST repository URL " + shown +
                                  " must not have a query or fragment");
  }
  if (!url_part(u.get(), CURLUPART_HOST, 0).ok()) {
    return base::invalid_argument("REST repository URL " + shown + " has no host");
  }
  std::string user = url_part(u.get(), CURLUPART_USER, CURLU_URLDECODE).ok()
                         ? *url_part(u.get(), CURLUPART_USER, CURLU_URLDECODE)
                         : "";
  std::string password = url_part(u.get(), CURLUPART_PASSWORD, CURLU_URLDECODE).ok()
                             ? *url_part(u.get(), CURLUPART_PASSWORD, CURLU_URLDECODE)
                             : "";
  if (!options.username.empty()) user = options.username;
  if (!options.password.empty()) password = options.password;
  curl_url_set(u.get(), CURLUPART_USER, nullptr, 0);
  curl_url_set(u.get(), CURLUPART_PASSWORD, nullptr, 0);
  curl_url_set(u.get(), CURLUPART_OPTIONS, nullptr, 0);
  std::string path = url_part(u.get(), CURLUPART_PATH, 0).ok()
                         ? *url_part(u.get(), CURLUPART_PATH, 0)
                         : "/";
  if (path.empty() || path.back() != '/') {
    path += '/';
    curl_url_set(u.get(), CURLUPART_PATH, path.c_str(), 0);
  }
  auto base = url_part(u.get(), CURLUPART_URL, 0);
  if (!base.ok()) return base::invalid_argument("REST repository URL " + shown + " is malformed");
  return std::unique_ptr<Backend>(std::make_unique<RestBackend>(options, *std::move(base),
                                                                std::move(user),
                                                                std::move(password)));
}

}  // namespace kura::backend
