#include "repo/index.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>


namespace kura::repo {
namespace {

Id id_of(char c) { return hash_id(base::as_bytes(std::string(1, c))); }

base::Bytes bytes(const std::string& s) { return base::Bytes(s.begin(), s.end()); }

std::string blob_json(const Id& id, const char* type, const std::string& rest) {
  return "{\"id\":\"" + id.hex() + "\",\"type\":\"" + type + "\"," + rest + "}";
}

std::string one_pack(const std::string& blobs) {
  return "{\"packs\":[{\"id\":\"" + id_of('p').hex() + "\",\"blobs\":[" + blobs + "]}]}";
}

std::string error_of(const std::string& json) {
  auto r = decode_index_json(base::ByteSpan(bytes(json)));
  EXPECT_FALSE(r.ok()) << json;
  return r.ok() ? "" : r.status().message();
}

TEST(IndexJson, RoundTrip) {
  std::vector<IndexPack> packs(2);
  packs[0].id = id_of('a');
  packs[0].blobs.push_back({id_of('1'), BlobType::kData, 0, 100, 0});
  packs[0].blobs.push_back({id_of('2'), BlobType::kTree, 100, 60, 200});
  packs[1].id = id_of('b');
  base::Bytes json = encode_index_json(packs, {id_of('s')});
  auto back = decode_index_json(base::ByteSpan(json));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].id, id_of('a'));
  ASSERT_EQ((*back)[0].blobs.size(), 2u);
  EXPECT_EQ((*back)[0].blobs[1].id, id_of('2'));
  EXPECT_EQ((*back)[0].blobs[1].type, BlobType::kTree);
  EXPECT_EQ((*back)[0].blobs[1].offset, 100u);
  EXPECT_EQ((*back)[0].blobs[1].length, 60u);
  EXPECT_EQ((*back)[0].blobs[1].uncompressed_length, 200u);
  EXPECT_EQ((*back)[1].id, id_of('b'));
  EXPECT_TRUE((*back)[1].blobs.empty());
  EXPECT_EQ(encode_index_json(*back, {id_of('s')}), json);
}

TEST(IndexJson, FieldsInAnyOrderUnknownFieldsIgnoredKeysAndNullsAsGoReadsThem) {
  std::string blob = "{\"Length\":50,\"extra\":{\"x\":[1,2]},\"offset\":7,\"uncompressed_length\":null,"
                     "\"type\":\"tree\",\"id\":\"" + id_of('1').hex() + "\"}";
  std::string json = "{\"supersedes\":null,\"packs\":[{\"blobs\":[" + blob + "],\"id\":\"" +
                     id_of('p').hex() + "\"},{\"id\":\"" + id_of('q').hex() +
                     "\",\"blobs\":null}],\"more\":1}";
  auto r = decode_index_json(base::ByteSpan(bytes(json)));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].id, id_of('p'));
  EXPECT_EQ((*r)[0].blobs[0].offset, 7u);
  EXPECT_EQ((*r)[0].blobs[0].length, 50u);
  EXPECT_EQ((*r)[0].blobs[0].uncompressed_length, 0u);
  EXPECT_TRUE((*r)[1].blobs.empty());
  auto empty = decode_index_json(base::ByteSpan(bytes("{\"packs\":null}")));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(IndexJson, RejectsMalformedFilesWithClearErrors) {
  EXPECT_EQ(error_of("not json").rfind("index: ", 0), 0u);
  EXPECT_EQ(error_of("[]"), "index: old index format (restic 0.1) is not supported");
  EXPECT_EQ(error_of("7"), "index: not a JSON object");
  EXPECT_EQ(error_of("{}"), "index: missing \"packs\"");
  EXPECT_EQ(error_of("{\"packs\":{}}"), "index: \"packs\" is not a list");
  EXPECT_EQ(error_of("{\"packs\":[{\"blobs\":[]}]}"), "index: pack 0: missing id");
  EXPECT_NE(error_of("{\"packs\":[{\"id\":\"abc\"}]}").find("pack 0: "), std::string::npos);
  EXPECT_NE(error_of(one_pack("{\"type\":\"data\",\"offset\":0,\"length\":40}")).find("blob without id"),
            std::string::npos);
  EXPECT_NE(error_of(one_pack(blob_json(id_of('1'), "blub", "\"offset\":0,\"length\":40")))
                .find("invalid blob type \"blub\""),
            std::string::npos);
  EXPECT_NE(error_of(one_pack(blob_json(id_of('1'), "data", "\"length\":40"))).find("without offset"),
            std::string::npos);
  EXPECT_NE(error_of(one_pack(blob_json(id_of('1'), "data", "\"offset\":-1,\"length\":40")))
                .find("field \"offset\": "),
            std::string::npos);
  EXPECT_NE(error_of(one_pack(blob_json(id_of('1'), "data", "\"offset\":0,\"length\":4294967296")))
                .find("field \"length\": "),
            std::string::npos);
  EXPECT_NE(error_of(one_pack(blob_json(id_of('1'), "data", "\"offset\":0,\"length\":31"))).find("too short"),
            std::string::npos);
  std::string good = one_pack(blob_json(id_of('1'), "data", "\"offset\":0,\"length\":40"));
  EXPECT_EQ(error_of(good + "x").rfind("index: ", 0), 0u);
  EXPECT_NE(error_of(good.substr(0, good.size() - 3)).find("index: "), std::string::npos);
}

