package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/ent/user"
	"github.com/estateflow/estateflow/tenant"
)

// runTokenCreate implements `estateflow token create --org SLUG --user
// EMAIL [--role admin]`: it prints a new token, creating the organization
// and the user first when they do not exist.
func runTokenCreate(ctx context.Context, cfg config, args []string, orgSlug, email, role, name string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "create" {
		return fmt.Errorf("token: usage: estateflow token create --org SLUG --user EMAIL [--role admin|agent]")
	}
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
