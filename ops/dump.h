// dump: one file of a snapshot as its bytes, or a folder (or the whole snapshot) as a tar or zip
// stream (restic `dump`). Content is streamed: blobs are loaded in parallel ahead of the writer,
// in order, with a bounded number of bytes held, so any file size works in constant memory.
#pragma once

#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"
#include "repo/node.h"
#include "repo/repository.h"

namespace kura::ops {

// Where dump output goes.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual base::Status write(base::ByteSpan data) = 0;
};

// Writes to a file descriptor (e.g. stdout), retrying short writes.
class FdSink : public ByteSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  base::Status write(base::ByteSpan data) override;

 private:
  int fd_;
};

// Collects the output in memory (tests).
class BytesSink : public ByteSink {
 public:
  base::Status write(base::ByteSpan data) override {
    out.insert(out.end(), data.begin(), data.end());
    return base::ok_status();
  }
  base::Bytes out;
};

enum class ArchiveFormat { kTar, kZip };
// "tar" or "zip"; invalid_argument otherwise.
base::StatusOr<ArchiveFormat> parse_archive_format(std::string_view name);

// What a path in a snapshot names, for dump.
struct DumpTarget {
  bool archive = false;  // a folder (or the root): written as an archive
  std::string path;      // "/a/b", "/" for the root
  repo::Node node;       // the file (archive == false)
  repo::Id tree;         // the folder's tree (archive == true)
};

// Why a path cannot be dumped, for messages in the user's language.
struct DumpPathError {
  enum Kind { kNone, kNotFound, kNotADir, kNotAFile } kind = kNone;
  std::string path;  // the component path that failed, "/a/b"
  std::string type;  // the node's type for kNotADir / kNotAFile
};

// Resolves `path` ("/" or "" for the root is the whole snapshot; relative paths count from the
// root) below the snapshot's tree, as restic does: the first node of each name is taken. A bad
// path is not_found / invalid_argument, with *why filled in if given.
base::StatusOr<DumpTarget> resolve_dump_path(repo::Repository& repo, const repo::Id& root,
                                             std::string_view path, DumpPathError* why = nullptr);

struct DumpOptions {
  ArchiveFormat format = ArchiveFormat::kTar;
  int threads = 0;                       // 0: a default for the backend
  size_t max_ahead_bytes = 64u << 20;    // plaintext loaded ahead of the writer
};

// A file: its bytes. A folder: an archive (tar: POSIX pax, ustar headers where they suffice)
// of what is below it, named by the full path in the snapshot without the leading '/', as
// restic names them; files, folders and symlinks only; times rounded to whole seconds; extended
// attributes as SCHILY.xattr records and POSIX ACLs as SCHILY.acl records. Hard links are
// written as separate files, as restic does. A file's size in the archive is that of its stored
// content (restic fails instead when the recorded size disagrees).
base::Status dump(repo::Repository& repo, const DumpTarget& target, ByteSink& out,
                  const DumpOptions& opts);

}  // namespace kura::ops
