package graph

import (
	"errors"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/graph/model"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/seed"
)

func stepInput(key string, kind stepkind.Kind, deps ...string) *model.PackageStepInput {
	return &model.PackageStepInput{Key: key, Name: key, Kind: kind, DependsOn: deps}
}

func TestValidatePackageStepsRequiresUpstreamKinds(t *testing.T) {
	tests := []struct {
		name      string
		subject   stepkind.Subject
		steps     []*model.PackageStepInput
		wantField string // "" for a valid package
		wantText  []string
	}{
		{
			// README.md's quick-listing example: the campaign reads a
			// listing strategy, so every run of it would fail.
			name:    "README quick-listing",
			subject: stepkind.SubjectProperty,
			steps: []*model.PackageStepInput{
				stepInput("cma", stepkind.CMAAnalysis),
				stepInput("campaign", stepkind.MarketingCampaign, "cma"),
			},
			wantField: "input.steps[1].dependsOn",
			wantText:  []string{`step "campaign"`, "MARKETING_CAMPAIGN", "LISTING_STRATEGY"},
		},
		{
			name:    "quick-listing with its strategy",
			subject: stepkind.SubjectProperty,
			steps: []*model.PackageStepInput{
				stepInput("cma", stepkind.CMAAnalysis),
				stepInput("strategy", stepkind.ListingStrategy, "cma"),
				stepInput("campaign", stepkind.MarketingCampaign, "strategy"),
			},
		},
		{
			name:      "strategy without a CMA",
			subject:   stepkind.SubjectProperty,
			steps:     []*model.PackageStepInput{stepInput("strategy", stepkind.ListingStrategy)},
			wantField: "input.steps[0].dependsOn",
			wantText:  []string{`step "strategy"`, "CMA_ANALYSIS"},
		},
		{
			name:    "social scheduling without a campaign",
			subject: stepkind.SubjectProperty,
			steps: []*model.PackageStepInput{
				stepInput("cma", stepkind.CMAAnalysis),
				stepInput("strategy", stepkind.ListingStrategy, "cma"),
				stepInput("social", stepkind.SocialScheduling, "strategy"),
			},
			wantField: "input.steps[2].dependsOn",
			wantText:  []string{`step "social"`, "MARKETING_CAMPAIGN"},
		},
		{
			// Executors see only their direct dependencies' outputs.
			name:    "required kind only among the ancestors",
			subject: stepkind.SubjectProperty,
			steps: []*model.PackageStepInput{
				stepInput("cma", stepkind.CMAAnalysis),
				stepInput("strategy", stepkind.ListingStrategy, "cma"),
				stepInput("campaign", stepkind.MarketingCampaign, "strategy"),
				stepInput("social", stepkind.SocialScheduling, "campaign"),
				stepInput("second-campaign", stepkind.MarketingCampaign, "social"),
			},
			wantField: "input.steps[4].dependsOn",
			wantText:  []string{`step "second-campaign"`, "LISTING_STRATEGY", `step "strategy" is one`},
		},
		{
			name:    "extra dependencies are fine",
			subject: stepkind.SubjectProperty,
			steps: []*model.PackageStepInput{
				stepInput("cma", stepkind.CMAAnalysis),
				stepInput("strategy", stepkind.ListingStrategy, "cma"),
				stepInput("campaign", stepkind.MarketingCampaign, "strategy", "cma"),
				stepInput("social", stepkind.SocialScheduling, "campaign", "cma"),
			},
		},
		{
			// Its tier input is optional: the client's stored tier stands in.
			name:    "follow-ups without a score",
			subject: stepkind.SubjectClient,
			steps:   []*model.PackageStepInput{stepInput("follow-up", stepkind.FollowUpScheduling)},
		},
		{
			name:      "kind of the other subject",
			subject:   stepkind.SubjectClient,
			steps:     []*model.PackageStepInput{stepInput("cma", stepkind.CMAAnalysis)},
			wantField: "input.steps[0].kind",
			wantText:  []string{"works on a PROPERTY"},
		},
		{
			name:      "unknown kind",
			subject:   stepkind.SubjectProperty,
			steps:     []*model.PackageStepInput{stepInput("magic", "TELEPORT")},
			wantField: "input.steps[0].kind",
			wantText:  []string{"unknown kind"},
		},
		{
			// The graph is checked first, so the kind check sees only real steps.
			name:    "dependency that names no step",
			subject: stepkind.SubjectProperty,
			steps: []*model.PackageStepInput{
				stepInput("cma", stepkind.CMAAnalysis),
				stepInput("campaign", stepkind.MarketingCampaign, "strategy"),
			},
			wantField: "input.steps[1]",
			wantText:  []string{`dependsOn names "strategy"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validatePackageSteps(tt.subject, tt.steps)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("validatePackageSteps = %v, want nil", err)
				}
				return
			}
			var ge *gqlerror.Error
			if !errors.As(err, &ge) {
				t.Fatalf("validatePackageSteps = %v (%T), want a GraphQL error", err, err)
			}
			if ge.Extensions["code"] != errcode.BadUserInput.String() || ge.Extensions["field"] != tt.wantField {
				t.Fatalf("error %q has extensions %v, want BAD_USER_INPUT on %s", ge.Message, ge.Extensions, tt.wantField)
			}
			for _, want := range tt.wantText {
				if !strings.Contains(ge.Message, want) {
					t.Errorf("message %q does not contain %q", ge.Message, want)
				}
			}
		})
	}
}

// TestBuiltinPackagesPassValidation applies createPackage's validation to
// the packages every organization starts with.
func TestBuiltinPackagesPassValidation(t *testing.T) {
	for _, p := range seed.BuiltinPackages() {
		steps := make([]*model.PackageStepInput, len(p.Steps))
		for i, s := range p.Steps {
			steps[i] = &model.PackageStepInput{Key: s.Key, Name: s.Name, Kind: s.Kind, DependsOn: s.DependsOn}
		}
		if err := validatePackageSteps(p.Subject, steps); err != nil {
			t.Errorf("built-in package %s: %v", p.Key, err)
		}
	}
}
