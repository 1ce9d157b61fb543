package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/ent/user"
	"github.com/estateflow/estateflow/tenant"
)

// Token implements `estateflow token create --org SLUG --user EMAIL
// [--role admin]`: it prints a new token, creating the organization and the
// user first when they do not exist.
func Token(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommandLine("token", "token create --org SLUG --user EMAIL [flags]",
		"Prints a new API token, creating the organization and the user if they are new.", stderr, os.LookupEnv)
	c.databaseFlags()
	orgSlug := c.fs.String("org", "", "the organization's slug (created if missing)")
	email := c.fs.String("user", "", "the user's email (created if missing)")
	role := c.fs.String("role", "agent", "admin or agent, for a new user")
	name := c.fs.String("name", "cli", "a name to recognize the token by")
	args, err := c.parse(args)
	if err != nil {
		return err
	}
	if len(args) != 1 || args[0] != "create" {
		return fmt.Errorf("token: usage: estateflow token create --org SLUG --user EMAIL [--role admin|agent]")
	}
	return createToken(ctx, c.cfg, *orgSlug, *email, *role, *name, stdout)
}

func createToken(ctx context.Context, cfg Config, orgSlug, email, role, name string, stdout io.Writer) error {
	if orgSlug == "" || email == "" {
		return fmt.Errorf("token create: --org and --user are required")
	}
	r := user.Role(strings.ToUpper(role))
	if err := user.RoleValidator(r); err != nil {
		return fmt.Errorf("token create: --role must be admin or agent")
	}
	db, err := openAndMigrate(ctx, cfg, newLogger(io.Discard, cfg))
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := auth.EnsureUser(ctx, db.Client, orgSlug, email, r)
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	if u.Role != r {
		return fmt.Errorf("token create: %s is already an %s of %s", email, u.Role, orgSlug)
	}
	orgCtx := tenant.NewContext(ctx, tenant.Viewer{OrgID: u.OrganizationID, UserID: u.ID, Role: tenant.Role(u.Role)})
	secret, _, err := auth.New(db.Client).Issue(orgCtx, db.Client, u.ID, name, nil)
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	fmt.Fprintln(stdout, secret)
	return nil
}
