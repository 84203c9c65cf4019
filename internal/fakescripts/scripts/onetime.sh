#!/bin/bash
# A centre script whose code prompt says "One-Time Password": it must get the
# one-time code, not the password.
# Usage: onetime.sh KEY CERT
# shellcheck source=/dev/null
. "$(dirname "$0")/fakelib.sh"
KEY=${1:?usage: onetime.sh KEY CERT}
CERT=${2:?usage: onetime.sh KEY CERT}
fake_require_tty
read -r -p "Username: " u
read -r -s -p "Password: " p
echo
read -r -s -p "One-Time Password: " otp
echo
fake_no_extra
if ! fake_check "$u" "$p" "$otp"; then
	echo "Access denied: wrong password or one-time password."
	exit 1
fi
fake_mkkeys "$KEY" "$CERT" || exit 1
echo "Keys written to $KEY"
