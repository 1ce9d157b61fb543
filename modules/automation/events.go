package automation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/automationrule"
	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/ent/deal"
	"github.com/estateflow/estateflow/ent/property"
)

// TriggerTopic is the outbox topic of the rules' matches.
const TriggerTopic = "automation.trigger"

// event is something that happened to a record, as rules match it.
type event struct {
	typ      automationrule.Event
	recordID int
	from, to string // stages or statuses; from is empty for a creation, to for a client's
	// What the conditions read; nil when the record has none.
	leadSource *string
	zips       []string
	price      *int
	// The run's possible subjects.
	clientID, propertyID *int
}

// ClientCreated records the creation of c for the rules that wait for it.
// db and ctx must be those of the engine.Transact transaction that created
// c.
func ClientCreated(ctx context.Context, db *ent.Client, c *ent.Contact) error {
	return record(ctx, db, clientEvent(automationrule.EventCLIENT_CREATED, c, "", ""))
}

// ClientStageChanged records that c's stage changed from from, in the
// transaction of the change. Nothing is recorded when it did not change.
func ClientStageChanged(ctx context.Context, db *ent.Client, c *ent.Contact, from contact.Stage) error {
	if c.Stage == from {
		return nil
	}
	return record(ctx, db, clientEvent(automationrule.EventCLIENT_STAGE_CHANGED, c, string(from), string(c.Stage)))
}

func clientEvent(typ automationrule.Event, c *ent.Contact, from, to string) event {
	src := string(c.Source)
	id := c.ID
	return event{typ: typ, recordID: c.ID, from: from, to: to, leadSource: &src, zips: c.PreferredAreas,
		price: c.BudgetMax, clientID: &id}
}

// PropertyStatusChanged records that p's status changed from from, in the
// transaction of the change. For a property just created, from is empty:
// its status changed from none to p's. Nothing is recorded when it did not
// change.
func PropertyStatusChanged(ctx context.Context, db *ent.Client, p *ent.Property, from property.Status) error {
	return PropertyStatusesChanged(ctx, db, []PropertyStatusChange{{Property: p, From: from}})
}

// PropertyStatusChange is a property as written and its status before the
// write; From is empty for a property just created.
type PropertyStatusChange struct {
	Property *ent.Property
	From     property.Status
}

// PropertyStatusesChanged is PropertyStatusChanged for the properties of
// one transaction (an import's batch), reading the rules once.
func PropertyStatusesChanged(ctx context.Context, db *ent.Client, changes []PropertyStatusChange) error {
	var evs []event
	for _, c := range changes {
		p := c.Property
		if p.Status == c.From {
			continue
		}
		id := p.ID
		var zips []string
		if p.Zip != "" {
			zips = []string{p.Zip}
		}
		evs = append(evs, event{typ: automationrule.EventPROPERTY_STATUS_CHANGED, recordID: p.ID,
			from: string(c.From), to: string(p.Status), zips: zips, price: p.ListPrice, propertyID: &id})
	}
	if len(evs) == 0 {
		return nil
	}
	rules, err := matchingRules(ctx, db, automationrule.EventPROPERTY_STATUS_CHANGED)
	if err != nil || len(rules) == 0 {
		return err
	}
	for _, ev := range evs {
		if err := enqueue(ctx, db, ev, rules); err != nil {
			return err
		}
	}
	return nil
}

// TransactionStageChanged records that d's stage changed from from, in the
// transaction of the change. The conditions read the deal's price, its
// client's lead source and its property's ZIP.
func TransactionStageChanged(ctx context.Context, db *ent.Client, d *ent.Deal, from deal.Stage) error {
	if d.Stage == from {
		return nil
	}
	rules, err := matchingRules(ctx, db, automationrule.EventTRANSACTION_STAGE_CHANGED)
	if err != nil || len(rules) == 0 {
		return err
	}
	c, err := db.Contact.Get(ctx, d.ClientID)
	if err != nil {
		return fmt.Errorf("automation: loading the client of transaction %d: %w", d.ID, err)
	}
	p, err := db.Property.Get(ctx, d.PropertyID)
	if err != nil {
		return fmt.Errorf("automation: loading the property of transaction %d: %w", d.ID, err)
	}
	src := string(c.Source)
	clientID, propertyID := d.ClientID, d.PropertyID
	ev := event{typ: automationrule.EventTRANSACTION_STAGE_CHANGED, recordID: d.ID, from: string(from), to: string(d.Stage),
		leadSource: &src, price: d.Price, clientID: &clientID, propertyID: &propertyID}
	if p.Zip != "" {
		ev.zips = []string{p.Zip}
	}
	return enqueue(ctx, db, ev, rules)
}

