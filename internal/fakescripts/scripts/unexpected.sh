#!/bin/bash
# A script that asks a question no dialog expects, after the username.
# shellcheck source=/dev/null
. "$(dirname "$0")/fakelib.sh"
fake_require_tty
read -r -p "Username: " u
read -r -p "Do you accept the terms of use of $u's account? [yes/no]: " answer
echo "You said: $answer"
exit 0
