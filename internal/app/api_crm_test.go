package app

import (
	"testing"
	"time"

	"github.com/estateflow/estateflow/ent/emailmessage"
	"github.com/estateflow/estateflow/ent/scheduledpost"
	"github.com/estateflow/estateflow/ent/task"
)

func TestTaskEmailAndPostMutations(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	ctx, db := api.ctx(), api.ent()
	client := db.Contact.Create().SetName("Ines").SaveX(ctx)
	prop := db.Property.Create().SetCity("Austin").SetLatitude(30.2).SetLongitude(-97.7).SaveX(ctx)
	due := time.Now().Add(24 * time.Hour)
	open := db.Task.Create().SetClientID(client.ID).SetType(task.TypeCALL).SetTitle("Call Ines").SetDueAt(due).SaveX(ctx)
	canceled := db.Task.Create().SetClientID(client.ID).SetType(task.TypeCALL).SetTitle("Old").SetDueAt(due).SetStatus(task.StatusCANCELED).SaveX(ctx)
	sent := db.EmailMessage.Create().SetClientID(client.ID).SetTo("i@example.com").SetSubject("Hi").SetBody("…").SetScheduledAt(due).SetStatus(emailmessage.StatusSENT).SaveX(ctx)
	queued := db.EmailMessage.Create().SetClientID(client.ID).SetTo("i@example.com").SetSubject("Hi").SetBody("…").SetScheduledAt(due).SaveX(ctx)
	post := db.ScheduledPost.Create().SetPropertyID(prop.ID).SetPlatform(scheduledpost.PlatformFACEBOOK).SetScheduledAt(due).SetText("New!").SaveX(ctx)
	posted := db.ScheduledPost.Create().SetPropertyID(prop.ID).SetPlatform(scheduledpost.PlatformINSTAGRAM).SetScheduledAt(due).SetText("New!").SetStatus(scheduledpost.StatusPOSTED).SaveX(ctx)
	id := func(n int) map[string]any { return map[string]any{"id": n} }

	var done struct {
		CompleteTask struct{ Status string } `json:"completeTask"`
	}
	api.do(`mutation($id: ID!) { completeTask(id: $id) { status } }`, id(open.ID)).ok(t, &done)
	if done.CompleteTask.Status != "DONE" {
		t.Fatalf("completeTask: %+v", done)
	}
	api.do(`mutation($id: ID!) { completeTask(id: $id) { status } }`, id(open.ID)).ok(t, nil) // again: still done
	api.do(`mutation($id: ID!) { completeTask(id: $id) { status } }`, id(canceled.ID)).wantError(t, "CONFLICT", "id")
	api.do(`mutation($id: ID!) { completeTask(id: $id) { status } }`, id(open.ID+999)).wantError(t, "NOT_FOUND", "id")
	api.do(`mutation($id: ID!, $at: Time!) { rescheduleTask(id: $id, dueAt: $at) { dueAt } }`,
		map[string]any{"id": open.ID, "at": time.Now().Add(-time.Hour).Format(time.RFC3339)}).wantError(t, "BAD_USER_INPUT", "dueAt")
	api.do(`mutation($id: ID!, $at: Time!) { rescheduleTask(id: $id, dueAt: $at) { dueAt } }`,
		map[string]any{"id": open.ID, "at": due.Add(time.Hour).Format(time.RFC3339)}).wantError(t, "CONFLICT", "id")

	var canceledEmail struct {
		CancelEmailMessage struct{ Status string } `json:"cancelEmailMessage"`
	}
	api.do(`mutation($id: ID!) { cancelEmailMessage(id: $id) { status } }`, id(queued.ID)).ok(t, &canceledEmail)
	if canceledEmail.CancelEmailMessage.Status != "CANCELED" {
		t.Fatalf("cancelEmailMessage: %+v", canceledEmail)
	}
	api.do(`mutation($id: ID!) { cancelEmailMessage(id: $id) { status } }`, id(sent.ID)).wantError(t, "CONFLICT", "id")

	var canceledPost struct {
		CancelScheduledPost struct{ Status string } `json:"cancelScheduledPost"`
	}
	api.do(`mutation($id: ID!) { cancelScheduledPost(id: $id) { status } }`, id(post.ID)).ok(t, &canceledPost)
	if canceledPost.CancelScheduledPost.Status != "CANCELED" {
		t.Fatalf("cancelScheduledPost: %+v", canceledPost)
	}
	api.do(`mutation($id: ID!) { cancelScheduledPost(id: $id) { status } }`, id(posted.ID)).wantError(t, "CONFLICT", "id")
	// Another type's ID is unknown here.
	api.do(`mutation($id: ID!) { cancelScheduledPost(id: $id) { status } }`, id(queued.ID)).wantError(t, "NOT_FOUND", "id")
}

