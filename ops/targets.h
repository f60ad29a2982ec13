// The backup targets named in files, as restic 0.14 reads them:
//  * --files-from: one per line, spaces trimmed, empty lines and "#" comments skipped, each line
//    a glob pattern (filepath.Glob: *, ?, [...], \ escapes; '*' matches a leading '.');
//  * --files-from-verbatim: one per line, taken as is (only empty lines are skipped);
//  * --files-from-raw: NUL-terminated names, taken as is (find -print0).
// A UTF-8 byte order mark at the start of a text list is dropped, lines end at "\n" or "\r\n".
#pragma once

#include <string>
#include <vector>

#include "base/env.h"
#include "base/status.h"

namespace kura::ops {

// The patterns of a --files-from list (not yet expanded).
std::vector<std::string> files_from_patterns(std::string_view text);
std::vector<std::string> files_from_verbatim(std::string_view text);
// invalid_argument for a missing final NUL or an empty name, with restic's wording.
base::StatusOr<std::vector<std::string>> files_from_raw(std::string_view data);

// Go's filepath.Glob over env: the existing paths matching `pattern`, sorted per directory;
// a pattern without wildcards matches itself if it exists. A malformed pattern is
// invalid_argument. Nothing matching is an empty list, not an error.
base::StatusOr<std::vector<std::string>> glob_paths(base::Env& env, const std::string& pattern);

// Go's %q for messages restic prints with it: "pattern \"a*\" does not match any files".
std::string go_quoted(std::string_view s);

}  // namespace kura::ops
