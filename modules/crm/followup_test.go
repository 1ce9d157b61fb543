package crm

import (
	"context"
	"testing"
	"time"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/tenant"
)

func chicago(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	return loc
}

func TestFollowUpCadences(t *testing.T) {
	loc := chicago(t)
	// Friday after Thanksgiving (a business day), 15:30 in Chicago.
	fri := time.Date(2026, 11, 27, 15, 30, 0, 0, loc)
	local := func(day, hour int) string {
		m := time.November
		if day < 27 {
			m = time.December
		}
		return time.Date(2026, m, day, hour, 0, 0, 0, loc).Format(time.RFC3339)
	}
	tests := []struct {
		name  string
		tier  string
		sms   bool
		now   time.Time
		types []string
		due   []string
	}{
		{
			// Same day at the next full hour; then business days 1, 2, 4
			// and 7, across the weekend and the month end.
			name: "hot", tier: TierHot, sms: true, now: fri,
			types: []string{"CALL", "TEXT", "MEETING", "CALL", "EMAIL"},
			due:   []string{local(27, 16), local(30, 12), local(1, 15), local(3, 10), local(8, 9)},
		},
		{
			name: "hot without text consent", tier: TierHot, sms: false, now: fri,
			types: []string{"CALL", "CALL", "MEETING", "CALL", "EMAIL"},
			due:   []string{local(27, 16), local(30, 10), local(1, 15), local(3, 10), local(8, 9)},
		},
		{
			// Too late for a call today: the next business morning.
			name: "hot after hours", tier: TierHot, sms: true, now: fri.Add(time.Hour),
			types: []string{"CALL", "TEXT", "MEETING", "CALL", "EMAIL"},
			due:   []string{local(30, 10), local(30, 12), local(1, 15), local(3, 10), local(8, 9)},
		},
		{
			// A Saturday: the same-day call waits for Monday.
			name: "hot on a weekend", tier: TierHot, sms: true, now: fri.Add(20 * time.Hour),
			types: []string{"CALL", "TEXT", "MEETING", "CALL", "EMAIL"},
			due:   []string{local(30, 10), local(30, 12), local(1, 15), local(3, 10), local(8, 9)},
		},
		{
			// Business days 1, 3, 7 and 14.
			name: "warm", tier: TierWarm, sms: true, now: fri,
			types: []string{"CALL", "EMAIL", "CALL", "TEXT"},
			due:   []string{local(30, 10), local(2, 9), local(8, 10), local(17, 12)},
		},
		{
			name: "cold", tier: TierCold, sms: true, now: fri,
			types: []string{"EMAIL", "CALL", "EMAIL"},
			// Business days 3, 14 and 30 after Friday Nov 27 (Christmas and
			// New Year's Day skipped).
			due: []string{local(2, 9), local(17, 10), time.Date(2027, 1, 12, 9, 0, 0, 0, loc).Format(time.RFC3339)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := PlanFollowUps(FollowUpInput{ClientID: 1, Name: "Ana", Tier: tt.tier, SMSOptIn: tt.sms, Phone: "+1-512-555-0100"}, tt.now, loc)
			if len(plan.Tasks) != len(tt.types) {
				t.Fatalf("%d tasks, want %d", len(plan.Tasks), len(tt.types))
			}
			for i, task := range plan.Tasks {
				if task.Type != tt.types[i] || task.DueAt.In(loc).Format(time.RFC3339) != tt.due[i] {
					t.Errorf("task %d: %s at %s, want %s at %s", i, task.Type, task.DueAt.In(loc).Format(time.RFC3339), tt.types[i], tt.due[i])
				}
				if h := task.DueAt.In(loc).Hour(); h < businessOpen || h >= businessClose {
					t.Errorf("task %d due outside business hours: %s", i, task.DueAt.In(loc))
				}
			}
		})
	}
}

func TestFollowUpTasksAreCreatedOnce(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, database.Options{})
	org, err := db.Client.Organization.Create().SetName("C").SetSlug("c").Save(tenant.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID})
	c, err := db.Client.Contact.Create().SetName("Bo").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	x := FollowUpExecutor{Client: db.Client, Now: func() time.Time { return now }}
	sc := &engine.StepContext{RunID: 5, StepKey: "follow-up", Subject: engine.Subject{Type: "CLIENT", ID: c.ID}}
	out, err := x.Execute(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	plan := out.(*FollowUpPlan)
	if plan.Tier != TierCold || len(plan.Tasks) != 3 {
		t.Fatalf("unscored client: %+v", plan)
	}
	for range 2 { // a re-executed step writes its effects again
		if err := createTasks(ctx, db.Client, sc, *plan); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.QueryTasks().CountX(ctx); n != 3 {
		t.Fatalf("%d tasks after two writes of one plan, want 3", n)
	}
}
