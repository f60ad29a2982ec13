// The oracle test for trees: restic 0.14 backs up a directory holding every node type and
// hostile names; the tree blobs it stores must (1) survive decode_tree → encode_tree byte for
// byte and (2) be reproduced exactly, IDs included, from lstat() via node_from_lstat.
#include "repo/node_from_stat.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <string>

#include "repo/gojson.h"
#include "repo/snapshot.h"
#include "repo/tree.h"

namespace kura::repo {
namespace {

constexpr const char* kRestic = "/usr/bin/restic";

struct CommandResult {
  int exit_code = -1;
  std::string out;
};

// Runs a shell command and captures its stdout (binary-safe).
CommandResult run(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// Sets TZ for this process (localtime_r) for the lifetime of the object.
class ScopedTz {
 public:
  explicit ScopedTz(const std::string& tz) {
    const char* old = getenv("TZ");
    if (old != nullptr) old_ = old;
    setenv("TZ", tz.c_str(), 1);
    tzset();
  }
  ~ScopedTz() {
    if (old_) {
      setenv("TZ", old_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }

 private:
  std::optional<std::string> old_;
};

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kura-tree-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { base::posix_env()->remove_all(path_).ignore(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write(const std::string& path, std::string_view data) {
  ASSERT_TRUE(base::posix_env()->write_file(path, base::as_bytes(data)).ok()) << path;
}

void set_mtime(const std::string& path, int64_t sec, long nsec) {
  struct timespec ts[2] = {{time_t(sec), nsec}, {time_t(sec), nsec}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << path;
}

struct Fixture {
  bool xattrs = false;
  bool devices = false;
};

// Builds <root>/data with every node type, hostile names, xattrs and odd modes and times.
Fixture build_tree(const std::string& root) {
  Fixture fx;
  const std::string d = root + "/data";
  mkdir(d.c_str(), 0755);
  write(d + "/small.txt", "hello\n");
  fx.xattrs = setxattr((d + "/small.txt").c_str(), "user.foo", "bar\0baz", 7, 0) == 0;
  if (fx.xattrs) {
    setxattr((d + "/small.txt").c_str(), "user.b", "2", 1, 0);
    setxattr((d + "/small.txt").c_str(), "user.a", "", 0, 0);  // empty value
    setxattr(d.c_str(), "user.on-dir", "x", 1, 0);
  }
  write(d + "/empty", "");
  write(d + "/mode0000", "secret");
  chmod((d + "/mode0000").c_str(), 0);
  write(d + "/setuid", "#!/bin/sh\n");
  chmod((d + "/setuid").c_str(), 04755);
  write(d + "/setgid", "x");
  chmod((d + "/setgid").c_str(), 02750);
  write(d + "/hard1", "linked");
  link((d + "/hard1").c_str(), (d + "/hard2").c_str());
  write(d + "/nobody-owns", "x");
  EXPECT_EQ(lchown((d + "/nobody-owns").c_str(), 54321, 54321), 0);  // no names: user/group omitted
  mkdir((d + "/sub").c_str(), 0700);
  write(d + "/sub/inner", std::string(3000, 'z'));
  mkdir((d + "/sub/emptydir").c_str(), 0755);
  mkdir((d + "/sticky").c_str(), 01777);
  chmod((d + "/sticky").c_str(), 01777);
  symlink("small.txt", (d + "/link").c_str());
  symlink("tgt\xfe\xff", (d + "/badlink").c_str());
  symlink("we<ird>&\"\\ \u2028", (d + "/oddlink").c_str());
  mkfifo((d + "/fifo").c_str(), 0644);
  chmod((d + "/fifo").c_str(), 0644);
  {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::string p = d + "/sock";
    if (fd >= 0 && p.size() < sizeof addr.sun_path) {
      memcpy(addr.sun_path, p.c_str(), p.size() + 1);
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    }
    if (fd >= 0) close(fd);
  }
  fx.devices = mknod((d + "/blk").c_str(), S_IFBLK | 0640, makedev(7, 200)) == 0 &&
               mknod((d + "/chr").c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0;
  for (const char* name : {"we<ird>&\"na\\me", "ctl\x01\x7fz", "sp\u2028ace\u00a0nbé", "bad\xffname",
                           "tab\tnl\nname", "é", "\u9ffd-unicode14", "\U0001FAE0", "\u00ad\u200b\ufeff",
                           "\xf3\xb0\x80\x80private", "--", " lead space"}) {
    write(d + "/" + name, name);
  }
  // Times: whole seconds (no fraction), a trimmed fraction, Kolkata's pre-1906 Madras Mean Time
  // (+05:21:10, an offset with seconds), and a date past 2038.
  set_mtime(d + "/small.txt", 1600000000, 0);
  set_mtime(d + "/empty", 1600000000, 120000000);
  set_mtime(d + "/sp\u2028ace\u00a0nbé", -2051222400, 5);  // 1905-01-01
  set_mtime(d + "/link", 4102444800, 1);                     // 2100-01-01
  set_mtime(d + "/sub/emptydir", 946684799, 999999999);
  return fx;
}

base::Bytes read_bytes(const std::string& path) {
  auto b = base::posix_env()->read_file(path);
  EXPECT_TRUE(b.ok()) << path;
  return b.ok() ? *b : base::Bytes{};
}

class ResticOracle {
 public:
  ResticOracle(std::string root, std::string tz) : root_(std::move(root)), tz_(std::move(tz)) {}

  CommandResult restic(const std::string& args) {
    return run("cd " + shell_quote(root_) + " && TZ=" + shell_quote(tz_) +
               " RESTIC_PASSWORD=pw " + kRestic + " --no-cache -q -r " + shell_quote(repo()) + " " +
               args + " 2>/dev/null");
  }
  std::string repo() const { return "repo-" + tz_.substr(tz_.find('/') + 1); }

  // The tree bytes restic stored under `id`, checked against the ID.
  base::Bytes tree(const Id& id) {
    auto r = restic("cat blob " + id.hex());
    EXPECT_EQ(r.exit_code, 0) << "cat blob " << id.hex();
    base::Bytes b(r.out.begin(), r.out.end());
    EXPECT_EQ(hash_id(b), id) << "restic cat blob output is not the stored tree";
    return b;
  }

 private:
  std::string root_, tz_;
};

// What kura computes for the directory at `path`: its tree bytes; every subtree is computed the
// same way and its ID put in the dir node. File content IDs are SHA-256 of the file (all test
// files are far below restic's minimum chunk size, so each is one blob).
base::Bytes kura_tree(const std::string& path, NameCache& names, std::map<std::string, base::Bytes>& trees) {
  base::Env& env = *base::posix_env();
  auto entries = env.list_dir(path);
  EXPECT_TRUE(entries.ok()) << path;
  std::vector<Node> nodes;
  for (const auto& e : *entries) {
    std::string child = path + "/" + e.name;
    auto info = env.lstat(child);
    EXPECT_TRUE(info.ok()) << child;
    if (info->type == base::FileType::kSocket) continue;  // restic's archiver skips sockets
    auto node = node_from_lstat(env, child, e.name, *info, names);
    EXPECT_TRUE(node.ok()) << child << ": " << node.status().to_string();
    if (node->type == NodeType::kFile && node->size > 0) {
      node->content.push_back(hash_id(read_bytes(child)));
    } else if (node->type == NodeType::kDir) {
      node->subtree = hash_id(kura_tree(child, names, trees));
    }
    nodes.push_back(std::move(*node));
  }
  base::Bytes bytes = encode_tree(nodes);
  trees[path] = bytes;
  return bytes;
}

std::string first_difference(const base::Bytes& want, const base::Bytes& got) {
  size_t k = 0;
  while (k < want.size() && k < got.size() && want[k] == got[k]) ++k;
  size_t from = k > 120 ? k - 120 : 0;
  auto cut = [&](const base::Bytes& b) {
    return go_quote(std::string(b.begin() + long(std::min(from, b.size())),
                                b.begin() + long(std::min(k + 120, b.size()))));
  };
  return "first difference at byte " + std::to_string(k) + "\n  restic: " + cut(want) + "\n  kura:   " + cut(got);
}

base::Bytes replacement_escapes_to_utf8(const base::Bytes& b) {
  std::string s(b.begin(), b.end());
  const std::string esc = "\\ufffd";
  for (size_t at = s.find(esc); at != std::string::npos; at = s.find(esc, at)) {
    // Only a real escape: the backslash itself must not be escaped.
    size_t slashes = 0;
    while (at > slashes && s[at - 1 - slashes] == '\\') ++slashes;
    if (slashes % 2 == 0) {
      s.replace(at, esc.size(), "\xef\xbf\xbd");
    } else {
      at += esc.size();
    }
  }
  return base::Bytes(s.begin(), s.end());
}

void check_against_restic(const std::string& tz) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  Fixture fx = build_tree(tmp.path());
  if (!fx.xattrs) std::cerr << "note: user xattrs unsupported on " << tmp.path() << "\n";
  if (!fx.devices) std::cerr << "note: cannot mknod devices here; no dev/chardev nodes\n";

  ResticOracle restic(tmp.path(), tz);
  ASSERT_EQ(restic.restic("init").exit_code, 0);
  ASSERT_EQ(restic.restic("backup data").exit_code, 0);
  auto list = restic.restic("snapshots --json");
  ASSERT_EQ(list.exit_code, 0);
  // [{"time":…,"tree":…,…,"id":"…","short_id":…}]
  JsonReader r(list.out);
  ASSERT_TRUE(r.begin_array().ok());
  ASSERT_TRUE(*r.next_element());
  ASSERT_TRUE(r.begin_object().ok());
  std::string key, snapshot_id;
  while (*r.next_member(key)) {
    if (key == "id") {
      ASSERT_TRUE(r.read_string(snapshot_id).ok());
    } else {
      ASSERT_TRUE(r.skip_value().ok());
    }
  }
  auto cat = restic.restic("cat snapshot " + snapshot_id);
  ASSERT_EQ(cat.exit_code, 0);
  auto sn = decode_snapshot(base::as_bytes(cat.out));
  ASSERT_TRUE(sn.ok()) << sn.status().to_string();

  // (1) Every restic tree round-trips byte for byte.
  std::map<std::string, Id> restic_ids;  // path relative to tmp → tree id
  std::vector<std::pair<std::string, Id>> todo = {{"", sn->tree}};
  size_t node_count = 0;
  while (!todo.empty()) {
    auto [path, id] = todo.back();
    todo.pop_back();
    restic_ids[path] = id;
    base::Bytes bytes = restic.tree(id);
    auto nodes = decode_tree(bytes);
    ASSERT_TRUE(nodes.ok()) << nodes.status().to_string();
    // restic 0.14 wrote each invalid byte of a symlink target as the escape \ufffd; decoded,
    // that is a real U+FFFD, which Go (and we) write unescaped. Otherwise: identical bytes.
    base::Bytes want = replacement_escapes_to_utf8(bytes);
    EXPECT_EQ(encode_tree(*nodes), want) << "round trip of tree " << path << ": "
                                         << first_difference(want, encode_tree(*nodes));
    for (const Node& n : *nodes) {
      ++node_count;
      if (n.subtree) todo.emplace_back(path.empty() ? n.name : path + "/" + n.name, *n.subtree);
    }
  }
  EXPECT_EQ(restic_ids.size(), 5u);  // root, data, data/sub, data/sub/emptydir, data/sticky
  EXPECT_GE(node_count, 30u);

  // (2) kura's own trees from lstat() equal restic's, IDs included.
  ScopedTz scoped_tz(tz);
  NameCache names;
  std::map<std::string, base::Bytes> ours;
  base::Bytes data_tree = kura_tree(tmp.path() + "/data", names, ours);
  (void)data_tree;
  for (const auto& [path, bytes] : ours) {
    std::string rel = path.substr(tmp.path().size() + 1);
    ASSERT_TRUE(restic_ids.count(rel)) << rel;
    Id want = restic_ids[rel];
    if (hash_id(bytes) != want) {
      ADD_FAILURE() << "tree " << rel << " differs (TZ=" << tz << "): "
                    << first_difference(restic.tree(want), bytes);
    }
  }
  // The root: one node for "data", as restic builds it for a relative backup path.
  base::Env& env = *base::posix_env();
  auto info = env.lstat(tmp.path() + "/data");
  ASSERT_TRUE(info.ok());
  auto data_node = node_from_lstat(env, tmp.path() + "/data", "data", *info, names);
  ASSERT_TRUE(data_node.ok());
  data_node->subtree = hash_id(ours[tmp.path() + "/data"]);
  EXPECT_EQ(hash_id(encode_tree({*data_node})), sn->tree) << "root tree (TZ=" << tz << ")";
}

TEST(ResticOracle, TreesMatchInKolkata) {
  if (access(kRestic, X_OK) != 0) GTEST_SKIP() << "no " << kRestic;
  check_against_restic("Asia/Kolkata");
}

TEST(ResticOracle, TreesMatchInUtc) {
  if (access(kRestic, X_OK) != 0) GTEST_SKIP() << "no " << kRestic;
  check_against_restic("UTC");
}

TEST(NodeFromLstat, FillsPerTypeFields) {
  TempDir tmp;
  base::Env& env = *base::posix_env();
  NameCache names;
  std::string f = tmp.path() + "/f", l = tmp.path() + "/l", p = tmp.path() + "/p";
  write(f, "abc");
  symlink("f", l.c_str());
  mkfifo(p.c_str(), 0600);
  ScopedTz tz("UTC");

  auto fi = env.lstat(f);
  ASSERT_TRUE(fi.ok());
  auto file = node_from_lstat(env, f, "f", *fi, names);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->type, NodeType::kFile);
  EXPECT_EQ(file->size, 3u);
  EXPECT_EQ(file->links, 1u);
  EXPECT_EQ(file->atime, file->mtime);  // restic without --with-atime
  EXPECT_EQ(file->mtime.offset, 0);
  EXPECT_EQ(file->user, names.user_name(getuid()));
  EXPECT_EQ(file->inode, fi->inode);
  EXPECT_EQ(file->device_id, fi->device);
  NodeFromStatOptions with_atime;
  with_atime.with_atime = true;
  EXPECT_EQ(node_from_lstat(env, f, "f", *fi, names, with_atime)->atime,
            (NodeTime{fi->atime.sec, fi->atime.nsec, 0}));

  auto li = env.lstat(l);
  ASSERT_TRUE(li.ok());
  auto link = node_from_lstat(env, l, "l", *li, names);
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->type, NodeType::kSymlink);
  EXPECT_EQ(link->linktarget, "f");
  EXPECT_EQ(link->size, 0u);
  EXPECT_EQ(link->links, 1u);
  EXPECT_EQ(link->mode, kGoModeSymlink | 0777);

  auto pi = env.lstat(p);
  ASSERT_TRUE(pi.ok());
  auto fifo = node_from_lstat(env, p, "p", *pi, names);
  ASSERT_TRUE(fifo.ok());
  EXPECT_EQ(fifo->links, 0u);
  EXPECT_EQ(fifo->mode, kGoModeNamedPipe | 0600);

  base::FileInfo bogus;
  EXPECT_FALSE(node_from_lstat(env, f, "f", bogus, names).ok());
}

TEST(NodeFromLstat, LocalTimeFollowsTz) {
  {
    ScopedTz tz("Asia/Kolkata");
    EXPECT_EQ(local_node_time({1600000000, 5}), (NodeTime{1600000000, 5, 19800}));
    EXPECT_EQ(format_go_time(local_node_time({1600000000, 0})), "2020-09-13T17:56:40+05:30");
  }
  {
    ScopedTz tz("America/New_York");  // DST-aware
    EXPECT_EQ(local_node_time({1600000000, 0}).offset, -4 * 3600);
    EXPECT_EQ(local_node_time({1580000000, 0}).offset, -5 * 3600);
  }
  ScopedTz tz("UTC");
  EXPECT_EQ(local_node_time({1600000000, 0}).offset, 0);
}

TEST(NameCache, LooksUpAndCaches) {
  NameCache names;
  EXPECT_EQ(names.user_name(0), "root");
  EXPECT_EQ(names.group_name(0), "root");
  EXPECT_EQ(names.user_name(3999999999u), "");
  EXPECT_EQ(names.group_name(3999999999u), "");
  EXPECT_EQ(names.user_name(0), "root");
}

}  // namespace
}  // namespace kura::repo
