#!/usr/bin/env bash
# Side-by-side whole-process timing of the fast path (certificate still valid):
#   A  hpc-auth refresh (the built binary)
#   B  the AiiDA how-to's bash check: flock + ssh-keygen -L + date
#   C  a Go program that does nothing (the floor for any Go binary)
# Uses hyperfine (Debian package; installed when missing and we may).
# Usage: scripts/bench-fastpath.sh [RUNS]   (default 300)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
if ! command -v hyperfine >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends hyperfine >/dev/null ||
      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends hyperfine >/dev/null; }
  else
    echo "hyperfine is missing: apt-get install hyperfine" >&2; exit 1
  fi
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/hpc-auth-bench.XXXXXX")
chmod 700 "$work"
trap 'rm -rf "$work"' EXIT

CGO_ENABLED=0 go build -trimpath -o "$work/hpc-auth" ./cmd/hpc-auth
CGO_ENABLED=0 go build -trimpath -o "$work/hpc-auth-engine" ./cmd/hpc-auth-engine
mkdir -p "$work/noop"
printf 'package main\n\nfunc main() {}\n' > "$work/noop/main.go"
(cd "$work/noop" && printf 'module noop\n\ngo 1.26\n' > go.mod && go build -trimpath -o "$work/noop-go" .)

ssh-keygen -q -t ed25519 -N '' -f "$work/ca"
ssh-keygen -q -t ed25519 -N '' -f "$work/id"
ssh-keygen -q -s "$work/ca" -I bench -n "$(id -un)" -V -1m:+24h "$work/id.pub"
cat > "$work/config.toml" <<EOC
[profiles.bench]
provider = "command"
command = ["false"]
key = "$work/id"
min_validity = "1h"
EOC

# The AiiDA documentation's check, as in its get_hpc_keys.sh example (lock
# in the work dir rather than /tmp).
cat > "$work/aiida-check.sh" <<EOS
#!/bin/bash
set -e
LOCK_FILE="$work/hpc_auth.lock"
exec 200>"\$LOCK_FILE"
flock -x 200
SSH_CERT_PATH="$work/id-cert.pub"
MIN_VALIDITY=3600
check_cert_validity() {
    [ -f "\$SSH_CERT_PATH" ] || return 1
    EXPIRY=\$(ssh-keygen -L -f "\$SSH_CERT_PATH" 2>/dev/null | grep "Valid:" | sed 's/.*to //')
    [ -n "\$EXPIRY" ] || return 1
    EXPIRY_EPOCH=\$(date -d "\$EXPIRY" +%s 2>/dev/null) || return 1
    [ \$((EXPIRY_EPOCH - \$(date +%s))) -gt \$MIN_VALIDITY ]
}
if check_cert_validity; then
    echo "SSH certificate still valid, skipping authentication"
    exit 0
fi
exit 1
EOS
chmod +x "$work/aiida-check.sh"

# Both must succeed before we time them.
HPC_AUTH_CONFIG="$work/config.toml" HPC_AUTH_STATE_DIR="$work/state" "$work/hpc-auth"
"$work/aiida-check.sh" >/dev/null
[ ! -e "$work/state" ] || { echo "the fast path touched the state dir" >&2; exit 1; }

export HPC_AUTH_CONFIG="$work/config.toml" HPC_AUTH_STATE_DIR="$work/state"
hyperfine -N --warmup 30 --runs "$runs" --export-json "$work/result.json" \
  -n hpc-auth "$work/hpc-auth" \
  -n aiida-bash "$work/aiida-check.sh" \
  -n go-noop "$work/noop-go"

python3 - "$work/result.json" <<'EOP'
import json, statistics, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
med = {k: statistics.median(v["times"]) for k, v in r.items()}
for k, v in med.items():
    print(f"median {k:11s} {v*1000:7.3f} ms")
print(f"hpc-auth / aiida-bash = {med['hpc-auth']/med['aiida-bash']:.3f}  (target <= 0.2)")
print(f"hpc-auth / go-noop    = {med['hpc-auth']/med['go-noop']:.3f}  (target <= 2)")
EOP
