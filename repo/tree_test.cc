#include "repo/tree.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "repo/gojson.h"
#include "repo/mode.h"

namespace kura::repo {
namespace {

std::string str(const base::Bytes& b) { return std::string(b.begin(), b.end()); }

Id id_of(char c) { return hash_id(base::as_bytes(std::string(1, c))); }

// The RESTIC_FORMAT.md §7.3 example node (restic 0.14, TZ=Asia/Kolkata).
Node example_node() {
  Node n;
  n.name = "small.txt";
  n.type = NodeType::kFile;
  n.mode = 0;  // the file had mode 0000
  n.mtime = n.atime = NodeTime{1600000000, 0, 19800};
  n.ctime = *parse_go_time("2026-11-25T00:09:08.729339803+05:30");
  n.user = n.group = "root";
  n.inode = 10953146;
  n.device_id = 65024;
  n.size = 6;
  n.links = 1;
  n.xattrs = {{"user.foo", base::to_bytes(std::string("bar\0baz", 7))}};
  n.content = {id_of('x')};
  return n;
}

TEST(EncodeTree, SpecExample) {
  EXPECT_EQ(str(encode_tree({example_node()})),
            "{\"nodes\":[{\"name\":\"small.txt\",\"type\":\"file\",\"mtime\":\"2020-09-13T17:56:40+05:30\","
            "\"atime\":\"2020-09-13T17:56:40+05:30\",\"ctime\":\"2026-11-25T00:09:08.729339803+05:30\","
            "\"uid\":0,\"gid\":0,\"user\":\"root\",\"group\":\"root\",\"inode\":10953146,"
            "\"device_id\":65024,\"size\":6,\"links\":1,"
            "\"extended_attributes\":[{\"name\":\"user.foo\",\"value\":\"YmFyAGJheg==\"}],"
            "\"content\":[\"" + id_of('x').hex() + "\"]}]}\n");
}

TEST(EncodeTree, EmptyDirectory) { EXPECT_EQ(str(encode_tree({})), "{\"nodes\":[]}\n"); }

TEST(EncodeTree, SortsByRawNameBytes) {
  std::vector<Node> nodes;
  for (const char* name : {"\xff", "z", "\xc3\xa9", "B", "a", "a b", "a\x01"}) {
    Node n;
    n.name = name;
    n.type = NodeType::kFifo;
    nodes.push_back(n);
  }
  auto decoded = decode_tree(encode_tree(nodes));
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  std::vector<std::string> names;
  for (const Node& n : *decoded) names.push_back(n.name);
  EXPECT_EQ(names, (std::vector<std::string>{"B", "a", "a\x01", "a b", "z", "\xc3\xa9", "\xff"}));
}

TEST(EncodeTree, OmissionAndPerTypeFields) {
  Node dir;
  dir.name = "d";
  dir.type = NodeType::kDir;
  dir.mode = go_mode_from_st_mode(S_IFDIR | 0755);
  dir.subtree = id_of('s');
  Node empty_file;
  empty_file.name = "e";
  Node dev;
  dev.name = "sda";
  dev.type = NodeType::kDev;
  dev.links = 1;
  dev.device = 2049;
  dev.uid = 7;
  Node link;
  link.name = "l";
  link.type = NodeType::kSymlink;
  link.linktarget = "tgt\xfe\xff";
  link.error = "boom";
  auto out = str(encode_tree({dir, empty_file, dev, link}));
  const std::string z = "\"mtime\":\"1970-01-01T00:00:00Z\",\"atime\":\"1970-01-01T00:00:00Z\","
                        "\"ctime\":\"1970-01-01T00:00:00Z\"";
  EXPECT_EQ(out, "{\"nodes\":["
                 "{\"name\":\"d\",\"type\":\"dir\",\"mode\":2147484141," + z +
                 ",\"uid\":0,\"gid\":0,\"content\":null,\"subtree\":\"" + id_of('s').hex() + "\"},"
                 "{\"name\":\"e\",\"type\":\"file\"," + z + ",\"uid\":0,\"gid\":0,\"content\":[]},"
                 "{\"name\":\"l\",\"type\":\"symlink\"," + z +
                 ",\"uid\":0,\"gid\":0,\"linktarget\":\"tgt\\ufffd\\ufffd\",\"content\":null,\"error\":\"boom\"},"
                 "{\"name\":\"sda\",\"type\":\"dev\"," + z +
                 ",\"uid\":7,\"gid\":0,\"links\":1,\"device\":2049,\"content\":null}"
                 "]}\n");
  // 0.16 behaviour on request: the raw target survives.
  TreeEncodeOptions opts;
  opts.linktarget_raw = true;
  auto with_raw = str(encode_tree({link}, opts));
  EXPECT_NE(with_raw.find("\"linktarget\":\"tgt\\ufffd\\ufffd\",\"linktarget_raw\":\"dGd0/v8=\","),
            std::string::npos);
  auto back = decode_tree(base::to_bytes(with_raw));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)[0].linktarget, "tgt\xfe\xff");
  // A valid UTF-8 target gets no linktarget_raw.
  link.linktarget = "ok";
  EXPECT_EQ(str(encode_tree({link}, opts)).find("linktarget_raw"), std::string::npos);
}

