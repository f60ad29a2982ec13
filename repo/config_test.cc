#include "repo/config.h"

#include <gtest/gtest.h>

namespace kura::repo {
namespace {

TEST(ConfigTest, RoundTripsResticBytes) {
  const std::string text =
      "{\"version\":2,\"id\":\"45fc0f3b8d1a4e3bd5b5c2a7f0e9d8c7b6a5948372615049382716253443ba0c\","
      "\"chunker_polynomial\":\"3da3358b4dc173\"}";
  auto c = decode_config(base::as_bytes(text));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->version, 2);
  EXPECT_EQ(c->chunker_polynomial, 0x3da3358b4dc173u);
  EXPECT_EQ(base::as_chars(encode_config(*c)), text);
}

TEST(ConfigTest, RejectsGarbage) {
  const char* bad[] = {
      "",
      "[]",
      "{\"version\":3,\"id\":\"00\",\"chunker_polynomial\":\"3da3358b4dc173\"}",
      "{\"version\":4294967298,\"id\":\"45fc0f3b8d1a4e3bd5b5c2a7f0e9d8c7b6a5948372615049382716253443ba0c\","
      "\"chunker_polynomial\":\"3da3358b4dc173\"}",
      "{\"version\":2,\"id\":\"a\\\"b\",\"chunker_polynomial\":\"3cc6bf437e9b47\"}",
      "{\"version\":2,\"id\":\"45fc0f3b8d1a4e3bd5b5c2a7f0e9d8c7b6a5948372615049382716253443ba0c\","
      "\"chunker_polynomial\":\"3da3358b4dc172\"}",
      "{\"version\":2,\"id\":\"45fc0f3b8d1a4e3bd5b5c2a7f0e9d8c7b6a5948372615049382716253443ba0c\"}",
  };
  for (const char* b : bad) {
    auto c = decode_config(base::as_bytes(b));
    EXPECT_FALSE(c.ok()) << b;
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), base::Code::kDataLoss) << b;
      EXPECT_EQ(c.status().message().rfind("config: ", 0), 0u) << c.status().message();
    }
  }
}

}  // namespace
}  // namespace kura::repo
