// Backend: where repository files live (restic's tiny backend interface). Implementations:
// local directory, REST (restic rest-server protocol), in memory; wrappers for retries and
// fault injection stack on top. Every implementation passes backend_conformance_test.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace kura::backend {

enum class FileKind : uint8_t { kConfig, kKey, kLock, kSnapshot, kIndex, kPack };

// "config", "keys", "locks", "snapshots", "index", "data" — the folder / URL segment.
std::string_view kind_dir(FileKind kind);

struct Handle {
  FileKind kind = FileKind::kConfig;
  std::string name;  // 64 lowercase hex characters; empty for config
  // A pack that holds tree blobs (restic's Handle.ContainedBlobType): the local cache keeps
  // such packs whole (repo/cache.h). Only a hint; backends ignore it.
  bool tree_pack = false;
  std::string to_string() const;  // "data/ab12…", "config" — for error messages
};

// The kinds list() accepts (every kind but config), in a fixed order.
inline constexpr FileKind kListableKinds[] = {FileKind::kKey, FileKind::kLock,
                                              FileKind::kSnapshot, FileKind::kIndex,
                                              FileKind::kPack};

// True for exactly 64 lowercase hex characters: the only names a file other than config has.
// Backends check every name so that no caller can reach outside the repository ("../x").
bool is_valid_name(std::string_view name);

// invalid_argument unless h names a storable file (config has an empty name).
base::Status check_handle(const Handle& h);

// How many bytes load(h, offset, length) returns from a file of `size` bytes (length 0: the
// rest of the file), or kDataLoss naming h when the file is too short for the range.
base::StatusOr<uint64_t> range_length(const Handle& h, uint64_t size, uint64_t offset,
                                      uint64_t length);

struct FileEntry {
  std::string name;
  uint64_t size = 0;
};

// True for the name of a temporary file that an interrupted save() can leave next to the file it
// was writing: a valid name, "-tmp-", then 1 to 32 lowercase hex (kura: 16) or decimal (restic's
// os.CreateTemp) characters.
bool is_temp_name(std::string_view name);

// A leftover temporary file (see Backend::list_temp_files).
struct TempFileEntry {
  std::string name;        // e.g. "ab12…-tmp-0123456789abcdef"
  uint64_t size = 0;
  int64_t mtime_sec = 0;   // last modification, Unix seconds
};

// A file written piece by piece before it is stored: a pack being filled. restic keeps its
// packs in temporary files too, so a backup's memory does not grow with the pack size or the
// number of uploads in flight. Destroying it removes what is left of it.
class StagedFile {
 public:
  virtual ~StagedFile() = default;
  virtual base::Status append(base::ByteSpan data) = 0;
  virtual uint64_t size() const = 0;
  // Reads up to out.size() bytes at offset; fewer only at the end of the file.
  virtual base::StatusOr<size_t> read_at(uint64_t offset, base::MutableByteSpan out) = 0;
};

// Staged in memory (the memory backend, tests).
std::unique_ptr<StagedFile> memory_staged_file();

// Staged in an unnamed file in dir (O_TMPFILE: nothing is left behind even after a crash; a
// named file removed at once where the file system lacks it).
base::StatusOr<std::unique_ptr<StagedFile>> anonymous_staged_file(const std::string& dir);

// The system's folder for temporary files: $TMPDIR, else /tmp.
std::string temp_dir();

class Backend {
 public:
  virtual ~Backend() = default;

  // Human-readable location (path or URL without credentials).
  virtual std::string location() const = 0;

  // Creates the repository layout (folders, or POST ?create=true). Idempotent.
  virtual base::Status create() = 0;

  // Size of a stored file; kNotFound if it does not exist.
  virtual base::StatusOr<uint64_t> stat(const Handle& h) = 0;

  // Stores a new file atomically: readers never see a partial file. kAlreadyExists if present.
  virtual base::Status save(const Handle& h, base::ByteSpan data) = 0;

  // A place to write a file of `kind` before save_staged stores it. Default: an unnamed file
  // in temp_dir().
  virtual base::StatusOr<std::unique_ptr<StagedFile>> stage(FileKind kind);

  // Stores the bytes of a staged file as h, with save()'s guarantees. After a failure the
  // file is intact, so the save can be retried; after success it may be gone (the local
  // backend moves it into place). Default: reads it into memory and calls save().
  virtual base::Status save_staged(const Handle& h, StagedFile& file);

  // Reads `length` bytes at `offset` (length 0: to the end). A short file is kDataLoss.
  virtual base::StatusOr<base::Bytes> load(const Handle& h, uint64_t offset, uint64_t length) = 0;
  // Reads exactly out.size() bytes at `offset` into out, a buffer the caller reuses (restore
  // reads every pack this way: no allocation and no fresh pages per read). A short file is
  // kDataLoss. Default: load() and a copy.
  virtual base::Status load_into(const Handle& h, uint64_t offset, base::MutableByteSpan out);

  // Removes a file. Removing a missing file succeeds.
  virtual base::Status remove(const Handle& h) = 0;

  // Calls fn for every file of a kind (not config). Stops at the first error fn returns.
  virtual base::Status list(FileKind kind,
                            const std::function<base::Status(const FileEntry&)>& fn) = 0;

  // Calls fn for every temporary file that an interrupted save() left among the files of a
  // kind (local backend: "<name>-tmp-<random>" beside the file it was writing; a backup killed
  // during an upload leaves one). list() never shows them. Backends whose saves leave nothing
  // behind (memory; REST, where the server owns the upload) list none: the default.
  virtual base::Status list_temp_files(
      FileKind kind, const std::function<base::Status(const TempFileEntry&)>& fn) {
    (void)kind;
    (void)fn;
    return base::ok_status();
  }

  // Removes one temporary file list_temp_files reported; invalid_argument unless
  // is_temp_name(name). Removing a missing file succeeds. A save may still be writing a young
  // one: callers only remove files that have not changed for a long time.
  virtual base::Status remove_temp_file(FileKind kind, std::string_view name);

  // How many requests may usefully run at once.
  virtual int parallelism() const { return 2; }
};

}  // namespace kura::backend
