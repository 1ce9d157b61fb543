package marketing

import (
	"slices"
	"strings"
)

// The fair-housing check: every text a step writes for the public (ad copy,
// posts, emails) goes through dropFlagged before it is stored.

// FairHousingCheck reports the copy check against terms that must not
// appear in housing ads.
type FairHousingCheck struct {
	Passed       bool     `json:"passed"`
	TermsChecked int      `json:"termsChecked"`
	Removed      []string `json:"removed"`
}

// fairHousingTerms are phrases that state or imply a preference for, or
// against, buyers of a protected class (HUD's advertising guidance).
var fairHousingTerms = []string{
	"perfect for families", "family neighborhood", "no children", "no kids", "adults only", "adult community",
	"singles", "bachelor", "newlyweds", "ideal for couples", "young professionals", "mature", "senior",
	"christian", "church nearby", "near church", "synagogue", "mosque", "ethnic", "integrated",
	"exclusive neighborhood", "safe neighborhood", "handicapped", "able-bodied",
	"master bedroom", "english speaking", "man cave",
}

// dropFlagged removes the texts that contain a fair-housing term and
// records the terms found.
func dropFlagged(texts, removed []string) ([]string, []string) {
	kept := make([]string, 0, len(texts))
	for _, t := range texts {
		lower := strings.ToLower(t)
		flagged := false
		for _, term := range fairHousingTerms {
			if strings.Contains(lower, term) {
				flagged = true
				if !slices.Contains(removed, term) {
					removed = append(removed, term)
				}
			}
		}
		if !flagged {
			kept = append(kept, t)
		}
	}
	return kept, removed
}
