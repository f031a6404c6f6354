#!/usr/bin/env zsh
# SPDX-License-Identifier: GPL-2.0-or-later
# complete_zsh.zsh COMPDIR LINE: LINE typed into an interactive zsh (under
# zpty, with compinit and COMPDIR's _pcwrite), then TAB; prints every match
# the completion added, one a line, then "BUFFER:" and the command line as
# the completion left it.  compadd is wrapped to record the matches (as
# zsh-capture-completion does); calls that already collect (-O, -A, -D)
# pass through.
emulate -L zsh
zmodload zsh/zpty || exit 2
comp_dir=$1 line=$2
out=$(mktemp) || exit 2
zpty z zsh -f -i || exit 2
zpty -w z "PS1='> '; fpath=(${(q)comp_dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "compadd() { if [[ \" \$* \" == *' -'[OAD]' '* ]]; then builtin compadd \"\$@\"; return; fi; local -a __h; builtin compadd -O __h \"\$@\"; (( \$#__h )) && print -rl -- \$__h >> ${(q)out}; builtin compadd \"\$@\"; }"
zpty -w z "dumpbuf() { print -r -- \"BUFFER:\$BUFFER\" > ${(q)out}.buf; }; zle -N dumpbuf; bindkey '^X^B' dumpbuf"
zpty -w z "print -r -- READY > ${(q)out}.ready"
for (( i = 0; i < 100; i++ )); do
  [[ -s $out.ready ]] && break
  sleep 0.05
done
zpty -w -n z "$line"$'\t\C-x\C-b'
# The buffer is dumped after the completion is done.
for (( i = 0; i < 100; i++ )); do
  [[ -s $out.buf ]] && break
  sleep 0.05
done
zpty -d z
cat $out $out.buf 2>/dev/null
rm -f $out $out.ready $out.buf
