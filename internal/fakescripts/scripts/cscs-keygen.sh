#!/bin/bash
# Fake of CSCS's cscs-keygen.sh (eth-cscs/sshservice-cli): the same prompts in
# the same order, the progress line redrawn with \r, and the final one-key
# passphrase question whose default (Enter) is YES.
# Usage: cscs-keygen.sh KEY CERT
# shellcheck source=/dev/null
. "$(dirname "$0")/fakelib.sh"
KEY=${1:?usage: cscs-keygen.sh KEY CERT}
CERT=${2:?usage: cscs-keygen.sh KEY CERT}
fake_require_tty

read -r -p "Username : " USERNAME
if ! [[ $USERNAME =~ ^[[:lower:]_][[:lower:][:digit:]_-]{2,15}$ ]]; then
	echo "Username is not valid."
	exit 1
fi
read -r -s -p "Password: " PASSWORD
echo
if [ -z "$PASSWORD" ]; then
	echo "Password is empty."
	exit 1
fi
read -r -s -p "Enter OTP (6-digit code): " OTP
echo
fake_no_extra
if ! [[ $OTP =~ ^[0-9]{6}$ ]]; then
	echo "OTP is not valid, OTP must contains only six digits."
	exit 1
fi

fake_progress 25 "Authenticating to the SSH key service..."
if ! fake_check "$USERNAME" "$PASSWORD" "$OTP"; then
	echo
	echo "Invalid username, password or OTP."
	echo "Error fetching the SSH keys. Aborting."
	exit 1
fi
fake_progress 50 "Retrieving the SSH keys..."
fake_progress 75 "Setting up the SSH keys into your home folder..."
if ! fake_mkkeys "$KEY" "$CERT"; then
	echo
	echo "Error setting up the SSH keys. Aborting."
	exit 1
fi
fake_progress 100 "Completed."
echo

read -r -n 1 -p "Do you want to add a passphrase to your key? [y/n] (Default y) " reply
echo
fake_no_extra
if [ "$reply" != "n" ] && [ "$reply" != "N" ]; then
	until ssh-keygen -f "$KEY" -p; do
		echo "Please set the same passphrase twice..."
	done
fi

cat <<USAGE
Usage:

1. Add the key to the SSH agent:
ssh-add -t 1d $KEY

2. Connect to the login node using CSCS keys:
ssh -A $USERNAME@<CSCS-LOGIN-NODE>
USAGE
