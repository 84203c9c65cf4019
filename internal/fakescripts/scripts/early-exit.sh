#!/bin/bash
# A script that fails before it asks anything.
echo "get_keys: reading /etc/centre/keys.conf: No such file or directory" >&2
exit 4
