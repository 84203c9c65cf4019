#!/bin/bash
# install-test-deps.sh: make sure the real components the hpc-auth tests use are present.
#
# Idempotent: it asks dpkg what is installed and calls apt-get only when something is
# missing (apt-get update first, then one install). It never installs dbus-x11: with
# dbus-x11 present, godbus autolaunches a stray session bus + keyring per call.
# Prints one short line per action and nothing else; apt output is shown only on failure.
set -euo pipefail

packages=(
	openssh-server      # /usr/sbin/sshd for internal/sshtest
	openssh-client      # ssh, ssh-keygen
	openssh-sftp-server # sftp round-trip checks
	gnome-keyring       # Secret Service for go-keyring tests
	libsecret-tools     # secret-tool
	dbus                # dbus-daemon, dbus-run-session
	libglib2.0-bin      # gdbus (wait for org.freedesktop.secrets)
	util-linux          # flock
	expect              # AiiDA-docs bash baseline (benchmark)
	oathtool            # AiiDA-docs bash baseline (benchmark)
)

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]
}

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "install-test-deps: dpkg-query not found; this script supports Debian/Ubuntu only" >&2
	exit 1
fi

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
# The fake centre scripts include a Python getpass client; any python3 will do.
command -v python3 >/dev/null 2>&1 || installed python3 || missing+=(python3)

# How to become root, if needed: nothing when root, "sudo -n" when it works, else fail.
as_root=()
have_root=1
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
		as_root=(sudo -n)
	else
		have_root=0
	fi
fi

if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-test-deps: all ${#packages[@]} packages present"
else
	if [ "$have_root" -eq 0 ]; then
		echo "install-test-deps: missing packages (need root or passwordless sudo): ${missing[*]}" >&2
		exit 1
	fi
	run_apt() {
		local out
		if ! out=$("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive "$@" 2>&1); then
			printf '%s\n' "$out" >&2
			echo "install-test-deps: failed: $*" >&2
			exit 1
		fi
	}
	# "dbus-x11-" tells apt never to pick dbus-x11 while resolving; it is only added
	# when dbus-x11 is absent so that we never remove something someone installed.
	forbid=()
	installed dbus-x11 || forbid=(dbus-x11-)
	# Wait (bounded) instead of failing when another apt/dpkg holds the lock.
	lock=(-o DPkg::Lock::Timeout=120)
	echo "install-test-deps: apt-get update"
	run_apt apt-get -q "${lock[@]}" update
	echo "install-test-deps: installing ${missing[*]}"
	run_apt apt-get install -y -q "${lock[@]}" --no-install-recommends "${missing[@]}" "${forbid[@]}"
fi

if installed dbus-x11; then
	echo "install-test-deps: warning: dbus-x11 is installed; tests that need 'no D-Bus' must hide dbus-launch from PATH" >&2
fi

# sshd refuses to start without its privilege separation directory; apt does not create
# it here because no service is ever started, and /run is emptied at boot.
if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
	install -d -m 0755 /run/sshd
	echo "install-test-deps: created /run/sshd"
fi
