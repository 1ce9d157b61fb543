package crm

import (
	"context"
	"testing"
	"time"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/ent/interaction"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/tenant"
)

func TestScoringExecutorStoresTheScoreOnce(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, database.Options{})
	org, err := db.Client.Organization.Create().SetName("C").SetSlug("c").Save(tenant.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID})
	c, err := db.Client.Contact.Create().SetName("Ana").SetSource(contact.SourceREFERRAL).SetPreApproved(true).
		SetMoveTimeline(2).SetBudgetMin(300000).SetBudgetMax(500000).SetDesiredBeds(3).
		SetPreferredAreas([]string{"78704", "Round Rock"}).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Client.Interaction.Create().SetClientID(c.ID).SetType(interaction.TypeSHOWING).SetAt(now).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	listing := func(zip, city string, price, beds int, status property.Status) {
		t.Helper()
		if err := db.Client.Property.Create().SetCity(city).SetZip(zip).SetLatitude(30.2).SetLongitude(-97.7).
			SetListPrice(price).SetBeds(beds).SetStatus(status).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	listing("78704", "Austin", 450000, 3, property.StatusACTIVE)     // matches by ZIP
	listing("78681", "Round Rock", 350000, 4, property.StatusACTIVE) // matches by city
	listing("78704", "Austin", 650000, 3, property.StatusACTIVE)     // over budget
	listing("78704", "Austin", 400000, 2, property.StatusACTIVE)     // too few bedrooms
	listing("78745", "Austin", 400000, 3, property.StatusACTIVE)     // another area
	listing("78704", "Austin", 400000, 3, property.StatusSOLD)       // not for sale

	x := ScoringExecutor{Client: db.Client, Now: func() time.Time { return now }}
	sc := &engine.StepContext{OrgID: org.ID, RunID: 77, StepKey: "score", Subject: engine.Subject{Type: "CLIENT", ID: c.ID}}
	out, err := x.Execute(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	score := out.(*LeadScore)
	// engagement 8 (a showing today) + intent 24 (2 months) + readiness 20
	// (pre-approved) + referral 10 + listing fit 2 (2 matches) + recency 10
	// (today) = 74.
	if score.Factors[4].Value != 2 || score.Score != 74 || score.Tier != TierHot {
		t.Fatalf("score %+v", score)
	}
	// The effect runs in the step's completing transaction; a re-executed
	// step runs it again and must not add a second record.
	for range 2 {
		if err := storeScore(ctx, db.Client, sc, *score); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Client.Contact.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LeadScore == nil || *got.LeadScore != 74 || got.LeadTier == nil || *got.LeadTier != contact.LeadTierHOT {
		t.Fatalf("client after scoring: %+v", got)
	}
	if n := got.QueryScoreHistory().CountX(ctx); n != 1 {
		t.Fatalf("%d history records for one run and step, want 1", n)
	}
	// An older score does not replace a newer one.
	older := *score
	older.Score, older.Tier, older.ScoredAt = 10, TierCold, now.Add(-time.Hour)
	if err := storeScore(ctx, db.Client, &engine.StepContext{RunID: 78, StepKey: "score"}, older); err != nil {
		t.Fatal(err)
	}
	if got := db.Client.Contact.GetX(ctx, c.ID); *got.LeadScore != 74 {
		t.Fatalf("an older score replaced the current one: %d", *got.LeadScore)
	}
}

func TestMatchListingsRanksByBudgetFit(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, database.Options{})
	org, err := db.Client.Organization.Create().SetName("M").SetSlug("m").Save(tenant.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID})
	c := db.Client.Contact.Create().SetName("Ana").SetBudgetMin(300000).SetBudgetMax(500000).SetPreferredAreas([]string{"78704"}).SaveX(ctx)
	// The middle of the budget is 400,000; 150 cheap listings must not
	// crowd out the ones near it.
	for i := range 150 {
		db.Client.Property.Create().SetCity("Austin").SetZip("78704").SetLatitude(30.2).SetLongitude(-97.7).
			SetStatus(property.StatusACTIVE).SetListPrice(300000 + i).ExecX(ctx)
	}
	for _, price := range []int{395000, 420000, 490000} {
		db.Client.Property.Create().SetCity("Austin").SetZip("78704").SetLatitude(30.2).SetLongitude(-97.7).
			SetStatus(property.StatusACTIVE).SetListPrice(price).ExecX(ctx)
	}
	got, err := MatchListings(ctx, db.Client, c, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ListPrice != 395000 || got[1].ListPrice != 420000 || got[2].ListPrice != 490000 {
		t.Fatalf("ranking %+v", got)
	}
	if got[0].Rank != 1 || got[0].Reason != "in 78704, one of the client's areas; listed at 395000, 1% from the middle of the budget" {
		t.Fatalf("first match %+v", got[0])
	}
}

// TestScoreForReadsTheScoringOutput: a follow-up step depends on the email
// and targeting steps, whose outputs carry a tier but no score; the score
// then comes from the client, where the run's scoring step stored it.
func TestScoreForReadsTheScoringOutput(t *testing.T) {
	stored := &ent.Contact{LeadScore: new(61)}
	if got := ScoreFor(stored, map[string]map[string]any{"email": {"tier": "WARM"}}); got == nil || *got != 61 {
		t.Fatalf("from the client: %v", got)
	}
	scored := map[string]map[string]any{"email": {"tier": "WARM"}, "score": {"tier": "HOT", "score": 75.0, "factors": []any{}}}
	if got := ScoreFor(stored, scored); got == nil || *got != 75 {
		t.Fatalf("from the scoring output: %v", got)
	}
	if got := ScoreFor(&ent.Contact{}, nil); got != nil {
		t.Fatalf("never scored: %v", *got)
	}
}
