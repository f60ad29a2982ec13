// Unit tests of the shared output helpers (apps/kura/output.h) and of restic's ways of reading
// passwords (apps/kura/password.h).
#include <gtest/gtest.h>

#include "apps/kura/cli.h"
#include "apps/kura/output.h"
#include "apps/kura/password.h"

namespace kura::cli {
namespace {

base::Bytes bytes(std::string_view s) { return base::Bytes(s.begin(), s.end()); }

const base::Messages& msg() {
  static Cli cli;
  return cli.msg();
}

TEST(DisplayWidthTest, WideCharactersTakeTwoColumns) {
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("日本語"), 6u);
  EXPECT_EQ(display_width("ｱｲ"), 2u);          // halfwidth katakana: one each
  EXPECT_EQ(display_width("ＡＢ"), 4u);        // fullwidth Latin: two each
  EXPECT_EQ(display_width("e\xcc\x81"), 1u);   // e + combining acute
  EXPECT_EQ(display_width("\xff\xfe"), 2u);    // invalid bytes: one column each
  EXPECT_EQ(display_width("\xe6\x97"), 2u);    // a truncated sequence too
  EXPECT_EQ(pad_to_width("日本", 6), "日本  ");
  EXPECT_EQ(pad_to_width("long", 2), "long");
}

TEST(TableTest, ColumnsPadToTheWidestCellInDisplayColumns) {
  Table t;
  t.add_column("ID");
  t.add_column("Host", 6);
  t.add_column("Paths");
  t.add_row({"1", "診療所", "/a\n/b"});
  t.add_row({"22", "h", ""});
  EXPECT_EQ(t.render("2 snapshots"),
            "ID  Host    Paths\n"
            "-----------------\n"
            "1   診療所  /a\n"
            "            /b\n"
            "22  h\n"
            "-----------------\n"
            "2 snapshots\n");
  t.set_spaced(true);
  EXPECT_NE(t.render("").find("/b\n\n22"), std::string::npos);
}

TEST(JsonIndentTest, MatchesGoMarshalIndent) {
  auto s = json_indent(R"({"a":1,"b":[1,"x,\"]:{"],"c":{},"d":[],"e":{"f":null}})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s,
            "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    \"x,\\\"]:{\"\n  ],\n  \"c\": {},\n  \"d\": [],\n"
            "  \"e\": {\n    \"f\": null\n  }\n}");
  EXPECT_EQ(*json_indent(" { \"a\" : [ ] } \n"), "{\n  \"a\": []\n}");
}

TEST(JsonIndentTest, RejectsBrokenDocuments) {
  EXPECT_FALSE(json_indent("{\"a\":1").ok());
  EXPECT_FALSE(json_indent("{\"a\":\"1}").ok());
  EXPECT_FALSE(json_indent("]").ok());
}

TEST(JsonStringArrayTest, NullOnlyWhenAsked) {
  EXPECT_EQ(json_string_array({}, true), "null");
  EXPECT_EQ(json_string_array({}, false), "[]");
  EXPECT_EQ(json_string_array({"a", "<b>"}, true), R"(["a","\u003cb\u003e"])");
}

TEST(PasswordTest, TrimSpaceIsGosTrimSpace) {
  EXPECT_EQ(go_trim_space("  pass word \t\r\n\n"), "pass word");
  EXPECT_EQ(go_trim_space("\xc2\xa0pw\xe3\x80\x80"), "pw");  // NBSP, ideographic space
  EXPECT_EQ(go_trim_space("\xe2\x80\x8bpw"), "\xe2\x80\x8bpw");  // zero width space is no space
  EXPECT_EQ(go_trim_space("pw\xff "), "pw\xff");
  EXPECT_EQ(go_trim_space(" \n "), "");
}

TEST(PasswordTest, DecodeTextDropsBomsAndConvertsUtf16) {
  EXPECT_EQ(decode_text(bytes("\xef\xbb\xbfpw")), "pw");
  EXPECT_EQ(decode_text(bytes(std::string("\xff\xfep\0w\0", 6))), "pw");
  EXPECT_EQ(decode_text(bytes(std::string("\xfe\xff\0p\0w", 6))), "pw");
  EXPECT_EQ(decode_text(bytes(std::string("\xff\xfe\xe5\x65", 4))), "\xe6\x97\xa5");  // 日
  EXPECT_EQ(decode_text(bytes(std::string("\xff\xfe\x00\xd8", 4))), "\xef\xbf\xbd");  // lone surrogate
  EXPECT_EQ(decode_text(bytes("plain\n")), "plain\n");
}

TEST(PasswordTest, SplitShellStringsAsRestic) {
  auto words = split_shell_strings(msg(), "printf 'a b' \"c d\"  e");
  ASSERT_TRUE(words.ok());
  EXPECT_EQ(*words, (std::vector<std::string>{"printf", "a b", "c d", "e"}));
  EXPECT_EQ(*split_shell_strings(msg(), "a\\b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(split_shell_strings(msg(), "echo 'open").ok());
  EXPECT_FALSE(split_shell_strings(msg(), "echo \"open").ok());
  EXPECT_FALSE(split_shell_strings(msg(), "   ").ok());
}

TEST(PasswordTest, CommandOutputIsTrimmedAndFailuresAreErrors) {
  auto pw = run_password_command(msg(), "printf ' secret \\n\\n'");
  ASSERT_TRUE(pw.ok()) << pw.status().message();
  EXPECT_EQ(*pw, "secret");
  EXPECT_FALSE(run_password_command(msg(), "false").ok());
  EXPECT_FALSE(run_password_command(msg(), "/nonexistent/command").ok());
}

TEST(PasswordTest, FirstLineDropsItsLineEnd) {
  EXPECT_EQ(first_line("pw \r\nrest"), "pw ");
  EXPECT_EQ(first_line("pw"), "pw");
  EXPECT_EQ(first_line(""), "");
}

TEST(ExtendedOptionsTest, ParsedAsRestic) {
  auto o = parse_extended_options(msg(), {"Rest.Connections = 4", "flag", "a=b=c"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->at("rest.connections"), "4");
  EXPECT_EQ(o->at("flag"), "");
  EXPECT_EQ(o->at("a"), "b=c");
  EXPECT_FALSE(parse_extended_options(msg(), {"=1"}).ok());
  EXPECT_FALSE(parse_extended_options(msg(), {"a=1", "a=2"}).ok());
  EXPECT_TRUE(parse_extended_options(msg(), {"a=1", "a=1"}).ok());
}

}  // namespace
}  // namespace kura::cli
