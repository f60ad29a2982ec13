// Pack files: the plaintext header decoder, the tail parser (length, MAC, header) and
// crypto::open itself.
//
// Input: one flags byte, then the payload.
//   flags bit 0     repository version: 0 -> 1, 1 -> 2
//   flags bits 1-2  0: payload = data_end (LE32) || plaintext header -> decode_pack_header
//                   1: payload = a whole pack file                   -> parse_pack_tail
//                   2: payload = the last bytes of a pack file that is (flags >> 3) * 4096
//                      bytes longer                                  -> parse_pack_tail
//                   3: payload = IV || ciphertext || MAC             -> open / open_into
#include <cstddef>
#include <cstdint>
#include <memory>

#include "crypto/crypto.h"
#include "crypto/random.h"
#include "fuzz/fuzz_common.h"
#include "repo/pack.h"

namespace kura::fuzz {
namespace {

using repo::PackedBlob;

// Anything decode_pack_header accepts must re-encode to the very bytes it came from, and the
// blobs must tile [0, data_end).
void check_header(const std::vector<PackedBlob>& blobs, base::ByteSpan plain, int version,
                  uint64_t data_end) {
  base::Bytes again;
  uint64_t offset = 0;
  for (const PackedBlob& b : blobs) {
    FUZZ_CHECK(b.offset == offset);
    FUZZ_CHECK(b.length >= crypto::kCiphertextOverhead);
    FUZZ_CHECK(version >= 2 || !b.compressed());
    offset += b.length;
    uint8_t e[repo::kCompressedHeaderEntrySize];
    size_t n = 0;
    e[n++] = uint8_t(uint8_t(b.type) + (b.compressed() ? 2 : 0));
    base::store_le32(e + n, b.length);
    n += 4;
    if (b.compressed()) {
      base::store_le32(e + n, b.uncompressed_length);
      n += 4;
    }
    std::copy(b.id.bytes.begin(), b.id.bytes.end(), e + n);
    n += 32;
    again.insert(again.end(), e, e + n);
  }
  FUZZ_CHECK(offset == data_end);
  FUZZ_CHECK(again.size() == plain.size() && std::equal(again.begin(), again.end(), plain.begin()));
}

// A pack PackBuilder writes for the same blobs must parse back to them. Only for small packs:
// the blob bodies are allocated for real.
void check_builder_round_trip(const std::vector<PackedBlob>& blobs, int version,
                              uint64_t data_end) {
  if (data_end > (1u << 16)) return;
  repo::PackBuilder builder(data_end);
  base::Bytes body;
  for (const PackedBlob& b : blobs) {
    body.assign(b.length, uint8_t(b.offset));
    builder.add(b.id, b.type, body, b.uncompressed_length);
  }
  FUZZ_CHECK(builder.blobs() == blobs);
  auto random = crypto::seeded_random(data_end);
  base::Bytes pack = builder.finish(fixed_key(), *random);
  auto parsed = repo::parse_pack_tail(fixed_key(), pack, pack.size(), version);
  FUZZ_CHECK(parsed.ok());
  FUZZ_CHECK(*parsed == blobs);
}

void fuzz_plain_header(base::ByteSpan payload, int version) {
  if (payload.size() < 4) return;
  uint64_t data_end = base::load_le32(payload.data());
  base::ByteSpan plain = payload.subspan(4);
  auto blobs = repo::decode_pack_header(plain, version, data_end);
  if (!blobs.ok()) return;
  check_header(*blobs, plain, version, data_end);
  check_builder_round_trip(*blobs, version, data_end);
}

void fuzz_tail(base::ByteSpan tail, uint64_t file_size, int version) {
  auto blobs = repo::parse_pack_tail(fixed_key(), tail, file_size, version);
  if (!blobs.ok()) return;
  // Success means the length field and MAC checked out, so the header is where it says.
  FUZZ_CHECK(tail.size() >= 4);
  uint32_t hlen = base::load_le32(tail.data() + tail.size() - 4);
  FUZZ_CHECK(hlen >= crypto::kCiphertextOverhead && hlen + 4ull <= tail.size());
  auto plain = crypto::open(fixed_key(), tail.subspan(tail.size() - 4 - hlen, hlen));
  FUZZ_CHECK(plain.ok());
  uint64_t data_end = file_size - 4 - hlen;
  check_header(*blobs, *plain, version, data_end);
}

void fuzz_open(base::ByteSpan sealed) {
  auto plain = crypto::open(fixed_key(), sealed);
  // open_into, in place, must agree with open on every input.
  if (sealed.size() < crypto::kCiphertextOverhead) {
    FUZZ_CHECK(!plain.ok());
    return;
  }
  base::Bytes buf(sealed.begin(), sealed.end());
  base::MutableByteSpan out(buf.data() + crypto::kIvSize, buf.size() - crypto::kCiphertextOverhead);
  base::Status st = crypto::open_into(fixed_key(), buf, out);
  FUZZ_CHECK(st.ok() == plain.ok());
  if (!plain.ok()) return;
  FUZZ_CHECK(plain->size() == out.size() && std::equal(out.begin(), out.end(), plain->begin()));
  // Re-sealing the plaintext under a fresh IV must open to the same bytes.
  auto random = crypto::seeded_random(sealed.size());
  base::Bytes resealed = crypto::seal(fixed_key(), *plain, *random);
  auto again = crypto::open(fixed_key(), resealed);
  FUZZ_CHECK(again.ok() && *again == *plain);
}

}  // namespace
}  // namespace kura::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kura;
  if (size < 1) return 0;
  uint8_t flags = data[0];
  base::ByteSpan payload(data + 1, size - 1);
  int version = (flags & 1) ? 2 : 1;
  switch ((flags >> 1) & 3) {
    case 0:
      fuzz::fuzz_plain_header(payload, version);
      break;
    case 1:
      fuzz::fuzz_tail(payload, payload.size(), version);
      break;
    case 2:
      fuzz::fuzz_tail(payload, payload.size() + uint64_t(flags >> 3) * 4096, version);
      break;
    case 3:
      fuzz::fuzz_open(payload);
      break;
  }
  return 0;
}
