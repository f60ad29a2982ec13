#!/usr/bin/env bash
# kura generate: man pages that mandoc reads without warnings, and bash/zsh/fish completion
# scripts that complete commands, flags and file names as a user types them.
source "$(dirname "$0")/lib.sh"
out="$WORK/gen"
mkdir -p "$out/man"

step "generate everything"
kura generate --man "$out/man" --bash-completion "$out/kura.bash" --zsh-completion "$out/_kura" \
  --fish-completion "$out/kura.fish" > "$WORK/gen.log"
grep -q "man pages" "$WORK/gen.log" || fail "no summary: $(cat "$WORK/gen.log")"
for page in kura kura-backup kura-restore kura-key-add kura-generate; do
  [ -s "$out/man/$page.1" ] || fail "missing man page $page.1"
done
kura generate > /dev/null 2>&1 && fail "generate without a target must fail"
kura generate --man "$WORK/no-such-dir" > /dev/null 2>&1 && fail "--man into a missing folder must fail"

step "man pages"
if command -v mandoc > /dev/null; then
  [ -z "$(mandoc -T lint -W warning "$out"/man/*.1 2>&1)" ] || fail "mandoc warnings"
  page=$(mandoc -T ascii "$out/man/kura-backup.1")
  grep -q -- "--exclude" <<< "$page" || fail "backup page lacks --exclude"
else
  echo "mandoc not installed: man page lint skipped" >&2
fi

step "bash completion"
cat > "$WORK/bash-check.sh" <<'EOS'
source "$1"
complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _kura; echo "${COMPREPLY[*]}"; }
expect() { local want="$1"; shift; local got; got=$(complete_words "$@"); [[ " $got " == *" $want "* ]] || { echo "[$*] gave [$got], wanted $want" >&2; exit 1; }; }
expect backup kura ba
expect --exclude-file kura backup --exc
expect add kura -r /tmp key a
expect snapshots kura --repo /tmp sn
expect "$2" kura backup --exclude-file "${2%?}"
expect --new-password-file kura key add --new
EOS
touch "$WORK/excludes.txt"
bash "$WORK/bash-check.sh" "$out/kura.bash" "$WORK/excludes.txt" || fail "bash completion"

step "zsh completion"
if command -v zsh > /dev/null; then zsh -n "$out/_kura" || fail "zsh syntax"; fi

step "fish completion"
if command -v fish > /dev/null; then
  fish -n "$out/kura.fish" || fail "fish syntax"
  got=$(fish -c "source $out/kura.fish; complete -C 'kura ba'; complete -C 'kura backup --exc'; complete -C 'kura key a'")
  for want in backup --exclude-file add; do
    grep -q "^$want" <<< "$got" || fail "fish completion lacks $want: $got"
  done
fi

step "help"
# Whole outputs first: `| grep -q` would stop reading early, and pipefail would see SIGPIPE.
help=$(kura help backup); grep -q "Usage: kura backup" <<< "$help" || fail "kura help backup"
help=$(kura help key add); grep -q "Usage: kura key add" <<< "$help" || fail "kura help key add"
help=$(kura help); grep -q "SUBCOMMAND" <<< "$help" || fail "kura help"
kura help no-such-command > /dev/null 2>&1 && fail "help of an unknown command must fail"
echo "ok"
