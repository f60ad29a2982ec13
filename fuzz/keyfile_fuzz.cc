// Key files (RESTIC_FORMAT.md §2.2) and the master key JSON inside them.
//
// Every input goes to parse_key_file and parse_master_key_json. What parse_key_file accepts
// must survive serialize_key_file unchanged; if its scrypt parameters are tiny it is also
// opened with kKeyFilePassword (the seeds hold such a file, so the fuzzer reaches the
// decrypted master key). Large parameters are never opened: one slow input would stall the run.
#include <cstddef>
#include <cstdint>

#include "crypto/keyfile.h"
#include "fuzz/fuzz_common.h"

namespace kura::fuzz {
namespace {

constexpr uint64_t kMaxScryptWork = 1024;  // N * r * p

bool same_file(const crypto::KeyFile& a, const crypto::KeyFile& b) {
  return a.created == b.created && a.username == b.username && a.hostname == b.hostname &&
         a.n == b.n && a.r == b.r && a.p == b.p && a.salt == b.salt && a.data == b.data;
}

bool cheap(const crypto::KeyFile& f) {
  return f.n <= kMaxScryptWork && f.r <= kMaxScryptWork && f.p <= kMaxScryptWork &&
         f.n * f.r * f.p <= kMaxScryptWork;
}

void check_master_key(const crypto::Key& key) {
  FUZZ_CHECK(key.valid());
  // master_key_json writes mac_r clamped; a key whose r is zero once clamped has no valid
  // re-encoding, so only the others must round-trip.
  crypto::Key clamped = key;
  clamped.mac_r = crypto::clamp_mac_r(key.mac_r);
  if (!clamped.valid()) return;
  std::string json = crypto::master_key_json(key);
  auto again = crypto::parse_master_key_json(base::as_bytes(json));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == clamped);
}

}  // namespace
}  // namespace kura::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kura;
  base::ByteSpan input(data, size);

  auto master = crypto::parse_master_key_json(input);
  if (master.ok()) fuzz::check_master_key(*master);

  auto file = crypto::parse_key_file(input);
  if (!file.ok()) return 0;
  FUZZ_CHECK(file->salt.size() == 64);
  FUZZ_CHECK(file->data.size() >= crypto::kCiphertextOverhead);
  base::Bytes serialized = crypto::serialize_key_file(*file);
  auto again = crypto::parse_key_file(serialized);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(fuzz::same_file(*file, *again));
  FUZZ_CHECK(crypto::serialize_key_file(*again) == serialized);

  if (fuzz::cheap(*file)) {
    auto key = crypto::open_key_file(*file, fuzz::kKeyFilePassword);
    if (key.ok()) fuzz::check_master_key(*key);
  }
  return 0;
}
