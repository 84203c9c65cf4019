package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/hpc-auth/hpc-auth/internal/engine"
	"github.com/hpc-auth/hpc-auth/totp"
)

func totpCmd() *command {
	return &command{name: "totp", usage: totpUsage, run: runTOTP}
}

func runTOTP(c *cli, args []string) int {
	fs := newFlagSet("totp")
	if code := c.parse(totpCmd(), fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return c.usageFail(&usageError{msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0)), cmd: "totp"})
	}
	p, err := c.oneProfile()
	if err != nil {
		return c.fail("", err)
	}
	e := c.engine()
	ref, err := engine.Ref(p, "totp")
	if err != nil {
		return c.fail(p.Name, err)
	}
	raw, err := e.Secrets.Get(context.Background(), ref)
	if err != nil {
		return c.fail(p.Name, fmt.Errorf("TOTP secret: %w", err))
	}
	sec, err := totp.Parse(raw)
	if err != nil {
		return c.fail(p.Name, err)
	}
	now := time.Now()
	left := sec.Period - time.Duration(now.UnixNano())%sec.Period
	fmt.Fprintf(c.stdout, "%s (%ds left)\n", sec.Code(now), int((left+time.Second-1)/time.Second))
	return exitOK
}
