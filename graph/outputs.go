package graph

import (
	"encoding/json"
	"fmt"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/modules"
	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/crm"
	"github.com/estateflow/estateflow/modules/marketing"
	"github.com/estateflow/estateflow/modules/strategy"
)

// typedOutput decodes a succeeded step's stored output into the Go type of
// its kind, for StepRun.output. Kinds whose module does not exist yet have
// no typed output; outputJSON still carries what they stored.
func typedOutput(s *ent.StepRun) (modules.StepOutput, error) {
	if s.Status != steprun.StatusSUCCEEDED || s.Output == nil {
		return nil, nil
	}
	var out modules.StepOutput
	switch s.Kind {
	case stepkind.CMAAnalysis:
		out = &analytics.Report{}
	case stepkind.ListingStrategy:
		out = &strategy.ListingStrategy{}
	case stepkind.LeadScoring:
		out = &crm.LeadScore{}
	case stepkind.FollowUpScheduling:
		out = &crm.FollowUpPlan{}
	case stepkind.EmailSequence:
		out = &marketing.EmailSequence{}
	case stepkind.SocialTargeting:
		out = &marketing.SocialTargeting{}
	case stepkind.MarketingCampaign:
		out = &marketing.MarketingCampaign{}
	case stepkind.SocialScheduling:
		out = &marketing.SocialSchedule{}
	default:
		return nil, nil
	}
	b, err := json.Marshal(s.Output)
	if err != nil {
		return nil, fmt.Errorf("step run %d output: %w", s.ID, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("step run %d output is not a %s output: %w", s.ID, s.Kind, err)
	}
	return out, nil
}
