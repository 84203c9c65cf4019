#!/usr/bin/env python3
"""Fake of CSCS's cscs-keygen.py: input() for the username, getpass (which
talks to /dev/tty) for the password and the code. The code prompt has no
trailing space, as in the original.

Usage: cscs-keygen.py KEY CERT
"""

import getpass
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakelib  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: cscs-keygen.py KEY CERT\n")
        sys.exit(64)
    key, cert = sys.argv[1:]
    fakelib.require_tty()
    username = input("Username: ")
    password = getpass.getpass()
    otp = getpass.getpass("Enter OTP (6-digit code):")
    fakelib.no_extra()
    if not re.fullmatch(r"\d{6}", otp):
        print("Error: OTP must be a 6-digit code.")
        sys.exit(1)
    if fakelib.check(username, password, otp) != 0:
        print("Error: Authentication failed: invalid credentials")
        sys.exit(1)
    print("Retrieving signed SSH keys: 100%")
    fakelib.mkkeys(key, cert)
    print("Done.")


main()
