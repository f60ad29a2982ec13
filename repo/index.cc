#include "repo/index.h"

#include <charconv>
#include <cstring>
#include <type_traits>

#include "repo/gojson.h"

namespace kura::repo {

// ZeroedArray hands out zeroed memory as value-initialised entries.
static_assert(std::is_aggregate_v<IndexEntry> && std::is_trivially_copyable_v<IndexEntry>);

Index::Index() : slots_(1024) {}

uint32_t Index::intern_pack(const Id& pack) {
  auto [it, inserted] = pack_numbers_.emplace(pack, static_cast<uint32_t>(packs_.size()));
  if (inserted) packs_.push_back(pack);
  return it->second;
}

size_t Index::slot_of(const Id& id) const {
  uint64_t h;
  std::memcpy(&h, id.bytes.data(), sizeof h);
  return static_cast<size_t>(h) & (slots_.size() - 1);
}

void Index::reserve(size_t n) {
  size_t slots = slots_.size();
  while (n * 10 > slots * 7) slots *= 2;
  if (slots != slots_.size()) rehash(slots);
}

void Index::grow() { rehash(slots_.size() * 2); }

void Index::rehash(size_t slots) {
  base::ZeroedArray<IndexEntry> old(slots);
  old.swap(slots_);
  for (const auto& e : old) {
    if (!e.used) continue;
    size_t i = slot_of(e.id);
    while (slots_[i].used) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = e;
  }
}

void Index::add(const PackedBlob& blob, uint32_t pack) {
  if ((count_ + 1) * 10 > slots_.size() * 7) grow();
  size_t i = slot_of(blob.id);
  while (slots_[i].used) {
    const IndexEntry& e = slots_[i];
    if (e.id == blob.id && e.type == blob.type && e.pack == pack && e.offset == blob.offset) return;
    i = (i + 1) & (slots_.size() - 1);
  }
  IndexEntry& e = slots_[i];
  e.id = blob.id;
  e.pack = pack;
  e.offset = blob.offset;
  e.length = blob.length;
  e.uncompressed_length = blob.uncompressed_length;
  e.type = blob.type;
  e.used = true;
  ++count_;
}

const IndexEntry* Index::find(const Id& id, BlobType type) const {
  for (size_t i = slot_of(id); slots_[i].used; i = (i + 1) & (slots_.size() - 1)) {
    if (slots_[i].id == id && slots_[i].type == type) return &slots_[i];
  }
  return nullptr;
}

std::vector<const IndexEntry*> Index::find_all(const Id& id, BlobType type) const {
  std::vector<const IndexEntry*> out;
  for (size_t i = slot_of(id); slots_[i].used; i = (i + 1) & (slots_.size() - 1)) {
    if (slots_[i].id == id && slots_[i].type == type) out.push_back(&slots_[i]);
  }
  return out;
}

void Index::for_each(const std::function<void(const IndexEntry&)>& fn) const {
  for (const auto& e : slots_)
    if (e.used) fn(e);
}

base::Bytes encode_index_json(const std::vector<IndexPack>& packs, const std::vector<Id>& supersedes) {
  // Sized ahead (a blob's entry is ~170 bytes): a large index is not copied while it grows.
  size_t blobs = 0;
  for (const auto& p : packs) blobs += p.blobs.size();
  base::Bytes out;
  out.reserve(64 + supersedes.size() * 67 + packs.size() * 100 + blobs * 176);
  auto put = [&](std::string_view text) { out.insert(out.end(), text.begin(), text.end()); };
  auto put_id = [&](const Id& id) {
    size_t at = out.size();
    out.resize(at + 2 * id.bytes.size());
    static constexpr char kHex[] = "0123456789abcdef";
    for (size_t i = 0; i < id.bytes.size(); ++i) {
      out[at + 2 * i] = static_cast<uint8_t>(kHex[id.bytes[i] >> 4]);
      out[at + 2 * i + 1] = static_cast<uint8_t>(kHex[id.bytes[i] & 15]);
    }
  };
  auto put_num = [&](uint32_t v) {
    char buf[16];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    put(std::string_view(buf, static_cast<size_t>(end - buf)));
  };
  put("{");
  if (!supersedes.empty()) {
    put("\"supersedes\":[");
    for (size_t i = 0; i < supersedes.size(); ++i) {
      if (i) put(",");
      put("\"");
      put_id(supersedes[i]);
      put("\"");
    }
    put("],");
  }
  put("\"packs\":[");
  for (size_t p = 0; p < packs.size(); ++p) {
    if (p) put(",");
    put("{\"id\":\"");
    put_id(packs[p].id);
    put("\",\"blobs\":[");
    for (size_t i = 0; i < packs[p].blobs.size(); ++i) {
      const PackedBlob& b = packs[p].blobs[i];
      if (i) put(",");
      put("{\"id\":\"");
      put_id(b.id);
      put("\",\"type\":\"");
      put(blob_type_name(b.type));
      put("\",\"offset\":");
      put_num(b.offset);
      put(",\"length\":");
      put_num(b.length);
      if (b.compressed()) {
        put(",\"uncompressed_length\":");
        put_num(b.uncompressed_length);
      }
      put("}");
    }
    put("]}");
  }
  put("]}\n");
  return out;
}

namespace {

base::Status bad(const std::string& what) { return base::data_loss("index: " + what); }

// Go's encoding/json leaves a field untouched on null and matches keys case-insensitively;
// the error of a value names its field.
base::Status read_u32(JsonReader& r, std::string_view field, const std::string& where, uint32_t& out) {
  if (r.consume_null()) return base::ok_status();
  auto v = r.read_uint(UINT32_MAX);
  if (!v.ok()) return bad(where + ": field \"" + std::string(field) + "\": " + v.status().message());
  out = static_cast<uint32_t>(*v);
  return base::ok_status();
}

// The blob layout restic and kura write, byte for byte, read without the general reader
// (about four times faster on a large index). Returns the bytes used, or 0 where the text
// differs in any way (the general reader then reads it, with its errors).
size_t read_blob_fast(std::string_view s, PackedBlob& b) {
  size_t p = 0;
  auto lit = [&](std::string_view l) {
    if (s.compare(p, l.size(), l) != 0) return false;
    p += l.size();
    return true;
  };
  auto num = [&](uint32_t& out) {
    size_t start = p;
    uint64_t v = 0;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9' && p - start < 11) v = v * 10 + unsigned(s[p++] - '0');
    size_t n = p - start;
    if (n == 0 || n > 10 || (n > 1 && s[start] == '0') || v > UINT32_MAX) return false;
    out = static_cast<uint32_t>(v);
    return true;
  };
  if (!lit("{\"id\":\"") || s.size() < p + 64 || !Id::parse_fast(s.substr(p, 64), b.id)) return 0;
  p += 64;
  if (lit("\",\"type\":\"data\",\"offset\":")) {
    b.type = BlobType::kData;
  } else if (lit("\",\"type\":\"tree\",\"offset\":")) {
    b.type = BlobType::kTree;
  } else {
    return 0;
  }
  if (!num(b.offset) || !lit(",\"length\":") || !num(b.length)) return 0;
  b.uncompressed_length = 0;
  if (lit(",\"uncompressed_length\":") && !num(b.uncompressed_length)) return 0;
  if (!lit("}")) return 0;
  return p;
}

base::Status decode_blob(JsonReader& r, const std::string& where, std::string& key,
                         std::string& scratch, PackedBlob& b) {
  if (size_t used = read_blob_fast(r.remaining(), b)) {
    r.consume(used);
    if (b.length < 32) return bad(where + ": blob " + b.id.short_hex() + " is too short");
    return base::ok_status();
  }
  if (!r.peek_object()) return bad(where + ": a blob is not an object");
  RETURN_IF_ERROR(r.begin_object());
  bool has_id = false, has_type = false, has_offset = false, has_length = false;
  while (true) {
    ASSIGN_OR_RETURN(bool more, r.next_member(key));
    if (!more) break;
    fold_json_key(key);
    if (key == "id") {
      base::Status st = r.consume_null() ? bad(where + ": blob id is null") : r.read_id(b.id);
      if (!st.ok()) return bad(where + ": blob id: " + st.message());
      has_id = true;
    } else if (key == "type") {
      if (r.consume_null()) return bad(where + ": blob type is null");
      RETURN_IF_ERROR(r.read_string(scratch));
      if (scratch == "data") {
        b.type = BlobType::kData;
      } else if (scratch == "tree") {
        b.type = BlobType::kTree;
      } else {
        return bad(where + ": invalid blob type \"" + scratch + "\"");
      }
      has_type = true;
    } else if (key == "offset") {
      RETURN_IF_ERROR(read_u32(r, key, where, b.offset));
      has_offset = true;
    } else if (key == "length") {
      RETURN_IF_ERROR(read_u32(r, key, where, b.length));
      has_length = true;
    } else if (key == "uncompressed_length") {
      RETURN_IF_ERROR(read_u32(r, key, where, b.uncompressed_length));
    } else {
      RETURN_IF_ERROR(r.skip_value());
    }
  }
  if (!has_id) return bad(where + ": blob without id");
  if (!has_type) return bad(where + ": blob without type");
  if (!has_offset) return bad(where + ": blob " + b.id.short_hex() + " without offset");
  if (!has_length) return bad(where + ": blob " + b.id.short_hex() + " without length");
  if (b.length < 32) return bad(where + ": blob " + b.id.short_hex() + " is too short");
  return base::ok_status();
}

base::Status decode_pack(JsonReader& r, size_t number, std::string& key, std::string& scratch,
                         IndexPack& pack) {
  std::string where = "pack " + std::to_string(number);
  if (!r.peek_object()) return bad(where + ": not an object");
  RETURN_IF_ERROR(r.begin_object());
  bool has_id = false;
  while (true) {
    ASSIGN_OR_RETURN(bool more, r.next_member(key));
    if (!more) break;
    fold_json_key(key);
    if (key == "id") {
      base::Status st = r.consume_null() ? bad("null") : r.read_id(pack.id);
      if (!st.ok()) return bad(where + ": pack id: " + st.message());
      has_id = true;
      where = "pack " + pack.id.short_hex();
    } else if (key == "blobs") {
      pack.blobs.clear();
      if (r.consume_null()) continue;
      if (!r.peek_array()) return bad(where + ": blobs is not a list");
      RETURN_IF_ERROR(r.begin_array());
      while (true) {
        ASSIGN_OR_RETURN(bool next, r.next_element());
        if (!next) break;
        PackedBlob b;
        RETURN_IF_ERROR(decode_blob(r, where, key, scratch, b));
        pack.blobs.push_back(b);
      }
    } else {
      RETURN_IF_ERROR(r.skip_value());
    }
  }
  if (!has_id) return bad(where + ": missing id");
  return base::ok_status();
}

base::StatusOr<std::vector<IndexPack>> decode_index(JsonReader& r) {
  if (r.peek_array()) return bad("old index format (restic 0.1) is not supported");
  if (!r.peek_object()) return bad("not a JSON object");
  RETURN_IF_ERROR(r.begin_object());
  std::vector<IndexPack> out;
  std::string key, scratch;
  bool has_packs = false;
  while (true) {
    ASSIGN_OR_RETURN(bool more, r.next_member(key));
    if (!more) break;
    fold_json_key(key);
    if (key != "packs") {
      RETURN_IF_ERROR(r.skip_value());
      continue;
    }
    has_packs = true;
    out.clear();
    // "packs": null is what Go writes for an empty list.
    if (r.consume_null()) continue;
    if (!r.peek_array()) return bad("\"packs\" is not a list");
    RETURN_IF_ERROR(r.begin_array());
    while (true) {
      ASSIGN_OR_RETURN(bool next, r.next_element());
      if (!next) break;
      IndexPack pack;
      RETURN_IF_ERROR(decode_pack(r, out.size(), key, scratch, pack));
      out.push_back(std::move(pack));
    }
  }
  RETURN_IF_ERROR(r.finish());
  if (!has_packs) return bad("missing \"packs\"");
  return out;
}

}  // namespace

// Read with the pull parser, straight from the text: no document tree of a large index file
// (simdjson's DOM of a 12 MB file of 90,000 blobs took about three times its size again).
base::StatusOr<std::vector<IndexPack>> decode_index_json(base::ByteSpan json) {
  JsonReader r(base::as_chars(json));
  auto out = decode_index(r);
  if (!out.ok() && out.status().message().rfind("index: ", 0) != 0) {
    return bad(out.status().message());  // a syntax error from the reader (with its offset)
  }
  return out;
}

}  // namespace kura::repo