// TestTransactionThroughEveryStage advances a transaction through every
// stage, each move twice, and counts the checklist tasks; then tries an
// illegal move.
func TestTransactionThroughEveryStage(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	var setup struct {
		CreateClient   struct{ ID string } `json:"createClient"`
		CreateProperty struct{ ID string } `json:"createProperty"`
	}
	api.do(`mutation { createClient(input: {name: "Dee"}) { id } createProperty(input: {city: "Austin", latitude: 30.2, longitude: -97.7}) { id } }`, nil).ok(t, &setup)
	var created struct {
		CreateTransaction struct{ ID, Stage string } `json:"createTransaction"`
	}
	api.do(`mutation($c: ID!, $p: ID!) { createTransaction(input: {clientID: $c, propertyID: $p, side: BUYER, price: 450000,
		acceptanceDate: "2026-12-01T00:00:00Z", inspectionDeadline: "2026-12-11T00:00:00Z", closingDate: "2026-12-30T00:00:00Z"}) { id stage } }`,
		map[string]any{"c": setup.CreateClient.ID, "p": setup.CreateProperty.ID}).ok(t, &created)
	id := created.CreateTransaction.ID
	if created.CreateTransaction.Stage != "LEAD" {
		t.Fatalf("new transaction %+v", created)
	}
	checklist := map[string]int{"SHOWING": 1, "OFFER": 1, "UNDER_CONTRACT": 2, "INSPECTION": 2, "APPRAISAL": 1, "CLOSING": 2, "CLOSED": 1}
	total := 0
	for _, stage := range []string{"SHOWING", "OFFER", "UNDER_CONTRACT", "INSPECTION", "APPRAISAL", "CLOSING", "CLOSED"} {
		total += checklist[stage]
		for range 2 { // the same move twice creates the checklist once
			api.do(`mutation($id: ID!, $s: TransactionStage!) { advanceTransaction(id: $id, stage: $s) { stage } }`,
				map[string]any{"id": id, "s": stage}).ok(t, nil)
		}
		var got struct {
			Node struct {
				Stage string
				Tasks struct {
					TotalCount int `json:"totalCount"`
				} `json:"tasks"`
			} `json:"node"`
		}
		api.do(`query($id: ID!) { node(id: $id) { ... on Transaction { stage tasks(first: 20) { totalCount } } } }`, map[string]any{"id": id}).ok(t, &got)
		if got.Node.Stage != stage || got.Node.Tasks.TotalCount != total {
			t.Fatalf("after %s: stage %s, %d tasks, want %d", stage, got.Node.Stage, got.Node.Tasks.TotalCount, total)
		}
	}
	api.do(`mutation($id: ID!) { advanceTransaction(id: $id, stage: OFFER) { stage } }`, map[string]any{"id": id}).wantError(t, "CONFLICT", "stage")
	api.do(`mutation { advanceTransaction(id: 1, stage: OFFER) { stage } }`, nil).wantError(t, "NOT_FOUND", "id")
	var list struct {
		Transactions struct {
			TotalCount int `json:"totalCount"`
		} `json:"transactions"`
	}
	api.do(`{ transactions(first: 5, where: {stage: CLOSED}) { totalCount } }`, nil).ok(t, &list)
	if list.Transactions.TotalCount != 1 {
		t.Fatalf("closed transactions: %d", list.Transactions.TotalCount)
	}
}
