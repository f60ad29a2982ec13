#include "backend/local_backend.h"

#include <cstdio>
#include <utility>
#include <vector>

#include "crypto/random.h"

namespace kura::backend {
namespace {

constexpr uint32_t kDirMode = 0700;
constexpr uint32_t kFileMode = 0400;

bool is_hex_byte(std::string_view s) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  return s.size() == 2 && hex(s[0]) && hex(s[1]);
}

// A file staged among the repository's own files, "data/ab/ab12…-tmp-…" for a random name,
// so that storing it is a link on the same file system, not a copy. A crash leaves it behind
// like an interrupted save; prune removes such files once they are a day old.
class LocalStagedFile : public StagedFile {
 public:
  LocalStagedFile(base::Env* env, std::string path, std::unique_ptr<base::WritableFile> out)
      : env_(env), path_(std::move(path)), out_(std::move(out)) {}
  ~LocalStagedFile() override {
    if (out_) out_->close().ignore();
    env_->remove_file(path_).ignore();
  }

  base::Status append(base::ByteSpan data) override {
    RETURN_IF_ERROR(out_->append(data));
    size_ += data.size();
    return base::ok_status();
  }
  uint64_t size() const override { return size_; }
  base::StatusOr<size_t> read_at(uint64_t offset, base::MutableByteSpan out) override {
    if (!in_) {
      ASSIGN_OR_RETURN(in_, env_->open_read(path_));
    }
    size_t done = 0;
    while (done < out.size() && offset + done < size_) {
      ASSIGN_OR_RETURN(size_t n, in_->read_at(offset + done, out.subspan(done)));
      if (n == 0) break;
      done += n;
    }
    return done;
  }
  // Made durable before it is linked into place.
  base::Status sync() { return out_->sync(); }
  const std::string& path() const { return path_; }

 private:
  base::Env* env_;
  std::string path_;
  std::unique_ptr<base::WritableFile> out_;
  std::unique_ptr<base::ReadableFile> in_;
  uint64_t size_ = 0;
};

class LocalBackend : public Backend {
 public:
  LocalBackend(base::Env* env, std::string root) : env_(env), root_(std::move(root)) {}

  std::string location() const override { return root_; }

  base::Status create() override {
    RETURN_IF_ERROR(env_->make_dirs(root_, kDirMode).with_context("create repository " + root_));
    for (FileKind kind : kListableKinds) RETURN_IF_ERROR(make_dir(std::string(kind_dir(kind))));
    char sub[8];
    for (int i = 0; i < 256; ++i) {
      std::snprintf(sub, sizeof sub, "data/%02x", i);
      RETURN_IF_ERROR(make_dir(sub));
    }
    return base::ok_status();
  }

  base::StatusOr<uint64_t> stat(const Handle& h) override {
    RETURN_IF_ERROR(check_handle(h));
    std::string rel = local_relative_path(h);
    auto info = env_->stat(abs(rel));
    if (!info.ok()) return named(info.status(), "stat", rel);
    if (info->type != base::FileType::kFile) {
      return base::failed_precondition("stat " + rel + ": not a regular file");
    }
    return info->size;
  }

  base::Status save(const Handle& h, base::ByteSpan data) override {
    RETURN_IF_ERROR(check_handle(h));
    std::string rel = local_relative_path(h);
    return named(save_at(rel, data), "save", rel);
  }

  base::StatusOr<std::unique_ptr<StagedFile>> stage(FileKind kind) override {
    if (kind == FileKind::kConfig) return base::invalid_argument("stage: config is not a folder");
    char name[96];
    auto r = crypto::system_random();
    std::snprintf(name, sizeof name, "%016llx%016llx%016llx%016llx-tmp-%016llx",
                  static_cast<unsigned long long>(r->next_u64()),
                  static_cast<unsigned long long>(r->next_u64()),
                  static_cast<unsigned long long>(r->next_u64()),
                  static_cast<unsigned long long>(r->next_u64()),
                  static_cast<unsigned long long>(r->next_u64()));
    std::string rel = local_relative_path(Handle{kind, std::string(name, 64)}) + (name + 64);
    std::string path = abs(rel);
    base::WriteOptions opts;
    opts.exclusive = true;
    opts.mode = kFileMode;
    auto out = env_->open_write(path, opts);
    if (out.status().code() == base::Code::kNotFound) {
      RETURN_IF_ERROR(env_->make_dirs(base::path_dirname(path), kDirMode));
      out = env_->open_write(path, opts);
    }
    if (!out.ok()) return named(out.status(), "stage", rel);
    return std::unique_ptr<StagedFile>(
        std::make_unique<LocalStagedFile>(env_, std::move(path), *std::move(out)));
  }

