package cli

import (
	"os"

	"github.com/hpc-auth/hpc-auth/internal/config"
	"github.com/hpc-auth/hpc-auth/internal/engine"
	"github.com/hpc-auth/hpc-auth/keyring"
)

// hideSecretEnv takes the variables that the config's env: references name
// (HPC_PASSWORD, HPC_TOTP_SECRET in the AiiDA example) out of the process
// environment and keeps them for c.getenv alone. Every child hpc-auth starts
// (a centre's script, a command, a cmd: reference) inherits the environment,
// and a secret must never reach a child's environment.
func (c *cli) hideSecretEnv(cfg *config.Config) {
	hidden := map[string]string{}
	for _, p := range cfg.Profiles {
		for _, kind := range []string{"password", "totp"} {
			ref, err := engine.Ref(p, kind)
			if err != nil || ref.Kind != keyring.Env {
				continue
			}
			if _, done := hidden[ref.Name]; !done {
				hidden[ref.Name] = c.getenv(ref.Name)
				os.Unsetenv(ref.Name)
			}
		}
	}
	if len(hidden) == 0 {
		return
	}
	getenv := c.getenv
	c.getenv = func(k string) string {
		if v, ok := hidden[k]; ok {
			return v
		}
		return getenv(k)
	}
}
