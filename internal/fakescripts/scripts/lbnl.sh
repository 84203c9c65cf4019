#!/bin/bash
# Fake of LBNL's request_cert.sh: "PIN" is the password (silent), the "OTP"
# is echoed as typed, and this one also prints its request body, password
# included, as a debugging script might: a transcript must scrub both.
# Usage: lbnl.sh KEY CERT
# shellcheck source=/dev/null
. "$(dirname "$0")/fakelib.sh"
KEY=${1:?usage: lbnl.sh KEY CERT}
CERT=${2:?usage: lbnl.sh KEY CERT}
fake_require_tty
read -r -p "Username: " u
read -r -s -p "PIN: " pin
echo
read -r -p "OTP: " otp
fake_no_extra
echo "Requesting cert..."
echo "debug: {\"username\": \"$u\", \"password\": \"$pin\", \"mfa\": \"$otp\", \"lifetime\": \"12h\"}"
if ! fake_check "$u" "$pin" "$otp"; then
	echo "auth failed - status code: 401"
	exit 1
fi
echo "key id: fake-$RANDOM"
fake_mkkeys "$KEY" "$CERT" || exit 1
echo "wrote key $KEY"
echo "Done"
