// Package clienterr decides what a client may learn from an error. The
// GraphQL API and the REST endpoints both present errors through it, so
// that the same failure gets the same code, field and message in either.
//
// Refusals (bad input, unknown IDs, conflicts, missing rights) are shown as
// they are; anything else is internal and must be logged and shown only as
// INTERNAL: no SQL, driver message or stack trace leaves the server.
package clienterr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"entgo.io/ent/privacy"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/tenant"
)

// Refusal is what a client is told.
type Refusal struct {
	Code errcode.Code
	// Field is the input at fault as GraphQL names it ("input.clientID",
	// "id"); REST drops the "input." prefix.
	Field   string
	Message string
	// Suspicious refusals deserve a warning in the log: they should not
	// happen through the API.
	Suspicious bool
	// RetryAfter, on RATE_LIMITED and UNAVAILABLE refusals that know it, is
	// when to try again: the Retry-After header, and in GraphQL
	// extensions.retryAfter, in seconds.
	RetryAfter time.Duration
}

// Classify returns the refusal err stands for, or false when err is
// internal.
func Classify(err error) (Refusal, bool) {
	var (
		engineErr  *engine.Error
		validation *ent.ValidationError
		badText    *database.InvalidTextError
		fieldErr   *schema.FieldError
		notFound   *ent.NotFoundError
		constraint *ent.ConstraintError
		foreignRef *tenant.ForeignReferenceError
	)
	switch {
	case errors.As(err, &engineErr):
		return Refusal{Code: engineErr.Code, Field: engineErr.Field, Message: engineErr.Message, RetryAfter: engineErr.RetryAfter}, true
	case errors.As(err, &validation):
		field := CamelCase(validation.Name)
		return Refusal{Code: errcode.BadUserInput, Field: "input." + field, Message: fmt.Sprintf("invalid %s: %s", field, validationReason(validation))}, true
	case errors.As(err, &badText):
		field := CamelCase(badText.Field)
		return Refusal{Code: errcode.BadUserInput, Field: "input." + field, Message: fmt.Sprintf("invalid %s: text %s", field, badText.Problem())}, true
	case errors.As(err, &fieldErr):
		field := CamelCase(fieldErr.Field)
		return Refusal{Code: errcode.BadUserInput, Field: "input." + field, Message: fmt.Sprintf("invalid %s: %s", field, fieldErr.Reason)}, true
	case errors.As(err, &notFound):
		return Refusal{Code: errcode.NotFound, Message: "not found"}, true
	case errors.As(err, &constraint):
		return constraintRefusal(constraint), true
	case errors.Is(err, tenant.ErrNoViewer):
		return Refusal{Code: errcode.Unauthenticated, Message: "authentication required"}, true
	case errors.As(err, &foreignRef):
		// Exactly what an unknown ID gets: another organization's IDs must
		// not be told apart from IDs that do not exist.
		return Refusal{Code: errcode.NotFound, Field: "input." + CamelCase(foreignRef.Edge) + "Id", Message: foreignRef.Error()}, true
	case errors.Is(err, tenant.ErrAdminOnly):
		return Refusal{Code: errcode.Forbidden, Message: tenant.ErrAdminOnly.Error()}, true
	case errors.Is(err, privacy.Deny):
		return Refusal{Code: errcode.Forbidden, Message: "not allowed", Suspicious: true}, true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Refusal{Code: errcode.Internal, Message: "request canceled or timed out"}, true
	case IsUnavailable(err):
		return Refusal{Code: errcode.Unavailable, Message: UnavailableMessage}, true
	}
	return Refusal{}, false
}

// constraintColumns maps the columns that carry constraints to the fields a
// client sets them through. SQLite names the columns in its message,
// PostgreSQL the index; both contain the column name.
var constraintColumns = []struct{ column, field string }{
	{"external_ref", "externalRef"},
	{"idempotency_key", "idempotencyKey"},
	{"email", "email"},
	{"slug", "slug"},
	{"property_id", "propertyId"},
	{"client_id", "clientId"},
	{"package_id", "packageId"},
}

func constraintRefusal(err *ent.ConstraintError) Refusal {
	msg := strings.ToLower(err.Error())
	field := ""
	for _, c := range constraintColumns {
		if strings.Contains(msg, c.column) {
			field = c.field
			break
		}
	}
	switch {
	case strings.Contains(msg, "unique") || strings.Contains(msg, "duplicate"):
		message := "already exists"
		if field != "" {
			message = field + " already exists"
		}
		return Refusal{Code: errcode.Conflict, Field: field, Message: message}
	case strings.Contains(msg, "foreign key"):
		return Refusal{Code: errcode.Conflict, Field: field, Message: "the record is referenced by other records, or refers to one that does not exist"}
	}
	return Refusal{Code: errcode.BadUserInput, Field: field, Message: "the change breaks a data constraint"}
}

// validationReason drops ent's prefix, which names the Go schema type, in
// favour of the reason.
func validationReason(e *ent.ValidationError) string {
	if inner := errors.Unwrap(e); inner != nil {
		msg := inner.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "ent:") {
			return msg[i+2:]
		}
		return msg
	}
	return "invalid value"
}

// CamelCase turns a column name into the API's field name.
func CamelCase(snake string) string {
	parts := strings.Split(snake, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// RetryAfterSeconds is a Retry-After value: whole seconds, at least 1.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}