TEST(EncodeTree, HostileNames) {
  Node n;
  n.type = NodeType::kFifo;
  n.name = "we<ird>&\"na\\me";
  auto out = str(encode_tree({n}));
  EXPECT_NE(out.find(R"("name":"we\u003cird\u003e\u0026\\\"na\\\\me")"), std::string::npos) << out;
  n.name = "bad\xffname";
  EXPECT_NE(str(encode_tree({n})).find(R"("name":"bad\\xffname")"), std::string::npos);
}

TEST(DecodeTree, RoundTripsEveryField) {
  Node a = example_node();
  a.xattrs.push_back({"user.empty", {}});
  a.content.push_back(id_of('y'));
  Node b;
  b.name = "sp\u2028ace\u00a0nbé\n\x01";
  b.type = NodeType::kDir;
  b.mode = go_mode_from_st_mode(S_IFDIR | S_ISVTX | 0777);
  b.mtime = {-5, 7, -3600};
  b.atime = {5, 0, 0};
  b.ctime = {1700000000, 999999999, 50400};
  b.uid = 4294967295u;
  b.gid = 1;
  b.user = "u<";
  b.group = "g\"";
  b.inode = UINT64_MAX;
  b.device_id = 1;
  b.subtree = id_of('t');
  Node c;
  c.name = "chr";
  c.type = NodeType::kCharDev;
  c.device = 0x80001;
  c.links = 3;
  Node d;
  d.name = "sock";
  d.type = NodeType::kSocket;
  d.error = "lstat failed";
  std::vector<Node> nodes = {a, b, c, d};
  auto bytes = encode_tree(nodes);
  auto decoded = decode_tree(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  std::sort(nodes.begin(), nodes.end(), [](const Node& x, const Node& y) { return x.name < y.name; });
  EXPECT_EQ(*decoded, nodes);
  EXPECT_EQ(encode_tree(*decoded), bytes);
}

TEST(DecodeTree, AcceptsWhatOtherVersionsWrite) {
  const std::string id = id_of('q').hex();
  const std::string doc =
      "{\"future\":{\"x\":[1,2]},\"nodes\":[\n"
      "  {\"name\":\"a\\\\x41\\\\u00e9\",\"type\":\"symlink\",\"linktarget\":\"tgt\\ufffd\","
      "\"linktarget_raw\":\"dGd0/w==\",\"generic_attributes\":{\"windows.creation_time\":\"AQ==\"},"
      "\"content\":null,\"unknown\":[{\"deep\":[null,true,false,1.5e3]}]},\n"
      "  {\"name\":\"f\",\"type\":\"file\",\"content\":[\"" + id + "\"],\"Size\":12,"
      "\"extended_attributes\":[{\"name\":\"user.x\",\"value\":null},{\"name\":\"user.y\",\"value\":\"AAE=\"}]},\n"
      "  {\"name\":\"g\",\"type\":\"irregular\",\"mtime\":null,\"user\":null,\"size\":null}\n"
      "]}\n\n";
  auto nodes = decode_tree(base::to_bytes(doc));
  ASSERT_TRUE(nodes.ok()) << nodes.status().to_string();
  ASSERT_EQ(nodes->size(), 3u);
  const Node& s = (*nodes)[0];
  EXPECT_EQ(s.name, "aAé");
  EXPECT_EQ(s.linktarget, "tgt\xff");
  EXPECT_TRUE(s.content.empty());
  EXPECT_EQ(s.mtime, kGoZeroTime);
  EXPECT_EQ(format_go_time(s.mtime), "0001-01-01T00:00:00Z");
  const Node& f = (*nodes)[1];
  EXPECT_EQ(f.size, 12u);  // Go matches keys case-insensitively
  ASSERT_EQ(f.content.size(), 1u);
  EXPECT_EQ(f.content[0], id_of('q'));
  ASSERT_EQ(f.xattrs.size(), 2u);
  EXPECT_TRUE(f.xattrs[0].value.empty());
  EXPECT_EQ(f.xattrs[1].value, (base::Bytes{0, 1}));
  EXPECT_EQ((*nodes)[2].type, NodeType::kIrregular);
  // A null node list is an empty tree.
  auto empty = decode_tree(base::to_bytes("{\"nodes\":null}"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(DecodeTree, ClearErrors) {
  const std::string id = id_of('q').hex();
  struct Case {
    std::string doc;
    std::string want;
  };
  const Case cases[] = {
      {"", "tree: JSON error at byte 0"},
      {"[]", "tree: JSON error"},
      {"{\"nodes\":{}}", "tree: nodes: JSON error"},
      {"{\"nodes\":[null]}", "tree: node 0: null"},
      {"{\"nodes\":[{\"name\":\"a\",\"type\":\"file\"},{\"name\":\"b\",\"type\":\"x\"}]}",
       "tree: node 1 (\"b\"): invalid type \"x\""},
      {"{\"nodes\":[{\"name\":\"b\"}]}", "tree: node 0 (\"b\"): missing type"},
      {"{\"nodes\":[{\"name\":\"\",\"type\":\"file\"}]}", "tree: node 0: empty name"},
      {"{\"nodes\":[{\"type\":\"file\"}]}", "tree: node 0: empty name"},
      {"{\"nodes\":[{\"name\":\"a\\\"b\",\"type\":\"file\"}]}", "tree: node 0 (\"a\\\"b\"): name: cannot unquote"},
      {"{\"nodes\":[{\"name\":\"a\\\\q\",\"type\":\"file\"}]}", "name: cannot unquote"},
      {"{\"nodes\":[{\"name\":\"a\",\"type\":\"file\",\"mode\":-1}]}", "field \"mode\": JSON error"},
      {"{\"nodes\":[{\"name\":\"a\",\"type\":\"file\",\"mode\":4294967296}]}", "out of range"},
      {"{\"nodes\":[{\"name\":\"a\",\"type\":\"file\",\"uid\":\"0\"}]}", "field \"uid\""},
      {"{\"nodes\":[{\"name\":\"a\",\"type\":\"file\",\"mtime\":\"yesterday\"}]}",
       "field \"mtime\": invalid RFC 3339 time"},
      {"{\"nodes\":[{\"name\":\"a\",\"type\":\"file\",\"content\":[\"abc\"]}]}",
       "field \"content\": content[0]: invalid ID"},
      {"{\"nodes\":[{\"name\":\"a\",\"type\":\"file\",\"content\":[null]}]}", "content[0]"},
      {"{\"nodes\":[{\"name\":\"a\",\"type\":\"dir\",\"subtree\":\"" + id + "0\"}]}", "field \"subtree\""},
      {"{\"nodes\":[{\"name\":\"a\",\"type\":\"dir\",\"subtree\":\"" + id.substr(1) + "g\"}]}",
       "invalid ID"},
      {"{\"nodes\":[{\"name\":\"a\",\"type\":\"file\",\"extended_attributes\":[{\"value\":\"!!\"}]}]}",
       "invalid base64"},
      {"{\"nodes\":[{\"name\":\"a\",\"type\":\"file\"}]} x", "data after the JSON document"},
      {"{\"nodes\":[{\"name\":\"a\",\"type\":\"file\"}]", "tree: JSON error"},
  };
  for (const Case& c : cases) {
    auto r = decode_tree(base::to_bytes(c.doc));
    ASSERT_FALSE(r.ok()) << c.doc;
    EXPECT_EQ(r.status().code(), base::Code::kDataLoss) << c.doc;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos)
        << c.doc << "\n  got: " << r.status().message() << "\n want: " << c.want;
  }
}

TEST(DecodeTree, GarbageAndMutationsNeverCrash) {
  Node a = example_node();
  Node b;
  b.name = "dir\xff";
  b.type = NodeType::kDir;
  b.subtree = id_of('d');
  const base::Bytes good = encode_tree({a, b});
  std::mt19937 rng(1);
  int ok = 0;
  for (int i = 0; i < 30000; ++i) {
    base::Bytes doc = good;
    int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % doc.size();
      switch (rng() % 3) {
        case 0: doc[at] = uint8_t(rng()); break;
        case 1: doc.erase(doc.begin() + long(at)); break;
        default: doc.insert(doc.begin() + long(at), uint8_t("{}[],:\"\\0a-"[rng() % 12])); break;
      }
    }
    auto r = decode_tree(doc);
    if (r.ok()) {
      ++ok;
      // Whatever decodes must re-encode and decode to the same nodes.
      auto again = decode_tree(encode_tree(*r));
      ASSERT_TRUE(again.ok()) << again.status().to_string();
    } else {
      ASSERT_EQ(r.status().code(), base::Code::kDataLoss);
    }
  }
  EXPECT_GT(ok, 0);
  for (int i = 0; i < 5000; ++i) {
    base::Bytes doc(rng() % 64);
    for (auto& c : doc) c = uint8_t(rng());
    EXPECT_FALSE(decode_tree(doc).ok());
  }
}

TEST(NodeNames, SafeForRestore) {
  EXPECT_TRUE(is_safe_node_name("a"));
  EXPECT_TRUE(is_safe_node_name("..."));
  EXPECT_TRUE(is_safe_node_name("\xff"));
  for (std::string_view bad : {std::string_view(""), std::string_view("."), std::string_view(".."),
                               std::string_view("a/b"), std::string_view("/"), std::string_view("a\0b", 3)})
    EXPECT_FALSE(is_safe_node_name(bad)) << bad;
}

TEST(NodeTypes, NamesRoundTrip) {
  for (int i = 0; i <= int(NodeType::kIrregular); ++i) {
    auto t = NodeType(i);
    EXPECT_EQ(node_type_from_name(node_type_name(t)), t);
  }
  EXPECT_FALSE(node_type_from_name("File").has_value());
  EXPECT_FALSE(node_type_from_name("").has_value());
}

TEST(GoMode, MatchesObservedResticValues) {
  // RESTIC_FORMAT.md §7.4, observed with restic 0.14.
  EXPECT_EQ(go_mode_from_st_mode(S_IFDIR | 0755), 2147484141u);
  EXPECT_EQ(go_mode_from_st_mode(S_IFDIR | 01777), 2148532735u);
  EXPECT_EQ(go_mode_from_st_mode(S_IFLNK | 0777), 134218239u);
  EXPECT_EQ(go_mode_from_st_mode(S_IFIFO | 0644), 33554852u);
  EXPECT_EQ(go_mode_from_st_mode(S_IFREG | 04755), 8389101u);
  EXPECT_EQ(go_mode_from_st_mode(S_IFBLK | 0640), 67109280u);
  EXPECT_EQ(go_mode_from_st_mode(S_IFCHR | 0600), 69206400u);
  EXPECT_EQ(go_mode_from_st_mode(S_IFREG | 0), 0u);
  EXPECT_EQ(go_mode_from_st_mode(S_IFSOCK | 0755), kGoModeSocket | 0755);
  EXPECT_EQ(go_mode_from_st_mode(S_IFREG | 02644), kGoModeSetgid | 0644);
  for (uint32_t perm = 0; perm <= 07777; ++perm) {
    EXPECT_EQ(st_mode_perm_from_go_mode(go_mode_from_st_mode(S_IFREG | perm)), perm);
    EXPECT_EQ(st_mode_perm_from_go_mode(go_mode_from_st_mode(S_IFDIR | perm)), perm);
  }
}


// Regression: backup --stdin-filename dir/x.sql stored a node named "dir/x.sql" that neither
// kura's nor restic's restore accepts; trees are now checked where they are built.
TEST(EncodeValidTree, RefusesNamesRestoreRefuses) {
  for (const std::string& bad : std::vector<std::string>{"dir/x.sql", "..", ".", "", "../x", std::string("a\0b", 3)}) {
    Node n;
    n.name = bad;
    auto t = encode_valid_tree({n});
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), base::Code::kInvalidArgument);
    EXPECT_NE(t.status().message().find("invalid node name"), std::string::npos);
  }
}

TEST(EncodeValidTree, RefusesDuplicateNames) {
  Node a, b, c;
  a.name = "x";
  b.name = "y";
  c.name = "x";
  auto t = encode_valid_tree({a, b, c});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("two nodes named \"x\""), std::string::npos);
}

TEST(EncodeValidTree, SameBytesAsEncodeTree) {
  Node a, b;
  a.name = "b";
  b.name = "a\xff";
  auto t = encode_valid_tree({a, b});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, encode_tree({a, b}));
}

}  // namespace
}  // namespace kura::repo
