// kura help and kura generate: help for one command, man pages and bash/zsh/fish completion
// scripts, all built from the command tree the parser itself uses, so they cannot drift from
// the real commands and flags.
#include <fmt/format.h>

#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "apps/kura/cli.h"
#include "apps/kura/profile.h"

namespace kura::cli {
namespace {

struct FlagDoc {
  std::vector<std::string> shorts;  // without "-"
  std::vector<std::string> longs;   // without "--"
  std::string description;
  std::string value;  // the value's name ("TEXT", "INT", ...); empty for a switch
};

struct CommandDoc {
  std::vector<std::string> path;  // {"key", "add"}; empty for kura itself
  std::string description;
  std::vector<FlagDoc> flags;
  std::vector<std::string> positionals;  // "name: description"
  std::vector<CommandDoc> subcommands;

  std::string name() const { return path.empty() ? "kura" : path.back(); }
  std::string joined(char sep) const {
    std::string s = "kura";
    for (const auto& p : path) s += sep + p;
    return s;
  }
};

// Options whose value is a file or folder: completions offer file names for them.
bool takes_path(const FlagDoc& f) {
  for (const auto& l : f.longs) {
    if (l.find("file") != std::string::npos || l.find("dir") != std::string::npos ||
        l == "repo" || l == "target" || l == "cacert" || l == "tls-client-cert" || l == "man" ||
        l.find("completion") != std::string::npos || l == "from-repo") {
      return true;
    }
  }
  return false;
}

CommandDoc describe(const CLI::App& app, std::vector<std::string> path) {
  CommandDoc d;
  d.path = std::move(path);
  d.description = app.get_description();
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_group().empty()) continue;  // hidden
    if (o->nonpositional()) {
      FlagDoc f;
      f.shorts = o->get_snames();
      f.longs = o->get_lnames();
      f.description = o->get_description();
      if (o->get_expected_min() > 0) f.value = o->get_type_name();
      d.flags.push_back(std::move(f));
    } else {
      d.positionals.push_back(o->get_name() + ": " + o->get_description());
    }
  }
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    std::vector<std::string> p = d.path;
    p.push_back(sub->get_name());
    d.subcommands.push_back(describe(*sub, std::move(p)));
  }
  return d;
}

void each_command(const CommandDoc& d, const std::function<void(const CommandDoc&)>& fn) {
  fn(d);
  for (const auto& s : d.subcommands) each_command(s, fn);
}

// --- man pages (roff, man(7) macros) ---

