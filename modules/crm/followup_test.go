package crm

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
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
			plan := PlanFollowUps(FollowUpInput{ClientID: 1, Name: "Ana", Tier: tt.tier, SMSOptIn: tt.sms, Phone: "+1-512-555-0100", Email: "ana@example.com"}, tt.now, loc)
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

// newRun writes a Lead Nurture run for the client, which follow-up tasks
// link to.
func newRun(t *testing.T, ctx context.Context, db *ent.Client, clientID int) *ent.Run {
	t.Helper()
	pkg, err := db.WorkflowPackage.Create().SetKey("lead-nurture").SetName("Lead Nurture").SetSubject(stepkind.SubjectClient).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.Run.Create().SetPackageID(pkg.ID).SetPackageVersion(1).SetClientID(clientID).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFollowUpTasksAreCreatedOnce(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, database.Options{})
	org, err := db.Client.Organization.Create().SetName("C").SetSlug("c").Save(tenant.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID})
	c, err := db.Client.Contact.Create().SetName("Bo").SetPhone("+1-512-555-0101").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := newRun(t, ctx, db.Client, c.ID)
	x := FollowUpExecutor{Client: db.Client, Now: func() time.Time { return now }}
	sc := &engine.StepContext{RunID: r.ID, StepKey: "follow-up", Subject: engine.Subject{Type: "CLIENT", ID: c.ID}}
	out, err := x.Execute(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	plan := out.(*FollowUpPlan)
	if plan.Tier != TierCold || len(plan.Tasks) != 3 {
		t.Fatalf("unscored client: %+v", plan)
	}
	why := fmt.Sprintf(`Why: Lead Nurture run %d (step "follow-up") planned this follow-up; lead tier COLD; no interaction on record yet.`, r.ID)
	if !strings.HasPrefix(plan.Tasks[0].Notes, why) {
		t.Fatalf("notes %q, want them to start %q", plan.Tasks[0].Notes, why)
	}
	for range 2 { // a re-executed step writes its effects again
		if err := createTasks(ctx, db.Client, sc, *plan); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.QueryTasks().CountX(ctx); n != 3 {
		t.Fatalf("%d tasks after two writes of one plan, want 3", n)
	}
	// Every task links to its client and to the run that made it.
	for _, tk := range c.QueryTasks().WithRun().WithClient().AllX(ctx) {
		if tk.Edges.Run == nil || tk.Edges.Run.ID != r.ID || tk.Edges.Client == nil || tk.Edges.Client.ID != c.ID {
			t.Fatalf("task %d links to run %v and client %v", tk.ID, tk.Edges.Run, tk.Edges.Client)
		}
	}
}

// TestFollowUpChannelsNeedAPhone checks that no call or text is planned
// without a phone number: it becomes an email, or, without an address
// either, a single task to find a number.
func TestFollowUpChannelsNeedAPhone(t *testing.T) {
	loc := chicago(t)
	fri := time.Date(2026, 11, 27, 11, 30, 0, 0, loc)
	tests := []struct {
		name         string
		phone, email string
		sms          bool
		types        []string
	}{
		{"phone and text consent", "+1-512-555-0100", "ana@example.com", true, []string{"CALL", "TEXT", "MEETING", "CALL", "EMAIL"}},
		{"phone, no text consent", "+1-512-555-0100", "ana@example.com", false, []string{"CALL", "CALL", "MEETING", "CALL", "EMAIL"}},
		{"email only", "", "ana@example.com", true, []string{"EMAIL", "EMAIL", "MEETING", "EMAIL", "EMAIL"}},
		{"phone only", "+1-512-555-0100", "", true, []string{"CALL", "TEXT", "MEETING", "CALL", "TEXT"}},
		{"neither", "", "", true, []string{"TODO", "MEETING"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := PlanFollowUps(FollowUpInput{ClientID: 1, Name: "Ana Ruiz", Tier: TierHot, Phone: tt.phone, Email: tt.email, SMSOptIn: tt.sms}, fri, loc)
			var types []string
			for _, tk := range plan.Tasks {
				types = append(types, tk.Type)
				if (tk.Type == "CALL" || tk.Type == "TEXT") && tt.phone == "" {
					t.Errorf("%s task without a phone number: %+v", tk.Type, tk)
				}
				if tk.Type == "EMAIL" && tt.email == "" {
					t.Errorf("email task without an address: %+v", tk)
				}
				if !strings.HasPrefix(tk.Title, map[string]string{"CALL": "Call", "TEXT": "Text", "EMAIL": "Email", "MEETING": "Meet", "TODO": "Find a phone number"}[tk.Type]) {
					t.Errorf("title %q does not match type %s", tk.Title, tk.Type)
				}
			}
			if strings.Join(types, ",") != strings.Join(tt.types, ",") {
				t.Fatalf("types %v, want %v", types, tt.types)
			}
			if tt.phone == "" && tt.email == "" && !strings.Contains(plan.Reason, "one task to find a phone number replaces 4 calls, texts and emails") {
				t.Errorf("reason %q", plan.Reason)
			}
		})
	}
}

// TestFollowUpNotesCarryTheContext checks each task's notes: why it
// exists (the run, the score, the last interaction), what to cover and the
// client's wishes, with unknown wishes left out instead of shown as zero.
func TestFollowUpNotesCarryTheContext(t *testing.T) {
	loc := chicago(t)
	fri := time.Date(2026, 11, 27, 11, 30, 0, 0, loc)
	full := FollowUpInput{
		ClientID: 1, Name: "Ana Ruiz", Tier: TierHot, Score: new(82), Phone: "+1-512-555-0100", SMSOptIn: true,
		Trigger:         `Lead Nurture run 42 (step "follow-up")`,
		LastInteraction: &Interaction{Type: "OPEN_HOUSE_VISIT", At: time.Date(2026, 11, 22, 14, 0, 0, 0, loc)},
		Wishes:          Wishes{BudgetMin: new(450000), BudgetMax: new(550000), Beds: new(3), Areas: []string{"78745", "78748"}, MoveTimeline: new(3), PreApproved: true},
		Matches:         []ListingMatch{{Address: "5102 Menchaca Rd", Zip: "78745", ListPrice: 489000, Beds: new(3)}},
	}
	plan := PlanFollowUps(full, fri, loc)
	first := plan.Tasks[0].Notes
	for _, want := range []string{
		`Why: Lead Nurture run 42 (step "follow-up") planned this follow-up; lead score 82/100, HOT; last interaction: open house visit on Nov 22, 2026.`,
		"Cover: confirm the move date and financing, and book tours: 5102 Menchaca Rd, 78745 ($489,000, 3 bd).",
		"Wishes: budget $450,000 to $550,000; 3+ bedrooms; areas 78745, 78748; moving within 3 months; pre-approved.",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("notes lack %q:\n%s", want, first)
		}
	}
	if strings.Contains(first, "Ask for") {
		t.Errorf("nothing is missing, yet the notes ask for something:\n%s", first)
	}
	// A client of whom nothing is known: no zero or empty placeholder,
	// and the notes say what to ask for.
	bare := PlanFollowUps(FollowUpInput{ClientID: 2, Name: "Bo", Tier: TierWarm, Email: "bo@example.com", Wishes: Wishes{BudgetMax: new(0), Beds: new(0)}}, fri, loc)
	placeholder := regexp.MustCompile(`\$0\b|\b0 (beds|bd|bedrooms)|\b0\+ bedrooms|: ;|\(\)|areas \.|Wishes: \.`)
	for _, tk := range bare.Tasks {
		if tk.Notes == "" || placeholder.MatchString(tk.Notes) || strings.Contains(tk.Notes, "Wishes") {
			t.Errorf("task %q notes:\n%s", tk.Title, tk.Notes)
		}
		if !strings.Contains(tk.Notes, "Why: lead tier WARM; no interaction on record yet.") || !strings.Contains(tk.Notes, "Ask for: budget, bedrooms, areas, move date, phone number (not on record).") {
			t.Errorf("task %q notes:\n%s", tk.Title, tk.Notes)
		}
	}
}

