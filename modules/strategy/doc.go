// Package strategy turns a CMA into a listing strategy: the home's
// measurable advantages over its comps, three pricing options, the buyer
// segments to aim at, a dated launch timeline in business days, and the
// negotiation plays the market calls for. Every choice is a rule over the
// CMA's figures, and each output carries the reason it was chosen.
package strategy
