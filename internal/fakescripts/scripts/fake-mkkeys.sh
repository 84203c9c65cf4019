#!/bin/bash
# fake-mkkeys.sh KEY CERT [PUB]: make a key pair and sign it with the test CA,
# like a key service would; write the key 0600 and the certificate 0644.
set -eu
# shellcheck source=/dev/null
. "$(dirname "$0")/fakelib.sh"
key=$1 cert=$2 pub=${3:-}
tmp=$(mktemp -d "$(dirname "$key")/.fakekeys.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ssh-keygen -q -t ed25519 -N '' -C "$FAKE_USERNAME@fake-centre" -f "$tmp/k"
ssh-keygen -q -s "$FAKE_CA_KEY" -I "fake-$FAKE_USERNAME" -n "$FAKE_USERNAME" -V -1m:+24h "$tmp/k.pub"
chmod 600 "$tmp/k"
chmod 644 "$tmp/k-cert.pub"
mv -f "$tmp/k" "$key"
mv -f "$tmp/k-cert.pub" "$cert"
if [ -n "$pub" ]; then
	mv -f "$tmp/k.pub" "$pub"
fi
