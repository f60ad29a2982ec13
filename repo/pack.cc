#include "repo/pack.h"

#include <cstring>

namespace kura::repo {

void PackBuilder::add(const Id& id, BlobType type, base::ByteSpan sealed,
                      uint32_t uncompressed_length) {
  PackedBlob b;
  b.id = id;
  b.type = type;
  b.offset = static_cast<uint32_t>(data_.size());
  b.length = static_cast<uint32_t>(sealed.size());
  b.uncompressed_length = uncompressed_length;
  data_.insert(data_.end(), sealed.begin(), sealed.end());
  blobs_.push_back(b);
}

size_t PackBuilder::header_size() const {
  size_t n = 0;
  for (const auto& b : blobs_) n += b.compressed() ? kCompressedHeaderEntrySize : kHeaderEntrySize;
  return n;
}

base::Bytes seal_pack_tail(const std::vector<PackedBlob>& blobs, const crypto::Key& key,
                           crypto::RandomSource& random) {
  base::Bytes header;
  header.reserve(blobs.size() * kCompressedHeaderEntrySize);
  for (const auto& b : blobs) {
    uint8_t e[kCompressedHeaderEntrySize];
    size_t n = 0;
    uint8_t type = static_cast<uint8_t>(b.type) + (b.compressed() ? 2 : 0);
    e[n++] = type;
    base::store_le32(e + n, b.length);
    n += 4;
    if (b.compressed()) {
      base::store_le32(e + n, b.uncompressed_length);
      n += 4;
    }
    std::memcpy(e + n, b.id.bytes.data(), 32);
    n += 32;
    header.insert(header.end(), e, e + n);
  }
  size_t sealed = header.size() + crypto::kCiphertextOverhead;
  base::Bytes tail(sealed + 4);
  crypto::seal(key, header, base::MutableByteSpan(tail.data(), sealed), random);
  base::store_le32(tail.data() + sealed, static_cast<uint32_t>(sealed));
  return tail;
}

base::Bytes PackBuilder::finish(const crypto::Key& key, crypto::RandomSource& random) {
  base::Bytes tail = seal_pack_tail(blobs_, key, random);
  data_.insert(data_.end(), tail.begin(), tail.end());
  blobs_.clear();
  return std::move(data_);
}

namespace {
constexpr size_t kBatchBytes = 1 << 20;
}  // namespace

base::Status PackWriter::add(const Id& id, BlobType type, base::ByteSpan sealed,
                             uint32_t uncompressed_length) {
  PackedBlob b;
  b.id = id;
  b.type = type;
  b.offset = static_cast<uint32_t>(size());
  b.length = static_cast<uint32_t>(sealed.size());
  b.uncompressed_length = uncompressed_length;
  RETURN_IF_ERROR(write(sealed));
  blobs_.push_back(b);
  header_entries_ += uncompressed_length ? kCompressedHeaderEntrySize : kHeaderEntrySize;
  return base::ok_status();
}

base::Status PackWriter::write(base::ByteSpan data) {
  if (batch_.size() + data.size() > kBatchBytes) {
    RETURN_IF_ERROR(flush());
    if (data.size() >= kBatchBytes) {
      hash_.update(data);
      RETURN_IF_ERROR(file_->append(data));
      written_ += data.size();
      return base::ok_status();
    }
  }
  if (batch_.capacity() < kBatchBytes) batch_.reserve(kBatchBytes);
  batch_.insert(batch_.end(), data.begin(), data.end());
  return base::ok_status();
}

base::Status PackWriter::flush() {
  if (batch_.empty()) return base::ok_status();
  hash_.update(batch_);
  RETURN_IF_ERROR(file_->append(batch_));
  written_ += batch_.size();
  batch_.clear();
  return base::ok_status();
}

base::StatusOr<Id> PackWriter::finish(const crypto::Key& key, crypto::RandomSource& random) {
  RETURN_IF_ERROR(write(seal_pack_tail(blobs_, key, random)));
  RETURN_IF_ERROR(flush());
  base::Bytes().swap(batch_);
  Id id;
  id.bytes = hash_.finish();
  return id;
}

base::StatusOr<std::vector<PackedBlob>> decode_pack_header(base::ByteSpan plain, int repo_version,
                                                           uint64_t data_end) {
  std::vector<PackedBlob> out;
  uint64_t offset = 0;
  size_t i = 0;
  while (i < plain.size()) {
    uint8_t type = plain[i];
    if (type > 3 || (type >= 2 && repo_version < 2)) {
      return base::data_loss("pack header: entry " + std::to_string(out.size()) +
                             ": invalid blob type " + std::to_string(type));
    }
    size_t need = type >= 2 ? kCompressedHeaderEntrySize : kHeaderEntrySize;
    if (plain.size() - i < need) return base::data_loss("pack header: truncated entry");
    PackedBlob b;
    b.type = (type & 1) ? BlobType::kTree : BlobType::kData;
    b.length = base::load_le32(plain.data() + i + 1);
    size_t idpos = i + 5;
    if (type >= 2) {
      b.uncompressed_length = base::load_le32(plain.data() + i + 5);
      idpos += 4;
      if (b.uncompressed_length == 0) {
        return base::data_loss("pack header: compressed blob with zero length");
      }
    }
    b.id = Id::from_span(plain.subspan(idpos, 32));
    if (b.length < crypto::kCiphertextOverhead) {
      return base::data_loss("pack header: blob " + b.id.short_hex() + " is too short");
    }
    b.offset = static_cast<uint32_t>(offset);
    offset += b.length;
    if (offset > data_end) {
      return base::data_loss("pack header: blob " + b.id.short_hex() + " extends past the data");
    }
    out.push_back(b);
    i += need;
  }
  if (offset != data_end) {
    return base::data_loss("pack header: blobs cover " + std::to_string(offset) + " of " +
                           std::to_string(data_end) + " data bytes");
  }
  return out;
}

base::StatusOr<std::vector<PackedBlob>> parse_pack_tail(const crypto::Key& key, base::ByteSpan tail,
                                                        uint64_t file_size, int repo_version) {
  if (file_size < 4 + crypto::kCiphertextOverhead || tail.size() < 4) {
    return base::data_loss("pack is too small (" + std::to_string(file_size) + " bytes)");
  }
  uint32_t hlen = base::load_le32(tail.data() + tail.size() - 4);
  if (hlen < crypto::kCiphertextOverhead || hlen > kMaxHeaderLength || hlen + 4ull > file_size) {
    return base::data_loss("pack header length " + std::to_string(hlen) + " is invalid");
  }
  if (hlen + 4ull > tail.size()) {
    return base::out_of_range("pack header needs " + std::to_string(hlen + 4) + " tail bytes");
  }
  base::ByteSpan sealed = tail.subspan(tail.size() - 4 - hlen, hlen);
  auto plain = crypto::open(key, sealed);
  if (!plain.ok()) return plain.status().with_context("pack header");
  return decode_pack_header(*plain, repo_version, file_size - 4 - hlen);
}

}  // namespace kura::repo
