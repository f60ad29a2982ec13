#include "crypto/sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace kura::crypto {
namespace {

std::string hex(const Hash& h) { return base::hex_encode(h); }

TEST(Sha256, Fips180Vectors) {
  EXPECT_EQ(hex(sha256(base::as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256(base::as_bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  std::string million(1000000, 'a');
  EXPECT_EQ(hex(sha256(base::as_bytes(million))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalMatchesOneShot) {
  std::string million(1000000, 'a');
  Sha256 h;
  size_t done = 0;
  for (size_t step = 1; done < million.size(); step = step * 3 + 1) {
    size_t n = std::min(step, million.size() - done);
    h.update(base::as_bytes(std::string_view(million).substr(done, n)));
    done += n;
  }
  EXPECT_EQ(hex(h.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, FinishStartsOver) {
  Sha256 h;
  h.update(base::as_bytes("ab"));
  h.update(base::as_bytes("c"));
  EXPECT_EQ(h.finish(), sha256(base::as_bytes("abc")));
  EXPECT_EQ(h.finish(), sha256({}));
  h.update(base::as_bytes("abc"));
  EXPECT_EQ(h.finish(), sha256(base::as_bytes("abc")));
}

TEST(Sha256, Movable) {
  Sha256 a;
  a.update(base::as_bytes("a"));
  Sha256 b(std::move(a));
  b.update(base::as_bytes("bc"));
  Sha256 c;
  c = std::move(b);
  EXPECT_EQ(c.finish(), sha256(base::as_bytes("abc")));
}

}  // namespace
}  // namespace kura::crypto
