#include "repo/gojson.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace kura::repo {
namespace {

std::string json(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(GoJsonString, EscapesLikeGo119) {
  EXPECT_EQ(json(""), "\"\"");
  EXPECT_EQ(json("plain ~ text"), "\"plain ~ text\"");
  EXPECT_EQ(json("q\"b\\"), R"("q\"b\\")");
  EXPECT_EQ(json("\n\r\t"), R"("\n\r\t")");
  // go1.19 has no \b and \f shortcuts; go1.22 would write them.
  EXPECT_EQ(json("\b\f\x01\x1f"), R"("\u0008\u000c\u0001\u001f")");
  EXPECT_EQ(json(std::string("a\0b", 3)), R"("a\u0000b")");
  EXPECT_EQ(json("\x7f"), "\"\x7f\"");
  EXPECT_EQ(json("<a>&"), R"("\u003ca\u003e\u0026")");
  EXPECT_EQ(json("\u2028x\u2029"), R"("\u2028x\u2029")");
  EXPECT_EQ(json("é€😀"), "\"é€😀\"");
  EXPECT_EQ(json("\u00a0\u00ad\ufeff"), "\"\u00a0\u00ad\ufeff\"");  // valid UTF-8 is copied
}

TEST(GoJsonString, InvalidUtf8BecomesReplacementPerByte) {
  EXPECT_EQ(json("bad\xffname"), R"("bad\ufffdname")");
  EXPECT_EQ(json("tgt\xfe\xff"), R"("tgt\ufffd\ufffd")");
  EXPECT_EQ(json("\xe2\x82"), R"("\ufffd\ufffd")");          // truncated 3-byte sequence
  EXPECT_EQ(json("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // encoded surrogate
  EXPECT_EQ(json("\xc0\x80"), R"("\ufffd\ufffd")");            // overlong NUL
  EXPECT_EQ(json("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // above U+10FFFF
  EXPECT_EQ(json("\xef\xbf\xbd"), "\"\xef\xbf\xbd\"");          // a real U+FFFD is copied
  base::Bytes b;
  append_json_string(b, "x\xff<");
  EXPECT_EQ(std::string(b.begin(), b.end()), R"("x\ufffd\u003c")");
}

TEST(GoQuote, SpecExamples) {
  // RESTIC_FORMAT.md §7.5, observed with restic 0.14.
  EXPECT_EQ(go_quote("bad\xffname"), R"(bad\xffname)");
  EXPECT_EQ(go_quote("ctl\x01\x7fz"), R"(ctl\x01\x7fz)");
  EXPECT_EQ(go_quote("sp\u2028ace\u00a0nbé"), R"(sp\u2028ace\u00a0nbé)");
  EXPECT_EQ(go_quote("we<ird>&\"na\\me"), R"(we<ird>&\"na\\me)");
  EXPECT_EQ(json(go_quote("we<ird>&\"na\\me")), R"("we\u003cird\u003e\u0026\\\"na\\\\me")");
}

TEST(GoQuote, EscapeForms) {
  EXPECT_EQ(go_quote("\a\b\f\n\r\t\v"), R"(\a\b\f\n\r\t\v)");
  EXPECT_EQ(go_quote(std::string("\0\x1b", 2)), R"(\x00\x1b)");
  EXPECT_EQ(go_quote("\u00ad"), R"(\u00ad)");              // soft hyphen, Cf
  EXPECT_EQ(go_quote("\u200b\ufeff"), R"(\u200b\ufeff)");  // ZWSP, BOM
  EXPECT_EQ(go_quote("\u3000"), R"(\u3000)");              // ideographic space, Zs
  EXPECT_EQ(go_quote("\xf3\xa0\x80\x81"), R"(\U000e0001)");  // language tag, Cf
  EXPECT_EQ(go_quote("\xf3\xb0\x80\x80"), R"(\U000f0000)");  // private use plane 15
  EXPECT_EQ(go_quote("\ue000"), R"(\ue000)");                // private use
  EXPECT_EQ(go_quote("\xe2\x82"), R"(\xe2\x82)");
  EXPECT_EQ(go_quote("é€😀 ~"), "é€😀 ~");
  EXPECT_EQ(go_quote("\u0301"), "\u0301");  // combining mark, M
}

TEST(GoQuote, Unicode13NotLater) {
  // go1.19 uses Unicode 13.0: code points assigned only in 14 or 15 are escaped.
  EXPECT_STREQ(internal::kUnicodeVersion, "13.0.0");
  EXPECT_TRUE(go_is_print(0x9FFC));   // CJK, Unicode 13
  EXPECT_FALSE(go_is_print(0x9FFD));  // CJK, Unicode 14
  EXPECT_EQ(go_quote("\u9ffd"), R"(\u9ffd)");
  EXPECT_TRUE(go_is_print(0x1FAD6));   // 🫖 teapot, Unicode 13
  EXPECT_FALSE(go_is_print(0x1FAE0));  // 🫠 melting face, Unicode 14
  EXPECT_EQ(go_quote("\U0001FAE0"), R"(\U0001fae0)");
}

TEST(GoIsPrint, Latin1AndEdges) {
  for (char32_t r = 0; r < 0x20; ++r) EXPECT_FALSE(go_is_print(r)) << uint32_t(r);
  for (char32_t r = 0x20; r < 0x7F; ++r) EXPECT_TRUE(go_is_print(r)) << uint32_t(r);
  EXPECT_FALSE(go_is_print(0x7F));
  for (char32_t r = 0x80; r <= 0xA0; ++r) EXPECT_FALSE(go_is_print(r)) << uint32_t(r);
  for (char32_t r = 0xA1; r <= 0xFF; ++r) EXPECT_EQ(go_is_print(r), r != 0xAD) << uint32_t(r);
  EXPECT_FALSE(go_is_print(0x2028));
  EXPECT_FALSE(go_is_print(0xD800));
  EXPECT_TRUE(go_is_print(0xFFFD));
  EXPECT_FALSE(go_is_print(0x10FFFF));
  EXPECT_FALSE(go_is_print(0x110000));
  EXPECT_TRUE(go_is_print(0xE0100));  // variation selector, Mn
}

TEST(GoUnquote, Escapes) {
  EXPECT_EQ(*go_unquote(""), "");
  EXPECT_EQ(*go_unquote(R"(a\a\b\f\n\r\t\v\\\"z)"), "a\a\b\f\n\r\t\v\\\"z");
  EXPECT_EQ(*go_unquote(R"(\x41\xff\101\377\000)"), std::string("A\xff" "A\xff\0", 5));
  EXPECT_EQ(*go_unquote(R"(\u00e9\U0001F600\u2028)"), "é😀\u2028");
  EXPECT_EQ(*go_unquote("raw é\x01\t"), "raw é\x01\t");
  EXPECT_EQ(*go_unquote("bad\xff"), "bad\ufffd");  // as Go: a raw invalid byte is U+FFFD
}

TEST(GoUnquote, RejectsWhatGoRejects) {
  for (std::string_view bad : {R"(a"b)", "a\nb", R"(\q)", R"(\')", R"(\x4)", R"(\xzz)", R"(\u123)",
                               R"(\ud800)", R"(\udfff)", R"(\U00110000)", R"(\400)", R"(\08)",
                               R"(\7)", "\\", R"(abc\)", R"(\U0000004)"}) {
    auto r = go_unquote(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument);
      EXPECT_NE(r.status().message().find("cannot unquote"), std::string::npos);
    }
  }
}

TEST(GoUnquote, RoundTripsRandomBytes) {
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 24, '\0');
    for (char& c : s) {
      uint32_t k = rng() % 8;
      // Bias towards interesting bytes: ASCII, controls, UTF-8 lead and continuation bytes.
      c = char(k < 3 ? 0x20 + rng() % 0x60 : k < 4 ? rng() % 0x20 : k < 6 ? 0x80 + rng() % 0x40 : 0xC0 + rng() % 0x40);
    }
    if (i % 3 == 0) {  // sprinkle valid multi-byte runes
      std::string r;
      char32_t cp = rng() % 0x110000;
      if (cp >= 0xD800 && cp < 0xE000) cp = 0xE000;
      if (cp < 0x800) r = {char(0xC0 | (cp >> 6)), char(0x80 | (cp & 0x3F))};
      else if (cp < 0x10000) r = {char(0xE0 | (cp >> 12)), char(0x80 | ((cp >> 6) & 0x3F)), char(0x80 | (cp & 0x3F))};
      else r = {char(0xF0 | (cp >> 18)), char(0x80 | ((cp >> 12) & 0x3F)), char(0x80 | ((cp >> 6) & 0x3F)), char(0x80 | (cp & 0x3F))};
      s += r;
    }
    std::string q = go_quote(s);
    ASSERT_TRUE(go_valid_utf8(q)) << q;
    auto back = go_unquote(q);
    ASSERT_TRUE(back.ok()) << q << ": " << back.status().to_string();
    ASSERT_EQ(*back, s) << q;
  }
}

TEST(GoValidUtf8, Basics) {
  EXPECT_TRUE(go_valid_utf8(""));
  EXPECT_TRUE(go_valid_utf8("aé€😀\xef\xbf\xbd"));
  EXPECT_FALSE(go_valid_utf8("\xff"));
  EXPECT_FALSE(go_valid_utf8("\xed\xa0\x80"));
  EXPECT_FALSE(go_valid_utf8("\xe2\x82"));
}

NodeTime t(int64_t sec, int32_t nsec, int32_t offset) { return NodeTime{sec, nsec, offset}; }

TEST(GoTime, FormatsRfc3339Nano) {
  // 1600000000 = 2020-09-13T12:26:40Z; the RESTIC_FORMAT.md §7.3 example in Kolkata.
  EXPECT_EQ(format_go_time(t(1600000000, 0, 19800)), "2020-09-13T17:56:40+05:30");
  EXPECT_EQ(format_go_time(t(1600000000, 729339803, 19800)), "2020-09-13T17:56:40.729339803+05:30");
  EXPECT_EQ(format_go_time(t(1600000000, 120000000, 19800)), "2020-09-13T17:56:40.12+05:30");
  EXPECT_EQ(format_go_time(t(1600000000, 1, 0)), "2020-09-13T12:26:40.000000001Z");
  EXPECT_EQ(format_go_time(t(1600000000, 0, -18000)), "2020-09-13T07:26:40-05:00");
  EXPECT_EQ(format_go_time(t(0, 0, 0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_go_time(t(-1, 500000000, 0)), "1969-12-31T23:59:59.5Z");
  EXPECT_EQ(format_go_time(t(951782400, 0, 0)), "2000-02-29T00:00:00Z");
  EXPECT_EQ(format_go_time(t(-62135596800, 0, 0)), "0001-01-01T00:00:00Z");  // Go's zero time
  EXPECT_EQ(format_go_time(t(253402300799, 999999999, 0)), "9999-12-31T23:59:59.999999999Z");
}

TEST(GoTime, OffsetsWithSecondsPrintLikeGo) {
  // Kolkata's LMT, +05:53:28: the clock uses all of it, the printed offset only the minutes.
  EXPECT_EQ(format_go_time(t(0, 0, 21208)), "1970-01-01T05:53:28+05:53");
  // -30 s truncates to 0 minutes; Go then prints "+00:00" (the offset is not zero, so no Z).
  EXPECT_EQ(format_go_time(t(0, 0, -30)), "1969-12-31T23:59:30+00:00");
  EXPECT_EQ(format_go_time(t(0, 0, -5430)), "1969-12-31T22:29:30-01:30");
}

TEST(GoTime, ClampsYearsLikeResticFixTime) {
  // Year 10000 is a leap year: its Feb 29 becomes 9999-03-01, as Go's AddDate normalises.
  int64_t y10000_feb29 = days_from_civil(10000, 2, 29) * 86400 + 3600;
  EXPECT_EQ(format_go_time(t(y10000_feb29, 0, 0)), "9999-03-01T01:00:00Z");
  int64_t y12345 = days_from_civil(12345, 6, 7) * 86400;
  EXPECT_EQ(format_go_time(t(y12345, 5, 3600)), "9999-06-07T01:00:00.000000005+01:00");
  int64_t ym3 = days_from_civil(-3, 5, 6) * 86400;
  EXPECT_EQ(format_go_time(t(ym3, 0, 0)), "0000-05-06T00:00:00Z");
  EXPECT_EQ(format_go_time(t(INT64_MIN, 0, 0)).size(), 20u);
  EXPECT_EQ(format_go_time(t(INT64_MAX, 0, 0)).substr(0, 4), "9999");
}

TEST(GoTime, CivilConversionsAgree) {
  for (int64_t days = -800000; days < 3000000; days += 97) {
    int64_t y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    ASSERT_EQ(days_from_civil(y, m, d), days);
  }
}

TEST(GoTime, ParseRoundTrips) {
  for (const NodeTime& v : {t(1600000000, 729339803, 19800), t(1600000000, 0, 0), t(-1, 1, -36000),
                            t(-62135596800, 0, 0), t(253402300799, 999999999, -50400)}) {
    auto p = parse_go_time(format_go_time(v));
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    EXPECT_EQ(*p, v);
  }
  auto p = parse_go_time("2026-11-25T00:09:10.609433218+05:30");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(format_go_time(*p), "2026-11-25T00:09:10.609433218+05:30");
  // Any fraction length; beyond 9 digits truncated.
  EXPECT_EQ(parse_go_time("2020-09-13T12:26:40.1Z")->nsec, 100000000);
  EXPECT_EQ(parse_go_time("2020-09-13T12:26:40.1234567891234Z")->nsec, 123456789);
  // +00:00 and -00:00 are offset zero, printed as Z again.
  EXPECT_EQ(format_go_time(*parse_go_time("2020-09-13T12:26:40+00:00")), "2020-09-13T12:26:40Z");
  EXPECT_EQ(parse_go_time("2020-09-13T12:26:40-00:00")->sec, 1600000000);
  EXPECT_EQ(parse_go_time("2000-02-29T00:00:00Z")->sec, 951782400);
}

TEST(GoTime, ParseRejectsGarbage) {
  for (std::string_view bad :
       {"", "2020", "2020-09-13", "2020-09-13T12:26:40", "2020-09-13 12:26:40Z", "2020-09-13t12:26:40Z",
        "2020-09-13T12:26:40z", "2020-9-13T12:26:40Z", "2020-09-13T12:26:40.Z", "2020-09-13T12:26:40+0530",
        "2020-09-13T12:26:40+05", "2020-09-13T12:26:40+05:30:00", "2020-13-01T00:00:00Z",
        "2020-00-01T00:00:00Z", "2021-02-29T00:00:00Z", "2020-04-31T00:00:00Z", "2020-09-13T24:00:00Z",
        "2020-09-13T12:60:00Z", "2020-09-13T12:26:60Z", "2020-09-13T12:26:40+24:00",
        "2020-09-13T12:26:40+05:60", "2020-09-13T12:26:40Zjunk", "+2020-09-13T12:26:40Z",
        "2020-09-13T12:26:40,5Z", "２020-09-13T12:26:40Z"}) {
    auto p = parse_go_time(bad);
    EXPECT_FALSE(p.ok()) << bad;
    if (!p.ok()) {
      EXPECT_NE(p.status().message().find("invalid RFC 3339 time"), std::string::npos);
    }
  }
}

// ---- JsonReader ----

TEST(JsonReader, ReadsStringsLikeGo) {
  auto str = [](std::string_view doc) {
    JsonReader r(doc);
    std::string s;
    auto st = r.read_string(s);
    EXPECT_TRUE(st.ok()) << doc << ": " << st.to_string();
    EXPECT_TRUE(r.finish().ok());
    return s;
  };
  EXPECT_EQ(str(R"("a\"\\\/\b\f\n\r\t")"), "a\"\\/\b\f\n\r\t");
  EXPECT_EQ(str(R"("\u00e9\u2028\u003c")"), "é\u2028<");
  EXPECT_EQ(str(R"("\ud83d\ude00")"), "😀");
  EXPECT_EQ(str(R"("\ud800x")"), "\ufffdx");                 // lone high surrogate
  EXPECT_EQ(str(R"("\udc00")"), "\ufffd");                   // lone low surrogate
  EXPECT_EQ(str(R"("\ud800\u0041")"), "\ufffdA");            // not a pair
  EXPECT_EQ(str(R"("\ud800\ud800\udc00")"), "\ufffd\U00010000");
  EXPECT_EQ(str("\"bad\xff\xfe\""), "bad\ufffd\ufffd");       // invalid UTF-8 replaced
  EXPECT_EQ(str(" \"\x7f\" \n"), "\x7f");
}

TEST(JsonReader, IntegersAreStrict) {
  auto u = [](std::string_view doc, uint64_t max) { return JsonReader(doc).read_uint(max); };
  EXPECT_EQ(*u("0", 10), 0u);
  EXPECT_EQ(*u("4294967295", 0xFFFFFFFF), 0xFFFFFFFFu);
  EXPECT_FALSE(u("4294967296", 0xFFFFFFFF).ok());
  EXPECT_EQ(*u("18446744073709551615", UINT64_MAX), UINT64_MAX);
  EXPECT_FALSE(u("18446744073709551616", UINT64_MAX).ok());
  for (auto bad : {"-1", "1.0", "1e3", "-", "", "x", "+1", ".5"}) EXPECT_FALSE(u(bad, 100).ok()) << bad;
  JsonReader leading_zero("01");
  EXPECT_EQ(*leading_zero.read_uint(100), 0u);
  EXPECT_FALSE(leading_zero.finish().ok());
  EXPECT_EQ(*JsonReader("-9223372036854775808").read_int(), INT64_MIN);
  EXPECT_EQ(*JsonReader("9223372036854775807").read_int(), INT64_MAX);
  EXPECT_FALSE(JsonReader("9223372036854775808").read_int().ok());
  EXPECT_FALSE(JsonReader("-9223372036854775809").read_int().ok());
}

TEST(JsonReader, SkipsAndCompactsValues) {
  JsonReader r(R"( { "a" : [ 1 , -2.5e+3 , { "b" : null } , "x y\"" ] , "c" : true , "d" : { } } )");
  ASSERT_TRUE(r.begin_object().ok());
  std::string key, raw;
  ASSERT_TRUE(*r.next_member(key));
  EXPECT_EQ(key, "a");
  ASSERT_TRUE(r.read_raw_value(raw).ok());
  EXPECT_EQ(raw, R"([1,-2.5e+3,{"b":null},"x y\""])");
  ASSERT_TRUE(*r.next_member(key));
  ASSERT_TRUE(r.skip_value().ok());
  ASSERT_TRUE(*r.next_member(key));
  EXPECT_EQ(key, "d");
  ASSERT_TRUE(r.skip_value().ok());
  EXPECT_FALSE(*r.next_member(key));
  EXPECT_TRUE(r.finish().ok());
}

TEST(JsonReader, RejectsMalformedDocuments) {
  for (std::string_view bad :
       {"", "{", "[", "[1,]", "[1 2]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{\"a\":}", "[tru]", "[nul]",
        "\"abc", "\"a\x01\"", "\"\\x\"", "\"\\u12\"", "[01]", "[1.]", "[1e]", "{} x", "[\"a\"]]", "'a'",
        "[NaN]", "[-]", "{\"a\":1}{}"}) {
    JsonReader r(bad);
    auto st = r.skip_value();
    if (st.ok()) st = r.finish();
    EXPECT_FALSE(st.ok()) << bad;
  }
}

TEST(JsonReader, DeepNestingFailsCleanly) {
  std::string deep(200000, '[');
  JsonReader r(deep);
  auto st = r.skip_value();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("nesting too deep"), std::string::npos);
  std::string ok_deep = std::string(5000, '[') + std::string(5000, ']');
  JsonReader r2(ok_deep);
  EXPECT_TRUE(r2.skip_value().ok());
  EXPECT_TRUE(r2.finish().ok());
}

TEST(JsonReader, RandomGarbageNeverCrashes) {
  std::mt19937 rng(7);
  const std::string alphabet = "{}[],:\"\\ u0123456789abcdefntrlse.-+E\xff\xc3\xa9\x01";
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string doc(rng() % 40, ' ');
    for (char& c : doc) c = alphabet[rng() % alphabet.size()];
    JsonReader r(doc);
    auto st = r.skip_value();
    if (st.ok() && r.finish().ok()) ++accepted;
  }
  EXPECT_LT(accepted, 20000);
}

}  // namespace
}  // namespace kura::repo
