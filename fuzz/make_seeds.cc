// Writes the seed corpora of the fuzz targets: small, valid examples of each format, built with
// kura's own encoders (which match restic's bytes) plus a few restic-written samples. The output
// is deterministic, so regenerating gives the same files. Run through fuzz/make-seeds.
//
// usage: fuzz_make_seeds CORPUS_DIR   (writes CORPUS_DIR/<target>/seed-*)
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/env.h"
#include "crypto/crypto.h"
#include "crypto/keyfile.h"
#include "crypto/random.h"
#include "crypto/test_fixture.h"
#include "fuzz/fuzz_common.h"
#include "repo/compress.h"
#include "repo/config.h"
#include "repo/gojson.h"
#include "repo/index.h"
#include "repo/lock_json.h"
#include "repo/pack.h"
#include "repo/snapshot.h"
#include "repo/tree.h"

namespace kura::fuzz {
namespace {

std::string g_dir;
int g_failures = 0;

void write(const std::string& target, const std::string& name, base::ByteSpan data) {
  std::string path = g_dir + "/" + target + "/seed-" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  bool ok = f != nullptr && std::fwrite(data.data(), 1, data.size(), f) == data.size();
  if (f != nullptr && std::fclose(f) != 0) ok = false;
  if (!ok) {
    std::fprintf(stderr, "make_seeds: cannot write %s\n", path.c_str());
    ++g_failures;
  }
}

// A seed the parser rejects would only cover its error paths: say so and fail.
template <typename T>
void expect_ok(const std::string& what, const base::StatusOr<T>& r) {
  if (!r.ok()) {
    std::fprintf(stderr, "make_seeds: %s does not parse: %s\n", what.c_str(),
                 r.status().to_string().c_str());
    ++g_failures;
  }
}

// For targets whose first byte selects a mode.
void write(const std::string& target, const std::string& name, uint8_t mode, base::ByteSpan data) {
  base::Bytes b{mode};
  b.insert(b.end(), data.begin(), data.end());
  write(target, name, b);
}

// Writes a seed after checking that `parse` accepts it.
template <typename Parse>
void write_parsed(const std::string& target, const std::string& name, Parse parse,
                  base::ByteSpan data) {
  expect_ok(target + "/" + name, parse(data));
  write(target, name, data);
}
template <typename Parse>
void write_parsed(const std::string& target, const std::string& name, Parse parse,
                  std::string_view data) {
  write_parsed(target, name, parse, base::as_bytes(data));
}

repo::Id id_of(std::string_view s) { return repo::hash_id(base::as_bytes(s)); }

repo::NodeTime time_of(std::string_view s) { return repo::parse_go_time(s).value(); }

// ---- pack ----------------------------------------------------------------------------------

struct BlobSpec {
  repo::BlobType type;
  std::string plain;
  bool compress;
};

base::Bytes make_pack(const std::vector<BlobSpec>& specs, crypto::RandomSource& random) {
  repo::PackBuilder builder;
  for (const BlobSpec& s : specs) {
    base::Bytes body;
    uint32_t ulen = 0;
    if (s.compress) {
      repo::zstd_compress(base::as_bytes(s.plain), 3, body);
      ulen = uint32_t(s.plain.size());
    } else {
      body = base::to_bytes(s.plain);
    }
    builder.add(id_of(s.plain), s.type, crypto::seal(fixed_key(), body, random), ulen);
  }
  return builder.finish(fixed_key(), random);
}

// The plaintext header for blobs of the given lengths, prefixed with data_end as pack_fuzz
// mode 0 wants it.
base::Bytes plain_header(const std::vector<repo::PackedBlob>& blobs) {
  base::Bytes out(4);
  uint32_t end = 0;
  for (const auto& b : blobs) {
    out.push_back(uint8_t(uint8_t(b.type) + (b.compressed() ? 2 : 0)));
    uint8_t n[4];
    base::store_le32(n, b.length);
    out.insert(out.end(), n, n + 4);
    if (b.compressed()) {
      base::store_le32(n, b.uncompressed_length);
      out.insert(out.end(), n, n + 4);
    }
    out.insert(out.end(), b.id.bytes.begin(), b.id.bytes.end());
    end += b.length;
  }
  base::store_le32(out.data(), end);
  return out;
}

void pack_seeds() {
  auto random = crypto::seeded_random(1);
  const std::string t = "pack";
  // flags: bit 0 = v2, bits 1-2 = mode (see pack_fuzz.cc).
  repo::PackedBlob a{id_of("a"), repo::BlobType::kData, 0, 40, 0};
  repo::PackedBlob b{id_of("b"), repo::BlobType::kTree, 40, 33, 900};
  repo::PackedBlob c{id_of("c"), repo::BlobType::kData, 73, 64, 17};
  base::Bytes v2 = plain_header({a, b, c});
  expect_ok("pack header v2",
            repo::decode_pack_header(base::ByteSpan(v2).subspan(4), 2, base::load_le32(v2.data())));
  write(t, "header-v2", 0x01, v2);
  base::Bytes v1 =
      plain_header({a, repo::PackedBlob{id_of("d"), repo::BlobType::kTree, 40, 32, 0}});
  expect_ok("pack header v1",
            repo::decode_pack_header(base::ByteSpan(v1).subspan(4), 1, base::load_le32(v1.data())));
  write(t, "header-v1", 0x00, v1);

  std::vector<BlobSpec> specs = {
      {repo::BlobType::kData, "hello, kura", false},
      {repo::BlobType::kTree,
       R"({"nodes":[]})"
       "\n",
       true},
      {repo::BlobType::kData, std::string(64, 'z'), true},
  };
  base::Bytes pack = make_pack(specs, *random);
  expect_ok("pack v2", repo::parse_pack_tail(fixed_key(), pack, pack.size(), 2));
  write(t, "pack-v2", 0x03, pack);
  pack = make_pack({{repo::BlobType::kData, "one", false}, {repo::BlobType::kTree, "{}", false}},
                   *random);
  expect_ok("pack v1", repo::parse_pack_tail(fixed_key(), pack, pack.size(), 1));
  write(t, "pack-v1", 0x02, pack);

  // The last bytes of a pack whose blobs (2 x 2048 bytes) are not in the tail: mode 2 with
  // flags >> 3 == 1 says the file is 4096 bytes longer than the tail.
  repo::PackBuilder big;
  big.add(id_of("x"), repo::BlobType::kData, base::Bytes(2048, 1), 0);
  big.add(id_of("y"), repo::BlobType::kData, base::Bytes(2048, 2), 4000);
  base::Bytes whole = big.finish(fixed_key(), *random);
  base::ByteSpan tail = base::ByteSpan(whole).subspan(4096);
  expect_ok("pack tail", repo::parse_pack_tail(fixed_key(), tail, whole.size(), 2));
  write(t, "tail-v2", uint8_t(0x05 | (1 << 3)), tail);

  base::Bytes sealed = crypto::seal(fixed_key(), base::as_bytes("sealed text"), *random);
  expect_ok("sealed", crypto::open(fixed_key(), sealed));
  write(t, "sealed", 0x07, sealed);
}

// ---- index ---------------------------------------------------------------------------------

void index_seeds() {
  const std::string t = "index";
  std::vector<repo::IndexPack> packs(2);
  packs[0].id = id_of("pack0");
  packs[0].blobs = {{id_of("a"), repo::BlobType::kData, 0, 40, 0},
                    {id_of("b"), repo::BlobType::kTree, 40, 33, 900}};
  packs[1].id = id_of("pack1");
  packs[1].blobs = {{id_of("c"), repo::BlobType::kData, 0, 4096, 8000}};
  write_parsed(t, "two-packs", repo::decode_index_json,
               repo::encode_index_json(packs, {id_of("old index")}));
  write_parsed(t, "null-packs", repo::decode_index_json, R"({"packs":null})");
  // Go's json.MarshalIndent-style spacing and a pack without blobs.
  write_parsed(
      t, "spaced", repo::decode_index_json,
      "{\n  \"packs\": [\n    {\"id\": \"" + id_of("p").hex() + "\", \"blobs\": null}\n  ]\n}\n");
}

// ---- tree ----------------------------------------------------------------------------------

void tree_seeds() {
  const std::string t = "tree";
  std::vector<repo::Node> nodes(5);
  repo::NodeTime when = time_of("2024-05-01T10:00:00.123456789+02:00");
  for (auto& n : nodes) {
    n.mtime = n.atime = n.ctime = when;
    n.uid = 1000;
    n.gid = 100;
    n.user = "alice";
    n.group = "users";
    n.inode = 42;
    n.device_id = 2049;
    n.links = 1;
  }
  nodes[0].name = "file.txt";
  nodes[0].mode = 0644;
  nodes[0].size = 12;
  nodes[0].content = {id_of("c0"), id_of("c1")};
  nodes[0].xattrs = {{"user.comment", base::to_bytes("hi")}};
  nodes[1].name = "dir";
  nodes[1].type = repo::NodeType::kDir;
  nodes[1].mode = 0x80000000u | 0755;
  nodes[1].subtree = id_of("subtree");
  nodes[2].name = std::string("bad\xff\"name\n", 10);
  nodes[2].type = repo::NodeType::kSymlink;
  nodes[2].mode = 0x08000000u | 0777;
  nodes[2].linktarget = std::string("tgt\xfe", 4);
  nodes[3].name = "tty";
  nodes[3].type = repo::NodeType::kCharDev;
  nodes[3].mode = 0x04000000u | 0x00200000u | 0620;
  nodes[3].device = 1025;
  nodes[4].name = "empty";
  nodes[4].error = "lstat failed";
  write_parsed(t, "nodes", repo::decode_tree, repo::encode_tree(nodes, {.linktarget_raw = true}));
  write_parsed(t, "empty", repo::decode_tree, "{\"nodes\":[]}\n");
  // What other restic versions write: unknown fields, null content, mixed-case keys.
  write_parsed(t, "other-versions", repo::decode_tree,
               R"({"nodes":[{"Name":"x","type":"fifo","mtime":"2001-02-03T04:05:06Z",)"
               R"("content":null,"generic_attributes":{"a":1},"extended_attributes":null},)"
               R"({"name":"y","type":"irregular","linktarget_raw":"AQI=","subtree":null}]})");
}

// ---- snapshot ------------------------------------------------------------------------------

void snapshot_seeds() {
  const std::string t = "snapshot";
  repo::Snapshot sn;
  sn.time = time_of("2024-05-01T10:00:00.5-07:00");
  sn.parent = id_of("parent");
  sn.tree = id_of("tree");
  sn.paths = {"/home/alice", "/etc"};
  sn.hostname = "box";
  sn.username = "alice";
  sn.uid = 1000;
  sn.gid = 100;
  sn.excludes = {"*.tmp"};
  sn.tags = {"daily", "<html>&"};
  sn.original = id_of("original");
  sn.program_version = "restic 0.17.0";
  sn.summary_json = R"({"files_new":3,"data_added":1024,"backup_start":"2024-05-01T10:00:00Z"})";
  write_parsed(t, "full", repo::decode_snapshot, repo::encode_snapshot(sn));
  write_parsed(
      t, "minimal", repo::decode_snapshot,
      R"({"time":"2001-02-03T04:05:06Z","tree":")" + id_of("t").hex() + R"(","paths":null})");
}

// ---- key files -----------------------------------------------------------------------------

void keyfile_seeds() {
  const std::string t = "keyfile";
  write_parsed(t, "restic", crypto::parse_key_file, crypto::testdata::kKeyFile);
  write_parsed(t, "masterkey", crypto::parse_master_key_json, crypto::testdata::kMasterKeyJson);
  crypto::KeyFileParams params;
  params.username = "fuzz";
  params.hostname = "seed";
  params.created = "2024-05-01T10:00:00Z";
  params.n = 16;
  params.r = 1;
  params.p = 1;
  auto random = crypto::seeded_random(2);
  crypto::Key master = crypto::random_key(*random);
  auto file = crypto::create_key_file(master, kKeyFilePassword, params, *random);
  if (!file.ok()) {
    std::fprintf(stderr, "make_seeds: %s\n", file.status().to_string().c_str());
    ++g_failures;
    return;
  }
  auto opened = crypto::open_key_file(*file, kKeyFilePassword);
  expect_ok("tiny-scrypt key file", opened);
  if (opened.ok() && !(*opened == master)) {
    std::fprintf(stderr, "make_seeds: tiny-scrypt key file opens to the wrong key\n");
    ++g_failures;
  }
  write(t, "tiny-scrypt", *file);
}

// ---- locks ---------------------------------------------------------------------------------

void lock_seeds() {
  const std::string t = "lock";
  repo::Lock lock;
  lock.time = time_of("2024-05-01T10:00:00.987654321+02:00");
  lock.exclusive = true;
  lock.hostname = "box";
  lock.username = "alice";
  lock.uid = 1000;
  lock.gid = 100;
  lock.pid = 4242;
  write_parsed(t, "exclusive", repo::decode_lock, repo::encode_lock(lock));
  write_parsed(t, "restic", repo::decode_lock,
               R"({"time":"2001-02-03T04:05:06.1Z","exclusive":false,"hostname":"h",)"
               R"("username":"root","pid":-1})");
}

// ---- misc ----------------------------------------------------------------------------------

void misc_seeds() {
  const std::string t = "misc";
  auto text = [&](const std::string& name, uint8_t mode, std::string_view s) {
    write(t, name, mode, base::as_bytes(s));
  };
  expect_ok("misc/config", repo::decode_config(base::as_bytes(crypto::testdata::kConfigPlain)));
  text("config", 0, crypto::testdata::kConfigPlain);
  text("hex", 1, "00ff7Fa0");
  text("base64", 2, "aGVsbG8gd29ybGQ=");
  expect_ok("misc/quoted", repo::go_unquote(R"(bad\xffname\u00e9\U0001f600\t\101)"));
  text("quoted", 3, R"(bad\xffname\u00e9\U0001f600\t\101)");
  text("time", 4, "2024-05-01T10:00:00.123456789+05:30");
  base::Bytes frame;
  repo::zstd_compress(base::as_bytes("hello hello hello hello kura zstd"), 3, frame);
  expect_ok("misc/zstd", repo::zstd_decompress(frame, 1024));
  write(t, "zstd", 5, frame);
  text("json", 6, R"( {"a": [1, -2.5e3, "s\"\u00e9", true, null], "b": {}} )");
  text("polynomial", 7, "3cc6bf437e9b47");
}

}  // namespace
}  // namespace kura::fuzz

int main(int argc, char** argv) {
  using namespace kura::fuzz;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  g_dir = argv[1];
  pack_seeds();
  index_seeds();
  tree_seeds();
  snapshot_seeds();
  keyfile_seeds();
  lock_seeds();
  misc_seeds();
  return g_failures == 0 ? 0 : 1;
}
