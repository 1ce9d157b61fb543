package marketing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/emailmessage"
	"github.com/estateflow/estateflow/internal/numfmt"
	"github.com/estateflow/estateflow/modules/crm"
	"github.com/estateflow/estateflow/modules/homevalue"
	"github.com/estateflow/estateflow/modules/spec"
)

// The home-value email (HOME_VALUE_EMAIL) tells a past client what their
// home could sell for now (the HOME_VALUATION step's CMA) and how the market
// in its ZIP code has moved (LoadMarket). It is lawful as the drip is: sent
// only with consent, from the organization's sender, with the postal address
// and a one-click unsubscribe link, and checked for fair-housing terms.

// homeValueReason is why a past client receives the email; %s is who sends it.
const homeValueReason = "You receive these emails because you are a past client of %s and agreed to hear from us by email."

// HomeValueEmail is the HOME_VALUE_EMAIL step's output: the email to the past
// client with their home's value range and the area's market figures.
type HomeValueEmail struct {
	ClientID   int `json:"clientId"`
	PropertyID int `json:"propertyId"`
	// Consent is false when the client has not opted in to email, or has
	// no address: nothing is scheduled, and Reason says why.
	Consent bool   `json:"consent"`
	Reason  string `json:"reason"`
	// Message is the scheduled email; nil without consent.
	Message        *PlannedEmail    `json:"message,omitempty"`
	EstimatedValue int              `json:"estimatedValue"`
	ValueLow       int              `json:"valueLow"`
	ValueHigh      int              `json:"valueHigh"`
	Market         MarketFigures    `json:"market"`
	FairHousing    FairHousingCheck `json:"fairHousing"`
}

// IsStepOutput marks a HomeValueEmail as a step's typed output.
func (*HomeValueEmail) IsStepOutput() {}

// HomeValueInput is what the email is written from.
type HomeValueInput struct {
	Recipient      Recipient
	Sender         Sender
	Valuation      homevalue.Valuation
	Market         MarketFigures
	UnsubscribeURL string
	Now            time.Time
	Loc            *time.Location
}

// PlanHomeValueEmail writes the email. Without consent (or an address) it
// schedules nothing and says why.
func PlanHomeValueEmail(in HomeValueInput) HomeValueEmail {
	v, r := in.Valuation, in.Recipient
	out := HomeValueEmail{ClientID: v.ClientID, PropertyID: v.PropertyID, EstimatedValue: v.CMA.EstimatedValue,
		ValueLow: v.CMA.ValueLow, ValueHigh: v.CMA.ValueHigh, Market: in.Market,
		FairHousing: FairHousingCheck{Passed: true, TermsChecked: len(fairHousingTerms), Removed: []string{}}}
	switch {
	case !r.EmailOptIn:
		out.Reason = "the client has not opted in to email: nothing is sent"
	case strings.TrimSpace(r.Email) == "":
		out.Reason = "the client has no email address: nothing is sent"
	}
	if out.Reason != "" {
		return out
	}
	subject, content := homeValueContent(r, v, in.Market)
	subject, content, out.FairHousing.Removed = checkEmail(subject, content, out.FairHousing.Removed)
	out.FairHousing.Passed = len(out.FairHousing.Removed) == 0
	link := in.UnsubscribeURL
	out.Consent = true
	at := sendTime(in.Now.In(in.Loc), 0).UTC()
	out.Reason = "home-value update scheduled for " + at.In(in.Loc).Format("Jan 2, 2006 15:04 MST") + ", outside quiet hours"
	out.Message = &PlannedEmail{
		Template: "home-value", To: r.Email, FromName: in.Sender.Name, FromEmail: in.Sender.Email,
		Subject: subject, Body: content + "\n\n" + footer(in.Sender, link, homeValueReason), ScheduledAt: at,
		ListUnsubscribe: "<" + link + ">", ListUnsubscribePost: ListUnsubscribePost, UnsubscribeURL: link,
	}
	return out
}

