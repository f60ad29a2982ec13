// zstd, as restic v2 uses it for blobs and unpacked files (RESTIC_FORMAT.md §4, §5.3).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace kura::repo {

// --compression auto|off|max, as restic. auto = zstd level 3, max = level 19.
enum class CompressionMode { kAuto, kOff, kMax };
base::StatusOr<CompressionMode> parse_compression_mode(std::string_view s);
int zstd_level(CompressionMode mode);

// The most bytes zstd_compress can append for n bytes of input.
size_t zstd_compress_bound(size_t n);

// Appends the zstd frame of data to out. Uses a per-thread context.
void zstd_compress(base::ByteSpan data, int level, base::Bytes& out);
// Writes the frame to out, which has room for zstd_compress_bound(data.size()) bytes, and
// returns its size.
size_t zstd_compress_into(base::ByteSpan data, int level, base::MutableByteSpan out);

// Decompresses one or more zstd frames (with or without a content size in the header, as
// restic writes small frames without one). Output larger than max_size is data_loss, as is
// any malformed input.
base::StatusOr<base::Bytes> zstd_decompress(base::ByteSpan frame, size_t max_size);
// Into a buffer whose size is known (the blob's uncompressed length): exact size required.
base::Status zstd_decompress_into(base::ByteSpan frame, base::MutableByteSpan out);
// The decompressed size a frame's header records, if it records one.
std::optional<uint64_t> zstd_content_size(base::ByteSpan frame);

}  // namespace kura::repo
