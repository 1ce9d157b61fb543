package marketing

import (
	"regexp"
	"slices"
	"strings"
)

// The buyer-language check: consumer copy states facts about the home and
// its area. Comparisons with comps, medians and appraisals are the agent's
// and the appraiser's language; in an ad they read as filler at best and
// as a valuation claim at worst. Copy that matches a pattern is left out.

// LanguageCheck reports the appraisal-language check of the copy.
type LanguageCheck struct {
	Passed          bool     `json:"passed"`
	PatternsChecked int      `json:"patternsChecked"`
	Removed         []string `json:"removed"`
}

// comparisonPatterns match appraisal comparisons.
var comparisonPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\bcomps?\b`),
	regexp.MustCompile(`(?i)\bcomparables?\b|\bcomparable (sales|homes|properties)\b`),
	regexp.MustCompile(`(?i)\bmedian\b`),
	regexp.MustCompile(`(?i)\bvs\.?\s`),
	regexp.MustCompile(`(?i)\bapprais`),
	regexp.MustCompile(`(?i)\bCMA\b`),
	regexp.MustCompile(`(?i)\b(larger|bigger|more|newer|fewer|smaller) [a-z ]*than (the |other |nearby |similar |comparable )?(homes|houses|listings|sales|average)\b`),
	regexp.MustCompile(`(?i)\d+% (more|larger|bigger|newer)\b`),
	regexp.MustCompile(`(?i)\bprice per (sq|square)`),
}

// dropComparisons removes the texts that match a comparison pattern and
// records the phrases found.
func dropComparisons(texts, removed []string) ([]string, []string) {
	kept := make([]string, 0, len(texts))
	for _, t := range texts {
		flagged := false
		for _, p := range comparisonPatterns {
			if m := p.FindString(t); m != "" {
				flagged = true
				if m = strings.ToLower(strings.TrimSpace(m)); !slices.Contains(removed, m) {
					removed = append(removed, m)
				}
			}
		}
		if !flagged {
			kept = append(kept, t)
		}
	}
	return kept, removed
}
