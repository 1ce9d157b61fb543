package rule_test

import (
	"context"
	"errors"
	"testing"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/interaction"
	"github.com/estateflow/estateflow/ent/privacy"
	"github.com/estateflow/estateflow/ent/user"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/tenant"
)

// twoOrgs has a client and an admin in each of two organizations.
type twoOrgs struct {
	db               *ent.Client
	orgA, orgB       int
	clientA, clientB int
	adminA           int
}

func newTwoOrgs(t *testing.T) twoOrgs {
	t.Helper()
	db := testdb.Open(t, database.Options{}).Client
	sys := tenant.SystemContext(context.Background())
	f := twoOrgs{db: db}
	for i, slug := range []string{"alpha", "beta"} {
		org := db.Organization.Create().SetName(slug).SetSlug(slug).SaveX(sys)
		c := db.Contact.Create().SetName("Client of " + slug).SetOrganizationID(org.ID).SaveX(sys)
		u := db.User.Create().SetEmail("admin@" + slug + ".example").SetRole(user.RoleADMIN).SetOrganizationID(org.ID).SaveX(sys)
		if i == 0 {
			f.orgA, f.clientA, f.adminA = org.ID, c.ID, u.ID
		} else {
			f.orgB, f.clientB = org.ID, c.ID
		}
	}
	return f
}

func TestRules(t *testing.T) {
	t.Parallel()
	f := newTwoOrgs(t)
	agentB := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: f.orgB, Role: tenant.RoleAgent})
	adminB := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: f.orgB, Role: tenant.RoleAdmin})
	adminA := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: f.orgA, UserID: f.adminA, Role: tenant.RoleAdmin})
	var foreign *tenant.ForeignReferenceError
	tests := []struct {
		name string
		op   func() error
		want func(error) bool
	}{
		{"no viewer reads nothing", func() error {
			_, err := f.db.Contact.Query().All(context.Background())
			return err
		}, func(err error) bool { return errors.Is(err, tenant.ErrNoViewer) && errors.Is(err, privacy.Deny) }},
		{"no viewer writes nothing", func() error {
			return f.db.Contact.Create().SetName("x").Exec(context.Background())
		}, func(err error) bool { return errors.Is(err, tenant.ErrNoViewer) }},
		{"another org's row is not there", func() error {
			_, err := f.db.Contact.Get(agentB, f.clientA)
			return err
		}, ent.IsNotFound},
		{"another org's row cannot be updated", func() error {
			return f.db.Contact.UpdateOneID(f.clientA).SetName("taken").Exec(agentB)
		}, ent.IsNotFound},
		{"a new row cannot point at another org's row", func() error {
			return f.db.Interaction.Create().SetClientID(f.clientA).SetType(interaction.TypeCALL).Exec(agentB)
		}, func(err error) bool { return errors.As(err, &foreign) && foreign.Edge == "client" }},
		{"a new row cannot point at a row that does not exist", func() error {
			return f.db.Interaction.Create().SetClientID(f.clientA + 1000).SetType(interaction.TypeCALL).Exec(agentB)
		}, func(err error) bool { return errors.As(err, &foreign) }},
		{"a new row may point at its own org's row", func() error {
			return f.db.Interaction.Create().SetClientID(f.clientB).SetType(interaction.TypeCALL).Exec(agentB)
		}, func(err error) bool { return err == nil }},
		{"a row cannot be created for another org", func() error {
			return f.db.Contact.Create().SetName("x").SetOrganizationID(f.orgA).Exec(agentB)
		}, func(err error) bool { return errors.Is(err, privacy.Deny) }},
		{"a new row gets the viewer's org", func() error {
			c, err := f.db.Contact.Create().SetName("stamped").Save(agentB)
			if err == nil && c.OrganizationID != f.orgB {
				return errors.New("not stamped with the viewer's org")
			}
			return err
		}, func(err error) bool { return err == nil }},
		{"an agent cannot create users", func() error {
			return f.db.User.Create().SetEmail("new@beta.example").Exec(agentB)
		}, func(err error) bool { return errors.Is(err, tenant.ErrAdminOnly) }},
		{"an admin can create users", func() error {
			return f.db.User.Create().SetEmail("new@beta.example").Exec(adminB)
		}, func(err error) bool { return err == nil }},
		{"an admin cannot give a token to another org's user", func() error {
			return f.db.APIToken.Create().SetUserID(f.adminA).SetName("x").SetPrefix("ef_x").SetHash("h1").Exec(adminB)
		}, func(err error) bool { return errors.As(err, &foreign) && foreign.Edge == "user" }},
		{"an admin can give a token to their own user", func() error {
			return f.db.APIToken.Create().SetUserID(f.adminA).SetName("x").SetPrefix("ef_x").SetHash("h2").Exec(adminA)
		}, func(err error) bool { return err == nil }},
		{"a viewer sees only its own organization", func() error {
			n, err := f.db.Organization.Query().Count(agentB)
			if err == nil && n != 1 {
				return errors.New("sees other organizations")
			}
			return err
		}, func(err error) bool { return err == nil }},
		{"an admin edits their own organization", func() error {
			return f.db.Organization.UpdateOneID(f.orgB).SetName("renamed").Exec(adminB)
		}, func(err error) bool { return err == nil }},
		{"an agent does not edit the organization", func() error {
			return f.db.Organization.UpdateOneID(f.orgB).SetName("renamed").Exec(agentB)
		}, func(err error) bool { return errors.Is(err, privacy.Deny) && errors.Is(err, tenant.ErrAdminOnly) }},
		{"an admin does not edit another organization", func() error {
			return f.db.Organization.UpdateOneID(f.orgA).SetName("renamed").Exec(adminB)
		}, func(err error) bool { return errors.Is(err, privacy.Deny) }},
		{"organizations are not changed in bulk by requests", func() error {
			return f.db.Organization.Update().SetName("renamed").Exec(adminB)
		}, func(err error) bool { return errors.Is(err, privacy.Deny) }},
		{"organizations are not created by requests", func() error {
			return f.db.Organization.Create().SetName("new").SetSlug("new").Exec(adminB)
		}, func(err error) bool { return errors.Is(err, privacy.Deny) }},
		{"organizations are not deleted by requests", func() error {
			return f.db.Organization.DeleteOneID(f.orgB).Exec(adminB)
		}, func(err error) bool { return errors.Is(err, privacy.Deny) }},
		{"a viewer context drops a system context", func() error {
			_, err := f.db.Contact.Get(tenant.NewContext(tenant.SystemContext(context.Background()), tenant.Viewer{OrgID: f.orgB}), f.clientA)
			return err
		}, ent.IsNotFound},
		{"another org's rows are not deleted", func() error {
			n, err := f.db.Contact.Delete().Where().Exec(agentB)
			if err == nil && n != 2 { // only B's own clients: the first and "stamped"
				return errors.New("deleted another org's rows")
			}
			return err
		}, func(err error) bool { return err == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(); !tt.want(err) {
				t.Fatalf("got %v", err)
			}
		})
	}
}
