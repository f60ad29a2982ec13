// Lock files (RESTIC_FORMAT.md §9): decode_lock, and for anything it accepts, encode_lock
// writes something that decodes to the same lock and re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_common.h"
#include "repo/lock_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kura;
  auto lock = repo::decode_lock(base::ByteSpan(data, size));
  if (!lock.ok()) return 0;
  base::Bytes encoded = repo::encode_lock(*lock);
  auto again = repo::decode_lock(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *lock);
  FUZZ_CHECK(repo::encode_lock(*again) == encoded);
  return 0;
}
