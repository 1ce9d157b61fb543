package app

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/apitoken"
	"github.com/estateflow/estateflow/ent/organization"
	"github.com/estateflow/estateflow/ent/user"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/tenant"
)

// runTokenCreate runs `token create` on the database at url with args and
// returns the secret it printed.
func runTokenCreate(t *testing.T, url string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := Token(context.Background(), append([]string{"--database-url", url, "--db-max-conns", "2"}, append(args, "create")...), &stdout, &stderr)
	return strings.TrimSpace(stdout.String()), err
}

// openForChecks opens the database a command wrote, to look at what it left.
func openForChecks(t *testing.T, url string) *ent.Client {
	t.Helper()
	db, err := database.Open(context.Background(), url, database.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db.Client
}

// TestTokenCreateForEachRole: the README's `token create --org demo --user
// you@example.com` works for a new agent, `--role admin` for a new admin,
// and running either again gives the existing user another working token.
func TestTokenCreateForEachRole(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	for _, tc := range []struct {
		email string
		args  []string
		want  tenant.Role
	}{
		{"you@example.com", nil, tenant.RoleAgent},
		{"boss@example.com", []string{"--role", "admin"}, tenant.RoleAdmin},
	} {
		args := append([]string{"--org", "demo", "--user", tc.email}, tc.args...)
		first, err := runTokenCreate(t, url, args...)
		if err != nil {
			t.Fatalf("new %s: %v", tc.want, err)
		}
		again, err := runTokenCreate(t, url, args...)
		if err != nil {
			t.Fatalf("existing %s: %v", tc.want, err)
		}
		if first == again {
			t.Fatalf("existing %s got the same secret twice", tc.want)
		}
		// With the role left to its default, an existing user keeps theirs.
		other, err := runTokenCreate(t, url, "--org", "demo", "--user", tc.email)
		if err != nil {
			t.Fatalf("existing %s without --role: %v", tc.want, err)
		}
		authn := auth.New(openForChecks(t, url))
		for _, secret := range []string{first, again, other} {
			v, err := authn.Authenticate(context.Background(), secret)
			if err != nil || v.Role != tc.want {
				t.Fatalf("token of %s: viewer %+v, %v; want role %s", tc.email, v, err, tc.want)
			}
		}
	}
}

// TestTokenCreateRefusesARoleChange: --role that contradicts an existing
// user's role is refused, and issues nothing.
func TestTokenCreateRefusesARoleChange(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	if _, err := runTokenCreate(t, url, "--org", "demo", "--user", "you@example.com"); err != nil {
		t.Fatal(err)
	}
	_, err := runTokenCreate(t, url, "--org", "demo", "--user", "you@example.com", "--role", "admin")
	if err == nil || !strings.Contains(err.Error(), "does not change roles") {
		t.Fatalf("--role admin for an agent: %v, want a refusal", err)
	}
	client := openForChecks(t, url)
	sys := tenant.SystemContext(context.Background())
	tokens, err := client.APIToken.Query().Where(apitoken.HasUserWith(user.Email("you@example.com"))).Count(sys)
	if err != nil || tokens != 1 {
		t.Fatalf("tokens of the agent: %d, %v; want 1", tokens, err)
	}
}

// TestTokenCreateFailureLeavesNothing: a command that fails part-way (here
// on the user, after creating the organization) leaves no organization
// behind.
func TestTokenCreateFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	if _, err := runTokenCreate(t, url, "--org", "fresh", "--user", "not-an-email"); err == nil {
		t.Fatal("an invalid email was accepted")
	}
	client := openForChecks(t, url)
	sys := tenant.SystemContext(context.Background())
	if n, err := client.Organization.Query().Where(organization.Slug("fresh")).Count(sys); err != nil || n != 0 {
		t.Fatalf("organizations left by the failed command: %d, %v", n, err)
	}
	if n, err := client.User.Query().Count(sys); err != nil || n != 0 {
		t.Fatalf("users left by the failed command: %d, %v", n, err)
	}
}