  base::Status save_staged(const Handle& h, StagedFile& file) override {
    auto* local = dynamic_cast<LocalStagedFile*>(&file);
    if (!local) return Backend::save_staged(h, file);
    RETURN_IF_ERROR(check_handle(h));
    std::string rel = local_relative_path(h);
    std::string path = abs(rel);
    RETURN_IF_ERROR(named(local->sync(), "save", rel));
    base::Status st = publish(local->path(), path);
    if (st.code() == base::Code::kNotFound) {
      RETURN_IF_ERROR(env_->make_dirs(base::path_dirname(path), kDirMode));
      st = publish(local->path(), path);
    }
    RETURN_IF_ERROR(named(st, "save", rel));
    return named(env_->sync_dir(base::path_dirname(path)), "save", rel);
  }

  base::StatusOr<base::Bytes> load(const Handle& h, uint64_t offset, uint64_t length) override {
    ASSIGN_OR_RETURN(OpenRange r, open_range(h, offset, length));
    base::Bytes out(static_cast<size_t>(r.length));
    RETURN_IF_ERROR(read_range(r, offset, out));
    return out;
  }

  base::Status load_into(const Handle& h, uint64_t offset, base::MutableByteSpan out) override {
    if (out.empty()) return check_handle(h);
    ASSIGN_OR_RETURN(OpenRange r, open_range(h, offset, out.size()));
    return read_range(r, offset, out);
  }

  base::Status remove(const Handle& h) override {
    RETURN_IF_ERROR(check_handle(h));
    std::string rel = local_relative_path(h);
    base::Status st = env_->remove_file(abs(rel));
    if (st.code() == base::Code::kNotFound) return base::ok_status();
    return named(st, "remove", rel);
  }

  base::Status list(FileKind kind,
                    const std::function<base::Status(const FileEntry&)>& fn) override {
    return for_each_file(kind, is_valid_name, [&](const std::string& name, const base::FileInfo& info) {
      return fn(FileEntry{name, info.size});
    });
  }

  base::Status list_temp_files(
      FileKind kind, const std::function<base::Status(const TempFileEntry&)>& fn) override {
    return for_each_file(kind, is_temp_name, [&](const std::string& name, const base::FileInfo& info) {
      return fn(TempFileEntry{name, info.size, info.mtime.sec});
    });
  }

  base::Status remove_temp_file(FileKind kind, std::string_view name) override {
    if (kind == FileKind::kConfig) return base::invalid_argument("remove temporary file: config is not a folder");
    if (!is_temp_name(name)) return Backend::remove_temp_file(kind, name);  // the error
    // Beside the file it was going to become: "data/ab/ab12…-tmp-…".
    std::string rel = local_relative_path(Handle{kind, std::string(name.substr(0, 64))});
    rel += name.substr(64);
    base::Status st = env_->remove_file(abs(rel));
    if (st.code() == base::Code::kNotFound) return base::ok_status();
    return named(st, "remove", rel);
  }

 private:
  // A file opened for load(), with the length of the range asked for checked against it.
  struct OpenRange {
    std::string rel;
    std::unique_ptr<base::ReadableFile> file;
    uint64_t length = 0;
  };
  base::StatusOr<OpenRange> open_range(const Handle& h, uint64_t offset, uint64_t length) {
    RETURN_IF_ERROR(check_handle(h));
    OpenRange r;
    r.rel = local_relative_path(h);
    auto file = env_->open_read(abs(r.rel));
    if (!file.ok()) return named(file.status(), "load", r.rel);
    r.file = std::move(*file);
    auto info = r.file->stat();
    if (!info.ok()) return named(info.status(), "load", r.rel);
    ASSIGN_OR_RETURN(r.length, range_length(h, info->size, offset, length));
    return r;
  }
  base::Status read_range(OpenRange& r, uint64_t offset, base::MutableByteSpan out) const {
    auto got = r.file->read_at(offset, out);
    if (!got.ok()) return named(got.status(), "load", r.rel);
    if (*got != out.size()) {
      return base::data_loss("load " + r.rel + ": file shrank while reading (" +
                             std::to_string(*got) + " of " + std::to_string(out.size()) + " bytes)");
    }
    return base::ok_status();
  }

  std::string abs(const std::string& rel) const { return base::path_join(root_, rel); }

  // "save data/ab/ab12…: No space left on device": the Env's message names the absolute
  // (or temp) path and the syscall; users want the repository file and the reason.
  base::Status named(const base::Status& st, std::string_view op, const std::string& rel) const {
    if (st.ok()) return st;
    std::string what = std::string(op) + " " + rel;
    const std::string& m = st.message();
    size_t at = m.find(abs(rel));
    size_t colon = at == std::string::npos ? at : m.find(": ", at);
    if (colon == std::string::npos) return st.with_context(what);
    return base::Status(st.code(), what + ": " + m.substr(colon + 2));
  }

  base::Status make_dir(const std::string& rel) {
    base::Status st = env_->make_dir(abs(rel), kDirMode);
    if (st.code() == base::Code::kAlreadyExists) {
      auto info = env_->stat(abs(rel));
      if (info.ok() && info->type == base::FileType::kDir) return base::ok_status();
    }
    return st.with_context("create repository " + root_);
  }

  // Missing folders list as empty: a repository made by another tool may lack some.
  base::Status read_dir(const std::string& rel, std::vector<base::DirEntry>* out) {
    auto entries = env_->list_dir(abs(rel));
    if (!entries.ok()) {
      if (entries.status().code() == base::Code::kNotFound) return base::ok_status();
      return entries.status().with_context("list " + rel);
    }
    *out = *std::move(entries);
    return base::ok_status();
  }

