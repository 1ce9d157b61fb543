package analytics

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/cmacalibration"
)

// calibrationSource is a Source that also stores the organization's
// calibration; Value reads it when the options bring none.
type calibrationSource interface {
	Calibration(ctx context.Context) (*Calibration, error)
}

// Calibration implements calibrationSource: the viewer's organization's
// latest stored calibration, or nil if it has none.
func (s EntSource) Calibration(ctx context.Context) (*Calibration, error) {
	return LatestCalibration(ctx, s.Client)
}

// LatestCalibration returns the viewer's organization's latest stored
// calibration, or nil if it has none.
func LatestCalibration(ctx context.Context, client *ent.Client) (*Calibration, error) {
	row, err := client.CMACalibration.Query().Order(ent.Desc(cmacalibration.FieldCalibratedAt), ent.Desc(cmacalibration.FieldID)).First(ctx)
	switch {
	case ent.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("analytics: loading the CMA calibration: %w", err)
	}
	cal := &Calibration{CalibratedAt: row.CalibratedAt, Sales: row.Sales}
	if err := json.Unmarshal(row.Grades, &cal.Grades); err != nil {
		return nil, fmt.Errorf("analytics: reading the CMA calibration %d: %w", row.ID, err)
	}
	return cal, nil
}

// SaveCalibration stores cal for the viewer's organization.
func SaveCalibration(ctx context.Context, client *ent.Client, cal *Calibration) error {
	grades, err := json.Marshal(cal.Grades)
	if err != nil {
		return err
	}
	if err := client.CMACalibration.Create().SetCalibratedAt(cal.CalibratedAt).SetSales(cal.Sales).SetGrades(grades).Exec(ctx); err != nil {
		return fmt.Errorf("analytics: saving the CMA calibration: %w", err)
	}
	return nil
}
