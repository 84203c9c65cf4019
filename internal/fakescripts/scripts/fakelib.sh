# fakelib.sh: sourced by the fake centre scripts (bash).
#
# fake.conf, written next to it by fakescripts.Install, names the test
# fixtures: the expected username, the password and TOTP secret files (0600),
# the test CA's private key, and how long to watch for extra input.

FAKE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null
. "$FAKE_DIR/fake.conf"
FAKE_PROG=$(basename "$0")

# fake_require_tty: the real scripts prompt with `read -p`, which prints the
# prompt only when stdin is a terminal. Be stricter than they are and refuse
# to run without a controlling terminal at all.
fake_require_tty() {
	if [ ! -t 0 ] || ! { : <>/dev/tty; } 2>/dev/null; then
		echo "$FAKE_PROG: not a terminal" >&2
		exit 5
	fi
}

# fake_no_extra: the last answer must have been typed exactly once. Anything
# more that arrives within FAKE_EXTRA_WAIT seconds (a second code, a stray
# Enter after a one-key answer) fails the run with status 3.
fake_no_extra() {
	local extra
	if IFS= read -r -s -t "$FAKE_EXTRA_WAIT" -n 1 extra; then
		echo "$FAKE_PROG: unexpected extra input after the last answer" >&2
		exit 3
	fi
}

# fake_check USER PASSWORD OTP: what the key service would say. The values go
# through a pipe, never through argv.
fake_check() {
	printf '%s\n%s\n%s\n' "$1" "$2" "$3" | python3 "$FAKE_DIR/fakelib.py" check
}

# fake_mkkeys KEY CERT [PUB]: a new key pair, signed by the test CA.
fake_mkkeys() {
	"$FAKE_DIR/fake-mkkeys.sh" "$@"
}

# fake_progress PERCENT MESSAGE: cscs-keygen.sh's progress line, redrawn with \r.
fake_progress() {
	local done=$(($1 * 40 / 100)) bar
	bar=$(printf '%*s' "$done" '' | tr ' ' '#')$(printf '%*s' $((40 - done)) '' | tr ' ' '-')
	printf '\rSetting the environment : [%s] %d%%  %s' "$bar" "$1" "$2"
}
