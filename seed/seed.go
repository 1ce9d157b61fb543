package seed

import (
	"context"
	"fmt"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/organization"
	"github.com/estateflow/estateflow/tenant"
)

// DemoOrgSlug is the slug of the organization a new database starts with.
const DemoOrgSlug = "demo"

// Result says what Bootstrap did.
type Result struct {
	Org        *ent.Organization
	Created    bool // the organization was new
	Properties int
	Clients    int
}

// Bootstrap makes sure the demo organization exists. When it is new, it gets
// the built-in packages and, if withDemoData is set, the generated demo
// properties and clients. All of it is written in one transaction, so a crash
// half-way leaves an empty database that the next start seeds again.
func Bootstrap(ctx context.Context, client *ent.Client, withDemoData bool, now time.Time) (Result, error) {
	ctx = tenant.SystemContext(ctx)
	org, err := client.Organization.Query().Where(organization.Slug(DemoOrgSlug)).Only(ctx)
	switch {
	case err == nil:
		return Result{Org: org}, nil
	case !ent.IsNotFound(err):
		return Result{}, fmt.Errorf("seed: looking up demo organization: %w", err)
	}
	tx, err := client.Tx(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("seed: %w", err)
	}
	res, err := bootstrapTx(ctx, tx.Client(), withDemoData, now)
	if err != nil {
		_ = tx.Rollback()
	} else if err = tx.Commit(); err != nil {
		err = fmt.Errorf("seed: commit: %w", err)
	}
	if ent.IsConstraintError(err) {
		// Another replica created the organization first; use its work.
		org, qerr := client.Organization.Query().Where(organization.Slug(DemoOrgSlug)).Only(ctx)
		if qerr != nil {
			return Result{}, fmt.Errorf("seed: %w (then: %w)", err, qerr)
		}
		return Result{Org: org}, nil
	}
	return res, err
}

