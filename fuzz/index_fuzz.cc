// Index files (RESTIC_FORMAT.md §6): decode_index_json, and for anything it accepts, that
// encode_index_json writes something that decodes to the same packs and re-encodes to the
// same bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_common.h"
#include "repo/index.h"

namespace kura::fuzz {
namespace {

bool same_packs(const std::vector<repo::IndexPack>& a, const std::vector<repo::IndexPack>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].id != b[i].id || a[i].blobs != b[i].blobs) return false;
  }
  return true;
}

}  // namespace
}  // namespace kura::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kura;
  auto packs = repo::decode_index_json(base::ByteSpan(data, size));
  if (!packs.ok()) return 0;
  base::Bytes encoded = repo::encode_index_json(*packs);
  auto again = repo::decode_index_json(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(fuzz::same_packs(*packs, *again));
  FUZZ_CHECK(repo::encode_index_json(*again) == encoded);

  // The in-memory index must find every blob the file lists, in the pack it lists it in.
  repo::Index index;
  for (const auto& pack : *packs) {
    uint32_t p = index.intern_pack(pack.id);
    for (const auto& b : pack.blobs) index.add(b, p);
  }
  for (const auto& pack : *packs) {
    for (const auto& b : pack.blobs) {
      bool found = false;
      for (const repo::IndexEntry* e : index.find_all(b.id, b.type)) {
        if (index.pack_id(e->pack) == pack.id && e->offset == b.offset) found = true;
      }
      FUZZ_CHECK(found);
    }
  }
  return 0;
}
