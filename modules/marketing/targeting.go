package marketing

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/modules/crm"
)

// SocialTargeting is the SOCIAL_TARGETING step's output.
type SocialTargeting struct {
	ClientID int                `json:"clientId"`
	Listings []crm.ListingMatch `json:"listings"`
	// Basis says where the audience is centred: on the matched listings,
	// on the client's preferred areas, or nowhere (no audience at all).
	Basis  string `json:"basis"`
	Reason string `json:"reason"`
	// Audience is nil when Basis is NONE: an ad with nowhere to aim at is
	// not built, rather than centred on latitude 0, longitude 0.
	Audience   *AudienceSpec     `json:"audience"`
	Compliance []ComplianceCheck `json:"compliance"`
}

// IsStepOutput marks a SocialTargeting as a step's typed output.
func (*SocialTargeting) IsStepOutput() {}

// Where an audience is centred.
const (
	BasisListings       = "LISTINGS"
	BasisPreferredAreas = "PREFERRED_AREAS"
	BasisNone           = "NONE"
)

// AudienceSpec is who an ad promoting the listings reaches. Housing ads
// run in the Special Ad Category for housing.
type AudienceSpec struct {
	SpecialAdCategory string   `json:"specialAdCategory"`
	CenterLatitude    float64  `json:"centerLatitude"`
	CenterLongitude   float64  `json:"centerLongitude"`
	RadiusMiles       float64  `json:"radiusMiles"`
	Interests         []string `json:"interests"`
	// Fields the housing category forbids. The step never fills them; they
	// exist so that the compliance check can prove it.
	AgeMin   *int     `json:"ageMin,omitempty"`
	AgeMax   *int     `json:"ageMax,omitempty"`
	Genders  []string `json:"genders,omitempty"`
	ZipCodes []string `json:"zipCodes,omitempty"`
}

// ComplianceCheck is one housing-ad rule and how the spec meets it.
type ComplianceCheck struct {
	Rule   string `json:"rule"`
	Result string `json:"result"` // PASS or CORRECTED
	Detail string `json:"detail"`
}

// AreaCentre is the middle of the organization's homes in a client's
// preferred areas, and how far they spread from it.
type AreaCentre struct {
	Latitude, Longitude float64
	// SpreadMiles is the distance from the centre to the farthest corner
	// of the homes' bounding box.
	SpreadMiles float64
	Homes       int
}

// TargetClient is the SOCIAL_TARGETING decision for one client. With
// matched listings the audience centres on them. Without, it centres on
// the client's preferred areas, where the organization's own homes (any
// status) show where those ZIP codes or cities lie. With neither, there
// is nothing to aim at: no audience, and the reason says so.
func TargetClient(ctx context.Context, db *ent.Client, c *ent.Contact, listings []crm.ListingMatch) (SocialTargeting, error) {
	interests := interestsFor(c.PreApproved, c.DesiredBeds)
	if len(listings) > 0 {
		return Target(c.ID, listings, interests), nil
	}
	if len(c.PreferredAreas) == 0 {
		return Untargeted(c.ID, "no active listing fits the client and no preferred area (ZIP code or city) is on record: add the client's areas to target an audience"), nil
	}
	centre, err := AreasCentre(ctx, db, c.PreferredAreas)
	if err != nil {
		return SocialTargeting{}, err
	}
	areas := strings.Join(c.PreferredAreas, ", ")
	if centre == nil {
		return Untargeted(c.ID, fmt.Sprintf("no active listing fits the client, and the organization has no home in the client's areas (%s) to locate them by", areas)), nil
	}
	return TargetAreas(c.ID, c.PreferredAreas, *centre, interests), nil
}

// Untargeted is the output when there is nothing to aim at: no audience,
// no compliance checks (no ad), and the reason.
func Untargeted(clientID int, reason string) SocialTargeting {
	return SocialTargeting{ClientID: clientID, Listings: []crm.ListingMatch{}, Basis: BasisNone, Reason: reason, Compliance: []ComplianceCheck{}}
}

