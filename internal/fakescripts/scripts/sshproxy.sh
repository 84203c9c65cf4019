#!/bin/bash
# Fake of NERSC's sshproxy.sh v1.1.0: one silent prompt for the password
# immediately followed by the one-time code.
# Usage: sshproxy.sh -u USER -o KEYFILE  (writes KEYFILE, KEYFILE.pub, KEYFILE-cert.pub, all 0600)
# shellcheck source=/dev/null
. "$(dirname "$0")/fakelib.sh"
user=${USER:-}
out=$HOME/.ssh/nersc
while getopts "u:o:" opt; do
	case $opt in
	u) user=$OPTARG ;;
	o) out=$OPTARG ;;
	*) exit 1 ;;
	esac
done
fake_require_tty
original_tty_state=$(stty -g)
trap 'stty "$original_tty_state" 2>/dev/null' EXIT

read -r -s -p "Enter the password+OTP for ${user}: " pw
echo
fake_no_extra
if [ ${#pw} -lt 7 ] || ! fake_check "$user" "${pw:0:${#pw}-6}" "${pw: -6}"; then
	echo "$FAKE_PROG: The sshproxy server said: Authentication failed. Failed login: $user"
	echo "$FAKE_PROG: This usually means you did not enter the correct password or OTP"
	exit 2
fi
if ! fake_mkkeys "$out" "$out-cert.pub" "$out.pub" || ! chmod 600 "$out-cert.pub" "$out.pub"; then
	echo "$FAKE_PROG: An error occured after successfully downloading keys (!!!)"
	exit 4
fi
echo "Successfully obtained ssh key $out"
valid=$(ssh-keygen -L -f "$out-cert.pub" | sed -n 's/^ *Valid: //p')
echo "Key $out is valid: $valid"