// homeValueContent writes the subject and content (without the footer).
//
// The purchase date is a calendar date (a closing date is stored at
// midnight UTC), so it is written as stored, not shifted into loc.
func homeValueContent(r Recipient, v homevalue.Valuation, m MarketFigures) (string, string) {
	hi, name := "Hi there,", ""
	if f := strings.Fields(r.Name); len(f) > 0 {
		name = f[0]
		hi = "Hi " + name + ","
	}
	home := "your home"
	if v.Address != "" {
		home = "your home at " + v.Address
	}
	subject := "What " + home + " could sell for today"
	if name != "" {
		subject = name + ", what " + home + " could sell for today"
	}
	c := v.CMA
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nHere is our latest estimate of what %s", hi, home)
	if v.City != "" {
		b.WriteString(", " + v.City + ",")
	}
	fmt.Fprintf(&b, " could sell for, from the sales of similar homes near it:\n\n")
	fmt.Fprintf(&b, "- Likely price range: $%s to $%s, with $%s our single best estimate.\n",
		numfmt.Thousands(c.ValueLow), numfmt.Thousands(c.ValueHigh), numfmt.Thousands(c.EstimatedValue))
	fmt.Fprintf(&b, "- Based on %s within %s miles", count(c.ValueCompCount, "comparable sale", "comparable sales"), miles(c.SearchRadiusMiles))
	if c.LookbackMonths != nil {
		fmt.Fprintf(&b, ", sold in the last %s", count(*c.LookbackMonths, "month", "months"))
	}
	b.WriteString(".\n")
	if v.PurchasePrice != nil && v.PurchaseDate != nil && *v.PurchasePrice > 0 {
		pct := math.Round(float64(c.EstimatedValue-*v.PurchasePrice) / float64(*v.PurchasePrice) * 100)
		change := "about the same as"
		switch {
		case pct > 0:
			change = fmt.Sprintf("about %.0f%% above", pct)
		case pct < 0:
			change = fmt.Sprintf("about %.0f%% below", -pct)
		}
		fmt.Fprintf(&b, "- You bought it for $%s on %s; our estimate is %s that price.\n",
			numfmt.Thousands(*v.PurchasePrice), v.PurchaseDate.UTC().Format("January 2, 2006"), change)
	}
	if c.RangeCalibrated {
		b.WriteString("\nWe checked this method against past sales: 80% of the homes sold within a range drawn this way.")
	} else {
		b.WriteString("\nThe range is our judgment from these sales; it is wider or narrower as they agree less or more.")
	}
	fmt.Fprintf(&b, "\n\nHow the market around %s has moved, from our own sales records:\n", areaNames(m.Areas))
	for _, l := range m.Lines {
		b.WriteString("- " + l + "\n")
	}
	b.WriteString("\nThis is an estimate from recorded sales, not an appraisal: it cannot see your home's condition or the work you have done on it. " +
		"If you would like a full valuation, or are thinking about selling or refinancing, reply and we will arrange a visit.")
	return subject, b.String()
}

// miles writes a radius: "0.5", "2" or "1.2".
func miles(r float64) string {
	if r == math.Trunc(r) {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}

// HomeValueExecutor runs HOME_VALUE_EMAIL from the HOME_VALUATION output
// among its inputs. Like EMAIL_SEQUENCE, with consent a profile without the
// sender or the postal address fails the step permanently, naming them.
type HomeValueExecutor struct {
	Client    *ent.Client
	Now       func() time.Time
	PublicURL string
}

// Execute implements engine.Executor.
func (x HomeValueExecutor) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	var v homevalue.Valuation
	if err := spec.DecodeInput(sc.Inputs, "purchaseTransactionId", &v); err != nil {
		return nil, engine.Permanent(fmt.Errorf("a home-value email needs a HOME_VALUATION step among its dependencies: %w", err))
	}
	c, loc, err := crm.LoadClient(ctx, x.Client, sc)
	if err != nil {
		return nil, err
	}
	org := c.Edges.Organization
	r := Recipient{ClientID: c.ID, Name: c.Name, EmailOptIn: c.EmailOptIn}
	if c.Email != nil {
		r.Email = *c.Email
	}
	sender := Sender{Name: org.SenderName, Email: org.SenderEmail, Brokerage: org.BrokerageName, PostalAddress: org.PostalAddress,
		Phone: org.Phone, Website: org.Website, Signature: org.Signature}
	if sender.Brokerage == "" {
		sender.Brokerage = org.Name
	}
	now := x.Now()
	areas := []string{v.Zip}
	if v.Zip == "" {
		areas = []string{v.City}
	}
	market, err := LoadMarket(ctx, x.Client, areas, now, loc)
	if err != nil {
		return nil, err
	}
	in := HomeValueInput{Recipient: r, Sender: sender, Valuation: v, Market: market, Now: now, Loc: loc}
	var nonce []byte
	if r.EmailOptIn && r.Email != "" {
		if missing := sender.Missing(); len(missing) > 0 {
			return nil, engine.Permanent(fmt.Errorf("the organization's profile lacks %s, which every email needs (CAN-SPAM: who sends it and a postal address); set them with updateOrganization",
				strings.Join(missing, ", ")))
		}
		if len(org.UnsubscribeKey) == 0 {
			return nil, engine.Permanent(errors.New("the organization has no unsubscribe key; restart the server to migrate it"))
		}
		base := strings.TrimRight(x.PublicURL, "/")
		if base == "" {
			return nil, engine.Permanent(errors.New("the server has no public URL (--public-url) to build unsubscribe links on"))
		}
		nonce = messageNonce(org.UnsubscribeKey, sc.RunID, sc.StepKey, 0)
		in.UnsubscribeURL = base + "/u/" + SignToken(org.UnsubscribeKey, nonce)
	}
	out := PlanHomeValueEmail(in)
	if m := out.Message; m != nil {
		sc.AddEffect(func(ctx context.Context, db *ent.Client) error {
			err := db.EmailMessage.Create().
				SetClientID(c.ID).SetTo(m.To).SetSubject(m.Subject).SetBody(m.Body).SetScheduledAt(m.ScheduledAt).
				SetFromName(m.FromName).SetFromEmail(m.FromEmail).
				SetListUnsubscribe(m.ListUnsubscribe).SetListUnsubscribePost(m.ListUnsubscribePost).
				SetUnsubscribeNonce(EncodeNonce(nonce)).
				SetRunID(sc.RunID).SetStepKey(sc.StepKey).SetPlanIndex(0).
				OnConflictColumns(emailmessage.FieldRunID, emailmessage.FieldStepKey, emailmessage.FieldPlanIndex).DoNothing().
				Exec(ctx)
			// DO NOTHING reports a message this run and step already wrote
			// (a re-executed step) as no row.
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("scheduling the home-value email: %w", err)
			}
			return nil
		})
	}
	return &out, nil
}
