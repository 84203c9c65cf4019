"""fakelib.py: the fake key service's checks, and helpers for Python fakes.

`python3 fakelib.py check` reads three lines (username, password, one-time
code) from stdin and exits 0 when they are right, 1 when they are wrong and
2 when the code was already used (as NERSC refuses a code twice). TOTP is
RFC 6238: SHA-1, 6 digits, 30 s, one step of tolerance either way.
"""

import base64
import hashlib
import hmac
import os
import select
import struct
import sys
import termios
import time

DIR = os.path.dirname(os.path.abspath(__file__))


def conf():
    d = {}
    with open(os.path.join(DIR, "fake.conf")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            k, v = line.split("=", 1)
            d[k] = v.strip("'")
    return d


def _b32(secret):
    s = "".join(secret.split()).upper().rstrip("=")
    return base64.b32decode(s + "=" * (-len(s) % 8))


def totp(key, counter):
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    n = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return "%06d" % (n % 1000000)


def check(user, password, code):
    c = conf()
    with open(c["FAKE_PASSWORD_FILE"]) as f:
        want = f.read()
    with open(c["FAKE_TOTP_FILE"]) as f:
        key = _b32(f.read())
    ok = hmac.compare_digest(user, c["FAKE_USERNAME"])
    ok = hmac.compare_digest(password, want) and ok
    now = int(time.time()) // 30
    counter = None
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp(key, step), code):
            counter = step
    if not ok or counter is None:
        return 1
    used_file = c["FAKE_USED_FILE"]
    used = set()
    if os.path.exists(used_file):
        with open(used_file) as f:
            used = set(f.read().split())
    if str(counter) in used:
        return 2
    with open(used_file, "a") as f:
        f.write("%d\n" % counter)
    return 0


def require_tty():
    """Refuse to run without a controlling terminal, as getpass would need."""
    try:
        ok = os.isatty(0)
        os.close(os.open("/dev/tty", os.O_RDWR))
    except OSError:
        ok = False
    if not ok:
        sys.stderr.write("%s: not a terminal\n" % os.path.basename(sys.argv[0]))
        sys.exit(5)


def no_extra():
    """Exit 3 if anything is typed within FAKE_EXTRA_WAIT seconds."""
    wait = float(conf()["FAKE_EXTRA_WAIT"])
    fd = os.open("/dev/tty", os.O_RDWR)
    old = termios.tcgetattr(fd)
    try:
        new = termios.tcgetattr(fd)
        new[3] &= ~(termios.ICANON | termios.ECHO)
        new[6][termios.VMIN] = 1
        new[6][termios.VTIME] = 0
        termios.tcsetattr(fd, termios.TCSANOW, new)
        r, _, _ = select.select([fd], [], [], wait)
        if r:
            sys.stderr.write("%s: unexpected extra input after the last answer\n"
                             % os.path.basename(sys.argv[0]))
            sys.exit(3)
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, old)
        os.close(fd)


def mkkeys(*paths):
    import subprocess
    subprocess.run([os.path.join(DIR, "fake-mkkeys.sh")] + list(paths), check=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["check"]:
        lines = sys.stdin.read().split("\n")
        if len(lines) < 3:
            sys.exit(1)
        sys.exit(check(lines[0], lines[1], lines[2]))
    if sys.argv[1:] == ["code"]:
        with open(conf()["FAKE_TOTP_FILE"]) as f:
            print(totp(_b32(f.read()), int(time.time()) // 30))
        sys.exit(0)
    sys.stderr.write("usage: fakelib.py check|code\n")
    sys.exit(64)
