package marketing

import (
	"context"
	"strings"
	"testing"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/tenant"
)

// TestTargetingNeverAimsAtNowhere runs SOCIAL_TARGETING on clients whose
// wishes no listing matches: with preferred areas the audience centres on
// the organization's homes there; without, no audience is built and the
// output says why. No centre is ever 0, 0 or far from the org's homes.
func TestTargetingNeverAimsAtNowhere(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, database.Options{})
	org, err := db.Client.Organization.Create().SetName("T").SetSlug("t").Save(tenant.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID})
	home := func(zip, city string, lat, lng float64, status property.Status, price int) {
		t.Helper()
		if err := db.Client.Property.Create().SetZip(zip).SetCity(city).SetLatitude(lat).SetLongitude(lng).
			SetStatus(status).SetListPrice(price).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Sold homes in 78745 and 78748 (south Austin), one active listing far
	// above every budget below, and a home in Round Rock.
	home("78745", "Austin", 30.2064, -97.7956, property.StatusSOLD, 450000)
	home("78745", "Austin", 30.2150, -97.8050, property.StatusSOLD, 470000)
	home("78748", "Austin", 30.1593, -97.8232, property.StatusSOLD, 420000)
	home("78704", "Austin", 30.2431, -97.7703, property.StatusACTIVE, 2500000)
	home("78681", "Round Rock", 30.5083, -97.6789, property.StatusSOLD, 380000)
	orgHomes := db.Client.Property.Query().AllX(ctx)

	tests := []struct {
		name   string
		client func(*ent.ContactCreate) *ent.ContactCreate
		basis  string
		reason string
		// want is the expected centre, when there is one.
		want *[2]float64
	}{
		{
			name:   "no areas and no match",
			client: func(c *ent.ContactCreate) *ent.ContactCreate { return c },
			basis:  BasisNone, reason: "no preferred area",
		},
		{
			name:   "no areas, a budget nothing fits",
			client: func(c *ent.ContactCreate) *ent.ContactCreate { return c.SetBudgetMax(300000) },
			basis:  BasisNone, reason: "no preferred area",
		},
		{
			name: "areas but no matching listing",
			client: func(c *ent.ContactCreate) *ent.ContactCreate {
				return c.SetBudgetMax(500000).SetPreferredAreas([]string{"78745", "78748"})
			},
			basis: BasisPreferredAreas, reason: "client's areas (78745, 78748)",
			want: &[2]float64{(30.2064 + 30.2150 + 30.1593) / 3, (-97.7956 - 97.8050 - 97.8232) / 3},
		},
		{
			name:   "a city as the area",
			client: func(c *ent.ContactCreate) *ent.ContactCreate { return c.SetPreferredAreas([]string{"Round Rock"}) },
			basis:  BasisPreferredAreas, reason: "Round Rock",
			want: &[2]float64{30.5083, -97.6789},
		},
		{
			name:   "areas where the org has no home",
			client: func(c *ent.ContactCreate) *ent.ContactCreate { return c.SetPreferredAreas([]string{"78613"}) },
			basis:  BasisNone, reason: "no home in the client's areas (78613)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client(db.Client.Contact.Create().SetName("Ana Ruiz")).SaveX(ctx)
			x := TargetingExecutor{Client: db.Client}
			out, err := x.Execute(ctx, &engine.StepContext{OrgID: org.ID, RunID: 1, StepKey: "targeting", Kind: "SOCIAL_TARGETING",
				Subject: engine.Subject{Type: engine.SubjectClient, ID: c.ID}})
			if err != nil {
				t.Fatal(err)
			}
			got := out.(*SocialTargeting)
			if got.Basis != tt.basis || !strings.Contains(got.Reason, tt.reason) || len(got.Listings) != 0 {
				t.Fatalf("basis %s, reason %q, %d listings; want %s and a reason with %q", got.Basis, got.Reason, len(got.Listings), tt.basis, tt.reason)
			}
			if tt.want == nil {
				if got.Audience != nil || len(got.Compliance) != 0 {
					t.Fatalf("an audience with nowhere to aim: %+v", got.Audience)
				}
				return
			}
			a := got.Audience
			if a == nil {
				t.Fatal("no audience")
			}
			if a.CenterLatitude == 0 && a.CenterLongitude == 0 {
				t.Fatal("centred on 0, 0")
			}
			if d := milesBetween(a.CenterLatitude, a.CenterLongitude, tt.want[0], tt.want[1]); d > 0.05 {
				t.Errorf("centre %.4f, %.4f is %.2f miles from the areas' centroid %.4f, %.4f", a.CenterLatitude, a.CenterLongitude, d, tt.want[0], tt.want[1])
			}
			nearest := 1e9
			for _, h := range orgHomes {
				nearest = min(nearest, milesBetween(a.CenterLatitude, a.CenterLongitude, h.Latitude, h.Longitude))
			}
			if nearest > 30 {
				t.Errorf("centre %.1f miles from the nearest of the org's homes", nearest)
			}
			if a.RadiusMiles < MinHousingRadiusMiles || a.SpecialAdCategory != "HOUSING" || len(a.ZipCodes) != 0 || len(got.Compliance) != 6 {
				t.Errorf("audience breaks a housing rule: %+v, %d checks", a, len(got.Compliance))
			}
		})
	}
}