// TargetAreas centres the audience on the client's preferred areas. The
// ZIP codes themselves are not targeted (the housing category forbids it):
// the radius around their centre covers them.
func TargetAreas(clientID int, areas []string, centre AreaCentre, interests []string) SocialTargeting {
	spec := AudienceSpec{SpecialAdCategory: "HOUSING", Interests: interests,
		CenterLatitude: round4(centre.Latitude), CenterLongitude: round4(centre.Longitude), RadiusMiles: math.Ceil(centre.SpreadMiles)}
	spec, checks := Enforce(spec)
	return SocialTargeting{ClientID: clientID, Listings: []crm.ListingMatch{}, Basis: BasisPreferredAreas,
		Reason:   fmt.Sprintf("no active listing fits the client yet: the audience centres on the client's areas (%s), located by the organization's %s there", strings.Join(areas, ", "), count(centre.Homes, "home", "homes")),
		Audience: &spec, Compliance: checks}
}

// AreasCentre is the centroid of the organization's homes whose ZIP code
// or city is one of areas, or nil when it has none there. Coordinates of
// exactly 0, 0 (a missing geocode) are left out.
func AreasCentre(ctx context.Context, db *ent.Client, areas []string) (*AreaCentre, error) {
	var rows []struct {
		Count  int     `json:"count"`
		Lat    float64 `json:"lat"`
		Lng    float64 `json:"lng"`
		MinLat float64 `json:"min_lat"`
		MaxLat float64 `json:"max_lat"`
		MinLng float64 `json:"min_lng"`
		MaxLng float64 `json:"max_lng"`
	}
	err := db.Property.Query().
		Where(property.Or(property.ZipIn(areas...), property.CityIn(areas...)),
			property.Not(property.And(property.Latitude(0), property.Longitude(0)))).
		Aggregate(
			ent.As(ent.Count(), "count"),
			ent.As(ent.Mean(property.FieldLatitude), "lat"), ent.As(ent.Mean(property.FieldLongitude), "lng"),
			ent.As(ent.Min(property.FieldLatitude), "min_lat"), ent.As(ent.Max(property.FieldLatitude), "max_lat"),
			ent.As(ent.Min(property.FieldLongitude), "min_lng"), ent.As(ent.Max(property.FieldLongitude), "max_lng"),
		).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("locating the client's areas: %w", err)
	}
	if len(rows) == 0 || rows[0].Count == 0 {
		return nil, nil
	}
	r := rows[0]
	spread := 0.0
	for _, lat := range []float64{r.MinLat, r.MaxLat} {
		for _, lng := range []float64{r.MinLng, r.MaxLng} {
			spread = math.Max(spread, milesBetween(r.Lat, r.Lng, lat, lng))
		}
	}
	return &AreaCentre{Latitude: r.Lat, Longitude: r.Lng, SpreadMiles: spread, Homes: r.Count}, nil
}

// MinHousingRadiusMiles is the smallest location radius a housing ad may use.
const MinHousingRadiusMiles = 15

// protectedTerms are words that target, or exclude, a protected class under
// fair-housing law. Interests are checked against them.
var protectedTerms = []string{
	"race", "color", "religion", "christian", "muslim", "jewish", "church", "national origin", "hispanic", "latino",
	"asian", "black", "white", "sex", "gender", "male", "female", "men", "women", "familial", "family", "families",
	"children", "kids", "pregnan", "disab", "handicap", "wheelchair", "age", "senior", "elderly", "young", "retire",
	"student", "single", "married", "veteran",
}

// Target centres the audience on the client's matched listings, with a
// radius that covers them, and applies the housing rules.
func Target(clientID int, listings []crm.ListingMatch, interests []string) SocialTargeting {
	spec := AudienceSpec{SpecialAdCategory: "HOUSING", Interests: interests}
	var lat, lng float64
	for _, l := range listings {
		lat += l.Latitude / float64(len(listings))
		lng += l.Longitude / float64(len(listings))
	}
	spec.CenterLatitude, spec.CenterLongitude = round4(lat), round4(lng)
	for _, l := range listings {
		d := milesBetween(lat, lng, l.Latitude, l.Longitude)
		spec.RadiusMiles = math.Max(spec.RadiusMiles, math.Ceil(d))
	}
	spec, checks := Enforce(spec)
	return SocialTargeting{ClientID: clientID, Listings: listings, Basis: BasisListings,
		Reason:   fmt.Sprintf("the audience centres on the %s that fit the client", count(len(listings), "active listing", "active listings")),
		Audience: &spec, Compliance: checks}
}

