package marketing

import (
	"context"
	"fmt"
	"slices"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/emailmessage"
	"github.com/estateflow/estateflow/modules/crm"
)

// A new EMAIL_SEQUENCE on a client supersedes the emails still pending
// (SCHEDULED) from the client's earlier sequences, in the transaction that
// schedules the new ones: the client gets one drip, never two stacked. The
// earlier emails become CANCELED with superseded_by_run_id naming the new
// run. Sent emails stay as they are. See crm/supersede.go for the shared
// policy; a sequence without consent supersedes too, so that emails the
// client no longer agreed to are not sent.

func supersedableEmails(ctx context.Context, db *ent.Client, clientID, runID int) ([]*ent.EmailMessage, error) {
	msgs, err := db.EmailMessage.Query().
		Where(emailmessage.ClientID(clientID), emailmessage.StatusEQ(emailmessage.StatusSCHEDULED),
			emailmessage.RunIDNotNil(), emailmessage.RunIDNEQ(runID)).
		Order(emailmessage.ByID()).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the pending emails of client %d: %w", clientID, err)
	}
	return msgs, nil
}

// runsOf counts messages by run.
func runsOf(msgs []*ent.EmailMessage) []crm.SupersededRun {
	runs := make([]int, len(msgs))
	for i, m := range msgs {
		runs[i] = *m.RunID
	}
	return crm.CountByRun(runs)
}

// planEmailSupersession lists, by run, the client's pending emails a
// sequence of runID will supersede.
func planEmailSupersession(ctx context.Context, db *ent.Client, clientID, runID int) ([]crm.SupersededRun, error) {
	msgs, err := supersedableEmails(ctx, db, clientID, runID)
	if err != nil {
		return nil, err
	}
	return runsOf(msgs), nil
}

// supersedeEmails cancels the client's pending emails of other runs, marked
// superseded by runID, with the client locked; it fails with
// crm.ErrSequenceChanged unless it finds exactly the planned ones.
func supersedeEmails(ctx context.Context, db *ent.Client, clientID, runID int, planned []crm.SupersededRun) error {
	if err := crm.LockClient(ctx, db, clientID); err != nil {
		return err
	}
	msgs, err := supersedableEmails(ctx, db, clientID, runID)
	if err != nil {
		return err
	}
	if !slices.Equal(runsOf(msgs), planned) {
		return fmt.Errorf("client %d: %w", clientID, crm.ErrSequenceChanged)
	}
	if len(msgs) == 0 {
		return nil
	}
	ids := make([]int, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	n, err := db.EmailMessage.Update().Where(emailmessage.IDIn(ids...), emailmessage.StatusEQ(emailmessage.StatusSCHEDULED)).
		SetStatus(emailmessage.StatusCANCELED).SetSupersededByRunID(runID).Save(ctx)
	if err != nil {
		return fmt.Errorf("superseding %d emails of client %d: %w", len(ids), clientID, err)
	}
	if n != len(ids) {
		return fmt.Errorf("client %d: %w", clientID, crm.ErrSequenceChanged)
	}
	return nil
}
