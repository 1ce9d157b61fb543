package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/user"
	"github.com/estateflow/estateflow/tenant"
)

// Token implements `estateflow token create --org SLUG --user EMAIL
// [--role admin|agent]`: it prints a new token, creating the organization
// and the user first when they do not exist. An existing user gets another
// token, with the role they have; --role only chooses a new user's role,
// and one that contradicts an existing user's role is refused (this command
// does not change roles). Everything happens in one transaction: a failure
// leaves neither a new organization nor a new user behind.
func Token(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommandLine("token", "token create --org SLUG --user EMAIL [flags]",
		"Prints a new API token, creating the organization and the user if they are new.", stderr, os.LookupEnv)
	c.databaseFlags()
	orgSlug := c.fs.String("org", "", "the organization's slug (created if missing)")
	email := c.fs.String("user", "", "the user's email (created if missing)")
	role := c.fs.String("role", "agent", "admin or agent, for a new user; for an existing user it must match, if given")
	name := c.fs.String("name", "cli", "a name to recognize the token by")
	args, err := c.parse(args)
	if err != nil {
		return err
	}
	if len(args) != 1 || args[0] != "create" {
		return fmt.Errorf("token: usage: estateflow token create --org SLUG --user EMAIL [--role admin|agent]")
	}
	roleGiven := false
	c.fs.Visit(func(f *flag.Flag) { roleGiven = roleGiven || f.Name == "role" })
	req := tokenRequest{orgSlug: *orgSlug, email: *email, role: *role, roleGiven: roleGiven, name: *name}
	return createToken(ctx, c.cfg, req, stdout, stderr)
}

// tokenRequest is what `token create` was asked for.
type tokenRequest struct {
	orgSlug, email, role string
	roleGiven            bool // --role was on the command line, not its default
	name                 string
}

func createToken(ctx context.Context, cfg Config, req tokenRequest, stdout, stderr io.Writer) error {
	if req.orgSlug == "" || req.email == "" {
		return fmt.Errorf("token create: --org and --user are required")
	}
	r := user.Role(strings.ToUpper(req.role))
	if err := user.RoleValidator(r); err != nil {
		return fmt.Errorf("token create: --role must be admin or agent")
	}
	db, err := openAndMigrate(ctx, cfg, newLogger(io.Discard, cfg))
	if err != nil {
		return err
	}
	defer db.Close()
	secret, u, err := issueInTx(ctx, db.Client, req, r)
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	fmt.Fprintf(stderr, "A token for %s (%s) of %s (shown once; keep it):\n", u.Email, u.Role, req.orgSlug)
	fmt.Fprintln(stdout, secret)
	return nil
}

// issueInTx ensures the organization and the user and issues the token in
// one transaction.
func issueInTx(ctx context.Context, client *ent.Client, req tokenRequest, role user.Role) (string, *ent.User, error) {
	tx, err := client.Tx(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("starting a transaction: %w", err)
	}
	// Rolling back a committed transaction does nothing.
	defer func() { _ = tx.Rollback() }()
	u, err := auth.EnsureUser(ctx, tx.Client(), req.orgSlug, req.email, role)
	if err != nil {
		return "", nil, err
	}
	if req.roleGiven && u.Role != role {
		return "", nil, fmt.Errorf("%s is an %s of %s, not an %s; this command does not change roles (omit --role for a token with the user's role)", u.Email, u.Role, req.orgSlug, role)
	}
	// The command acts as the organization's operator, an admin, whatever
	// the role of the user it issues for: only admins may create tokens,
	// and an agent's own viewer would be refused.
	operator := tenant.NewContext(ctx, tenant.Viewer{OrgID: u.OrganizationID, UserID: u.ID, Role: tenant.RoleAdmin})
	secret, _, err := auth.New(tx.Client()).Issue(operator, tx.Client(), u.ID, req.name, nil)
	if err != nil {
		return "", nil, fmt.Errorf("issuing the token: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return "", nil, fmt.Errorf("committing: %w", err)
	}
	return secret, u, nil
}
