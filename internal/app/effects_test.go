package app

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/ent/emailmessage"
	"github.com/estateflow/estateflow/ent/property"
	runstatus "github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/scheduledpost"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/task"
	"github.com/estateflow/estateflow/ent/workflowpackage"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/modules/crm"
	"github.com/estateflow/estateflow/modules/marketing"
	"github.com/estateflow/estateflow/tenant"
)

// failOnce fails its first attempt for good, then runs the real executor.
type failOnce struct {
	engine.Executor
	failed atomic.Bool
}

func (f *failOnce) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	if f.failed.CompareAndSwap(false, true) {
		return nil, engine.Permanent(errors.New("injected failure"))
	}
	return f.Executor.Execute(ctx, sc)
}

// hangOnce hangs its first attempt until its context ends, like a step of
// a process that dies; later attempts run the real executor.
type hangOnce struct {
	engine.Executor
	started chan struct{}
	hung    atomic.Bool
}

func (h *hangOnce) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	if h.hung.CompareAndSwap(false, true) {
		close(h.started)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return h.Executor.Execute(ctx, sc)
}

// effectsFixture runs Apps, one after the other, on one demo database.
type effectsFixture struct {
	t     *testing.T
	dbURL string
	api   *testAPI // the App started last
	db    *database.DB
	ctx   context.Context
}

func newEffectsFixture(t *testing.T) *effectsFixture {
	t.Helper()
	return &effectsFixture{t: t, dbURL: testdb.URL(t)}
}

// engine starts an App, with the real executors and then the overrides, and
// returns its engine.
func (f *effectsFixture) engine(grace time.Duration, overrides func(*ent.Client) map[stepkind.Kind]engine.Executor) *engine.Engine {
	f.t.Helper()
	f.api = newTestAPI(f.t, testOptions{demo: true, dbURL: f.dbURL, shutdownGrace: grace, executors: overrides})
	f.db = f.api.db
	f.ctx = tenant.NewContext(context.Background(), tenant.Viewer{OrgID: f.api.orgID})
	return f.api.engine
}

func (f *effectsFixture) start(e *engine.Engine, pkgKey string, req engine.StartRequest) int {
	f.t.Helper()
	pkg := f.db.Client.WorkflowPackage.Query().Where(workflowpackage.Key(pkgKey)).OnlyX(f.ctx)
	req.PackageID = pkg.ID
	r, err := e.StartRun(f.ctx, req)
	if err != nil {
		f.t.Fatal(err)
	}
	return r.ID
}

func (f *effectsFixture) hotClient() *ent.Contact {
	f.t.Helper()
	c := f.db.Client.Contact.Create().SetName("Hal Hot").SetEmail("hal@example.com").SetEmailOptIn(true).SetSmsOptIn(true).
		SetSource(contact.SourceREFERRAL).SetPreApproved(true).SetMoveTimeline(1).SetBudgetMin(300000).SetBudgetMax(3000000).SaveX(f.ctx)
	for range 3 {
		f.db.Client.Interaction.Create().SetClientID(c.ID).SetType("MEETING").ExecX(f.ctx)
	}
	return c
}

func (f *effectsFixture) counts(clientID int) (tasks, emails int) {
	return f.db.Client.Task.Query().Where(task.ClientID(clientID)).CountX(f.ctx),
		f.db.Client.EmailMessage.Query().Where(emailmessage.ClientID(clientID)).CountX(f.ctx)
}

