// The pieces of object_store.h that are not a store: names, paths, and the SHA-256 check of
// uploads (over the memory store; it wraps any store's writer alike).
#include "objstore/object_store.h"

#include <gtest/gtest.h>

#include "backend/backend_testing.h"

namespace kura::objstore {
namespace {

using backend::FileKind;
using backend::Handle;
using backend::testing::hash_name;
using backend::testing::random_bytes;
using base::Bytes;
using base::Code;

TEST(RepoRefTest, NamesAndPaths) {
  RepoRef r{"clinic-a", "main"};
  EXPECT_EQ(to_string(r), "clinic-a/main");
  EXPECT_TRUE(check_repo(r).ok());
  EXPECT_TRUE(check_repo(RepoRef{"..a", "a.."}).ok());
  EXPECT_TRUE(check_repo(RepoRef{std::string(255, 'x'), "日本語"}).ok());
  std::string id(64, 'a');
  EXPECT_EQ(object_path(r, Handle{FileKind::kPack, id}), "clinic-a/main/data/aa/" + id);
  EXPECT_EQ(object_path(r, Handle{FileKind::kKey, id}), "clinic-a/main/keys/" + id);
  EXPECT_EQ(object_path(r, Handle{FileKind::kConfig, ""}), "clinic-a/main/config");
}

TEST(RepoRefTest, GarbageNamesAreRefusedAndShownSafely) {
  base::Status st = check_repo(RepoRef{"a/../../etc", "main"});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "invalid tenant name \"a/../../etc\": contains '/'");
  st = check_repo(RepoRef{"clinic-a", std::string("x\n\x1b[2J", 6)});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "invalid repository name \"x??[2J\": contains a control character");
}

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(store_->create_repo(repo_).ok()); }

  base::Status put(const Handle& h, const Bytes& data, bool* existed) {
    ASSIGN_OR_RETURN(auto w, store_->begin_write(repo_, h));
    auto v = verify_name_on_commit(std::move(w), h);
    for (size_t off = 0; off < data.size(); off += 1000) {
      RETURN_IF_ERROR(
          v->append(base::ByteSpan(data).subspan(off, std::min<size_t>(1000, data.size() - off))));
    }
    if (v->size() != data.size()) return base::internal_error("size");
    return v->commit(existed);
  }

  std::unique_ptr<ObjectStore> store_ = memory_store();
  RepoRef repo_{"clinic-a", "main"};
};

TEST_F(VerifyTest, BytesThatHashToTheNameAreStored) {
  Bytes data = random_bytes(10000, 1);
  Handle h{FileKind::kPack, hash_name(data)};
  bool existed = true;
  ASSERT_TRUE(put(h, data, &existed).ok());
  EXPECT_FALSE(existed);
  ASSERT_TRUE(put(h, data, &existed).ok());
  EXPECT_TRUE(existed);
  EXPECT_EQ(*store_->stat(repo_, h), data.size());
}

TEST_F(VerifyTest, BytesThatDoNotHashToTheNameAreRefused) {
  Bytes data = random_bytes(10000, 2);
  Handle h{FileKind::kIndex, hash_name(data)};
  Bytes other = data;
  other[5000] ^= 1;
  bool existed = true;
  base::Status st = put(h, other, &existed);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "upload of index/" + h.name + " has SHA-256 " + hash_name(other) +
                              ": the bytes do not match the name");
  EXPECT_FALSE(existed);
  EXPECT_EQ(store_->stat(repo_, h).status().code(), Code::kNotFound);
}

TEST_F(VerifyTest, AVerifiedUploadIsFinishedAfterCommit) {
  Bytes data = random_bytes(100, 3);
  Handle h{FileKind::kLock, hash_name(data)};
  auto v = verify_name_on_commit(*store_->begin_write(repo_, h), h);
  ASSERT_TRUE(v->append(data).ok());
  bool existed = false;
  ASSERT_TRUE(v->commit(&existed).ok());
  EXPECT_EQ(v->commit(&existed).code(), Code::kFailedPrecondition);
  EXPECT_EQ(v->append(data).code(), Code::kFailedPrecondition);
}

TEST_F(VerifyTest, ConfigIsNotNamedByItsHash) {
  Bytes data = random_bytes(155, 4);
  bool existed = true;
  ASSERT_TRUE(put(Handle{FileKind::kConfig, ""}, data, &existed).ok());
  EXPECT_FALSE(existed);
}

}  // namespace
}  // namespace kura::objstore
