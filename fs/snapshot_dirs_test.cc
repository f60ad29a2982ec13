#include "fs/snapshot_dirs.h"

#include <gtest/gtest.h>

namespace kura::fs {
namespace {

ops::SnapshotEntry snap(int n, int64_t sec, std::string host, std::vector<std::string> tags) {
  ops::SnapshotEntry e;
  e.id.bytes[0] = static_cast<uint8_t>(0x10 * n);
  e.sn.time = {sec, 0, 0};
  e.sn.hostname = std::move(host);
  e.sn.tags = std::move(tags);
  return e;
}

std::vector<std::string> names(const SnapshotDirs& d, const std::string& path) {
  std::vector<std::string> out;
  const VirtualEntry* e = d.find(path);
  if (e == nullptr) return {"<missing>"};
  for (const auto& [name, child] : e->names) out.push_back(name);
  return out;
}

using V = std::vector<std::string>;

TEST(SnapshotDirsTest, DefaultLayout) {
  // Newest first, as RepoFs hands them over.
  SnapshotDirs d({snap(2, 1700000060, "h2", {"a", "b/c"}), snap(1, 1700000000, "h1", {"a"})},
                 default_path_templates(), "2006-01-02T15:04:05Z07:00");
  EXPECT_EQ(names(d, ""), (V{"hosts", "ids", "snapshots", "tags"}));
  EXPECT_EQ(names(d, "/ids"), (V{"10000000", "20000000"}));
  EXPECT_EQ(names(d, "/snapshots"), (V{"2023-11-14T22:13:20Z", "2023-11-14T22:14:20Z", "latest"}));
  const VirtualEntry* latest = d.find("/snapshots/latest");
  ASSERT_NE(latest, nullptr);
  EXPECT_EQ(latest->link_target, "2023-11-14T22:14:20Z");
  EXPECT_TRUE(d.find("/snapshots/2023-11-14T22:13:20Z")->is_snapshot_dir());
  EXPECT_EQ(names(d, "/hosts"), (V{"h1", "h2"}));
  EXPECT_EQ(names(d, "/hosts/h1"), (V{"2023-11-14T22:13:20Z", "latest"}));
  // Several tags: one directory each, "/" in a tag becomes "_".
  EXPECT_EQ(names(d, "/tags"), (V{"a", "b_c"}));
  EXPECT_EQ(names(d, "/tags/a"), (V{"2023-11-14T22:13:20Z", "2023-11-14T22:14:20Z", "latest"}));
}

TEST(SnapshotDirsTest, SameTimeGetsNumberedNamesAndNoTagsNoTagDir) {
  SnapshotDirs d({snap(2, 1700000000, "h", {}), snap(1, 1700000000, "h", {})}, default_path_templates(),
                 "2006-01-02T15:04:05Z07:00");
  EXPECT_EQ(names(d, "/snapshots"), (V{"2023-11-14T22:13:20Z", "2023-11-14T22:13:20Z-1", "latest"}));
  // The later one in the list wins a tie for "latest", as in restic.
  EXPECT_EQ(d.find("/snapshots/latest")->link_target, "2023-11-14T22:13:20Z-1");
  EXPECT_EQ(names(d, "/tags"), V{});
}

TEST(SnapshotDirsTest, CustomTemplates) {
  SnapshotDirs d({snap(1, 1700000000, "h", {"t"})}, {"by/%h/%i", "%T-x", "time/%T/%h"}, "2006-01-02");
  EXPECT_EQ(names(d, ""), (V{"2023-11-14-x", "by", "time"}));
  EXPECT_EQ(names(d, "/by/h"), V{"10000000"});
  // %T not at the end: part of the name, no "latest".
  EXPECT_EQ(names(d, "/time"), V{"2023-11-14"});
  EXPECT_EQ(names(d, "/time/2023-11-14"), V{"h"});
  EXPECT_TRUE(d.find("/time/2023-11-14/h")->is_snapshot_dir());
}

TEST(SnapshotDirsTest, Helpers) {
  EXPECT_EQ(static_prefix("tags/%t/%T"), "tags");
  EXPECT_EQ(static_prefix("a/b/x%h"), "a/b");
  EXPECT_EQ(static_prefix("%T"), "");
  EXPECT_EQ(static_prefix("plain"), "");
}

}  // namespace
}  // namespace kura::fs
