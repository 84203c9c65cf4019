// Package keyring reads the secrets hpc-auth needs from wherever a profile's
// secret reference points: the OS keyring, an environment variable, a private
// file or a command such as `pass show hpc/totp`.
//
// References (the spec's section 4):
//
//	keyring                  OS keyring item service "hpc-auth", account PROFILE/KIND
//	keyring:SERVICE/ACCOUNT  any OS keyring item (secret-tool's service/username attributes)
//	env:NAME                 an environment variable
//	file:PATH                a file's content, trimmed; refused unless private to its owner
//	cmd:COMMAND ARGS...      a command's standard output, trimmed; no shell, bounded by a timeout
//
// The OS keyring is reached through github.com/zalando/go-keyring, which has
// no deadlines and, on Linux without a session bus, would start dbus-launch
// (leaking a bus per call) or wait forever for an unlock prompt nobody can
// answer. AiiDA daemons, cron jobs and SSH logins are exactly such places, so
// [OS] checks for a session bus itself first and bounds every call; failures
// come back as [ErrUnavailable] or [ErrLocked] with the way out in the message.
//
// Secret values never appear in errors, logs or a child's argv or environment.
package keyring
