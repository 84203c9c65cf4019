package cli

const usage = `hpc-auth keeps short-lived SSH certificates for HPC clusters fresh.

Usage:
    hpc-auth [global flags] [command] [command flags]

Commands:
    refresh            (the default) make sure the profile's certificate stays valid
                       for at least min_validity; renew it if not
    status             show the certificate and the profile's state
    secret set KIND    store a secret (KIND: password | totp) in the profile's store
    secret delete KIND remove it
    secret check       prove that every secret the profile needs can be read
    totp               print the current TOTP code and the seconds it has left
    aiida              print the answers for 'verdi computer configure core.ssh_async'
                       and make the per-profile launcher hpc-auth-PROFILE
    doctor [HOST]      diagnose the SSH setup for HOST
    version            print the version
    help COMMAND       print a command's usage

Global flags:
    -p, --profile NAME   profile to use
    -c, --config PATH    config file (default $HPC_AUTH_CONFIG, else
                         $XDG_CONFIG_HOME/hpc-auth/config.toml)
    -v, --verbose        debug detail on stderr (never secrets)
    -q, --quiet          only errors on stderr

Refresh flags (also without a command: 'hpc-auth --force'):
    --force              renew even if the certificate is still valid
    --min-validity D     override min_validity for this run (1h, 90m, 25%)
    --all                every profile in the config; exit status is the worst

The profile is, first match wins: --profile, $HPC_AUTH_PROFILE, the name the
binary was run as (hpc-auth-NAME), default_profile, the only profile.

Examples:
    hpc-auth                       # what AiiDA runs: renew only when needed
    hpc-auth -p daint --force      # renew now
    hpc-auth status --json --all
    hpc-auth -p daint secret set totp
    hpc-auth -p daint aiida        # make ~/.local/bin/hpc-auth-daint for AiiDA

Exit status:
    0  certificate valid (or renewal failed within grace), or success
    1  status: the certificate needs renewal
    64 usage error              65 unusable answer from the key service
    69 key service unreachable  70 internal error
    73 key or certificate could not be written
    75 lock not obtained in time, or retry deferred
    77 authentication rejected (or cooldown after a rejection)
    78 configuration problem (config, secret, keyring, no terminal)
`

const refreshUsage = `Usage: hpc-auth [global flags] [refresh] [--force] [--min-validity D] [--all]

Makes sure the profile's certificate is valid for at least min_validity. When it
is, refresh exits 0 at once (no lock, no network, no keyring). Otherwise it takes
the profile's lock, reads the secrets, obtains new credentials through the
profile's provider, checks them and installs them atomically.

Nothing is printed on stdout unless -v. On failure, one line on stderr names the
profile, the cause and the way out. If renewal fails but the certificate still
has at least grace left, refresh warns and exits 0.

Flags:
    --force              renew even if the certificate is still valid; also
                         overrides the cooldown after an authentication rejection
    --min-validity D     override the profile's min_validity (1h, 90m, 25%)
    --all                every profile (for cron pre-warming); exit status is the worst

Examples:
    hpc-auth                          # the profile from HPC_AUTH_PROFILE, the launcher
                                      # name, default_profile or the only profile
    hpc-auth -p daint refresh --force
    hpc-auth refresh --all -q         # crontab: */30 * * * *
`

const statusUsage = `Usage: hpc-auth [global flags] status [--json] [--all]

Shows the certificate (key id, principals, validity, time left) and the profile's
state (last renewal, last error, cooldown, renewals in the last 24 h).
Exits 1 when the certificate needs renewal, 0 otherwise.

Flags:
    --json    one JSON object (an array with --all)
    --all     every profile

Examples:
    hpc-auth -p daint status
    hpc-auth status --all --json | jq '.[] | select(.needs_renewal)'
`

const secretUsage = `Usage: hpc-auth [global flags] secret set KIND [--stdin]
       hpc-auth [global flags] secret delete KIND
       hpc-auth [global flags] secret check

KIND is password or totp. set and delete act on the keyring item that the
profile's reference names (keyring, or keyring:SERVICE/ACCOUNT); for env:, file:
and cmd: references they exit 78 and say where the secret comes from.

set reads the value from the terminal without echo, or from standard input with
--stdin. A TOTP secret (base32 or an otpauth://totp/ URI) is checked before it
is stored, and the current code is printed so you can compare it with your
authenticator app. check reads every secret the profile needs and reports each
as present, missing or unreadable; it never prints a secret.

Examples:
    hpc-auth -p daint secret set password
    pass show cscs/totp | hpc-auth -p daint secret set totp --stdin
    hpc-auth -p daint secret check
`

const totpUsage = `Usage: hpc-auth [global flags] totp

Prints the current TOTP code of the profile's secret and the seconds it has left.
The code is only shown, never sent: the step stays available for a renewal.

Example:
    hpc-auth -p daint totp
`

const aiidaUsage = `Usage: hpc-auth [global flags] aiida [--launcher-dir DIR]

Makes the per-profile launcher DIR/hpc-auth-PROFILE (a symbolic link to this
binary; AiiDA passes no arguments, so the name selects the profile) and prints
the answers for 'verdi computer configure core.ssh_async COMPUTER'.

Flags:
    --launcher-dir DIR   where to make the launcher (default ~/.local/bin)

Example:
    hpc-auth -p daint aiida
`

const doctorUsage = `Usage: hpc-auth [global flags] doctor [HOST]

Diagnoses the SSH setup for HOST (default: none, only local checks): the key and
certificate, ssh-agent, then 'ssh HOST true', sftp and the scheduler with the
profile's key. Prints one line per check; exits 0 when all pass.

Example:
    hpc-auth -p daint doctor daint.cscs.ch
`

const versionUsage = `Usage: hpc-auth version

Prints the version.
`