  using FileFn = std::function<base::Status(const std::string& name, const base::FileInfo& info)>;

  // Calls fn for the regular files of a kind whose names pass `want`; packs only in the
  // data/<xx> folder of their first two characters.
  base::Status for_each_file(FileKind kind, bool (*want)(std::string_view), const FileFn& fn) {
    if (kind == FileKind::kConfig) return base::invalid_argument("list: config is not a folder");
    std::string dir(kind_dir(kind));
    if (kind != FileKind::kPack) return list_dir(dir, "", want, fn);
    std::vector<base::DirEntry> subs;
    RETURN_IF_ERROR(read_dir(dir, &subs));
    for (const base::DirEntry& sub : subs) {
      if (!is_hex_byte(sub.name)) continue;
      if (sub.type != base::FileType::kDir && sub.type != base::FileType::kUnknown) continue;
      RETURN_IF_ERROR(list_dir(dir + "/" + sub.name, sub.name, want, fn));
    }
    return base::ok_status();
  }

  // Calls fn for the files in rel whose names pass `want` and start with prefix.
  base::Status list_dir(const std::string& rel, std::string_view prefix,
                        bool (*want)(std::string_view), const FileFn& fn) {
    std::vector<base::DirEntry> entries;
    RETURN_IF_ERROR(read_dir(rel, &entries));
    for (const base::DirEntry& e : entries) {
      if (!want(e.name) || !std::string_view(e.name).starts_with(prefix)) continue;
      if (e.type != base::FileType::kFile && e.type != base::FileType::kUnknown) continue;
      std::string path = rel + "/" + e.name;
      auto info = env_->lstat(abs(path));
      if (!info.ok()) {
        if (info.status().code() == base::Code::kNotFound) continue;  // removed meanwhile
        return named(info.status(), "list", path);
      }
      if (info->type != base::FileType::kFile) continue;
      RETURN_IF_ERROR(fn(e.name, *info));
    }
    return base::ok_status();
  }

  base::Status save_at(const std::string& rel, base::ByteSpan data) {
    std::string path = abs(rel);
    // Cheap early answer before writing megabytes; the link below is the real guard.
    if (env_->lstat(path).ok()) return base::already_exists("file exists");
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, "-tmp-%016llx",
                  static_cast<unsigned long long>(crypto::system_random()->next_u64()));
    std::string tmp = path + suffix;
    base::Status st = write_temp(tmp, data);
    if (st.code() == base::Code::kNotFound) {
      // A folder is missing (e.g. data/ab in a repository made without them): make it.
      RETURN_IF_ERROR(env_->make_dirs(base::path_dirname(path), kDirMode));
      st = write_temp(tmp, data);
    }
    if (!st.ok()) {
      env_->remove_file(tmp).ignore();
      return st;
    }
    st = publish(tmp, path);
    env_->remove_file(tmp).ignore();
    RETURN_IF_ERROR(st);
    return env_->sync_dir(base::path_dirname(path));
  }

  base::Status write_temp(const std::string& tmp, base::ByteSpan data) {
    base::WriteOptions opts;
    opts.exclusive = true;
    opts.mode = kFileMode;
    ASSIGN_OR_RETURN(auto file, env_->open_write(tmp, opts));
    base::Status st = file->append(data);  // one write(2) for a whole pack
    if (st.ok()) st = file->sync();
    base::Status closed = file->close();
    return st.ok() ? closed : st;
  }

  // Moves the finished temp file to path without replacing an existing file. A hard link
  // fails atomically if path exists; on file systems without hard links, fall back to
  // check-then-rename. The caller removes tmp afterwards (rename has already moved it).
  base::Status publish(const std::string& tmp, const std::string& path) {
    base::Status st = env_->make_hardlink(tmp, path);
    if (st.ok()) return st;
    if (st.code() == base::Code::kAlreadyExists) return base::already_exists("file exists");
    if (st.code() != base::Code::kPermissionDenied && st.code() != base::Code::kUnimplemented &&
        st.code() != base::Code::kInternal) {
      return st;
    }
    if (env_->lstat(path).ok()) return base::already_exists("file exists");
    return env_->rename(tmp, path);
  }

  base::Env* env_;
  std::string root_;
};

}  // namespace

std::string local_relative_path(const Handle& h) {
  if (h.kind == FileKind::kConfig) return "config";
  std::string rel(kind_dir(h.kind));
  rel += '/';
  if (h.kind == FileKind::kPack) {
    rel += h.name.substr(0, 2);
    rel += '/';
  }
  rel += h.name;
  return rel;
}

base::StatusOr<std::unique_ptr<Backend>> open_local(base::Env* env, std::string path) {
  if (path.empty()) return base::invalid_argument("local repository: empty path");
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return std::unique_ptr<Backend>(std::make_unique<LocalBackend>(env, std::move(path)));
}

}  // namespace kura::backend
