#!/bin/bash
# fuzz-all.sh: run every FuzzXxx target in the module for FUZZTIME each.
# `go test -fuzz` accepts only one target in one package per run, so we discover them
# with `go test -list '^Fuzz' ./...`, which prints each package's matches followed by
# its "ok  <package>" line.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}

if ! listing=$("$GO" test -list '^Fuzz' ./... 2>&1); then
	printf '%s\n' "$listing" >&2
	echo "fuzz-all: listing fuzz targets failed" >&2
	exit 1
fi

targets=$(printf '%s\n' "$listing" | awk '
	/^Fuzz/ { names[++n] = $1; next }
	/^ok[ \t]/ { for (i = 1; i <= n; i++) print $2, names[i]; n = 0 }
')

if [ -z "$targets" ]; then
	echo "fuzz-all: no fuzz targets found"
	exit 0
fi

count=0
while read -r pkg name; do
	echo "fuzz-all: $pkg $name ($FUZZTIME)"
	"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg"
	count=$((count + 1))
done <<<"$targets"
echo "fuzz-all: $count targets done"