// TestRetryAfterFailureWritesEffectsOnce fails Lead Nurture at follow-up
// scheduling and New Listing at social scheduling, retries both runs, and
// counts the tasks, emails and posts.
func TestRetryAfterFailureWritesEffectsOnce(t *testing.T) {
	t.Parallel()
	f := newEffectsFixture(t)
	e := f.engine(time.Second, func(client *ent.Client) map[stepkind.Kind]engine.Executor {
		return map[stepkind.Kind]engine.Executor{
			stepkind.FollowUpScheduling: &failOnce{Executor: crm.FollowUpExecutor{Client: client, Now: time.Now}},
			stepkind.SocialScheduling:   &failOnce{Executor: marketing.SocialExecutor{Client: client}},
		}
	})
	c := f.hotClient()
	nurture := f.start(e, "lead-nurture", engine.StartRequest{ClientID: &c.ID})
	listing := f.db.Client.Property.Query().Where(property.StatusEQ(property.StatusACTIVE)).FirstX(f.ctx)
	newListing := f.start(e, "new-listing", engine.StartRequest{PropertyID: &listing.ID})
	for _, id := range []int{nurture, newListing} {
		f.api.waitRun(t, id, runstatus.StatusFAILED)
	}
	if tasks, emails := f.counts(c.ID); tasks != 0 || emails != 3 {
		t.Fatalf("after the failure: %d tasks and %d emails, want 0 and 3", tasks, emails)
	}
	if n := f.db.Client.ScheduledPost.Query().Where(scheduledpost.PropertyID(listing.ID)).CountX(f.ctx); n != 0 {
		t.Fatalf("%d posts after the failure", n)
	}
	for _, id := range []int{nurture, newListing} {
		if _, err := e.RetryRun(f.ctx, id); err != nil {
			t.Fatal(err)
		}
		f.api.waitRun(t, id, runstatus.StatusSUCCEEDED)
	}
	if tasks, emails := f.counts(c.ID); tasks != 5 || emails != 3 {
		t.Fatalf("after the retry: %d tasks and %d emails, want 5 and 3", tasks, emails)
	}
	social := f.db.Client.StepRun.Query().AllX(f.ctx)
	planned := 0
	for _, s := range social {
		if s.RunID == newListing && s.Key == "social" {
			planned = len(s.Output["posts"].([]any))
		}
	}
	if n := f.db.Client.ScheduledPost.Query().Where(scheduledpost.PropertyID(listing.ID)).CountX(f.ctx); planned == 0 || n != planned {
		t.Fatalf("%d posts stored, %d planned", n, planned)
	}
}

// TestRestartMidStepWritesEffectsOnce kills the engine during follow-up
// scheduling and lets a new engine finish the run.
func TestRestartMidStepWritesEffectsOnce(t *testing.T) {
	t.Parallel()
	f := newEffectsFixture(t)
	hang := &hangOnce{started: make(chan struct{})}
	a := f.engine(50*time.Millisecond, func(client *ent.Client) map[stepkind.Kind]engine.Executor {
		hang.Executor = crm.FollowUpExecutor{Client: client, Now: time.Now}
		return map[stepkind.Kind]engine.Executor{stepkind.FollowUpScheduling: hang}
	})
	c := f.hotClient()
	id := f.start(a, "lead-nurture", engine.StartRequest{ClientID: &c.ID})
	select {
	case <-hang.started:
	case <-time.After(30 * time.Second):
		t.Fatal("follow-up scheduling never started")
	}
	// The process "dies": the running step is interrupted without a
	// recorded outcome.
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.engine(time.Second, nil)
	f.api.waitRun(t, id, runstatus.StatusSUCCEEDED)
	if tasks, emails := f.counts(c.ID); tasks != 5 || emails != 3 {
		t.Fatalf("after the restart: %d tasks and %d emails, want 5 and 3", tasks, emails)
	}
}

// TestLeadNurtureForAllDemoClients starts Lead Nurture for every demo
// client at once; every run completes with its own records.
func TestLeadNurtureForAllDemoClients(t *testing.T) {
	t.Parallel()
	f := newEffectsFixture(t)
	e := f.engine(time.Second, nil)
	clients := f.db.Client.Contact.Query().AllX(f.ctx)
	start := time.Now()
	ids := make(chan int, len(clients))
	errs := make(chan error, len(clients))
	for _, c := range clients {
		go func() {
			pkg := f.db.Client.WorkflowPackage.Query().Where(workflowpackage.Key("lead-nurture")).OnlyX(f.ctx)
			r, err := e.StartRun(f.ctx, engine.StartRequest{PackageID: pkg.ID, ClientID: &c.ID})
			if err != nil {
				errs <- err
				return
			}
			ids <- r.ID
		}()
	}
	var runs []int
	for range clients {
		select {
		case err := <-errs:
			t.Fatal(err)
		case id := <-ids:
			runs = append(runs, id)
		}
	}
	for _, id := range runs {
		if r := f.api.waitRun(t, id, runstatus.StatusSUCCEEDED, runstatus.StatusFAILED); r.Status != runstatus.StatusSUCCEEDED {
			t.Fatalf("run %d %s: %v", id, r.Status, r.Error)
		}
	}
	elapsed := time.Since(start)
	for _, c := range clients {
		tasks, emails := f.counts(c.ID)
		wantEmails := 0
		if c.EmailOptIn && c.Email != nil {
			wantEmails = 3 // at least a HOT sequence; WARM and COLD send 4
		}
		if tasks < 3 || emails < wantEmails || (wantEmails == 0 && emails != 0) {
			t.Fatalf("client %d (%s): %d tasks, %d emails", c.ID, c.Name, tasks, emails)
		}
	}
	t.Logf("%d Lead Nurture runs, started at once, completed in %s (%s database)", len(runs), elapsed.Round(time.Millisecond), f.db.Dialect)
}