std::string roff_escape(std::string_view s) {
  std::string out;
  bool line_start = true;
  for (char c : s) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

std::string today() {
  time_t now = ::time(nullptr);
  struct tm tm;
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string flag_synopsis(const FlagDoc& f) {
  std::string s;
  for (const auto& n : f.shorts) s += (s.empty() ? "" : ", ") + fmt::format("\\fB\\-{}\\fP", n);
  for (const auto& n : f.longs) s += (s.empty() ? "" : ", ") + fmt::format("\\fB\\-\\-{}\\fP", roff_escape(n));
  if (!f.value.empty()) s += "=" + roff_escape(f.value);
  return s;
}

std::string man_page(const CommandDoc& d, const CommandDoc& root, const Cli& cli) {
  std::string title = d.joined('-');
  std::string upper;
  for (char c : title) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string m = fmt::format(".nh\n.TH \"{}\" \"1\" \"{}\" \"kura {}\" \"{}\"\n\n", upper, today(),
                              KURA_VERSION, roff_escape(cli.msg().get("gen.man_section")));
  m += ".SH NAME\n" + roff_escape(title) + " \\- " + roff_escape(d.description) + "\n\n";
  m += ".SH SYNOPSIS\n\\fB" + roff_escape(d.joined(' ')) + "\\fP [OPTIONS]";
  if (!d.subcommands.empty()) m += " COMMAND";
  for (const auto& p : d.positionals) m += " [" + roff_escape(p.substr(0, p.find(':'))) + "...]";
  m += "\n\n.SH DESCRIPTION\n" + roff_escape(d.description) + "\n";
  for (const auto& p : d.positionals) m += ".PP\n" + roff_escape(p) + "\n";
  auto options = [&](const std::string& heading, const std::vector<FlagDoc>& flags) {
    if (flags.empty()) return;
    m += "\n.SH " + heading + "\n";
    for (const auto& f : flags) m += ".TP\n" + flag_synopsis(f) + "\n" + roff_escape(f.description) + "\n";
  };
  options(roff_escape(cli.msg().get("gen.man_options")), d.flags);
  if (!d.path.empty()) options(roff_escape(cli.msg().get("gen.man_global_options")), root.flags);
  if (!d.subcommands.empty()) {
    m += "\n.SH " + roff_escape(cli.msg().get("gen.man_commands")) + "\n";
    for (const auto& s : d.subcommands) {
      m += ".TP\n\\fB" + roff_escape(s.name()) + "\\fP\n" + roff_escape(s.description) + "\n";
    }
  }
  m += "\n.SH SEE ALSO\n";
  std::vector<std::string> refs;
  if (!d.path.empty()) {
    CommandDoc parent;
    parent.path.assign(d.path.begin(), d.path.end() - 1);
    refs.push_back(parent.joined('-'));
  }
  for (const auto& s : d.subcommands) refs.push_back(s.joined('-'));
  for (size_t i = 0; i < refs.size(); ++i) {
    m += fmt::format("\\fB{}\\fP(1){}\n", roff_escape(refs[i]), i + 1 < refs.size() ? "," : "");
  }
  return m;
}

// --- completions ---


std::string words(const std::vector<FlagDoc>& flags, bool with_values_only) {
  std::string s;
  for (const auto& f : flags) {
    if (with_values_only && f.value.empty()) continue;
    for (const auto& n : f.shorts) s += (s.empty() ? "-" : " -") + n;
    for (const auto& n : f.longs) s += (s.empty() ? "--" : " --") + n;
  }
  return s;
}

// One case per command path ("backup", "key add"): its flags, the flags that take a value and
// its subcommands. The function finds the command path in the words before the cursor,
// skipping flag values, then offers flags, subcommands or files.
std::string bash_completion(const CommandDoc& root) {
  std::string cases;
  each_command(root, [&](const CommandDoc& d) {
    std::string key = d.joined(' ').substr(4);  // "" for the root, " key add" otherwise
    std::string subs;
    for (const auto& s : d.subcommands) subs += (subs.empty() ? "" : " ") + s.name();
    cases += fmt::format("    {}) flags={}; valued={}; subs={} ;;\n", shell_quote(key.empty() ? "" : key.substr(1)),
                         shell_quote(words(d.flags, false)), shell_quote(words(d.flags, true)), shell_quote(subs));
  });
  std::string global_valued = words(root.flags, true);
  return fmt::format(R"(# bash completion for kura (generated by `kura generate --bash-completion`)
_kura_command_info() {{
  case "$1" in
{}    *) flags=''; valued=''; subs='' ;;
  esac
}}

_kura() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
  local path='' flags valued subs i w skip=0
  local global_valued={}
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="${{COMP_WORDS[i]}}"
    if ((skip)); then skip=0; continue; fi
    _kura_command_info "$path"
    case "$w" in
      --*=*) ;;
      -*) [[ " $valued $global_valued " == *" $w "* ]] && skip=1 ;;
      *) [[ " $subs " == *" $w "* ]] && path="${{path:+$path }}$w" ;;
    esac
  done
  _kura_command_info "$path"
  if [[ " $valued $global_valued " == *" $prev "* && "$prev" == -* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return
  fi
  if [[ "$cur" == -* ]]; then
    local all="$flags"
    _kura_command_info ''
    [[ -n "$path" ]] && all="$all $flags"
    COMPREPLY=($(compgen -W "$all" -- "$cur"))
  elif [[ -n "$subs" ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}}
complete -o filenames -F _kura kura
)",
                     cases, shell_quote(global_valued));
}

std::string zsh_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '[' || c == ']' || c == ':' || c == '\\') out += '\\';
    if (c == '\'') {
      out += "'\\''";
      continue;
    }
    out += c;
  }
  return out;
}

std::string zsh_specs(const std::vector<FlagDoc>& flags) {
  std::string s;
  for (const auto& f : flags) {
    std::string action = f.value.empty() ? "" : (takes_path(f) ? ":value:_files" : ":value:");
    std::vector<std::string> names;
    for (const auto& n : f.shorts) names.push_back("-" + n);
    for (const auto& n : f.longs) names.push_back("--" + n);
    for (const auto& n : names) {
      s += fmt::format("      '*{}[{}]{}' \\\n", n, zsh_escape(f.description), action);
    }
  }
  return s;
}

std::string zsh_completion(const CommandDoc& root) {
  std::string functions;
  each_command(root, [&](const CommandDoc& d) {
    std::string fn = "_kura" + d.joined('_').substr(4);
    std::string body = "  _arguments -C \\\n" + zsh_specs(d.flags);
    if (!d.path.empty()) body += zsh_specs(root.flags);
    if (d.subcommands.empty()) {
      body += "      '*:file:_files'\n";
    } else {
      body += "      '1:command:->command' '*::arg:->args'\n";
      body += "  case $state in\n    command)\n      local -a commands=(\n";
      for (const auto& s : d.subcommands) {
        body += fmt::format("        '{}:{}'\n", s.name(), zsh_escape(s.description));
      }
      body += "      )\n      _describe command commands ;;\n    args)\n      case $words[1] in\n";
      for (const auto& s : d.subcommands) {
        body += fmt::format("        {}) {} ;;\n", s.name(), "_kura" + s.joined('_').substr(4));
      }
      body += "      esac ;;\n  esac\n";
    }
    functions += fn + "() {\n  local curcontext=\"$curcontext\" state line\n" + body + "}\n\n";
  });
  return "#compdef kura\n# zsh completion for kura (generated by `kura generate --zsh-completion`)\n\n" +
         functions + "_kura \"$@\"\n";
}

