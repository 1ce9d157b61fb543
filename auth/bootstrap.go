package auth

import (
	"context"
	"fmt"
	"strings"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/apitoken"
	"github.com/estateflow/estateflow/ent/organization"
	"github.com/estateflow/estateflow/ent/user"
	"github.com/estateflow/estateflow/tenant"
)

// EnsureUser returns the user with email in the organization with slug,
// creating the organization and the user when they do not exist, so that a
// new brokerage can be onboarded from the command line.
func EnsureUser(ctx context.Context, db *ent.Client, orgSlug, email string, role user.Role) (*ent.User, error) {
	sys := tenant.SystemContext(ctx)
	org, err := db.Organization.Query().Where(organization.Slug(orgSlug)).Only(sys)
	if ent.IsNotFound(err) {
		org, err = db.Organization.Create().SetSlug(orgSlug).SetName(orgSlug).Save(sys)
	}
	if err != nil {
		return nil, fmt.Errorf("organization %q: %w", orgSlug, err)
	}
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := db.User.Query().Where(user.OrganizationID(org.ID), user.Email(email)).Only(sys)
	if ent.IsNotFound(err) {
		u, err = db.User.Create().SetOrganizationID(org.ID).SetEmail(email).SetRole(role).Save(sys)
	}
	if err != nil {
		return nil, fmt.Errorf("user %q: %w", email, err)
	}
	return u, nil
}

// EnsureAdminToken makes sure the organization's admin can call the API.
// With a fixed secret (ESTATEFLOW_ADMIN_TOKEN) it stores that secret unless
// it already is; without one it issues a fresh token only when the admin
// has none, and returns it (to be printed once).
func (a *Authenticator) EnsureAdminToken(ctx context.Context, orgSlug, fixedSecret string) (string, error) {
	admin, err := EnsureUser(ctx, a.client, orgSlug, "admin@"+orgSlug+".example", user.RoleADMIN)
	if err != nil {
		return "", err
	}
	sys := tenant.SystemContext(ctx)
	if fixedSecret != "" {
		if _, err := checkShape(fixedSecret); err != nil {
			return "", fmt.Errorf("ESTATEFLOW_ADMIN_TOKEN: want %s followed by 52 base32 characters (generate one with `token create`)", SecretPrefix)
		}
		exists, err := a.client.APIToken.Query().Where(apitoken.Hash(Hash(fixedSecret))).Exist(sys)
		if err != nil || exists {
			return "", err
		}
		return "", a.client.APIToken.Create().SetOrganizationID(admin.OrganizationID).SetUserID(admin.ID).
			SetName("admin (ESTATEFLOW_ADMIN_TOKEN)").SetPrefix(fixedSecret[:displayLength]).SetHash(Hash(fixedSecret)).Exec(sys)
	}
	has, err := a.client.APIToken.Query().Where(apitoken.UserID(admin.ID), apitoken.RevokedAtIsNil()).Exist(sys)
	if err != nil || has {
		return "", err
	}
	secret, _, err := a.Issue(tenant.NewContext(ctx, tenant.Viewer{OrgID: admin.OrganizationID, UserID: admin.ID, Role: tenant.RoleAdmin}), a.client, admin.ID, "admin (first start)", nil)
	return secret, err
}
