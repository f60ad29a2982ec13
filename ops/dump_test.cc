#include "ops/dump.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <locale.h>

#include <algorithm>
#include <map>
#include <random>

#include "ops/testing.h"
#include "repo/tree.h"

namespace kura::ops {
namespace {

std::string pseudo_random(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

struct ArchivedEntry {
  std::string type;  // "file", "dir", "symlink"
  std::string data;  // content or link target
  uint32_t perm = 0;
  int64_t mtime = 0;
  std::string xattr;  // value of user.note, if any
};

// Reads a tar or zip stream back with libarchive.
std::map<std::string, ArchivedEntry> read_archive(const base::Bytes& bytes) {
  std::map<std::string, ArchivedEntry> out;
  // Names are UTF-8; read them in a UTF-8 locale, as a user's tar would.
  locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  locale_t prev = utf8 ? uselocale(utf8) : static_cast<locale_t>(0);
  archive* a = archive_read_new();
  archive_read_support_format_all(a);
  EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()), ARCHIVE_OK);
  archive_entry* e;
  int r;
  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {  // WARN: name charset
    ArchivedEntry ae;
    auto type = archive_entry_filetype(e);
    ae.type = type == AE_IFDIR ? "dir" : type == AE_IFLNK ? "symlink" : "file";
    ae.perm = archive_entry_perm(e);
    ae.mtime = archive_entry_mtime(e);
    const char* target = type == AE_IFLNK ? archive_entry_symlink(e) : nullptr;
    if (target) {
      ae.data = target;
    } else {  // file content, or a zip symlink's target when read as a stream
      char buf[65536];
      la_ssize_t n;
      while ((n = archive_read_data(a, buf, sizeof buf)) > 0) ae.data.append(buf, static_cast<size_t>(n));
    }
    archive_entry_xattr_reset(e);
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      if (std::string(name) == "user.note") ae.xattr.assign(static_cast<const char*>(value), size);
    }
    const char* path = archive_entry_pathname(e);
    EXPECT_NE(path, nullptr);
    if (path) out[path] = ae;
  }
  archive_read_free(a);
  if (utf8) {
    uselocale(prev);
    freelocale(utf8);
  }
  return out;
}

class FailingSink : public ByteSink {
 public:
  explicit FailingSink(size_t limit) : limit_(limit) {}
  base::Status write(base::ByteSpan data) override {
    if (written_ + data.size() > limit_) return base::unavailable("sink full");
    written_ += data.size();
    return base::ok_status();
  }

 private:
  size_t limit_;
  size_t written_ = 0;
};

class DumpTest : public testing::RepoTest {
 protected:
  void SetUp() override {
    init_repo({.chunker_polynomial = 0x3DA3358B4DC173});  // fixed, so the chunks below are too
    ASSERT_TRUE(repo_->load_index().ok());
    ASSERT_TRUE(env_.make_dirs("/d/src/sub/deeper", 0755).ok());
    // Several chunks; the middle part repeats, so some blobs occur more than once.
    std::string part = pseudo_random(2 << 20, 2);
    big_ = pseudo_random(3 << 19, 1) + part + part + part + pseudo_random(1 << 19, 3);
    write("/d/src/big.bin", big_);
    write("/d/src/small.txt", "small file\n");
    write("/d/src/empty", "");
    write("/d/src/sub/deeper/x.txt", "deep");
    write("/d/src/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.txt", "japanese name");
    ASSERT_TRUE(env_.make_symlink("small.txt", "/d/src/link").ok());
    ASSERT_TRUE(env_.set_mode("/d/src/small.txt", 0640).ok());
    ASSERT_TRUE(env_.set_times("/d/src/small.txt", {1600000000, 0}, {1600000000, 700000000}).ok());
    ASSERT_TRUE(env_.set_xattr("/d/src/small.txt", "user.note", base::as_bytes("remember")).ok());
    ASSERT_TRUE(env_.make_node("/d/src/fifo", base::FileType::kFifo, 0644, 0).ok());
    tree_ = backup({"/d/src"}).snapshot.tree;
    ASSERT_FALSE(tree_.is_zero());
  }