std::string fish_completion(const CommandDoc& root) {
  std::string out = "# fish completion for kura (generated by `kura generate --fish-completion`)\n";
  out += "complete -c kura -f\n";
  auto flag_lines = [&](const std::vector<FlagDoc>& flags, const std::string& condition) {
    for (const auto& f : flags) {
      std::string line = "complete -c kura" + condition;
      for (const auto& n : f.shorts) line += " -s " + n;
      for (const auto& n : f.longs) line += " -l " + n;
      if (!f.value.empty()) line += takes_path(f) ? " -r -F" : " -r";
      out += line + " -d " + shell_quote(f.description) + "\n";
    }
  };
  flag_lines(root.flags, "");
  each_command(root, [&](const CommandDoc& d) {
    if (d.subcommands.empty()) return;
    std::string subs;
    for (const auto& s : d.subcommands) subs += " " + s.name();
    std::string cond = d.path.empty() ? "__fish_use_subcommand"
                                      : "__fish_seen_subcommand_from " + d.path.back() +
                                            "; and not __fish_seen_subcommand_from" + subs;
    for (const auto& s : d.subcommands) {
      out += fmt::format("complete -c kura -n {} -a {} -d {}\n", shell_quote(cond), s.name(),
                         shell_quote(s.description));
    }
  });
  each_command(root, [&](const CommandDoc& d) {
    if (d.path.empty()) return;
    std::string cond = " -n " + shell_quote("__fish_seen_subcommand_from " + d.path.back());
    flag_lines(d.flags, cond);
    if (d.subcommands.empty()) out += "complete -c kura" + cond + " -F\n";
  });
  return out;
}

base::Status write_text(base::Env& env, const std::string& path, const std::string& text) {
  return env.write_file_atomic(path, base::as_bytes(text), 0644);
}

}  // namespace

void add_help_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("help", cli.msg().get("cmd.help"));
  auto topic = std::make_shared<std::vector<std::string>>();
  cmd->add_option("command", *topic, cli.msg().get("gen.arg_command"));
  cmd->callback([&app, &cli, topic] {
    CLI::App* target = &app;
    std::string usage_name = "kura";
    for (const auto& word : *topic) {
      CLI::App* sub = nullptr;
      try {
        sub = target->get_subcommand(word);
      } catch (const CLI::OptionNotFound&) {
      }
      if (!sub) {
        exit_code() = cli.fail(base::invalid_argument(cli.tr("err.unknown_command", word)));
        return;
      }
      target = sub;
      usage_name += " " + sub->get_name();
    }
    // App::help() would show the help of the selected subcommand, which is "help" itself.
    cli.print_data(target->get_formatter()->make_help(target, usage_name, CLI::AppFormatMode::Normal));
    exit_code() = kExitOk;
  });
}

void add_generate_command(CLI::App& app, Cli& cli) {
  auto* cmd = app.add_subcommand("generate", cli.msg().get("cmd.generate"));
  struct Opts {
    std::string bash, fish, zsh, man;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--bash-completion", o->bash, cli.msg().get("gen.flag_bash"))->type_name("file");
  cmd->add_option("--fish-completion", o->fish, cli.msg().get("gen.flag_fish"))->type_name("file");
  cmd->add_option("--zsh-completion", o->zsh, cli.msg().get("gen.flag_zsh"))->type_name("file");
  cmd->add_option("--man", o->man, cli.msg().get("gen.flag_man"))->type_name("directory");
  cmd->callback([&app, &cli, o] {
    exit_code() = [&]() -> int {
      if (o->bash.empty() && o->fish.empty() && o->zsh.empty() && o->man.empty()) {
        return cli.fail(base::invalid_argument(cli.msg().get("gen.err_nothing")));
      }
      CommandDoc root = describe(app, {});
      auto emit = [&](const std::string& path, const std::string& text, const char* what) -> base::Status {
        if (path.empty()) return base::Status();
        cli.verbose(cli.tr("gen.writing", what, path) + "\n");
        if (path == "-") {
          cli.print_data(text);
          return base::Status();
        }
        return write_text(*cli.env, path, text).with_context(path);
      };
      base::Status st = emit(o->bash, bash_completion(root), "bash");
      if (st.ok()) st = emit(o->zsh, zsh_completion(root), "zsh");
      if (st.ok()) st = emit(o->fish, fish_completion(root), "fish");
      if (!st.ok()) return cli.fail(st);
      if (!o->man.empty()) {
        auto exists = cli.env->stat(o->man);
        if (!exists.ok()) return cli.fail(exists.status().with_context(o->man));
        int pages = 0;
        each_command(root, [&](const CommandDoc& d) {
          if (!st.ok()) return;
          std::string file = o->man + "/" + d.joined('-') + ".1";
          st = write_text(*cli.env, file, man_page(d, root, cli)).with_context(file);
          ++pages;
        });
        if (!st.ok()) return cli.fail(st);
        cli.print(cli.tr("gen.man_done", pages, o->man) + "\n");
      }
      return kExitOk;
    }();
  });
}

}  // namespace kura::cli
