// Reading passwords and other small text inputs exactly as restic 0.14 does, so that the same
// password file, command or typed line opens the same repository in kura and in restic:
// textfile.Read (BOM removed, UTF-16 converted), strings.TrimSpace (Unicode white space),
// backend.SplitShellStrings (the password command runs without a shell) and the first line of
// a stdin that is not a terminal.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/env.h"
#include "base/i18n.h"
#include "base/status.h"

namespace kura::cli {

// Go's strings.TrimSpace: leading and trailing Unicode white space removed (ASCII space, \t,
// \n, \v, \f, \r, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F,
// U+3000).
std::string go_trim_space(std::string_view s);

// restic's textfile.Decode: a UTF-8 byte order mark is dropped; a UTF-16 one (either byte
// order) converts the rest to UTF-8 (unpaired surrogates become U+FFFD); anything else is
// taken as UTF-8 unchanged.
std::string decode_text(base::ByteSpan data);

// restic's backend.SplitShellStrings: words split at white space and unquoted backslashes,
// '...' and "..." group words (the quotes are dropped). Fails on an unterminated quote or an
// empty command (messages from `msg`).
base::StatusOr<std::vector<std::string>> split_shell_strings(const base::Messages& msg, std::string_view s);

// Reads `path` (named by `source`, a flag or environment variable, in errors) as a password:
// decode_text, then go_trim_space.
base::StatusOr<std::string> read_password_file(base::Env& env, std::string_view source,
                                               const std::string& path);

// Runs the command (split_shell_strings, no shell; its stderr is ours) and returns its
// standard output, trimmed (go_trim_space). A failure to start it or a non-zero exit is an
// error.
base::StatusOr<std::string> run_password_command(const base::Messages& msg, const std::string& command);

// The first line of `data` without its "\n" or "\r\n" (Go's bufio.ScanLines).
std::string first_line(std::string_view data);

}  // namespace kura::cli
