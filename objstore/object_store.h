// ObjectStore: where kura-server keeps each tenant's restic repositories (ciphertext it cannot
// read). Objects are addressed tenant/repo/type/name. Implementations: a local directory
// (open_local_store) and memory (memory_store); a replicated store and S3 come later. Every
// implementation passes object_store_conformance_test.
//
// The local layout is restic's own under the region root:
//   <root>/<tenant>/<repo>/{config, keys/, locks/, snapshots/, index/, data/00..ff/}
// so a tenant's repository is also a plain restic repository that `restic -r <dir>` reads.
//
// Operations on a repository that create_repo has not made fail with kNotFound (remove
// succeeds: there is nothing to remove). Tenant and repository names are checked again here
// (check_repo): the service validates them first, this layer refuses to reach outside its root.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "base/bytes.h"
#include "base/clock.h"
#include "base/env.h"
#include "base/status.h"

namespace kura::objstore {

struct RepoRef {
  std::string tenant;
  std::string repo;
};
std::string to_string(const RepoRef& repo);  // "clinic-a/main"

// invalid_argument unless both names are usable as one path component each: not empty, at
// most 255 bytes, not "." or "..", no '/' and no control character (NUL included).
base::Status check_repo(const RepoRef& repo);

// "clinic-a/main/data/ab/ab12…": the object's path below the region root (the local layout;
// also the key of the object in stores without folders).
std::string object_path(const RepoRef& repo, const backend::Handle& h);

// One upload in progress. The server streams a request body into it (a 64 MiB pack arrives in
// pieces; it is never held in memory whole). Destroying it without commit() discards it and
// leaves nothing visible.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  // After a failed append the upload is broken: commit() returns that error.
  virtual base::Status append(base::ByteSpan data) = 0;
  virtual uint64_t size() const = 0;
  // Makes the object visible atomically and durably (local: fsync file, link/rename without
  // replacing, fsync dir). When an object of that name exists: identical bytes → OK with
  // *existed = true (an idempotent re-upload); different bytes → kAlreadyExists, nothing changed.
  // Called once; the upload is finished afterwards, whatever the result.
  virtual base::Status commit(bool* existed) = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual std::string location() const = 0;
  // Creates the repository's folders (restic layout incl. data/00..ff). Idempotent.
  virtual base::Status create_repo(const RepoRef& repo) = 0;
  virtual base::StatusOr<bool> repo_exists(const RepoRef& repo) = 0;
  virtual base::StatusOr<uint64_t> stat(const RepoRef& repo,
                                        const backend::Handle& h) = 0;  // kNotFound
  // Reads exactly out.size() bytes at offset; kDataLoss/kOutOfRange when the object is shorter.
  // Nothing the size of the object is allocated: the server reads large objects in pieces.
  virtual base::Status read(const RepoRef& repo, const backend::Handle& h, uint64_t offset,
                            base::MutableByteSpan out) = 0;
  virtual base::StatusOr<std::unique_ptr<ObjectWriter>> begin_write(const RepoRef& repo,
                                                                    const backend::Handle& h) = 0;
  virtual base::Status remove(const RepoRef& repo, const backend::Handle& h) = 0;  // missing: OK
  // Calls fn for every object of a kind (not config), in no particular order; stops at the
  // first error fn returns. Uploads not yet committed are never listed.
  virtual base::Status list(const RepoRef& repo, backend::FileKind kind,
                            const std::function<base::Status(const backend::FileEntry&)>& fn) = 0;
  // Bytes and number of objects in a repository, config included (a recount; the server keeps
  // usage current in its metadata and uses this to repair it).
  virtual base::Status usage(const RepoRef& repo, uint64_t* bytes, uint64_t* objects) = 0;
  // Removes temp files of uploads interrupted by a crash that are older than max_age_sec.
  // Returns how many were removed. The temp files of this store's own open writers are kept,
  // however old.
  virtual base::StatusOr<uint64_t> sweep_temp_files(const RepoRef& repo, int64_t max_age_sec) = 0;
};

// Wraps an upload of h so that commit() first checks that the bytes hash (SHA-256, computed as
// they stream through) to h's name, as every name but config's must: kInvalidArgument naming
// both hashes otherwise, and nothing is stored. A config upload passes through unchecked.
std::unique_ptr<ObjectWriter> verify_name_on_commit(std::unique_ptr<ObjectWriter> writer,
                                                    const backend::Handle& h);

// root: the region's storage root. env must outlive the store. No file system access happens
// here; the root is made by create_repo.
std::unique_ptr<ObjectStore> open_local_store(base::Env* env, std::string root);
// As above with the clock that sweep_temp_files measures ages by (tests); clock must outlive
// the store.
std::unique_ptr<ObjectStore> open_local_store(base::Env* env, std::string root, base::Clock* clock);
std::unique_ptr<ObjectStore> memory_store();

}  // namespace kura::objstore
