#include "service/qr_svg.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace kura::service {
namespace {

// The side of the viewBox, in modules, or -1.
int view_box_side(const std::string& svg) {
  std::smatch m;
  if (!std::regex_search(svg, m, std::regex("viewBox=\"0 0 (\\d+) (\\d+)\""))) return -1;
  return m[1] == m[2] ? std::stoi(m[1]) : -1;
}

std::string path_of(const std::string& svg) {
  std::smatch m;
  return std::regex_search(svg, m, std::regex("<path d=\"([^\"]*)\"")) ? m[1].str() : "";
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(QrSvg, ShortUriIsVersionSmallSymbolWithQuietZone) {
  auto svg = qr_svg("otpauth://totp/kura:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  ASSERT_TRUE(svg.ok()) << svg.status().to_string();
  EXPECT_EQ(svg->rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" ", 0), 0u);
  EXPECT_NE(svg->find("</svg>"), std::string::npos);
  // 65 bytes at level M in 8-bit mode need version 5 (37 modules), plus 4 each side.
  int side = view_box_side(*svg);
  EXPECT_EQ(side, 37 + 8);
  EXPECT_NE(svg->find("width=\"180\" height=\"180\""), std::string::npos);
  EXPECT_EQ(count(*svg, "<path"), 1u);
  EXPECT_EQ(svg->find("style"), std::string::npos);  // CSP: no inline styles
}

TEST(QrSvg, ModulesStayInsideTheQuietZone) {
  auto svg = qr_svg("hello");
  ASSERT_TRUE(svg.ok());
  int side = view_box_side(*svg);
  EXPECT_EQ(side, 21 + 8);  // version 1
  std::string d = path_of(*svg);
  ASSERT_FALSE(d.empty());
  // Every run starts at "M x y"; the top-left finder pattern's first row is 7 dark modules.
  EXPECT_EQ(d.rfind("M4 4h7v1h-7z", 0), 0u);
  std::regex move("M(\\d+) (\\d+)h(\\d+)");
  for (auto it = std::sregex_iterator(d.begin(), d.end(), move); it != std::sregex_iterator();
       ++it) {
    int x = std::stoi((*it)[1]), y = std::stoi((*it)[2]), len = std::stoi((*it)[3]);
    EXPECT_GE(x, 4);
    EXPECT_GE(y, 4);
    EXPECT_LE(x + len, side - 4);
    EXPECT_LT(y, side - 4);
  }
}

TEST(QrSvg, DifferentTextsDifferentPaths) {
  auto a = qr_svg("otpauth://totp/kura:alice?secret=AAAA");
  auto b = qr_svg("otpauth://totp/kura:alice?secret=AAAB");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(view_box_side(*a), view_box_side(*b));
  EXPECT_NE(path_of(*a), path_of(*b));
  auto again = qr_svg("otpauth://totp/kura:alice?secret=AAAA");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*a, *again);
}

TEST(QrSvg, ModuleSize) {
  auto svg = qr_svg("hello", 10);
  ASSERT_TRUE(svg.ok());
  EXPECT_NE(svg->find("width=\"290\" height=\"290\""), std::string::npos);
  EXPECT_EQ(qr_svg("hello", 0).status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(qr_svg("hello", 65).status().code(), base::Code::kInvalidArgument);
}

TEST(QrSvg, LongInputs) {
  auto mid = qr_svg(std::string(500, 'x'));
  ASSERT_TRUE(mid.ok()) << mid.status().to_string();
  EXPECT_EQ(view_box_side(*mid), 4 * 17 + 17 + 8);  // version 17 holds 530 bytes at level M
  auto max = qr_svg(std::string(2331, 'x'));
  ASSERT_TRUE(max.ok()) << max.status().to_string();
  EXPECT_EQ(view_box_side(*max), 177 + 8);  // version 40
  auto big = qr_svg(std::string(10000, 'x'));
  EXPECT_EQ(big.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(big.status().message().find("10000 bytes"), std::string::npos);
  EXPECT_EQ(qr_svg(std::string(2332, 'x')).status().code(), base::Code::kInvalidArgument);
}

TEST(QrSvg, GarbageBytesAreEncodedAsData) {
  EXPECT_EQ(qr_svg("").status().code(), base::Code::kInvalidArgument);
  std::string binary("\0\xff\x80<\"&>", 7);
  auto svg = qr_svg(binary);
  ASSERT_TRUE(svg.ok());
  // The text never reaches the SVG markup, so nothing in it needs escaping.
  EXPECT_EQ(svg->find('&'), std::string::npos);
  EXPECT_EQ(count(*svg, "<"), 4u);  // <svg, <rect, <path, </svg
}

}  // namespace
}  // namespace kura::service