func record(ctx context.Context, db *ent.Client, ev event) error {
	rules, err := matchingRules(ctx, db, ev.typ)
	if err != nil || len(rules) == 0 {
		return err
	}
	return enqueue(ctx, db, ev, rules)
}

// matchingRules loads the viewer's enabled rules for an event type.
func matchingRules(ctx context.Context, db *ent.Client, typ automationrule.Event) ([]*ent.AutomationRule, error) {
	rules, err := db.AutomationRule.Query().
		Where(automationrule.EventEQ(typ), automationrule.Enabled(true)).
		Order(automationrule.ByID()).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("automation: loading the %s rules: %w", typ, err)
	}
	return rules, nil
}

// enqueue writes one outbox message per rule the event matches. The
// message carries what the rule said when the event happened, so that a
// later edit of the rule does not change a start already decided.
func enqueue(ctx context.Context, db *ent.Client, ev event, rules []*ent.AutomationRule) error {
	eventID, err := newEventID()
	if err != nil {
		return err
	}
	at := time.Now().UTC()
	for _, r := range rules {
		if !matches(r, ev) {
			continue
		}
		payload := map[string]any{
			"ruleId":     r.ID,
			"event":      string(ev.typ),
			"recordId":   ev.recordID,
			"packageKey": r.PackageKey,
			"params":     r.Params,
			"at":         at.Format(time.RFC3339Nano),
		}
		if r.PackageVersion != nil {
			payload["packageVersion"] = *r.PackageVersion
		}
		if ev.from != "" {
			payload["from"] = ev.from
		}
		if ev.to != "" {
			payload["to"] = ev.to
		}
		if ev.clientID != nil {
			payload["clientId"] = *ev.clientID
		}
		if ev.propertyID != nil {
			payload["propertyId"] = *ev.propertyID
		}
		// The key is the run's idempotency key: one event, one rule, one run.
		key := fmt.Sprintf("trigger:%s:%d:%s:rule-%d", ev.typ, ev.recordID, eventID, r.ID)
		if _, err := engine.Enqueue(ctx, db, engine.OutboxMessage{Topic: TriggerTopic, Key: key, Payload: payload}); err != nil {
			return fmt.Errorf("automation: recording %s of %d for rule %d: %w", ev.typ, ev.recordID, r.ID, err)
		}
	}
	return nil
}

// matches reports whether a rule's stages and conditions fit the event.
func matches(r *ent.AutomationRule, ev event) bool {
	if r.FromStage != nil && *r.FromStage != ev.from {
		return false
	}
	if r.ToStage != nil && *r.ToStage != ev.to {
		return false
	}
	if r.ConditionLeadSource != nil && (ev.leadSource == nil || string(*r.ConditionLeadSource) != *ev.leadSource) {
		return false
	}
	if len(r.ConditionZips) > 0 && !slices.ContainsFunc(ev.zips, func(z string) bool { return slices.Contains(r.ConditionZips, z) }) {
		return false
	}
	if r.ConditionPriceMin != nil || r.ConditionPriceMax != nil {
		if ev.price == nil {
			return false // a price band cannot hold a record without a price
		}
		if r.ConditionPriceMin != nil && *ev.price < *r.ConditionPriceMin {
			return false
		}
		if r.ConditionPriceMax != nil && *ev.price > *r.ConditionPriceMax {
			return false
		}
	}
	return true
}

// newEventID names one occurrence of an event: a stage can change from A
// to B more than once, and each change is its own event.
func newEventID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("automation: event ID: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
