#include "repo/index.h"

#include <simdjson.h>

#include <cstring>

namespace kura::repo {

Index::Index() { slots_.resize(1024); }

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

void Index::grow() {
  std::vector<IndexEntry> old;
  old.swap(slots_);
  slots_.resize(old.size() * 2);
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
  std::string s;
  s.reserve(64 + packs.size() * 100);
  s += '{';
  if (!supersedes.empty()) {
    s += "\"supersedes\":[";
    for (size_t i = 0; i < supersedes.size(); ++i) {
      if (i) s += ',';
      s += '"' + supersedes[i].hex() + '"';
    }
    s += "],";
  }
  s += "\"packs\":[";
  for (size_t p = 0; p < packs.size(); ++p) {
    if (p) s += ',';
    s += "{\"id\":\"" + packs[p].id.hex() + "\",\"blobs\":[";
    for (size_t i = 0; i < packs[p].blobs.size(); ++i) {
      const PackedBlob& b = packs[p].blobs[i];
      if (i) s += ',';
      s += "{\"id\":\"";
      s += b.id.hex();
      s += "\",\"type\":\"";
      s += blob_type_name(b.type);
      s += "\",\"offset\":";
      s += std::to_string(b.offset);
      s += ",\"length\":";
      s += std::to_string(b.length);
      if (b.compressed()) {
        s += ",\"uncompressed_length\":";
        s += std::to_string(b.uncompressed_length);
      }
      s += '}';
    }
    s += "]}";
  }
  s += "]}\n";
  return base::to_bytes(s);
}

namespace {

base::Status bad(const std::string& what) { return base::data_loss("index: " + what); }

template <typename T>
base::StatusOr<uint32_t> get_u32(T& obj, const char* field, const std::string& where) {
  uint64_t v;
  if (obj[field].get_uint64().get(v) != simdjson::SUCCESS || v > UINT32_MAX) {
    return bad(where + ": field \"" + field + "\" is missing or not a 32-bit number");
  }
  return static_cast<uint32_t>(v);
}

}  // namespace

base::StatusOr<std::vector<IndexPack>> decode_index_json(base::ByteSpan json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(reinterpret_cast<const char*>(json.data()), json.size()).get(root) !=
      simdjson::SUCCESS) {
    return bad("invalid JSON");
  }
  if (root.is_array()) return bad("old index format (restic 0.1) is not supported");
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) return bad("not a JSON object");
  simdjson::dom::array packs;
  if (obj["packs"].get_array().get(packs) != simdjson::SUCCESS) {
    // "packs": null is what Go writes for an empty list.
    if (obj["packs"].is_null()) return std::vector<IndexPack>{};
    return bad("missing \"packs\"");
  }
  std::vector<IndexPack> out;
  out.reserve(packs.size());
  for (simdjson::dom::element pe : packs) {
    IndexPack pack;
    std::string where = "pack " + std::to_string(out.size());
    std::string_view pid;
    if (pe["id"].get_string().get(pid) != simdjson::SUCCESS) return bad(where + ": missing id");
    auto id = Id::parse(pid);
    if (!id.ok()) return bad(where + ": " + id.status().message());
    pack.id = *id;
    where = "pack " + pack.id.short_hex();
    simdjson::dom::array blobs;
    if (pe["blobs"].get_array().get(blobs) != simdjson::SUCCESS) {
      if (!pe["blobs"].is_null()) return bad(where + ": missing blobs");
    } else {
      pack.blobs.reserve(blobs.size());
      for (simdjson::dom::element be : blobs) {
        PackedBlob b;
        std::string_view bid, type;
        if (be["id"].get_string().get(bid) != simdjson::SUCCESS) return bad(where + ": blob without id");
        auto parsed = Id::parse(bid);
        if (!parsed.ok()) return bad(where + ": " + parsed.status().message());
        b.id = *parsed;
        if (be["type"].get_string().get(type) != simdjson::SUCCESS) return bad(where + ": blob without type");
        if (type == "data") {
          b.type = BlobType::kData;
        } else if (type == "tree") {
          b.type = BlobType::kTree;
        } else {
          return bad(where + ": invalid blob type \"" + std::string(type) + "\"");
        }
        ASSIGN_OR_RETURN(b.offset, get_u32(be, "offset", where));
        ASSIGN_OR_RETURN(b.length, get_u32(be, "length", where));
        uint64_t ulen = 0;
        auto u = be["uncompressed_length"];
        if (u.error() == simdjson::SUCCESS && !u.is_null()) {
          if (u.get_uint64().get(ulen) != simdjson::SUCCESS || ulen > UINT32_MAX) {
            return bad(where + ": invalid uncompressed_length");
          }
        }
        b.uncompressed_length = static_cast<uint32_t>(ulen);
        if (b.length < 32) return bad(where + ": blob " + b.id.short_hex() + " is too short");
        pack.blobs.push_back(b);
      }
    }
    out.push_back(std::move(pack));
  }
  return out;
}

}  // namespace kura::repo
