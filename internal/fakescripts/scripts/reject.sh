#!/bin/bash
# A script whose key service rejects the credentials, whatever they are.
# shellcheck source=/dev/null
. "$(dirname "$0")/fakelib.sh"
fake_require_tty
read -r -p "Username: " u
read -r -s -p "Password: " p
echo
read -r -s -p "Enter OTP (6-digit code): " otp
echo
echo "Contacting the key service..."
sleep 0.1
echo "Authentication failed."
exit 1
