#include "repo/compress.h"

// For ZSTD_initStaticCCtx / ZSTD_estimateCCtxSize (exported by Debian's libzstd).
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <cstdio>
#include <memory>

namespace kura::repo {
namespace {

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

ZSTD_CCtx* thread_cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> ctx(ZSTD_createCCtx());
  return ctx.get();
}

// The default level's context, in a workspace of its own sized for any input: a dynamic
// context shrinks its workspace after a run of small files and grows it again for the next
// large one, and each time the new memory costs page faults (about half of a first backup's).
constexpr int kStaticLevel = 3;
struct StaticCCtx {
  StaticCCtx() {
    size_t size = ZSTD_estimateCCtxSize(kStaticLevel);
    workspace.reserve(size);
    ctx = ZSTD_initStaticCCtx(workspace.data(), size);
  }
  base::ScratchBuffer workspace;
  ZSTD_CCtx* ctx = nullptr;  // lives in workspace; null if zstd refused it
};
ZSTD_CCtx* static_cctx() {
  thread_local StaticCCtx s;
  return s.ctx;
}
ZSTD_DCtx* thread_dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> ctx(ZSTD_createDCtx());
  return ctx.get();
}

base::Status zstd_error(size_t rc) {
  return base::data_loss(std::string("zstd: ") + ZSTD_getErrorName(rc));
}

}  // namespace

base::StatusOr<CompressionMode> parse_compression_mode(std::string_view s) {
  if (s == "auto") return CompressionMode::kAuto;
  if (s == "off") return CompressionMode::kOff;
  if (s == "max") return CompressionMode::kMax;
  return base::invalid_argument("invalid compression mode \"" + std::string(s) +
                                "\" (want auto, off or max)");
}

int zstd_level(CompressionMode mode) {
  switch (mode) {
    case CompressionMode::kAuto: return 3;
    case CompressionMode::kMax: return 19;
    case CompressionMode::kOff: return 0;
  }
  return 3;
}

size_t zstd_compress_bound(size_t n) { return ZSTD_compressBound(n); }

size_t zstd_compress_into(base::ByteSpan data, int level, base::MutableByteSpan out) {
  auto compress = [&](ZSTD_CCtx* c) {
    ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
    return ZSTD_compress2(c, out.data(), out.size(), data.data(), data.size());
  };
  ZSTD_CCtx* fixed = level == kStaticLevel ? static_cctx() : nullptr;
  size_t n = fixed ? compress(fixed) : 0;
  // Other levels, or a static workspace too small after all: the dynamic context.
  if (!fixed || ZSTD_isError(n)) n = compress(thread_cctx());
  if (ZSTD_isError(n)) {
    // Cannot happen with a compressBound-sized buffer; treat as a programming error.
    std::fprintf(stderr, "kura: fatal: zstd_compress_into: %s\n", ZSTD_getErrorName(n));
    std::abort();
  }
  return n;
}

void zstd_compress(base::ByteSpan data, int level, base::Bytes& out) {
  size_t start = out.size();
  out.resize(start + ZSTD_compressBound(data.size()));
  size_t n = zstd_compress_into(data, level, base::MutableByteSpan(out).subspan(start));
  out.resize(start + n);
}

base::StatusOr<base::Bytes> zstd_decompress(base::ByteSpan frame, size_t max_size) {
  ZSTD_DCtx* d = thread_dctx();
  ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
  base::Bytes out;
  unsigned long long hint = ZSTD_getFrameContentSize(frame.data(), frame.size());
  size_t cap = (hint != ZSTD_CONTENTSIZE_UNKNOWN && hint != ZSTD_CONTENTSIZE_ERROR &&
                hint <= max_size)
                   ? static_cast<size_t>(hint)
                   : std::min<size_t>(max_size, std::max<size_t>(frame.size() * 4, 4096));
  out.resize(std::max<size_t>(cap, 1));
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  size_t produced = 0;
  size_t rc = 1;
  while (true) {
    ZSTD_outBuffer o{out.data(), out.size(), produced};
    rc = ZSTD_decompressStream(d, &o, &in);
    if (ZSTD_isError(rc)) return zstd_error(rc);
    produced = o.pos;
    if (in.pos == in.size && rc == 0) break;
    if (o.pos == o.size) {
      if (out.size() >= max_size) return base::data_loss("zstd: decompressed data is too large");
      out.resize(std::min<size_t>(max_size, out.size() * 2));
    } else if (in.pos == in.size) {
      return base::data_loss("zstd: truncated frame");
    }
  }
  out.resize(produced);
  return out;
}

std::optional<uint64_t> zstd_content_size(base::ByteSpan frame) {
  unsigned long long n = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR) return std::nullopt;
  return static_cast<uint64_t>(n);
}

base::Status zstd_decompress_into(base::ByteSpan frame, base::MutableByteSpan out) {
  ZSTD_DCtx* d = thread_dctx();
  ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  while (true) {
    size_t rc = ZSTD_decompressStream(d, &o, &in);
    if (ZSTD_isError(rc)) return zstd_error(rc);
    if (rc == 0 && in.pos == in.size) break;
    if (o.pos == o.size) {
      // Output full: any further byte would be too much.
      uint8_t extra;
      ZSTD_outBuffer x{&extra, 1, 0};
      rc = ZSTD_decompressStream(d, &x, &in);
      if (ZSTD_isError(rc)) return zstd_error(rc);
      if (x.pos != 0) return base::data_loss("zstd: blob is longer than its recorded length");
      if (rc == 0 && in.pos == in.size) break;
      if (in.pos == in.size) return base::data_loss("zstd: truncated frame");
      continue;
    }
    if (in.pos == in.size) return base::data_loss("zstd: truncated frame");
  }
  if (o.pos != out.size()) return base::data_loss("zstd: blob is shorter than its recorded length");
  return base::ok_status();
}

}  // namespace kura::repo