  base::Bytes dump_path(const std::string& path, DumpOptions o = {}) {
    auto t = resolve_dump_path(*repo_, tree_, path);
    EXPECT_TRUE(t.ok()) << path << ": " << t.status().message();
    BytesSink sink;
    if (t.ok()) {
      auto st = dump(*repo_, *t, sink, o);
      EXPECT_TRUE(st.ok()) << st.message();
    }
    return sink.out;
  }

  repo::Id tree_;
  std::string big_;
};

TEST_F(DumpTest, FileContentIsStreamedInOrder) {
  auto t = resolve_dump_path(*repo_, tree_, "/d/src/big.bin");
  ASSERT_TRUE(t.ok());
  std::vector<repo::Id> ids = t->node.content;
  std::sort(ids.begin(), ids.end());
  EXPECT_NE(std::adjacent_find(ids.begin(), ids.end()), ids.end()) << "want a blob that repeats";
  for (size_t ahead : {size_t(1), size_t(3) << 20, size_t(64) << 20}) {
    DumpOptions o;
    o.max_ahead_bytes = ahead;
    std::string out(base::as_chars(dump_path("/d/src/big.bin", o)));
    ASSERT_EQ(out.size(), big_.size()) << ahead;
    auto diff = std::mismatch(out.begin(), out.end(), big_.begin());
    EXPECT_EQ(diff.first - out.begin(), out.end() - out.begin()) << "first difference, max_ahead " << ahead;
  }
  EXPECT_EQ(base::as_chars(dump_path("d/src/small.txt")), "small file\n");  // relative works too
  EXPECT_TRUE(dump_path("/d/src/empty").empty());
}

TEST_F(DumpTest, ResolveErrors) {
  DumpPathError why;
  auto t = resolve_dump_path(*repo_, tree_, "/d/src/nope", &why);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), base::Code::kNotFound);
  EXPECT_EQ(why.kind, DumpPathError::kNotFound);
  EXPECT_EQ(why.path, "/d/src/nope");
  EXPECT_NE(t.status().message().find("/d/src/nope"), std::string::npos);

  t = resolve_dump_path(*repo_, tree_, "/d/src/small.txt/more", &why);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(why.kind, DumpPathError::kNotADir);
  EXPECT_EQ(why.path, "/d/src/small.txt");
  EXPECT_EQ(why.type, "file");

  t = resolve_dump_path(*repo_, tree_, "/d/src/link", &why);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(why.kind, DumpPathError::kNotAFile);
  EXPECT_EQ(why.type, "symlink");

  EXPECT_FALSE(resolve_dump_path(*repo_, tree_, ".").ok());
  for (const char* root : {"/", "", "//", "/d/.."}) {
    auto r = resolve_dump_path(*repo_, tree_, root);
    ASSERT_TRUE(r.ok()) << root;
    EXPECT_TRUE(r->archive);
    EXPECT_EQ(r->tree, tree_);
  }
  repo::Id bogus;
  bogus.bytes.fill(3);
  EXPECT_FALSE(resolve_dump_path(*repo_, bogus, "/d/src").ok());
  EXPECT_FALSE(parse_archive_format("rar").ok());
  EXPECT_FALSE(parse_archive_format("").ok());
}

TEST_F(DumpTest, FolderAsTar) {
  base::Bytes tar = dump_path("/d/src/sub");
  auto entries = read_archive(tar);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries["d/src/sub/deeper/"].type, "dir");
  EXPECT_EQ(entries["d/src/sub/deeper/x.txt"].data, "deep");
  EXPECT_EQ(tar.size() % 512, 0u);

  auto all = read_archive(dump_path("/", {ArchiveFormat::kTar, 2, 1 << 20}));
  EXPECT_EQ(all.count("d/src/"), 1u);
  EXPECT_EQ(all["d/src/big.bin"].data, big_);
  const auto& small = all["d/src/small.txt"];
  EXPECT_EQ(small.data, "small file\n");
  EXPECT_EQ(small.perm, 0640u);
  EXPECT_EQ(small.mtime, 1600000001);  // rounded to the second
  EXPECT_EQ(small.xattr, "remember");
  EXPECT_EQ(all["d/src/link"].type, "symlink");
  EXPECT_EQ(all["d/src/link"].data, "small.txt");
  EXPECT_EQ(all.count("d/src/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.txt"), 1u) << [&] {
    std::string names;
    for (const auto& [k, v] : all) names += k + "\n";
    return names;
  }();
  EXPECT_EQ(all["d/src/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.txt"].data, "japanese name");
  EXPECT_EQ(all["d/src/empty"].data, "");
  EXPECT_EQ(all.count("d/src/fifo"), 0u);  // only files, folders and symlinks
}

