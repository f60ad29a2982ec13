#!/usr/bin/env python3
"""Every restic command and flag is a kura command and flag.

The oracle is the stock restic binary: `restic help` lists its commands and `restic help CMD`
each command's flags. For each of them, `kura help CMD` must list the same flag (long and
short name) and, where restic's flag takes a value, kura's must take one too. Where kura
deliberately differs, the difference is listed below with its reason, and a listed
exception that kura no longer needs fails the test too, so the list stays true.

Usage: flags_oracle_test.py  (KURA = the kura binary; exit 77 when restic is not installed)
"""
import os
import re
import shutil
import subprocess
import sys

# Commands restic has and kura deliberately does not.
COMMAND_EXCEPTIONS = {
    # kura is installed and updated by the system's package manager (or the provider's
    # agent), never by downloading itself.
    "self-update": "kura is updated by the package manager, not by itself",
}

# (command, flag) pairs restic has and kura deliberately does not ("" = global flag).
FLAG_EXCEPTIONS = {
}

# restic flags that take a value in restic's help but are counters or optional-value flags:
# kura may accept them without a value too.
OPTIONAL_VALUE = {("", "--verbose")}

FLAG_LINE = re.compile(r"^\s+(?:(-\w),\s+)?(--[\w-]+)(?:\s+(\S+))?\s{2,}")
# "  -e,--exclude TEXT ...   desc", "  -r,--repo TEXT (Env:KURA_REPOSITORY)", "  -q,--quiet   desc"
KURA_FLAG = re.compile(r"^\s+((?:-{1,2}[\w-]+,?)+)( (?!\()\S+)?")


def run(args):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=dict(os.environ, KURA_LANG="en", LANG="C"))
    return r.returncode, r.stdout


def restic_commands():
    _, out = run(["restic", "help"])
    cmds, inside = [], False
    for line in out.splitlines():
        if line.startswith("Available Commands:"):
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            cmds.append(line.split()[0])
    return [c for c in cmds if c != "help"]


def restic_flags(cmd):
    """{flag: takes_value} of one restic command's own flags ("" = the global flags)."""
    _, out = run(["restic", "help"] + ([cmd] if cmd else []))
    flags, inside = {}, False
    for line in out.splitlines():
        if line.startswith("Flags:"):
            inside = True
            continue
        if inside and (not line.strip() or line.startswith("Global Flags")):
            break
        if inside:
            m = FLAG_LINE.match(line)
            if not m:
                continue
            short, long_, value = m.groups()
            if long_ == "--help":
                continue
            flags[long_] = value is not None
            if short:
                flags[short + "=" + long_] = value is not None
    return flags


def kura_help(words):
    """{flag: takes_value} of `kura help WORDS` and of its subcommands (kura's key list, add,
    ... are subcommands where restic's are arguments)."""
    code, out = run([os.environ["KURA"], "help"] + words)
    if code != 0:
        return None
    flags, subs, section = {}, [], None
    for line in out.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line[:-1]
            continue
        if section == "Options":
            m = KURA_FLAG.match(line)
            if not m:
                continue
            names = [n for n in m.group(1).split(",") if n]
            takes = m.group(2) is not None
            longs = [n for n in names if n.startswith("--")]
            shorts = [n for n in names if not n.startswith("--")]
            for ln in longs:
                flags[ln] = takes
                for s in shorts:
                    flags[s + "=" + ln] = takes
        elif section == "Subcommands" and words:
            if line.strip():
                subs.append(line.split()[0])
    for s in subs:
        sub = kura_help(words + [s]) or {}
        for k, v in sub.items():
            flags.setdefault(k, v)
    return flags


def main():
    if not shutil.which("restic"):
        print("restic not installed: skipped")
        return 77
    problems, used = [], set()
    for cmd in [""] + restic_commands():
        if cmd in COMMAND_EXCEPTIONS:
            used.add(cmd)
            continue
        kura = kura_help([cmd] if cmd else [])
        if kura is None:
            problems.append(f"command missing: kura {cmd}")
            continue
        for flag, takes in restic_flags(cmd).items():
            key = (cmd, flag)
            if key in FLAG_EXCEPTIONS:
                used.add(key)
                continue
            if flag not in kura:
                problems.append(f"flag missing: kura {cmd or '(global)'} {flag.replace('=', ', ')}")
            elif takes and not kura[flag] and (cmd, flag.split("=")[-1]) not in OPTIONAL_VALUE:
                problems.append(f"flag takes no value in kura but does in restic: {cmd} {flag}")
            elif not takes and kura[flag]:
                problems.append(f"flag takes a value in kura but not in restic: {cmd} {flag}")
    for stale in (set(COMMAND_EXCEPTIONS) | set(FLAG_EXCEPTIONS)) - used:
        problems.append(f"exception no longer needed: {stale}")
    for p in problems:
        print("FAIL:", p)
    if problems:
        print(f"{len(problems)} differences from restic's commands and flags")
        return 1
    print("kura accepts every restic command and flag (exceptions: "
          f"{len(COMMAND_EXCEPTIONS) + len(FLAG_EXCEPTIONS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
