package rule

import (
	"context"
	stdsql "database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"entgo.io/ent"

	"github.com/estateflow/estateflow/ent/internal"
	"github.com/estateflow/estateflow/ent/organization"
	"github.com/estateflow/estateflow/ent/privacy"
	"github.com/estateflow/estateflow/tenant"
)

// tableOfID maps the start of each global ID range to its table. IDs are
// globally unique (ent's sql/globalid): the upper 32 bits name the type.
var tableOfID = func() map[int]string {
	var starts map[string]int
	if err := json.Unmarshal([]byte(internal.IncrementStarts), &starts); err != nil {
		panic(fmt.Sprintf("rule: reading ent's global ID ranges: %v", err))
	}
	tables := make(map[int]string, len(starts))
	for table, start := range starts {
		tables[start] = table
	}
	return tables
}()

// ReferencesInViewerOrg refuses a mutation that points an edge at a row of
// another organization (or at no row): creating an interaction for another
// brokerage's client would otherwise pass the foreign key and leak the
// client through the new row's edges. The refusal is a
// tenant.ForeignReferenceError, which callers present exactly like an
// unknown ID.
func ReferencesInViewerOrg() privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		v, err := viewerOf(ctx)
		if err != nil {
			return err
		}
		q, ok := m.(querier)
		if !ok {
			return privacy.Denyf("rule: %T cannot run queries", m)
		}
		for _, edge := range m.AddedEdges() {
			if edge == orgEdge {
				continue // checked by CreateInViewerOrg
			}
			if err := checkReferences(ctx, q, v.OrgID, edge, m.AddedIDs(edge)); err != nil {
				return err
			}
		}
		return privacy.Skip
	})
}

// orgEdge is the edge TenantMixin adds next to orgColumn.
const orgEdge = "organization"

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error)
}

// checkReferences counts, per table, how many of ids belong to org; one
// query per table whatever the number of IDs. The query runs on the
// mutation's own driver, inside its transaction if it has one.
func checkReferences(ctx context.Context, q querier, org int, edge string, ids []ent.Value) error {
	byTable := map[string][]int{}
	for _, raw := range ids {
		id, ok := raw.(int)
		if !ok {
			return privacy.Denyf("rule: edge %s has a non-integer ID %v", edge, raw)
		}
		if tenant.KnownInOrg(ctx, id) {
			continue
		}
		table, ok := tableOfID[id>>32<<32]
		if !ok || table == organization.Table {
			return &tenant.ForeignReferenceError{Edge: edge, ID: id}
		}
		byTable[table] = append(byTable[table], id)
	}
	for table, tableIDs := range byTable {
		slices.Sort(tableIDs)
		tableIDs = slices.Compact(tableIDs)
		found, err := countInOrg(ctx, q, table, org, tableIDs)
		if err != nil {
			return fmt.Errorf("rule: checking %s references: %w", edge, err)
		}
		if found != len(tableIDs) {
			return &tenant.ForeignReferenceError{Edge: edge, ID: tableIDs[0]}
		}
		tenant.RememberInOrg(ctx, tableIDs...)
	}
	return nil
}

// countInOrg uses $N placeholders, which both PostgreSQL and the SQLite
// driver (modernc.org/sqlite) read as positional, so that PostgreSQL gets a
// prepared statement from the connection's cache instead of parsing a new
// text for every ID.
func countInOrg(ctx context.Context, q querier, table string, org int, ids []int) (int, error) {
	var b strings.Builder
	b.WriteString(`SELECT COUNT(*) FROM "`)
	b.WriteString(table)
	b.WriteString(`" WHERE "` + orgColumn + `" = $1 AND "id" IN (`)
	args := make([]any, 0, len(ids)+1)
	args = append(args, org)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("$" + strconv.Itoa(i+2))
		args = append(args, id)
	}
	b.WriteByte(')')
	rows, err := q.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
	}
	return n, rows.Err()
}
