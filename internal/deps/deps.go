package deps

import (
	_ "github.com/Netflix/go-expect"
	_ "github.com/gofrs/flock"
	_ "github.com/pelletier/go-toml/v2"
	_ "github.com/pquerna/otp/totp"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/zalando/go-keyring"
	_ "golang.org/x/crypto/ssh"
	_ "golang.org/x/crypto/ssh/agent"
	_ "golang.org/x/term"
)
