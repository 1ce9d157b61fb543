package rest

import (
	"encoding/json"
	"net/http"
	"strings"

	"entgo.io/ent/dialect/sql"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/internal/errcode"
)

// IdempotencyKeyHeader may carry the idempotency key instead of the body's
// idempotencyKey.
const IdempotencyKeyHeader = "Idempotency-Key"

// startBody is POST /runs's body. IDs stay raw to be read as strings or
// numbers, with errors naming the field.
type startBody struct {
	PackageID      json.RawMessage `json:"packageId"`
	PropertyID     json.RawMessage `json:"propertyId"`
	ClientID       json.RawMessage `json:"clientId"`
	Params         map[string]any  `json:"params"`
	IdempotencyKey *string         `json:"idempotencyKey"`
}

// startRun handles POST /runs: the engine call of the startRun mutation.
// A new run is 201 with a Location; a start repeated with an idempotency key
// already used for the same request returns the existing run with 200.
func (h *Handler) startRun(w http.ResponseWriter, r *http.Request) {
	req, err := readStartRequest(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	existed := false
	if req.IdempotencyKey != nil && *req.IdempotencyKey != "" {
		// Only to choose the status: the engine makes the real check. A
		// concurrent start with the same key may still answer 201.
		if existed, err = h.client.Run.Query().Where(run.IdempotencyKey(*req.IdempotencyKey)).Exist(ctx); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	started, err := h.engine.StartRun(ctx, req)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out, err := h.loadRun(r, started.ID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	w.Header().Set("Location", runsPath+"/"+out.ID)
	writeJSON(w, status, out)
}

func readStartRequest(r *http.Request) (engine.StartRequest, error) {
	var body startBody
	if err := decodeBody(r, &body); err != nil {
		return engine.StartRequest{}, err
	}
	if isAbsent(body.PackageID) {
		return engine.StartRequest{}, badInput("packageId", "packageId is required")
	}
	pkg, err := parseID("packageId", body.PackageID)
	if err != nil {
		return engine.StartRequest{}, err
	}
	req := engine.StartRequest{PackageID: pkg, Params: body.Params, IdempotencyKey: body.IdempotencyKey}
	if req.PropertyID, err = optionalID("propertyId", body.PropertyID); err != nil {
		return engine.StartRequest{}, err
	}
	if req.ClientID, err = optionalID("clientId", body.ClientID); err != nil {
		return engine.StartRequest{}, err
	}
	if values := r.Header.Values(IdempotencyKeyHeader); len(values) > 0 {
		key := strings.TrimSpace(values[0])
		switch {
		case len(values) > 1:
			return engine.StartRequest{}, badInput("idempotencyKey", "send one %s header", IdempotencyKeyHeader)
		case req.IdempotencyKey != nil && *req.IdempotencyKey != key:
			return engine.StartRequest{}, badInput("idempotencyKey", "the %s header and idempotencyKey differ", IdempotencyKeyHeader)
		}
		req.IdempotencyKey = &key
	}
	return req, nil
}

// listRuns handles GET /runs: the organization's runs, newest first (IDs
// grow with creation), a page at a time. nextCursor is null on the last page.
func (h *Handler) listRuns(w http.ResponseWriter, r *http.Request) {
	lq, err := parseListQuery(r.URL.Query())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	q := h.client.Run.Query().Order(run.ByID(sql.OrderDesc())).Limit(lq.limit + 1)
	if lq.after != 0 {
		q.Where(run.IDLT(lq.after))
	}
	if len(lq.statuses) > 0 {
		q.Where(run.StatusIn(lq.statuses...))
	}
	runs, err := q.All(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var next *string
	if len(runs) > lq.limit {
		runs = runs[:lq.limit]
		c := encodeCursor(runs[len(runs)-1].ID)
		next = &c
	}
	out := struct {
		Runs       []runJSON `json:"runs"`
		NextCursor *string   `json:"nextCursor"`
	}{Runs: make([]runJSON, 0, len(runs)), NextCursor: next}
	for _, rn := range runs {
		out.Runs = append(out.Runs, newRunJSON(rn))
	}
	writeJSON(w, http.StatusOK, out)
}

// getRun handles GET /runs/{id}. Another organization's run is not found,
// with the same answer as an ID that does not exist.
func (h *Handler) getRun(w http.ResponseWriter, r *http.Request) {
	id, err := parseIDString("id", r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out, err := h.loadRun(r, id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// loadRun reads a run of the viewer's organization with its steps.
func (h *Handler) loadRun(r *http.Request, id int) (runJSON, error) {
	rn, err := h.client.Run.Query().
		Where(run.ID(id)).
		WithSteps(func(q *ent.StepRunQuery) { q.Order(steprun.ByPosition(), steprun.ByID()) }).
		Only(r.Context())
	if ent.IsNotFound(err) {
		return runJSON{}, newError(errcode.NotFound, "id", "run not found")
	}
	if err != nil {
		return runJSON{}, err
	}
	return newRunWithSteps(rn)
}
