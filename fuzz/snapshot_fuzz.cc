// Snapshot files (RESTIC_FORMAT.md §8): decode_snapshot, and for anything it accepts,
// encode_snapshot writes something that decodes to the same snapshot and re-encodes to the
// same bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_common.h"
#include "repo/snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kura;
  auto sn = repo::decode_snapshot(base::ByteSpan(data, size));
  if (!sn.ok()) return 0;
  base::Bytes encoded = repo::encode_snapshot(*sn);
  auto again = repo::decode_snapshot(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *sn);
  FUZZ_CHECK(repo::encode_snapshot(*again) == encoded);
  return 0;
}
