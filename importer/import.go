package importer

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/modules/automation"
)

// Summary reports what an import did.
type Summary struct {
	Imported  int // new properties
	Updated   int // existing properties whose data changed
	Unchanged int // existing properties already up to date
	Rejected  []RowError
}

// Options tune an import.
type Options struct {
	// Progress, when set, is called after each batch with the rows done so
	// far and the total.
	Progress func(done, total int)
}

// batchSize keeps each transaction short and each INSERT under SQLite's
// limit on bound parameters.
const batchSize = 200

// Import reads a property CSV and upserts its rows into the organization of
// ctx's viewer. It stops only for a file it cannot read at all; bad rows are
// reported in the summary.
//
// Each batch is one transaction of eng (engine.Transact), which also
// records the automation events of the properties whose status the batch
// changed, a new property's included (automation.PropertyStatusesChanged).
// eng need not be started: its transactions commit the triggers for the
// engine of a server to act on.
func Import(ctx context.Context, eng *engine.Engine, r io.Reader, opts Options) (Summary, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return Summary{}, fmt.Errorf("reading the header: %w", err)
	}
	parser, err := newRowParser(header)
	if err != nil {
		return Summary{}, err
	}
	var (
		sum     Summary
		rows    []Row
		seenRef = map[string]int{}
	)
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var parseErr *csv.ParseError
		if errors.As(err, &parseErr) {
			sum.Rejected = append(sum.Rejected, RowError{Line: parseErr.Line, Reason: "malformed CSV: " + parseErr.Err.Error()})
			continue
		}
		if err != nil {
			return sum, fmt.Errorf("reading line %d: %w", line, err)
		}
		line, _ = cr.FieldPos(0)
		row, err := parser.parse(line, rec)
		if err != nil {
			sum.Rejected = append(sum.Rejected, err.(RowError))
			continue
		}
		if row.ExternalRef != nil {
			if first, dup := seenRef[*row.ExternalRef]; dup {
				sum.Rejected = append(sum.Rejected, RowError{Line: line, Reason: fmt.Sprintf("id %q repeats line %d", *row.ExternalRef, first)})
				continue
			}
			seenRef[*row.ExternalRef] = line
		}
		rows = append(rows, row)
	}
	total := len(rows) + len(sum.Rejected)
	done := len(sum.Rejected)
	for start := 0; start < len(rows); start += batchSize {
		batch := rows[start:min(start+batchSize, len(rows))]
		if err := importBatch(ctx, eng, batch, &sum); err != nil {
			return sum, err
		}
		done += len(batch)
		if opts.Progress != nil {
			opts.Progress(done, total)
		}
	}
	return sum, nil
}