TEST_F(DumpTest, FolderAsZip) {
  DumpOptions o;
  o.format = ArchiveFormat::kZip;
  auto entries = read_archive(dump_path("/d/src", o));
  EXPECT_EQ(entries["d/src/big.bin"].data, big_);
  EXPECT_EQ(entries["d/src/sub/deeper/x.txt"].data, "deep");
  EXPECT_EQ(entries["d/src/sub/"].type, "dir");
}

TEST_F(DumpTest, OutputErrorsStopTheDump) {
  auto t = resolve_dump_path(*repo_, tree_, "/d/src/big.bin");
  ASSERT_TRUE(t.ok());
  FailingSink sink(1 << 20);
  auto st = dump(*repo_, *t, sink, {});
  EXPECT_EQ(st.code(), base::Code::kUnavailable);
  auto dir = resolve_dump_path(*repo_, tree_, "/d/src");
  ASSERT_TRUE(dir.ok());
  FailingSink sink2(3 << 20);
  st = dump(*repo_, *dir, sink2, {});
  EXPECT_EQ(st.code(), base::Code::kUnavailable);
}

TEST_F(DumpTest, MissingPackIsAnError) {
  std::vector<std::string> packs;
  ASSERT_TRUE(be_->list(backend::FileKind::kPack, [&](const backend::FileEntry& e) {
                   packs.push_back(e.name);
                   return base::ok_status();
                 }).ok());
  auto t = resolve_dump_path(*repo_, tree_, "/d/src/big.bin");
  ASSERT_TRUE(t.ok());
  for (const auto& p : packs) ASSERT_TRUE(be_->remove({backend::FileKind::kPack, p}).ok());
  BytesSink sink;
  auto st = dump(*repo_, *t, sink, {});
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("/d/src/big.bin"), std::string::npos) << st.message();
}

TEST_F(DumpTest, HandMadeTrees) {
  auto save = [&](repo::BlobType type, const std::string& data) {
    repo::Id id = repo::hash_id(base::as_bytes(data));
    EXPECT_TRUE(repo_->save_blob(type, id, base::as_bytes(data)).ok());
    return id;
  };
  repo::Node f;
  f.name = "f";
  f.type = repo::NodeType::kFile;
  f.mode = 0644;
  f.size = 10;  // disagrees with the content
  f.content = {save(repo::BlobType::kData, "abc"), save(repo::BlobType::kData, "def")};
  repo::Node broken;
  broken.name = "broken";
  broken.type = repo::NodeType::kDir;  // no subtree
  base::Bytes json = repo::encode_tree({broken, f});
  repo::Id root = save(repo::BlobType::kTree, std::string(base::as_chars(json)));
  ASSERT_TRUE(repo_->flush().ok());

  auto file = resolve_dump_path(*repo_, root, "/f");
  ASSERT_TRUE(file.ok());
  BytesSink raw;
  ASSERT_TRUE(dump(*repo_, *file, raw, {}).ok());
  EXPECT_EQ(base::as_chars(raw.out), "abcdef");

  auto bad = resolve_dump_path(*repo_, root, "/broken/x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), base::Code::kDataLoss);

  // The whole tree: the folder without a subtree is an error, not a crash.
  auto all = resolve_dump_path(*repo_, root, "/");
  ASSERT_TRUE(all.ok());
  BytesSink tar;
  EXPECT_EQ(dump(*repo_, *all, tar, {}).code(), base::Code::kDataLoss);
  EXPECT_TRUE(tar.out.empty()) << "no end-of-archive marker after a failure";

  // Without it, the file's entry holds the six stored bytes.
  repo::Id root2 = save(repo::BlobType::kTree, std::string(base::as_chars(repo::encode_tree({f}))));
  ASSERT_TRUE(repo_->flush().ok());
  BytesSink tar2;
  ASSERT_TRUE(dump(*repo_, {true, "/", {}, root2}, tar2, {}).ok());
  auto entries = read_archive(tar2.out);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries["f"].data, "abcdef");
}

}  // namespace
}  // namespace kura::ops
