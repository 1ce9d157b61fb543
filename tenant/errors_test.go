package tenant_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/estateflow/estateflow/tenant"
)

func TestErrorValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		target error
	}{
		{"no viewer", fmt.Errorf("query contacts: %w", tenant.ErrNoViewer), tenant.ErrNoViewer},
		{"admin only", fmt.Errorf("create token: %w", tenant.ErrAdminOnly), tenant.ErrAdminOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !errors.Is(tt.err, tt.target) {
				t.Fatalf("%v does not wrap %v", tt.err, tt.target)
			}
		})
	}
	if errors.Is(tenant.ErrNoViewer, tenant.ErrAdminOnly) || errors.Is(tenant.ErrAdminOnly, tenant.ErrNoViewer) {
		t.Fatal("the two sentinel errors are not distinct")
	}
}

func TestForeignReferenceError(t *testing.T) {
	t.Parallel()
	wrapped := fmt.Errorf("create run: %w", &tenant.ForeignReferenceError{Edge: "client", ID: 42})
	var fr *tenant.ForeignReferenceError
	if !errors.As(wrapped, &fr) {
		t.Fatalf("%v: no ForeignReferenceError", wrapped)
	}
	if fr.Edge != "client" || fr.ID != 42 {
		t.Fatalf("got %+v", fr)
	}
	// Another organization's row and a missing row read the same, so the
	// message cannot tell a caller that a foreign row exists.
	if got, want := fr.Error(), "client 42 not found"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
}
