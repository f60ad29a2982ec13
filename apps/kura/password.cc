#include "apps/kura/password.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ops/filter.h"

extern char** environ;

namespace kura::cli {
namespace {

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// One UTF-8 sequence at s[i] (an invalid byte counts as one rune that is no space).
char32_t rune_at(std::string_view s, size_t i, size_t& len) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  len = 1;
  if (c < 0x80) return c;
  size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0xFFFD;
  char32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (cc & 0x3F);
  }
  len = n;
  return cp;
}

// Go's unicode.IsSpace.
bool is_go_space(char32_t c) {
  switch (c) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

// The byte length of the UTF-8 rune that ends at s[end - 1], or 0 if none ends there.
size_t last_rune(std::string_view s, size_t end, char32_t& cp) {
  for (size_t len = 1; len <= 4 && len <= end; ++len) {
    size_t got;
    char32_t r = rune_at(s, end - len, got);
    bool valid = len > 1 || static_cast<unsigned char>(s[end - 1]) < 0x80;
    if (got == len && valid) {
      cp = r;
      return len;
    }
  }
  return 0;
}

}  // namespace

std::string go_trim_space(std::string_view s) {
  size_t begin = 0, end = s.size();
  while (begin < end) {
    size_t len;
    char32_t cp = rune_at(s, begin, len);
    if (!is_go_space(cp) || (len == 1 && static_cast<unsigned char>(s[begin]) >= 0x80)) break;
    begin += len;
  }
  while (end > begin) {
    char32_t cp = 0;
    size_t len = last_rune(s, end, cp);
    if (len == 0 || end - len < begin || !is_go_space(cp)) break;
    end -= len;
  }
  return std::string(s.substr(begin, end - begin));
}

std::string decode_text(base::ByteSpan data) {
  auto at = [&](size_t i) { return static_cast<unsigned char>(data[i]); };
  if (data.size() >= 3 && at(0) == 0xEF && at(1) == 0xBB && at(2) == 0xBF) {
    return std::string(base::as_chars(data.subspan(3)));
  }
  bool be = data.size() >= 2 && at(0) == 0xFE && at(1) == 0xFF;
  bool le = data.size() >= 2 && at(0) == 0xFF && at(1) == 0xFE;
  if (!be && !le) return std::string(base::as_chars(data));
  std::string out;
  auto unit = [&](size_t i) -> char32_t {
    return be ? char32_t((at(i) << 8) | at(i + 1)) : char32_t((at(i + 1) << 8) | at(i));
  };
  size_t i = 2;
  for (; i + 1 < data.size(); i += 2) {
    char32_t u = unit(i);
    if (u >= 0xD800 && u < 0xDC00 && i + 3 < data.size()) {
      char32_t low = unit(i + 2);
      if (low >= 0xDC00 && low < 0xE000) {
        append_utf8(out, 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00));
        i += 2;
        continue;
      }
    }
    append_utf8(out, u >= 0xD800 && u < 0xE000 ? 0xFFFD : u);
  }
  if (i < data.size()) append_utf8(out, 0xFFFD);  // an odd byte at the end
  return out;
}

base::StatusOr<std::vector<std::string>> split_shell_strings(const base::Messages& msg, std::string_view s) {
  std::vector<std::string> words;
  char32_t quote = 0, last = 0;
  auto is_split = [&](char32_t c) {
    if (last != '\\') {
      if (quote != 0 && c == quote) {
        quote = 0;
        return true;
      }
      if (quote == 0 && (c == '"' || c == '\'')) {
        quote = c;
        return true;
      }
    }
    last = c;
    if (quote != 0) return false;
    return c == '\\' || is_go_space(c);
  };
  size_t start = std::string_view::npos;
  for (size_t i = 0; i < s.size();) {
    size_t len;
    char32_t c = rune_at(s, i, len);
    if (is_split(c)) {
      if (start != std::string_view::npos) words.emplace_back(s.substr(start, i - start));
      start = std::string_view::npos;
    } else if (start == std::string_view::npos) {
      start = i;
    }
    i += len;
  }
  if (start != std::string_view::npos) words.emplace_back(s.substr(start));
  if (quote == '\'') return base::invalid_argument(msg.get("err.command_single_quote"));
  if (quote == '"') return base::invalid_argument(msg.get("err.command_double_quote"));
  if (words.empty()) return base::invalid_argument(msg.get("err.command_empty"));
  return words;
}

base::StatusOr<std::string> read_password_file(base::Env& env, std::string_view source,
                                               const std::string& path) {
  ASSIGN_OR_RETURN(base::Bytes data, ops::read_flag_file(env, source, path));
  return go_trim_space(decode_text(data));
}

base::StatusOr<std::string> run_password_command(const base::Messages& msg, const std::string& command) {
  auto words = split_shell_strings(msg, command);
  if (!words.ok()) return words.status().with_context("--password-command");
  std::vector<char*> argv;
  for (auto& w : *words) argv.push_back(w.data());
  argv.push_back(nullptr);
  int fds[2];
  if (::pipe(fds) != 0) return base::internal_error(msg.format("err.command_start", command, std::strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  pid_t pid;
  int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return base::invalid_argument(msg.format("err.command_start", (*words)[0], std::strerror(rc)));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (WIFEXITED(status)) return base::invalid_argument(msg.format("err.command_exit", (*words)[0], WEXITSTATUS(status)));
    return base::invalid_argument(msg.format("err.command_signal", (*words)[0], WTERMSIG(status)));
  }
  return go_trim_space(out);
}

std::string first_line(std::string_view data) {
  size_t nl = data.find('\n');
  std::string_view line = data.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return std::string(line);
}

}  // namespace kura::cli
