package crm

import (
	"errors"
	"testing"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/deal"
)

func TestCheckMove(t *testing.T) {
	tests := []struct {
		from, to deal.Stage
		ok       bool
	}{
		{deal.StageLEAD, deal.StageSHOWING, true},
		{deal.StageLEAD, deal.StageOFFER, true},  // a seller's deal can skip showings
		{deal.StageOFFER, deal.StageOFFER, true}, // a repeated move changes nothing
		{deal.StageINSPECTION, deal.StageFELL_THROUGH, true},
		{deal.StageOFFER, deal.StageSHOWING, false},
		{deal.StageCLOSED, deal.StageOFFER, false},
		{deal.StageCLOSED, deal.StageFELL_THROUGH, false},
		{deal.StageFELL_THROUGH, deal.StageOFFER, false},
	}
	for _, tt := range tests {
		err := CheckMove(tt.from, tt.to)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrIllegalMove)) {
			t.Errorf("%s → %s: %v, want ok=%v", tt.from, tt.to, err, tt.ok)
		}
	}
}

func TestChecklistDueDatesFollowKeyDates(t *testing.T) {
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	accepted, inspection, closing := day(12, 1), day(12, 11), day(12, 30)
	d := &ent.Deal{AcceptanceDate: &accepted, InspectionDeadline: &inspection, ClosingDate: &closing}
	now := day(11, 27)
	want := map[deal.Stage][]string{
		deal.StageUNDER_CONTRACT: {"contract.inspection 2026-12-03", "contract.earnest-money 2026-12-04"},
		deal.StageINSPECTION:     {"inspection.review 2026-12-10", "inspection.repairs 2026-12-11"},
		deal.StageAPPRAISAL:      {"appraisal.confirm 2026-12-20"},
		deal.StageCLOSING:        {"closing.disclosure 2026-12-27", "closing.walkthrough 2026-12-29"},
		deal.StageCLOSED:         {"closed.thanks 2027-01-01"},
		// Two business days after Friday Nov 27: Tuesday Dec 1.
		deal.StageSHOWING: {"showing.schedule 2026-12-01"},
	}
	for stage, items := range want {
		got := Checklist(d, stage, now)
		if len(got) != len(items) {
			t.Fatalf("%s: %d items, want %d", stage, len(got), len(items))
		}
		for i, item := range got {
			if s := item.Key + " " + item.DueAt.Format("2006-01-02"); s != items[i] {
				t.Errorf("%s item %d: %s, want %s", stage, i, s, items[i])
			}
		}
	}
}
