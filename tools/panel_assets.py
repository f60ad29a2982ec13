#!/usr/bin/env python3
"""Generates the C++ source that embeds the control panel's front end into kura-server.

usage: panel_assets.py --panel DIR --i18n DIR --out FILE.cc

Embeds every file under DIR (the panel/ folder: index.html, assets/...) and the panel's
message catalogs as assets/i18n/<lang>.json, built from
  i18n/panel.<lang>.msg         every key
  i18n/server.<lang>.msg        the `pw.*` keys (password policy problems the server returns)
A catalog becomes a JSON object {key: text}; `{}` placeholders stay for the front end to fill.
The languages must have identical key sets, and no key may come from both files.

The output defines kura::server::panel_asset() and panel_asset_paths() (server/panel_assets.h).
Bytes are written as char arrays (no string literal, so no 64 KiB literal limit), entries
sorted by path, so the same input always gives the same output. Standard library only.
"""

import argparse
import hashlib
import json
import os
import sys

LANGS = ("en", "ja")
SERVER_PREFIX = "pw."

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}


def fail(message):
    print(f"panel_assets.py: {message}", file=sys.stderr)
    sys.exit(1)


def parse_catalog(path):
    """The "key = text" lines of a .msg file, read as base/i18n.cc reads them."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except OSError as e:
        fail(f"{path}: cannot read: {e.strerror}")
    except UnicodeDecodeError as e:
        fail(f"{path}: not UTF-8: {e}")
    entries = {}
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r ").lstrip(" ")
        if not line or line.startswith("#"):
            continue
        key, sep, raw = line.partition(" = ")
        if not sep or not key:
            fail(f'{path}:{number}: want "key = text"')
        if key in entries:
            fail(f"{path}:{number}: duplicate key {key}")
        entries[key] = unescape(raw)
    return entries


def unescape(raw):
    out = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            i += 1
            c = {"n": "\n", "t": "\t"}.get(raw[i], raw[i])
        out.append(c)
        i += 1
    return "".join(out)


def catalogs(i18n_dir):
    """{lang: JSON bytes}, after checking that the languages agree on their keys."""
    merged = {}
    for lang in LANGS:
        panel = parse_catalog(os.path.join(i18n_dir, f"panel.{lang}.msg"))
        server = parse_catalog(os.path.join(i18n_dir, f"server.{lang}.msg"))
        entries = dict(panel)
        for key, text in server.items():
            if not key.startswith(SERVER_PREFIX):
                continue
            if key in entries:
                fail(f"key {key} is in both panel.{lang}.msg and server.{lang}.msg")
            entries[key] = text
        merged[lang] = entries
    first = set(merged[LANGS[0]])
    for lang in LANGS[1:]:
        other = set(merged[lang])
        if other != first:
            only_first = sorted(first - other)[:5]
            only_other = sorted(other - first)[:5]
            fail(f"catalog keys differ: only in {LANGS[0]}: {only_first}; only in {lang}: {only_other}")
    return {
        lang: json.dumps(entries, ensure_ascii=False, sort_keys=True, indent=0).encode("utf-8")
        for lang, entries in merged.items()
    }


def panel_files(panel_dir):
    """{path relative to panel_dir with '/': bytes}."""
    if not os.path.isdir(panel_dir):
        fail(f"{panel_dir}: no such folder")
    files = {}
    for root, dirs, names in os.walk(panel_dir):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, panel_dir).replace(os.sep, "/")
            if name.startswith("."):
                continue
            with open(full, "rb") as f:
                files[rel] = f.read()
    if "index.html" not in files:
        fail(f"{panel_dir}: no index.html")
    return files


def content_type(path):
    ext = os.path.splitext(path)[1].lower()
    if ext not in CONTENT_TYPES:
        fail(f"{path}: no content type known for '{ext}' files (add it to CONTENT_TYPES)")
    return CONTENT_TYPES[ext]


def c_string(text):
    """A C++ string literal for short ASCII text (paths, content types, ETags)."""
    if not all(0x20 <= ord(c) < 0x7F for c in text):
        fail(f'"{text}": asset paths must be printable ASCII')
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def c_bytes(name, data):
    lines = [f"constexpr char {name}[] = {{"]
    for start in range(0, len(data), 20):
        row = data[start:start + 20]
        lines.append("    " + ",".join(f"'\\x{b:02x}'" for b in row) + ",")
    if not data:
        lines.append("    '\\0',")
    lines.append("};")
    return "\n".join(lines)


def generate(files):
    out = [
        "// Generated by tools/panel_assets.py from panel/ and i18n/; do not edit.",
        '#include "server/panel_assets.h"',
        "",
        "#include <algorithm>",
        "#include <array>",
        "",
        "namespace kura::server {",
        "namespace {",
        "",
    ]
    table = []
    for index, (path, data) in enumerate(sorted(files.items())):
        name = f"kAsset{index}"
        out.append(f"// {path}")
        out.append(c_bytes(name, data))
        out.append("")
        etag = '"' + hashlib.sha256(data).hexdigest()[:24] + '"'
        table.append(
            f"    Entry{{{c_string(path)}, {{std::string_view({name}, {len(data)}), "
            f"{c_string(content_type(path))}, {c_string(etag)}}}}},"
        )
    out += [
        "struct Entry {",
        "  std::string_view path;",
        "  PanelAsset asset;",
        "};",
        "",
        f"constexpr std::array<Entry, {len(table)}> kAssets = {{",
        *table,
        "};",
        "",
        "constexpr std::array<std::string_view, kAssets.size()> paths() {",
        "  std::array<std::string_view, kAssets.size()> out{};",
        "  for (size_t i = 0; i < kAssets.size(); ++i) out[i] = kAssets[i].path;",
        "  return out;",
        "}",
        "",
        "constexpr std::array<std::string_view, kAssets.size()> kPaths = paths();",
        "",
        "}  // namespace",
        "",
        "const PanelAsset* panel_asset(std::string_view path) {",
        '  if (path.empty()) path = "index.html";',
        "  auto it = std::lower_bound(kAssets.begin(), kAssets.end(), path,",
        "                             [](const Entry& e, std::string_view p) { return e.path < p; });",
        "  return it != kAssets.end() && it->path == path ? &it->asset : nullptr;",
        "}",
        "",
        "std::span<const std::string_view> panel_asset_paths() { return kPaths; }",
        "",
        "}  // namespace kura::server",
        "",
    ]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--panel", required=True, help="the panel/ folder")
    parser.add_argument("--i18n", required=True, help="the i18n/ folder")
    parser.add_argument("--out", required=True, help="the .cc file to write")
    args = parser.parse_args()

    files = panel_files(args.panel)
    for lang, data in catalogs(args.i18n).items():
        path = f"assets/i18n/{lang}.json"
        if path in files:
            fail(f"{args.panel}/{path}: generated from the catalogs; do not add it by hand")
        files[path] = data

    text = generate(files)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        f.write(text)
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