TEST(IndexJson, ExactLayoutAndGeneralReaderAgree) {
  // encode_index_json's layout (restic's too) takes the fast path; the same file with spaces
  // after the colons goes through the general reader.
  std::vector<IndexPack> packs(1);
  packs[0].id = id_of('a');
  packs[0].blobs.push_back({id_of('1'), BlobType::kData, 0, 4294967295u, 0});
  packs[0].blobs.push_back({id_of('2'), BlobType::kTree, 7, 60, 4294967295u});
  base::Bytes json = encode_index_json(packs);
  std::string spaced;
  for (uint8_t c : json) {
    spaced += char(c);
    if (c == ':') spaced += ' ';
  }
  auto fast = decode_index_json(base::ByteSpan(json));
  auto general = decode_index_json(base::ByteSpan(bytes(spaced)));
  ASSERT_TRUE(fast.ok() && general.ok());
  EXPECT_EQ(encode_index_json(*fast), json);
  EXPECT_EQ(encode_index_json(*general), json);
  // Uppercase hex is a valid id for Go's hex decoder, on both paths.
  std::string upper = one_pack(blob_json(id_of('1'), "data", "\"offset\":0,\"length\":40"));
  std::string hex = id_of('1').hex();
  for (auto& c : hex) c = char(std::toupper(c));
  upper.replace(upper.find(id_of('1').hex()), 64, hex);
  auto up = decode_index_json(base::ByteSpan(bytes(upper)));
  ASSERT_TRUE(up.ok());
  EXPECT_EQ((*up)[0].blobs[0].id, id_of('1'));
  // Near misses of the layout still get the general reader's verdict.
  EXPECT_NE(error_of(one_pack(blob_json(id_of('1'), "data", "\"offset\":01,\"length\":40"))), "");
  EXPECT_NE(error_of(one_pack(blob_json(id_of('1'), "data", "\"offset\":0,\"length\":4294967296"))), "");
  EXPECT_NE(error_of(one_pack(blob_json(id_of('1'), "data", "\"offset\":0,\"length\":31"))).find("too short"),
            std::string::npos);
}

TEST(Index, ReserveKeepsEveryEntry) {
  Index index;
  uint32_t pack = index.intern_pack(id_of('p'));
  for (uint32_t i = 0; i < 3000; ++i) {
    if (i == 1000) index.reserve(100000);
    std::string s = std::to_string(i);
    index.add({hash_id(base::as_bytes(s)), BlobType::kData, i * 64, 64, 0}, pack);
  }
  EXPECT_EQ(index.size(), 3000u);
  for (uint32_t i = 0; i < 3000; ++i) {
    std::string s = std::to_string(i);
    const IndexEntry* e = index.find(hash_id(base::as_bytes(s)), BlobType::kData);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->offset, i * 64);
  }
}

}  // namespace
}  // namespace kura::repo
