package clienterr

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/privacy"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/tenant"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		want     Refusal
		internal bool
	}{
		{"foreign reference, wrapped", fmt.Errorf("creating: %w", &tenant.ForeignReferenceError{Edge: "client", ID: 7}),
			Refusal{Code: errcode.NotFound, Field: "input.clientId", Message: "client 7 not found"}, false},
		{"no viewer behind a privacy denial", fmt.Errorf("%w: %w", privacy.Deny, tenant.ErrNoViewer),
			Refusal{Code: errcode.Unauthenticated, Message: "authentication required"}, false},
		{"agent managing tokens", fmt.Errorf("%w: %w", privacy.Deny, tenant.ErrAdminOnly),
			Refusal{Code: errcode.Forbidden, Message: tenant.ErrAdminOnly.Error()}, false},
		{"other privacy denial", privacy.Denyf("organizations are managed by operators"),
			Refusal{Code: errcode.Forbidden, Message: "not allowed", Suspicious: true}, false},
		{"canceled request", fmt.Errorf("query: %w", context.Canceled),
			Refusal{Code: errcode.Internal, Message: "request canceled or timed out"}, false},
		{"driver error", errors.New(`pq: relation "runs" does not exist`), Refusal{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Classify(tt.err)
			if ok == tt.internal || got != tt.want {
				t.Fatalf("Classify = %+v, %v; want %+v, %v", got, ok, tt.want, !tt.internal)
			}
		})
	}
	if _, ok := Classify(&ent.NotFoundError{}); !ok {
		t.Fatal("ent's not-found is a refusal")
	}
}

func TestCamelCase(t *testing.T) {
	for in, want := range map[string]string{"client_id": "clientId", "email": "email", "list_price_cents": "listPriceCents"} {
		if got := CamelCase(in); got != want {
			t.Errorf("CamelCase(%q) = %q, want %q", in, got, want)
		}
	}
}
