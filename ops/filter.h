// Exclude patterns, matched as restic matches them: a pattern is split at '/', each part is a
// shell pattern (*, ?, [...]) for one path component, and "**" spans any number of them. A
// pattern starting with '/' is anchored at the root; any other may match a run of components
// anywhere in the path (so "cache" excludes every folder called cache and what is under it).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/status.h"

namespace kura::ops {

class Filter {
 public:
  // Patterns are validated here; bad ones are invalid_argument naming the pattern.
  base::Status add(const std::string& pattern, bool case_insensitive);
  // Lines of a file; empty lines and lines starting with '#' are skipped, whitespace trimmed,
  // $VAR and ${VAR} expanded as restic does. Errors name the file as the backup flag that
  // gives it: "--exclude-file /x: No such file or directory" (--iexclude-file when
  // case_insensitive).
  base::Status add_file(base::Env& env, const std::string& path, bool case_insensitive);
  bool empty() const { return patterns_.empty(); }
  // `path` is absolute and clean.
  bool matches(const std::string& path) const;
  // The patterns as given, for the snapshot's "excludes" field.
  const std::vector<std::string>& originals() const { return originals_; }

 private:
  struct Pattern {
    std::vector<std::string> parts;  // "/" first when anchored
    bool fold = false;
  };
  std::vector<Pattern> patterns_;
  std::vector<std::string> originals_;
};

// "/a/./b//c/../d/" -> "/a/b/d"; relative paths stay relative.
std::string clean_path(const std::string& path);

// Reads a file named on the command line: an error says which flag (or environment variable)
// named which file and why, "--files-from /x: No such file or directory", and keeps the
// Env's status code.
base::StatusOr<base::Bytes> read_flag_file(base::Env& env, std::string_view flag,
                                           const std::string& path);

}  // namespace kura::ops
