package cert_test

import (
	"fmt"
	"time"

	"github.com/hpc-auth/hpc-auth/cert"
)

func ExampleParseThreshold() {
	for _, s := range []string{"1h", "90s", "25%"} {
		th, err := cert.ParseThreshold(s)
		if err != nil {
			panic(err)
		}
		fmt.Println(th)
	}
	// Output:
	// 1h
	// 1m30s
	// 25%
}

func ExampleWindow_Remaining() {
	start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	w := cert.Window{After: start, Before: start.Add(24 * time.Hour)}
	fmt.Println(w.Remaining(start.Add(23 * time.Hour)))
	fmt.Println(w.Remaining(start.Add(24*time.Hour)) > 0) // ValidBefore is outside the window
	// Output:
	// 1h0m0s
	// false
}
