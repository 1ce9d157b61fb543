package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/privacy"
	"github.com/estateflow/estateflow/tenant"
)

// Error codes carried in extensions.code. Clients branch on these, never on
// messages.
const (
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeNotFound        = "NOT_FOUND"
	CodeConflict        = "CONFLICT"
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeInternal        = "INTERNAL"
)

// codedError is an error meant for the client: its message is safe to show.
func codedError(code, field, format string, args ...any) *gqlerror.Error {
	ext := map[string]any{"code": code}
	if field != "" {
		ext["field"] = field
	}
	return &gqlerror.Error{Message: fmt.Sprintf(format, args...), Extensions: ext}
}

func badInput(field, format string, args ...any) *gqlerror.Error {
	return codedError(CodeBadUserInput, field, format, args...)
}

func notFound(field, what string, id int) *gqlerror.Error {
	return codedError(CodeNotFound, field, "%s %d not found", what, id)
}

func conflict(field, format string, args ...any) *gqlerror.Error {
	return codedError(CodeConflict, field, format, args...)
}

// RequestIDFunc returns the ID of the HTTP request a context belongs to, so
// that an INTERNAL error shown to a client can be found in the logs.
type RequestIDFunc func(context.Context) string

// errorPresenter turns every error into one with extensions.code. Errors that
// are not meant for clients are logged in full and shown only as INTERNAL:
// no SQL, no stack trace, no driver message ever reaches a client.
type errorPresenter struct {
	logger    *slog.Logger
	requestID RequestIDFunc
}

func (p errorPresenter) present(ctx context.Context, err error) *gqlerror.Error {
	var gqlErr *gqlerror.Error
	if errors.As(err, &gqlErr) && gqlErr.Err == nil {
		// Produced by gqlgen or by us, not wrapping anything else.
		return p.presentGraphQLError(ctx, gqlErr)
	}
	out := graphql.DefaultErrorPresenter(ctx, err)
	if gqlErr != nil {
		if _, coded := gqlErr.Extensions["code"]; coded {
			out.Message = gqlErr.Message
			out.Extensions = gqlErr.Extensions
			return out
		}
	}
	if isArgumentError(ctx) {
		// gqlgen failed to decode an argument (an ID that is not a number, a
		// bad enum value): the path below the field names the argument.
		setCode(out, CodeBadUserInput, argumentField(ctx, out.Path))
		return out
	}
	var (
		engineErr  *engine.Error
		validation *ent.ValidationError
		badText    *database.InvalidTextError
		notFoundE  *ent.NotFoundError
		constraint *ent.ConstraintError
		foreignRef *tenant.ForeignReferenceError
	)
	switch {
	case errors.As(err, &engineErr):
		out.Message = engineErr.Message
		setCode(out, engineErr.Code, engineErr.Field)
	case errors.As(err, &validation):
		field := camelCase(validation.Name)
		out.Message = fmt.Sprintf("invalid %s: %v", field, unwrapValidation(validation))
		setCode(out, CodeBadUserInput, "input."+field)
	case errors.As(err, &badText):
		field := camelCase(badText.Field)
		out.Message = fmt.Sprintf("invalid %s: text must not contain NUL characters", field)
		setCode(out, CodeBadUserInput, "input."+field)
	case errors.As(err, &notFoundE):
		out.Message = "not found"
		setCode(out, CodeNotFound, "")
	case errors.As(err, &constraint):
		p.presentConstraint(out, constraint)
	case errors.Is(err, tenant.ErrNoViewer):
		out.Message = "authentication required"
		setCode(out, CodeUnauthenticated, "")
	case errors.As(err, &foreignRef):
		// Exactly what an unknown ID gets: another organization's IDs must
		// not be told apart from IDs that do not exist.
		out.Message = foreignRef.Error()
		setCode(out, CodeNotFound, "input."+camelCase(foreignRef.Edge)+"Id")
	case errors.Is(err, tenant.ErrAdminOnly):
		out.Message = tenant.ErrAdminOnly.Error()
		setCode(out, CodeForbidden, "")
	case errors.Is(err, privacy.Deny):
		out.Message = "not allowed"
		setCode(out, CodeForbidden, "")
		p.logger.WarnContext(ctx, "graphql: privacy denial", "path", out.Path.String(), "err", err)
	case strings.HasSuffix(err.Error(), "introspection disabled"): // gqlgen's own error
		out.Message = "introspection is turned off on this server"
		setCode(out, CodeForbidden, "")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		out.Message = "request canceled or timed out"
		setCode(out, CodeInternal, "")
	default:
		p.internal(ctx, out, err)
	}
	return out
}

