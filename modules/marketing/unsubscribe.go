package marketing

import (
	"context"
	"fmt"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/ent/emailmessage"
	"github.com/estateflow/estateflow/modules/crm"
	"github.com/estateflow/estateflow/modules/webhooks"
	"github.com/estateflow/estateflow/tenant"
)

// UnsubscribeTarget is what a valid unsubscribe token leads to.
type UnsubscribeTarget struct {
	OrgID    int
	ClientID int
	// MessageID is the email message whose link it is.
	MessageID int
	Brokerage string
}

// UnsubscribeResult is what an unsubscribe did.
type UnsubscribeResult struct {
	UnsubscribeTarget
	// AlreadyOff is true when the client had already opted out (a reused
	// link): nothing changed but pending emails, if any, were canceled.
	AlreadyOff bool
	// Canceled counts the client's pending emails canceled.
	Canceled int
}

// ResolveUnsubscribe checks a token and finds its organization and
// client. Only the lookup of the message by its nonce crosses
// organizations (a SystemContext): the link carries no organization. The
// check of the tag, and everything after it, acts for that organization
// only. Any failure to match is ErrBadToken, so that a caller cannot tell a
// forged token from a deleted client.
func ResolveUnsubscribe(ctx context.Context, db *ent.Client, token string) (UnsubscribeTarget, context.Context, error) {
	nonce, _, err := ParseToken(token)
	if err != nil {
		return UnsubscribeTarget{}, nil, err
	}
	msg, err := db.EmailMessage.Query().Where(emailmessage.UnsubscribeNonce(nonce)).
		Select(emailmessage.FieldOrganizationID, emailmessage.FieldClientID).Only(tenant.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return UnsubscribeTarget{}, nil, ErrBadToken
	}
	if err != nil {
		return UnsubscribeTarget{}, nil, fmt.Errorf("finding the unsubscribe link's email: %w", err)
	}
	orgCtx := tenant.NewContext(ctx, tenant.Viewer{OrgID: msg.OrganizationID})
	org, err := db.Organization.Get(orgCtx, msg.OrganizationID)
	if err != nil {
		return UnsubscribeTarget{}, nil, fmt.Errorf("reading the unsubscribe link's organization: %w", err)
	}
	if err := VerifyToken(org.UnsubscribeKey, token); err != nil {
		return UnsubscribeTarget{}, nil, err
	}
	brokerage := org.BrokerageName
	if brokerage == "" {
		brokerage = org.Name
	}
	return UnsubscribeTarget{OrgID: org.ID, ClientID: msg.ClientID, MessageID: msg.ID, Brokerage: brokerage}, orgCtx, nil
}

// Transactor opens the transaction of an unsubscribe: the engine
// (*engine.Engine), whose transactions carry the outbox that the
// EMAIL_UNSUBSCRIBED webhooks are written to.
type Transactor interface {
	Transact(ctx context.Context, fn func(ctx context.Context, db *ent.Client) error) error
}

// Unsubscribe turns the token's client's email consent off, cancels the
// client's pending emails and writes the EMAIL_UNSUBSCRIBED webhooks, in
// one transaction of tx, acting for the client's organization. Doing it
// again is harmless: consent stays off, there is nothing left to cancel,
// and no second event is sent.
func Unsubscribe(ctx context.Context, db *ent.Client, tx Transactor, token string) (UnsubscribeResult, error) {
	target, orgCtx, err := ResolveUnsubscribe(ctx, db, token)
	if err != nil {
		return UnsubscribeResult{}, err
	}
	var res UnsubscribeResult
	err = tx.Transact(orgCtx, func(ctx context.Context, db *ent.Client) error {
		res = UnsubscribeResult{UnsubscribeTarget: target}
		return unsubscribeIn(ctx, db, &res)
	})
	return res, err
}

func unsubscribeIn(ctx context.Context, db *ent.Client, res *UnsubscribeResult) error {
	if err := crm.LockClient(ctx, db, res.ClientID); err != nil {
		if ent.IsNotFound(err) {
			return ErrBadToken // the client was deleted since
		}
		return err
	}
	c, err := db.Contact.Get(ctx, res.ClientID)
	if err != nil {
		return fmt.Errorf("reading client %d: %w", res.ClientID, err)
	}
	res.AlreadyOff = !c.EmailOptIn
	if c.EmailOptIn {
		if _, err := db.Contact.Update().Where(contact.ID(c.ID)).SetEmailOptIn(false).Save(ctx); err != nil {
			return fmt.Errorf("turning email consent off for client %d: %w", c.ID, err)
		}
		if err := webhooks.Unsubscribed(ctx, db, c.ID, res.MessageID, time.Now()); err != nil {
			return err
		}
	}
	res.Canceled, err = db.EmailMessage.Update().
		Where(emailmessage.ClientID(c.ID), emailmessage.StatusEQ(emailmessage.StatusSCHEDULED)).
		SetStatus(emailmessage.StatusCANCELED).Save(ctx)
	if err != nil {
		return fmt.Errorf("canceling the pending emails of client %d: %w", c.ID, err)
	}
	return nil
}
