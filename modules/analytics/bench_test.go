package analytics

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/tenant"
)

const benchProperties = 100_000

// BenchmarkCMA100k values homes one at a time in an organization of
// 100,000 properties spread over a 40×40-mile metro area, and reports the
// median time of one CMA. It also checks that the search query uses the
// (organization, latitude, longitude) index.
func BenchmarkCMA100k(b *testing.B) {
	for _, d := range []struct {
		name     string
		postgres bool
	}{{"sqlite", false}, {"postgres", true}} {
		b.Run(d.name, func(b *testing.B) {
			if d.postgres && os.Getenv(testdb.EnvURL) == "" {
				b.Skip("PostgreSQL benchmark: set " + testdb.EnvURL)
			}
			if !d.postgres {
				b.Setenv(testdb.EnvURL, "")
			}
			db := testdb.Open(b, database.Options{})
			ctx, subjects := loadMetro(b, db)
			checkIndexUsed(b, db, ctx)
			src := EntSource{Client: db.Client}
			var times []time.Duration
			i := 0
			for b.Loop() {
				s := subjects[i%len(subjects)]
				i++
				start := time.Now()
				if _, err := Value(ctx, src, s, Options{}, nil); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// loadMetro writes the benchmark's properties and returns active listings
// to value.
func loadMetro(b *testing.B, db *database.DB) (context.Context, []Home) {
	b.Helper()
	org, err := db.Client.Organization.Create().SetName("Metro").SetSlug("metro").Save(tenant.SystemContext(context.Background()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID})
	rng := rand.New(rand.NewPCG(7, 11))
	now := time.Now().UTC()
	const batch = 500
	for start := 0; start < benchProperties; start += batch {
		builders := make([]*ent.PropertyCreate, 0, batch)
		for range batch {
			sqft := 800 + rng.IntN(3000)
			lat := 30.0 + rng.Float64()*0.58 // about 40 miles
			lng := -97.9 + rng.Float64()*0.67
			price := int(float64(sqft) * (200 + 200*rng.Float64()))
			c := db.Client.Property.Create().SetCity("Metro").SetLatitude(lat).SetLongitude(lng).
				SetSqft(sqft).SetBeds(1 + sqft/700).SetBaths(float64(1 + sqft/1200)).SetYearBuilt(1950 + rng.IntN(75))
			if rng.Float64() < 0.7 {
				c.SetStatus(property.StatusSOLD).SetSalePrice(price).SetSaleDate(now.AddDate(0, 0, -rng.IntN(900)))
			} else {
				c.SetStatus(property.StatusACTIVE).SetListPrice(price)
			}
			builders = append(builders, c)
		}
		if err := db.Client.Property.CreateBulk(builders...).Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if db.Dialect == dialect.Postgres {
		if _, err := db.SQL.Exec("ANALYZE properties"); err != nil {
			b.Fatal(err)
		}
	}
	listings, err := db.Client.Property.Query().Where(property.StatusEQ(property.StatusACTIVE)).Limit(500).All(ctx)
	if err != nil {
		b.Fatal(err)
	}
	homes := make([]Home, len(listings))
	for i, p := range listings {
		homes[i] = HomeOf(p)
	}
	return ctx, homes
}

// checkIndexUsed asks the database how it would run the comp search.
func checkIndexUsed(b *testing.B, db *database.DB, ctx context.Context) {
	b.Helper()
	v, _ := tenant.FromContext(ctx)
	const where = `organization_id = %d AND latitude >= 30.2 AND latitude <= 30.23 AND longitude >= -97.6 AND longitude <= -97.56 AND status = 'SOLD'`
	query := "EXPLAIN QUERY PLAN SELECT * FROM properties WHERE " + fmt.Sprintf(where, v.OrgID)
	if db.Dialect == dialect.Postgres {
		query = "EXPLAIN SELECT * FROM properties WHERE " + fmt.Sprintf(where, v.OrgID)
	}
	rows, err := db.SQL.QueryContext(ctx, query)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var plan strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintln(&plan, vals...)
	}
	if !strings.Contains(plan.String(), "property_organization_id_latitude_longitude") {
		b.Fatalf("the comp search does not use the geographic index:\n%s", plan.String())
	}
	b.Logf("query plan:\n%s", plan.String())
}
