#include "repo/snapshot.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "base/env.h"
#include "repo/gojson.h"
#include "repo/tree.h"

namespace kura::repo {
namespace {

std::string str(const base::Bytes& b) { return std::string(b.begin(), b.end()); }
Id id_of(char c) { return hash_id(base::as_bytes(std::string(1, c))); }

TEST(Snapshot, EncodesLikeResticExample) {
  // RESTIC_FORMAT.md §8 example.
  Snapshot sn;
  sn.time = *parse_go_time("2026-11-25T00:09:10.609433218+05:30");
  sn.tree = id_of('t');
  sn.paths = {"/tmp/rv/data"};
  sn.hostname = "myhost";
  sn.username = "root";
  sn.tags = {"t1"};
  EXPECT_EQ(str(encode_snapshot(sn)),
            "{\"time\":\"2026-11-25T00:09:10.609433218+05:30\",\"tree\":\"" + id_of('t').hex() +
                "\",\"paths\":[\"/tmp/rv/data\"],\"hostname\":\"myhost\",\"username\":\"root\",\"tags\":[\"t1\"]}");
}

TEST(Snapshot, EveryFieldInGoOrder) {
  Snapshot sn;
  sn.time = {0, 0, 0};
  sn.parent = id_of('p');
  sn.tree = id_of('t');
  sn.paths = {"/a<b>", "/c"};
  sn.hostname = "h";
  sn.username = "u";
  sn.uid = 1000;
  sn.gid = 100;
  sn.excludes = {"*.tmp", "&"};
  sn.tags = {"x", "y"};
  sn.original = id_of('o');
  sn.program_version = "restic 0.17.0";
  sn.summary_json = R"({"backup_start":"2024-01-01T00:00:00Z","files_new":1})";
  const std::string want = "{\"time\":\"1970-01-01T00:00:00Z\",\"parent\":\"" + id_of('p').hex() +
                           "\",\"tree\":\"" + id_of('t').hex() +
                           "\",\"paths\":[\"/a\\u003cb\\u003e\",\"/c\"],\"hostname\":\"h\",\"username\":\"u\","
                           "\"uid\":1000,\"gid\":100,\"excludes\":[\"*.tmp\",\"\\u0026\"],\"tags\":[\"x\",\"y\"],"
                           "\"original\":\"" + id_of('o').hex() +
                           "\",\"program_version\":\"restic 0.17.0\","
                           "\"summary\":{\"backup_start\":\"2024-01-01T00:00:00Z\",\"files_new\":1}}";
  EXPECT_EQ(str(encode_snapshot(sn)), want);
  auto back = decode_snapshot(encode_snapshot(sn));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, sn);
}

TEST(Snapshot, MinimalAndNullPaths) {
  Snapshot sn;
  sn.tree = id_of('t');
  sn.time = {1, 0, 0};
  EXPECT_EQ(str(encode_snapshot(sn)),
            "{\"time\":\"1970-01-01T00:00:01Z\",\"tree\":\"" + id_of('t').hex() + "\",\"paths\":null}");
}

TEST(Snapshot, DecodeIgnoresUnknownAndCompactsSummary) {
  const std::string doc = "{\n  \"time\": \"2024-03-01T10:00:00.5-08:00\",\n  \"tree\": \"" + id_of('t').hex() +
                          "\",\n  \"paths\": [\n    \"/x\"\n  ],\n  \"future\": {\"a\": [1, 2]},\n"
                          "  \"parent\": null,\n  \"Hostname\": \"H\",\n"
                          "  \"summary\": {\n    \"backup_start\": \"2024-03-01T10:00:00Z\",\n    \"note\": \"a b\"\n  }\n}";
  auto sn = decode_snapshot(base::to_bytes(doc));
  ASSERT_TRUE(sn.ok()) << sn.status().to_string();
  EXPECT_EQ(sn->time, (NodeTime{1709316000, 500000000, -8 * 3600}));
  EXPECT_FALSE(sn->parent.has_value());
  EXPECT_EQ(sn->paths, std::vector<std::string>{"/x"});
  EXPECT_EQ(sn->hostname, "H");
  EXPECT_EQ(sn->summary_json, R"({"backup_start":"2024-03-01T10:00:00Z","note":"a b"})");
}

TEST(Snapshot, DecodeErrors) {
  const std::string t = id_of('t').hex();
  struct Case {
    std::string doc, want;
  };
  const Case cases[] = {
      {"", "snapshot: JSON error"},
      {"null", "snapshot: JSON error"},
      {"{}", "snapshot: no tree"},
      {"{\"tree\":null}", "snapshot: no tree"},
      {"{\"tree\":\"abc\"}", "snapshot: field \"tree\": invalid ID"},
      {"{\"tree\":\"" + t + "\",\"time\":\"now\"}", "field \"time\": invalid RFC 3339 time"},
      {"{\"tree\":\"" + t + "\",\"paths\":\"/x\"}", "field \"paths\""},
      {"{\"tree\":\"" + t + "\",\"paths\":[1]}", "field \"paths\""},
      {"{\"tree\":\"" + t + "\",\"uid\":-1}", "field \"uid\""},
      {"{\"tree\":\"" + t + "\",\"summary\":[]}", "field \"summary\""},
      {"{\"tree\":\"" + t + "\"} {}", "data after the JSON document"},
  };
  for (const Case& c : cases) {
    auto r = decode_snapshot(base::to_bytes(c.doc));
    ASSERT_FALSE(r.ok()) << c.doc;
    EXPECT_EQ(r.status().code(), base::Code::kDataLoss);
    EXPECT_NE(r.status().message().find(c.want), std::string::npos)
        << c.doc << "\n  got: " << r.status().message() << "\n want: " << c.want;
  }
  std::mt19937 rng(3);
  for (int i = 0; i < 5000; ++i) {
    base::Bytes doc(rng() % 80);
    for (auto& c : doc) c = uint8_t(rng());
    EXPECT_FALSE(decode_snapshot(doc).ok());
  }
}

// ---- restic oracle -------------------------------------------------------------------------

constexpr const char* kRestic = "/usr/bin/restic";

std::string run(const std::string& cmd, int* exit_code) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// Go's MarshalIndent is Marshal plus whitespace outside strings; removing it gives Marshal's bytes.
std::string compact(const std::string& json) {
  JsonReader r(json);
  std::string out;
  EXPECT_TRUE(r.read_raw_value(out).ok());
  return out;
}

std::vector<std::string> snapshot_ids(const std::string& listing) {
  std::vector<std::string> ids;
  JsonReader r(listing);
  EXPECT_TRUE(r.begin_array().ok());
  while (*r.next_element()) {
    EXPECT_TRUE(r.begin_object().ok());
    std::string key, id;
    while (*r.next_member(key)) {
      if (key == "id") {
        EXPECT_TRUE(r.read_string(id).ok());
      } else {
        EXPECT_TRUE(r.skip_value().ok());
      }
    }
    ids.push_back(id);
  }
  return ids;
}

TEST(ResticOracle, SnapshotsRoundTrip) {
  if (access(kRestic, X_OK) != 0) GTEST_SKIP() << "no " << kRestic;
  char tmpl[] = "/tmp/kura-snap-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  base::Env& env = *base::posix_env();
  ASSERT_TRUE(env.make_dirs(dir + "/data/x", 0755).ok());
  ASSERT_TRUE(env.write_file(dir + "/data/x/f", base::as_bytes("hi")).ok());
  const std::string restic = "cd " + dir + " && TZ=Asia/Kolkata RESTIC_PASSWORD=pw " + kRestic +
                             " --no-cache -q -r repo ";
  int rc = -1;
  run(restic + "init", &rc);
  ASSERT_EQ(rc, 0);
  run(restic + "backup --host 'h<&>' --tag a,b --tag c --exclude '*.tmp' --exclude 'q\"' data data/x", &rc);
  ASSERT_EQ(rc, 0);
  run(restic + "backup --host 'h<&>' --tag a,b --tag c --exclude '*.tmp' --exclude 'q\"' data data/x", &rc);
  ASSERT_EQ(rc, 0);  // has a parent
  auto ids = snapshot_ids(run(restic + "snapshots --json", &rc));
  ASSERT_EQ(ids.size(), 2u);
  run(restic + "tag --add extra " + ids[1], &rc);  // rewrites it with "original"
  ASSERT_EQ(rc, 0);
  ids = snapshot_ids(run(restic + "snapshots --json", &rc));
  ASSERT_EQ(ids.size(), 2u);
  bool saw_parent = false, saw_original = false;
  for (const std::string& id : ids) {
    std::string json = run(restic + "cat snapshot " + id, &rc);
    ASSERT_EQ(rc, 0);
    auto sn = decode_snapshot(base::as_bytes(json));
    ASSERT_TRUE(sn.ok()) << sn.status().to_string() << "\n" << json;
    EXPECT_EQ(str(encode_snapshot(*sn)), compact(json));
    EXPECT_EQ(sn->hostname, "h<&>");
    EXPECT_EQ(sn->paths, (std::vector<std::string>{dir + "/data", dir + "/data/x"}));
    EXPECT_EQ(sn->excludes, (std::vector<std::string>{"*.tmp", "q\""}));
    EXPECT_EQ(sn->time.offset, 19800);
    saw_parent |= sn->parent.has_value();
    saw_original |= sn->original.has_value();
  }
  EXPECT_TRUE(saw_parent);
  EXPECT_TRUE(saw_original);
  env.remove_all(dir).ignore();
}

}  // namespace
}  // namespace kura::repo
