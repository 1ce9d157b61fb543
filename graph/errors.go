package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	gqlcode "github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/estateflow/estateflow/internal/clienterr"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/internal/requestid"
)

// codedError is an error meant for the client: its message is safe to show.
func codedError(code errcode.Code, field, format string, args ...any) *gqlerror.Error {
	e := &gqlerror.Error{Message: fmt.Sprintf(format, args...)}
	setCode(e, code, field)
	return e
}

func badInput(field, format string, args ...any) *gqlerror.Error {
	return codedError(errcode.BadUserInput, field, format, args...)
}

func notFound(field, what string, id int) *gqlerror.Error {
	return codedError(errcode.NotFound, field, "%s %d not found", what, id)
}

func conflict(field, format string, args ...any) *gqlerror.Error {
	return codedError(errcode.Conflict, field, format, args...)
}

// errorPresenter turns every error into one with extensions.code. Errors that
// are not meant for clients are logged in full and shown only as INTERNAL:
// no SQL, no stack trace, no driver message ever reaches a client.
type errorPresenter struct {
	logger *slog.Logger
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
		setCode(out, errcode.BadUserInput, argumentField(ctx, out.Path))
		return out
	}
	if ref, ok := clienterr.Classify(err); ok {
		out.Message = ref.Message
		setCode(out, ref.Code, ref.Field)
		if ref.RetryAfter > 0 {
			// The HTTP transport also sends it as the Retry-After header.
			out.Extensions[retryAfterExtension] = clienterr.RetryAfterSeconds(ref.RetryAfter)
		}
		if ref.Suspicious {
			p.logger.WarnContext(ctx, "graphql: privacy denial", "path", out.Path.String(), "err", err)
		}
		return out
	}
	if isIntrospectionRefusal(ctx) {
		out.Message = "introspection is turned off on this server"
		setCode(out, errcode.Forbidden, "")
		return out
	}
	p.internal(ctx, out, err)
	return out
}

func (p errorPresenter) presentGraphQLError(ctx context.Context, e *gqlerror.Error) *gqlerror.Error {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	code, _ := e.Extensions["code"].(string)
	switch code {
	case gqlcode.ValidationFailed, gqlcode.ParseFailed:
		e.Extensions["reason"] = code
		setCode(e, errcode.BadUserInput, requestField(e))
	case "":
		if graphql.GetFieldContext(ctx) == nil {
			// A request-level refusal (no operation, bad variables) before any
			// field ran.
			setCode(e, errcode.BadUserInput, requestField(e))
		} else {
			p.internal(ctx, e, e)
		}
	}
	return e
}

// internal logs err, with the request ID the logger takes from ctx, and
// tells the client only that ID.
func (p errorPresenter) internal(ctx context.Context, out *gqlerror.Error, err error) {
	p.logger.ErrorContext(ctx, "graphql: internal error", "path", out.Path.String(), "err", err)
	out.Message = "internal error"
	if id, ok := requestid.FromContext(ctx); ok {
		out.Message = fmt.Sprintf("internal error (request %s)", id)
	}
	setCode(out, errcode.Internal, "")
}

// retryAfterExtension is the extension that tells, in seconds, when a
// RATE_LIMITED refusal may be tried again.
const retryAfterExtension = "retryAfter"

// setCode sets extensions.code (as a plain string, which is what gqlgen and
// anything else reading extensions expects) and, when given, extensions.field.
func setCode(e *gqlerror.Error, code errcode.Code, field string) {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions["code"] = string(code)
	if field != "" {
		e.Extensions["field"] = field
	}
}

// isIntrospectionRefusal reports whether the error being presented is gqlgen
// refusing an introspection field (__schema, __type) because introspection is
// off: those fields fail for no other reason, and gqlgen's error has neither
// a type nor a code of its own to tell it by.
func isIntrospectionRefusal(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Object != "Query" || (fc.Field.Name != "__schema" && fc.Field.Name != "__type") {
		return false
	}
	return graphql.HasOperationContext(ctx) && graphql.GetOperationContext(ctx).DisableIntrospection
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
