package schema

import (
	"crypto/rand"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"

	"github.com/estateflow/estateflow/ent/privacy"
	"github.com/estateflow/estateflow/ent/schema/rule"
)

// Organization is a brokerage: the tenant that owns every other record. Its
// profile (brokerage name, postal address, website, phone, sending agent) is
// what lawful email and listing copy need: CAN-SPAM requires a valid postal
// address in every commercial email, and posts link to the website.
type Organization struct{ ent.Schema }

// Mixin of the Organization.
func (Organization) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}} }

// profileAnnotation keeps the profile's free text out of the generated
// filters: nobody searches organizations by their postal address.
var profileAnnotation = entgql.Skip(entgql.SkipWhereInput)

// Fields of the Organization.
func (Organization) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).Validate(validateNotBlank),
		field.String("slug").
			Unique().
			Immutable().
			Match(regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)).
			Annotations(entgql.Skip(entgql.SkipMutationUpdateInput)),
		// The org's IANA time zone: quiet hours, business hours and
		// schedules are local to it.
		field.String("timezone").Default("America/Los_Angeles").Validate(validateTimezone),
		// The brokerage's legal or trade name, as it appears in email footers
		// and ads (often differs from the account's name).
		field.String("brokerage_name").Default("").MaxLen(200).Validate(validateBlankOrText).Annotations(profileAnnotation),
		// The physical postal address that CAN-SPAM requires in commercial
		// email, one line or several.
		field.String("postal_address").Default("").MaxLen(300).Validate(validateBlankOrText).Annotations(profileAnnotation),
		// The brokerage's public website; listing links are built on it.
		field.String("website").Default("").MaxLen(300).Validate(validateWebsite).Annotations(profileAnnotation),
		field.String("phone").Default("").MaxLen(40).Validate(validateBlankOrPhone).Annotations(profileAnnotation),
		// The agent who signs and sends the organization's emails.
		field.String("sender_name").Default("").MaxLen(200).Validate(validateBlankOrText).Annotations(profileAnnotation),
		field.String("sender_email").Default("").MaxLen(320).Validate(validateBlankOrEmail).Annotations(profileAnnotation),
		field.Text("signature").Default("").MaxLen(2000).Annotations(profileAnnotation),
		// How many days after a run finishes its progress-only events are
		// kept. Past that, the engine compacts them (every transition and
		// outcome stays; see RunEvent). Nil: never compact (the default).
		field.Int("event_retention_days").
			Optional().
			Nillable().
			Range(1, 36500).
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		// The key that signs unsubscribe links. It never leaves the server:
		// a link's token is an HMAC over the email's ID, so it can be checked
		// without a lookup table and cannot be guessed or forged.
		// Optional only so that the column can be added to existing
		// databases; Migrate gives every organization without one a key.
		field.Bytes("unsubscribe_key").
			Optional().
			Sensitive().
			DefaultFunc(NewUnsubscribeKey).
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// NewUnsubscribeKey is a fresh 32-byte HMAC key for signing unsubscribe links.
func NewUnsubscribeKey() []byte {
	k := make([]byte, 32)
	// crypto/rand.Read never returns an error (Go 1.24+).
	_, _ = rand.Read(k)
	return k
}

func validateTimezone(s string) error {
	if s == "" || s == "Local" {
		return errors.New("must be an IANA time zone such as America/Chicago")
	}
	if _, err := time.LoadLocation(s); err != nil {
		return errors.New("must be an IANA time zone such as America/Chicago")
	}
	return nil
}

// validateBlankOrText accepts an empty value (not set) or real text, but not
// white space alone.
func validateBlankOrText(s string) error {
	if s != "" && strings.TrimSpace(s) == "" {
		return errors.New("must not be blank (send an empty string to clear it)")
	}
	return nil
}

func validateBlankOrEmail(s string) error {
	if s == "" {
		return nil
	}
	return validateEmail(s)
}

var phonePattern = regexp.MustCompile(`^\+?[0-9 ().-]{7,40}$`)

func validateBlankOrPhone(s string) error {
	if s == "" || phonePattern.MatchString(s) {
		return nil
	}
	return errors.New("must be a phone number such as +1 512-555-0100")
}

// validateWebsite accepts an absolute http or https address without a query
// or fragment, so that listing paths can be appended to it.
func validateWebsite(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errors.New("must be a web address such as https://example.com")
	}
	return nil
}

// Annotations of the Organization.
func (Organization) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Mutations(entgql.MutationUpdate())}
}

// Policy of the Organization: a viewer sees only its own organization.
// Organizations are created by operators only; an ADMIN may edit their own
// organization's profile (the query filter keeps every other organization
// out of reach of the update).
func (Organization) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			rule.AllowSystem(),
			rule.FilterToViewerOrganization(),
		},
		Mutation: privacy.MutationPolicy{
			rule.AllowSystem(),
			rule.AdminMayUpdateOwnOrganization(),
			rule.OperatorsOnly(),
		},
	}
}
