#!/bin/bash
# A script that never prompts: it waits for a server that never answers,
# with two children in the background, one of which ignores SIGTERM and
# SIGHUP. It writes "SCRIPT_PID CHILD_PID STUBBORN_PID" to PIDFILE.
# Usage: sleeper.sh PIDFILE
pidfile=${1:?usage: sleeper.sh PIDFILE}
sleep 100 &
child=$!
bash -c 'trap "" TERM HUP; while :; do sleep 0.2; done' &
stubborn=$!
echo "$$ $child $stubborn" >"$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
echo "Contacting the key service..."
sleep 100