func bootstrapTx(ctx context.Context, db *ent.Client, withDemoData bool, now time.Time) (Result, error) {
	org, err := db.Organization.Create().
		SetName("Demo Realty").
		SetSlug(DemoOrgSlug).
		SetTimezone("America/Chicago").
		// A complete profile, so that every built-in package runs end to
		// end: the demo's email needs a sender and a postal address, its
		// posts a website. example.com and 555-01xx are reserved for
		// examples, so nothing can reach a real person.
		SetBrokerageName("Demo Realty Austin").
		SetPostalAddress("2100 S Lamar Blvd, Suite 200, Austin, TX 78704").
		SetWebsite("https://demo-realty.example.com").
		SetPhone("+1 512-555-0100").
		SetSenderName("Jordan Reyes").
		SetSenderEmail("jordan.reyes@demo-realty.example.com").
		SetSignature("Jordan Reyes, REALTOR®\nDemo Realty Austin\n+1 512-555-0100").
		Save(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("seed: creating demo organization: %w", err)
	}
	if err := CreatePackages(ctx, db, org.ID, BuiltinPackages()); err != nil {
		return Result{}, err
	}
	res := Result{Org: org, Created: true}
	if withDemoData {
		data := Generate(now)
		if res.Properties, err = createProperties(ctx, db, org.ID, data.Properties); err != nil {
			return Result{}, err
		}
		if res.Clients, err = createClients(ctx, db, org.ID, data.Clients); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// CreatePackages writes package definitions into an organization.
func CreatePackages(ctx context.Context, db *ent.Client, orgID int, defs []PackageDef) error {
	for _, def := range defs {
		pkg, err := db.WorkflowPackage.Create().
			SetOrganizationID(orgID).
			SetKey(def.Key).
			SetName(def.Name).
			SetDescription(def.Description).
			SetSubject(def.Subject).
			Save(ctx)
		if err != nil {
			return fmt.Errorf("seed: creating package %q: %w", def.Key, err)
		}
		steps := make([]*ent.PackageStepCreate, len(def.Steps))
		for i, s := range def.Steps {
			deps := s.DependsOn
			if deps == nil {
				deps = []string{}
			}
			steps[i] = db.PackageStep.Create().
				SetOrganizationID(orgID).
				SetPackageID(pkg.ID).
				SetKey(s.Key).
				SetName(s.Name).
				SetKind(s.Kind).
				SetDependsOn(deps).
				SetPosition(i)
		}
		if _, err := db.PackageStep.CreateBulk(steps...).Save(ctx); err != nil {
			return fmt.Errorf("seed: creating steps of package %q: %w", def.Key, err)
		}
	}
	return nil
}

// bulkSize keeps each INSERT well under SQLite's limit on bound parameters.
const bulkSize = 100

func createProperties(ctx context.Context, db *ent.Client, orgID int, props []DemoProperty) (int, error) {
	for start := 0; start < len(props); start += bulkSize {
		end := min(start+bulkSize, len(props))
		builders := make([]*ent.PropertyCreate, 0, end-start)
		for _, p := range props[start:end] {
			create := db.Property.Create()
			if p.LotSqft > 0 {
				create.SetLotSqft(p.LotSqft)
			}
			builders = append(builders, create.
				SetOrganizationID(orgID).
				SetExternalRef(p.ExternalRef).
				SetAddress(p.Address).
				SetCity(p.City).
				SetState(p.State).
				SetZip(p.Zip).
				SetLatitude(p.Latitude).
				SetLongitude(p.Longitude).
				SetPropertyType(p.Type).
				SetBeds(p.Beds).
				SetBaths(p.Baths).
				SetSqft(p.Sqft).
				SetYearBuilt(p.YearBuilt).
				SetGarageSpaces(p.GarageSpaces).
				SetFeatures(p.Features).
				SetDescription(p.Description).
				SetStatus(p.Status).
				SetNillableListPrice(p.ListPrice).
				SetNillableListDate(p.ListDate).
				SetNillableSalePrice(p.SalePrice).
				SetNillableSaleDate(p.SaleDate))
		}
		if _, err := db.Property.CreateBulk(builders...).Save(ctx); err != nil {
			return 0, fmt.Errorf("seed: creating demo properties: %w", err)
		}
	}
	return len(props), nil
}

func createClients(ctx context.Context, db *ent.Client, orgID int, clients []DemoClient) (int, error) {
	for _, c := range clients {
		created, err := db.Contact.Create().
			SetOrganizationID(orgID).
			SetName(c.Name).
			SetEmail(c.Email).
			SetPhone(c.Phone).
			SetStage(c.Stage).
			SetSource(c.Source).
			SetBudgetMin(c.BudgetMin).
			SetBudgetMax(c.BudgetMax).
			SetPreApproved(c.PreApproved).
			SetDesiredBeds(c.DesiredBeds).
			SetPreferredAreas(c.PreferredAreas).
			SetMoveTimeline(c.MoveTimelineMonths).
			SetNillableLastContactedAt(c.LastContactedAt).
			SetEmailOptIn(c.EmailOptIn).
			SetSmsOptIn(c.SMSOptIn).
			SetNotes(c.Notes).
			SetCreatedAt(c.CreatedAt).
			Save(ctx)
		if err != nil {
			return 0, fmt.Errorf("seed: creating demo client %q: %w", c.Name, err)
		}
		if len(c.Interactions) == 0 {
			continue
		}
		builders := make([]*ent.InteractionCreate, len(c.Interactions))
		for i, in := range c.Interactions {
			builders[i] = db.Interaction.Create().
				SetOrganizationID(orgID).
				SetClientID(created.ID).
				SetType(in.Type).
				SetAt(in.At).
				SetNote(in.Note)
		}
		if _, err := db.Interaction.CreateBulk(builders...).Save(ctx); err != nil {
			return 0, fmt.Errorf("seed: creating interactions of %q: %w", c.Name, err)
		}
	}
	return len(clients), nil
}