func (p errorPresenter) presentGraphQLError(ctx context.Context, e *gqlerror.Error) *gqlerror.Error {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	code, _ := e.Extensions["code"].(string)
	switch code {
	case errcode.ValidationFailed, errcode.ParseFailed:
		e.Extensions["reason"] = code
		setCode(e, CodeBadUserInput, requestField(e))
	case "":
		if graphql.GetFieldContext(ctx) == nil {
			// A request-level refusal (no operation, bad variables) before any
			// field ran.
			setCode(e, CodeBadUserInput, requestField(e))
		} else {
			p.internal(ctx, e, e)
		}
	}
	return e
}

func (p errorPresenter) presentConstraint(out *gqlerror.Error, err *ent.ConstraintError) {
	msg := strings.ToLower(err.Error())
	field := constraintField(msg)
	switch {
	case strings.Contains(msg, "unique") || strings.Contains(msg, "duplicate"):
		out.Message = "already exists"
		if field != "" {
			out.Message = fmt.Sprintf("%s already exists", field)
		}
		setCode(out, CodeConflict, field)
	case strings.Contains(msg, "foreign key"):
		out.Message = "the record is referenced by other records, or refers to one that does not exist"
		setCode(out, CodeConflict, field)
	default:
		out.Message = "the change breaks a data constraint"
		setCode(out, CodeBadUserInput, field)
	}
}

func (p errorPresenter) internal(ctx context.Context, out *gqlerror.Error, err error) {
	id := ""
	if p.requestID != nil {
		id = p.requestID(ctx)
	}
	p.logger.ErrorContext(ctx, "graphql: internal error", "request_id", id, "path", out.Path.String(), "err", err)
	out.Message = "internal error"
	if id != "" {
		out.Message = fmt.Sprintf("internal error (request %s)", id)
	}
	setCode(out, CodeInternal, "")
}

func setCode(e *gqlerror.Error, code, field string) {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions["code"] = code
	if field != "" {
		e.Extensions["field"] = field
	}
}

// isArgumentError reports whether the current field failed while gqlgen was
// decoding its arguments: its field context then has arguments in the query
// but none decoded yet.
func isArgumentError(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	return fc != nil && fc.Args == nil && len(fc.Field.Arguments) > 0
}

// argumentField names the argument, and the input field within it, that an
// argument error's path points at below the current field.
func argumentField(ctx context.Context, path ast.Path) string {
	fieldPath := graphql.GetPath(ctx)
	if len(path) <= len(fieldPath) {
		return ""
	}
	return pathString(path[len(fieldPath):])
}

// requestField names the input at fault for a validation error: variables
// have a path ("variable", "input", "email"); other rules only name the field
// in their message.
func requestField(e *gqlerror.Error) string {
	if len(e.Path) > 1 {
		if name, ok := e.Path[0].(ast.PathName); ok && name == "variable" {
			return pathString(e.Path[1:])
		}
	}
	if m := quotedName.FindStringSubmatch(e.Message); m != nil {
		return m[1]
	}
	return ""
}

var quotedName = regexp.MustCompile(`(?:field|argument) "(\w+)"`)

func pathString(p ast.Path) string {
	var b strings.Builder
	for _, el := range p {
		switch el := el.(type) {
		case ast.PathName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(el))
		case ast.PathIndex:
			fmt.Fprintf(&b, "[%d]", int(el))
		}
	}
	return b.String()
}

// unwrapValidation drops ent's prefix, which names the Go schema type
// ("validator failed for field \"Contact.email\""), in favour of the reason.
func unwrapValidation(e *ent.ValidationError) string {
	if inner := errors.Unwrap(e); inner != nil {
		msg := inner.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "ent:") {
			return msg[i+2:]
		}
		return msg
	}
	return "invalid value"
}

// constraintColumns maps the columns that carry unique constraints to the
// GraphQL fields a client sets them through. SQLite names the columns in its
// message, PostgreSQL the index; both contain the column name.
var constraintColumns = []struct{ column, field string }{
	{"external_ref", "externalRef"},
	{"idempotency_key", "idempotencyKey"},
	{"email", "email"},
	{"slug", "slug"},
	{"key", "key"},
}

func constraintField(msg string) string {
	for _, c := range constraintColumns {
		if strings.Contains(msg, c.column) {
			return c.field
		}
	}
	return ""
}

func camelCase(snake string) string {
	parts := strings.Split(snake, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}
