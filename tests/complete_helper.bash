# SPDX-License-Identifier: GPL-2.0-or-later
# complete_helper.bash: drive the shell completions as the shells do.
#
# bash_complete_line LINE: the words bash's completion would get for LINE
# (the cursor at its end), split as readline splits them (blanks, and the
# characters of COMP_WORDBREAKS that matter here: = < > :), then _pcwrite
# with bash-completion loaded; prints COMPREPLY one a line.
#
# zsh_complete LINE: LINE typed into an interactive zsh under zpty, then
# TAB; prints every match zsh's completion added, one a line (compadd is
# wrapped to record them).

BASH_COMPLETION_MAIN=${BASH_COMPLETION_MAIN:-/usr/share/bash-completion/bash_completion}

# split_line LINE: COMP_WORDS for LINE, into the array "words".
split_line() {
	local line=$1 w= q= i c sq="'"
	words=()
	for ((i = 0; i < ${#line}; i++)); do
		c=${line:i:1}
		if [[ -n $q ]]; then
			w+=$c
			[[ $c == "$q" ]] && q=
		elif [[ $c == '\' ]]; then
			w+=$c${line:i+1:1}
			((i++))
		elif [[ $c == '"' || $c == "$sq" ]]; then
			w+=$c
			q=$c
		elif [[ $c == ' ' ]]; then
			[[ -n $w ]] && words+=("$w")
			w=
		elif [[ $c == [=\<\>:] ]]; then
			if [[ -n $w && $w != [\<\>]* ]]; then
				words+=("$w")
				w=
			fi
			w+=$c
			if [[ ${line:i+1:1} != [\<\>] ]]; then
				words+=("$w")
				w=
			fi
		else
			w+=$c
		fi
	done
	words+=("$w")
}

bash_complete_line() {
	[ -r "$BASH_COMPLETION_MAIN" ] || skip "bash-completion not installed"
	bash --norc --noprofile -c "$(declare -f split_line)"'
		source "$1" || exit 1
		source "$2" || exit 1
		split_line "$3"
		COMP_WORDS=("${words[@]}")
		COMP_CWORD=$((${#words[@]} - 1))
		COMP_LINE=$3
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_pcwrite "${words[0]}" "${words[COMP_CWORD]}" "${words[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' bash_complete "$BASH_COMPLETION_MAIN" "$BASHCOMP" "$1"
}
