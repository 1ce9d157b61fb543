package main

import (
	"testing"
	"time"

	"github.com/estateflow/estateflow/ent/emailmessage"
	"github.com/estateflow/estateflow/ent/scheduledpost"
	"github.com/estateflow/estateflow/ent/task"
)

func TestTaskEmailAndPostMutations(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
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