// importBatch writes a batch in one transaction. If the database refuses
// it, the rows are retried one by one, so that only the faulty row is
// rejected.
func importBatch(ctx context.Context, eng *engine.Engine, batch []Row, sum *Summary) error {
	var s Summary
	err := eng.Transact(ctx, func(ctx context.Context, tx *ent.Client) error {
		s = Summary{}
		return writeRows(ctx, tx, batch, &s)
	})
	if err == nil {
		sum.Imported += s.Imported
		sum.Updated += s.Updated
		sum.Unchanged += s.Unchanged
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, row := range batch {
		var one Summary
		err := eng.Transact(ctx, func(ctx context.Context, tx *ent.Client) error {
			one = Summary{}
			return writeRows(ctx, tx, []Row{row}, &one)
		})
		if err != nil {
			sum.Rejected = append(sum.Rejected, RowError{Line: row.Line, Reason: "refused by the database: " + dbReason(err)})
			continue
		}
		sum.Imported += one.Imported
		sum.Updated += one.Updated
		sum.Unchanged += one.Unchanged
	}
	return nil
}

// writeRows writes rows in db's transaction, which ctx carries (Import),
// and the automation events of the statuses they changed.
func writeRows(ctx context.Context, db *ent.Client, rows []Row, sum *Summary) error {
	var refs []string
	for _, r := range rows {
		if r.ExternalRef != nil {
			refs = append(refs, *r.ExternalRef)
		}
	}
	existing := map[string]*ent.Property{}
	if len(refs) > 0 {
		found, err := db.Property.Query().Where(property.ExternalRefIn(refs...)).All(ctx)
		if err != nil {
			return err
		}
		for _, p := range found {
			existing[*p.ExternalRef] = p
		}
	}
	var (
		creates []*ent.PropertyCreate
		changes []automation.PropertyStatusChange
	)
	for _, r := range rows {
		var old *ent.Property
		if r.ExternalRef != nil {
			old = existing[*r.ExternalRef]
		}
		switch {
		case old == nil:
			c := db.Property.Create()
			r.apply(c.Mutation())
			creates = append(creates, c)
		case r.matches(old):
			sum.Unchanged++
		case r.Status != old.Status:
			// The event reads the property as written.
			upd := db.Property.UpdateOne(old)
			r.apply(upd.Mutation())
			p, err := upd.Save(ctx)
			if err != nil {
				return err
			}
			changes = append(changes, automation.PropertyStatusChange{Property: p, From: old.Status})
			sum.Updated++
		default:
			upd := db.Property.UpdateOne(old)
			r.apply(upd.Mutation())
			if err := upd.Exec(ctx); err != nil {
				return err
			}
			sum.Updated++
		}
	}
	if len(creates) > 0 {
		created, err := db.Property.CreateBulk(creates...).Save(ctx)
		if err != nil {
			return err
		}
		for _, p := range created {
			changes = append(changes, automation.PropertyStatusChange{Property: p})
		}
		sum.Imported += len(creates)
	}
	return automation.PropertyStatusesChanged(ctx, db, changes)
}

// apply sets the row's values on a property mutation. Columns the file
// does not carry (or leaves empty) clear the old value, so that a re-import
// makes the record match the file.
func (r Row) apply(m *ent.PropertyMutation) {
	if r.ExternalRef != nil {
		m.SetExternalRef(*r.ExternalRef)
	}
	m.SetAddress(r.Address)
	m.SetCity(r.City)
	m.SetState(r.State)
	m.SetZip(r.Zip)
	m.SetLatitude(r.Latitude)
	m.SetLongitude(r.Longitude)
	m.SetPropertyType(r.Type)
	m.SetStatus(r.Status)
	setInt(m.SetBeds, m.ClearBeds, r.Beds)
	setInt(m.SetSqft, m.ClearSqft, r.Sqft)
	setInt(m.SetLotSqft, m.ClearLotSqft, r.LotSqft)
	setInt(m.SetYearBuilt, m.ClearYearBuilt, r.YearBuilt)
	setInt(m.SetGarageSpaces, m.ClearGarageSpaces, r.GarageSpaces)
	setInt(m.SetListPrice, m.ClearListPrice, r.ListPrice)
	setInt(m.SetSalePrice, m.ClearSalePrice, r.SalePrice)
	if r.Baths != nil {
		m.SetBaths(*r.Baths)
	} else {
		m.ClearBaths()
	}
	setTime(m.SetListDate, m.ClearListDate, r.ListDate)
	setTime(m.SetSaleDate, m.ClearSaleDate, r.SaleDate)
}

func setInt(set func(int), clear func(), v *int) {
	if v != nil {
		set(*v)
	} else {
		clear()
	}
}

func setTime(set func(time.Time), clear func(), v *time.Time) {
	if v != nil {
		set(*v)
	} else {
		clear()
	}
}

// matches reports whether the stored property already holds the row.
func (r Row) matches(p *ent.Property) bool {
	return p.Address == r.Address && p.City == r.City && p.State == r.State && p.Zip == r.Zip &&
		p.Latitude == r.Latitude && p.Longitude == r.Longitude && p.PropertyType == r.Type && p.Status == r.Status &&
		eqPtr(p.Beds, r.Beds) && eqPtr(p.Baths, r.Baths) && eqPtr(p.Sqft, r.Sqft) && eqPtr(p.LotSqft, r.LotSqft) &&
		eqPtr(p.YearBuilt, r.YearBuilt) && eqPtr(p.GarageSpaces, r.GarageSpaces) && eqPtr(p.ListPrice, r.ListPrice) &&
		eqPtr(p.SalePrice, r.SalePrice) && eqTime(p.ListDate, r.ListDate) && eqTime(p.SaleDate, r.SaleDate)
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func eqTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// dbReason keeps driver text out of the report, except for the validation
// messages ent writes itself.
func dbReason(err error) string {
	var ve *ent.ValidationError
	if errors.As(err, &ve) {
		return ve.Error()
	}
	if ent.IsConstraintError(err) {
		return "a database constraint (a duplicate id?)"
	}
	return "unexpected database error"
}