// TestFollowUpsWithoutAMatchWorkOnTheSearch: with no listing that fits, no
// task asks the agent to tour, send or follow up on matched listings; the
// touches that would have work on the search instead. With a match, they
// are about the homes.
func TestFollowUpsWithoutAMatchWorkOnTheSearch(t *testing.T) {
	loc := chicago(t)
	fri := time.Date(2026, 11, 27, 11, 30, 0, 0, loc)
	impossible := regexp.MustCompile(`(?i)matched listings|after the tours|tour the|homes they liked|curated set`)
	for _, tier := range []string{TierHot, TierWarm, TierCold} {
		in := FollowUpInput{ClientID: 1, Name: "Ana Ruiz", Tier: tier, Phone: "+1-512-555-0100", SMSOptIn: true, Email: "ana@example.com",
			Wishes: Wishes{BudgetMax: new(550000), Beds: new(4), Areas: []string{"78703"}}}
		for _, tk := range PlanFollowUps(in, fri, loc).Tasks {
			if m := impossible.FindString(tk.Title + "\n" + tk.Notes); m != "" {
				t.Errorf("%s, no match: task %q says %q:\n%s", tier, tk.Title, m, tk.Notes)
			}
		}
	}
	in := FollowUpInput{ClientID: 1, Name: "Ana Ruiz", Tier: TierHot, Phone: "+1-512-555-0100", SMSOptIn: true, Email: "ana@example.com",
		Matches: []ListingMatch{{Address: "5102 Menchaca Rd", Zip: "78745", ListPrice: 489000}}}
	titles := []string{}
	for _, tk := range PlanFollowUps(in, fri, loc).Tasks {
		titles = append(titles, tk.Title)
	}
	if want := "Meet Ana Ruiz to tour matched listings"; !strings.Contains(strings.Join(titles, "|"), want) {
		t.Errorf("with a match, titles %q lack %q", titles, want)
	}
}

// TestFollowUpsNeverAtTheSameHour: a hot lead planned on a Saturday, who
// has not agreed to texts, gets its first two touches (a call due today
// and a text that becomes a call) at different times, not two calls at
// 10:00 on Monday.
func TestFollowUpsNeverAtTheSameHour(t *testing.T) {
	loc := chicago(t)
	sat := time.Date(2026, 12, 5, 10, 0, 0, 0, loc)
	for _, sms := range []bool{true, false} {
		in := FollowUpInput{ClientID: 1, Name: "Ana Ruiz", Tier: TierHot, Phone: "+1-512-555-0100", SMSOptIn: sms, Email: "ana@example.com"}
		times := map[time.Time]string{}
		for _, tk := range PlanFollowUps(in, sat, loc).Tasks {
			if other, ok := times[tk.DueAt]; ok {
				t.Errorf("sms %v: %q and %q both due %s", sms, other, tk.Title, tk.DueAt.In(loc))
			}
			times[tk.DueAt] = tk.Title
		}
	}
}
