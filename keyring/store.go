package keyring

import (
	"context"
	"fmt"
	"sync"
)

// Store is a keyring: items addressed by service and account, the way the
// Secret Service (attributes service and username), the macOS keychain (-s,
// -a) and the Windows credential manager address them.
//
// Errors wrap ErrNotFound, ErrUnavailable or ErrLocked where they apply.
type Store interface {
	Get(ctx context.Context, service, account string) (string, error)
	Set(ctx context.Context, service, account, value string) error
	Delete(ctx context.Context, service, account string) error
}

// Memory returns an empty in-memory Store, for tests and demonstrations.
// It is safe for concurrent use.
func Memory() Store { return &memory{items: map[[2]string]string{}} }

type memory struct {
	mu    sync.Mutex
	items map[[2]string]string
}

func (m *memory) Get(ctx context.Context, service, account string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.items[[2]string{service, account}]
	if !ok {
		return "", fmt.Errorf("%w in the keyring", ErrNotFound)
	}
	return v, nil
}

func (m *memory) Set(ctx context.Context, service, account, value string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[[2]string{service, account}] = value
	return nil
}

func (m *memory) Delete(ctx context.Context, service, account string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{service, account}
	if _, ok := m.items[k]; !ok {
		return fmt.Errorf("%w in the keyring", ErrNotFound)
	}
	delete(m.items, k)
	return nil
}