// Enforce applies the housing rules to a spec: anything that breaks one is
// corrected, and each rule's result is reported.
func Enforce(spec AudienceSpec) (AudienceSpec, []ComplianceCheck) {
	var checks []ComplianceCheck
	check := func(rule string, broken bool, fix func(), detail string) {
		c := ComplianceCheck{Rule: rule, Result: "PASS", Detail: "not targeted"}
		if broken {
			fix()
			c.Result, c.Detail = "CORRECTED", detail
		}
		checks = append(checks, c)
	}
	spec.SpecialAdCategory = "HOUSING"
	check("NO_AGE_TARGETING", spec.AgeMin != nil || spec.AgeMax != nil, func() { spec.AgeMin, spec.AgeMax = nil, nil }, "age limits removed")
	check("NO_GENDER_TARGETING", len(spec.Genders) > 0, func() { spec.Genders = nil }, "gender targeting removed")
	check("NO_ZIP_TARGETING", len(spec.ZipCodes) > 0, func() { spec.ZipCodes = nil }, "ZIP codes removed; the radius covers the area")
	radius := ComplianceCheck{Rule: "MIN_RADIUS_15_MILES", Result: "PASS", Detail: fmt.Sprintf("radius %.0f miles", spec.RadiusMiles)}
	if spec.RadiusMiles < MinHousingRadiusMiles {
		radius.Result, radius.Detail = "CORRECTED", fmt.Sprintf("radius raised from %.0f to %d miles", spec.RadiusMiles, MinHousingRadiusMiles)
		spec.RadiusMiles = MinHousingRadiusMiles
	}
	checks = append(checks, radius)
	kept, dropped := []string{}, []string(nil)
	for _, in := range spec.Interests {
		if protected(in) {
			dropped = append(dropped, in)
		} else {
			kept = append(kept, in)
		}
	}
	terms := ComplianceCheck{Rule: "NO_PROTECTED_CLASS_TERMS", Result: "PASS", Detail: "no interest names a protected class"}
	if len(dropped) > 0 {
		terms.Result, terms.Detail = "CORRECTED", "removed interests: "+strings.Join(dropped, ", ")
		spec.Interests = kept
	}
	checks = append(checks, terms)
	checks = append(checks, ComplianceCheck{Rule: "SPECIAL_AD_CATEGORY_HOUSING", Result: "PASS", Detail: "declared as a housing ad"})
	return spec, checks
}

// protected reports whether a phrase contains a protected-class term as a
// word (or word start, for stems like "pregnan").
func protected(phrase string) bool {
	words := strings.FieldsFunc(strings.ToLower(phrase), func(r rune) bool { return !(r >= 'a' && r <= 'z') })
	return slices.ContainsFunc(words, func(w string) bool {
		for _, t := range protectedTerms {
			if w == t || (len(t) >= 5 && strings.HasPrefix(w, t)) || (strings.Contains(t, " ") && strings.Contains(strings.ToLower(phrase), t)) {
				return true
			}
		}
		return false
	})
}

// Interests a housing ad may use: what the buyer is shopping for.
func interestsFor(preApproved bool, beds *int) []string {
	out := []string{"home buying", "real estate listings"}
	if preApproved {
		out = append(out, "mortgage loans")
	}
	if beds != nil && *beds >= 4 {
		out = append(out, "large homes")
	}
	return out
}

func milesBetween(lat1, lng1, lat2, lng2 float64) float64 {
	const earthMiles = 3958.8
	toRad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*toRad, (lng2-lng1)*toRad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*toRad)*math.Cos(lat2*toRad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthMiles * math.Asin(math.Min(1, math.Sqrt(a)))
}

func round4(v float64) float64 { return math.Round(v*10000) / 10000 }
