package seed_test

import (
	"math"
	"regexp"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/estateflow/estateflow/seed"
)

// zctaCentroids are the public centroids (US Census ZCTA internal points,
// rounded) of the Austin, TX ZIP codes the demo uses. They are written
// here independently of the generator's table, so that a wrong centre
// there is caught.
var zctaCentroids = map[string][2]float64{
	"78702": {30.2634, -97.7143}, "78703": {30.2920, -97.7660}, "78704": {30.2431, -97.7703},
	"78727": {30.4258, -97.7195}, "78731": {30.3472, -97.7686}, "78745": {30.2064, -97.7956},
	"78748": {30.1593, -97.8232}, "78750": {30.4437, -97.7927}, "78757": {30.3515, -97.7326},
	"78759": {30.4036, -97.7526},
}

// streetZIPs are the ZIP codes each demo street runs through, as an
// Austin agent knows them.
var streetZIPs = map[string][]string{
	"Windsor Rd": {"78703"}, "Exposition Blvd": {"78703"}, "Enfield Rd": {"78703"}, "Pecos St": {"78703"}, "W 35th St": {"78703"},
	"S Lamar Blvd": {"78704"}, "S Congress Ave": {"78704", "78745"}, "S 1st St": {"78704", "78745"}, "Barton Hills Dr": {"78704"},
	"Bouldin Ave": {"78704"}, "W Oltorf St": {"78704"},
	"Far West Blvd": {"78731"}, "Mesa Dr": {"78731", "78759"}, "Balcones Dr": {"78731"}, "Mount Bonnell Rd": {"78731"},
	"E Cesar Chavez St": {"78702"}, "E 12th St": {"78702"}, "Holly St": {"78702"}, "Chicon St": {"78702"}, "E 7th St": {"78702"},
	"Burnet Rd": {"78756", "78757"}, "Shoal Creek Blvd": {"78756", "78757"}, "W Anderson Ln": {"78757"}, "Arroyo Seco": {"78757"},
	"Great Hills Trl": {"78759"}, "Jollyville Rd": {"78759"}, "Spicewood Springs Rd": {"78759", "78750"},
	"Anderson Mill Rd": {"78750", "78729"}, "Spicewood Pkwy": {"78750"}, "El Salido Pkwy": {"78750"},
	"Menchaca Rd": {"78704", "78745", "78748"}, "W William Cannon Dr": {"78745"}, "Westgate Blvd": {"78745"}, "W Stassney Ln": {"78745"},
	"Scofield Ridge Pkwy": {"78727"}, "W Parmer Ln": {"78727"}, "McNeil Dr": {"78727"},
	"W Slaughter Ln": {"78748"}, "Brodie Ln": {"78748", "78749"}, "Cullen Ln": {"78748"},
}

func miles(lat1, lng1, lat2, lng2 float64) float64 {
	const earthMiles = 3958.8
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthMiles * math.Asin(math.Sqrt(a))
}

// TestDemoHomesLieInTheirZIP checks that every demo home's street runs
// through its ZIP code and that its coordinates lie within about 1.5 miles
// of the ZIP's centroid, and that the homes spread over that area rather
// than piling on the centre.
func TestDemoHomesLieInTheirZIP(t *testing.T) {
	data := seed.Generate(time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC))
	address := regexp.MustCompile(`^(\d+) (.+)$`)
	far := 0.0
	perZIP := map[string]int{}
	for _, p := range data.Properties {
		c, ok := zctaCentroids[p.Zip]
		if !ok {
			t.Fatalf("%s: ZIP %s is not one of the demo's Austin ZIP codes", p.ExternalRef, p.Zip)
		}
		perZIP[p.Zip]++
		if d := miles(c[0], c[1], p.Latitude, p.Longitude); d > 1.6 {
			t.Errorf("%s (%s, %s) lies %.1f miles from the ZIP's centroid", p.ExternalRef, p.Address, p.Zip, d)
		} else {
			far = math.Max(far, d)
		}
		m := address.FindStringSubmatch(p.Address)
		if m == nil || !slices.Contains(streetZIPs[m[2]], p.Zip) {
			t.Errorf("%s: %q is not a street of %s", p.ExternalRef, p.Address, p.Zip)
		}
		if p.City != "Austin" || p.State != "TX" {
			t.Errorf("%s: %s, %s", p.ExternalRef, p.City, p.State)
		}
	}
	if far < 1 {
		t.Errorf("the farthest home lies %.2f miles from its centroid: homes should spread over their ZIP", far)
	}
	if len(perZIP) != len(zctaCentroids) {
		t.Errorf("homes in %d ZIP codes, want all %d: %v", len(perZIP), len(zctaCentroids), perZIP)
	}
	for _, c := range data.Clients {
		for _, area := range c.PreferredAreas {
			if _, ok := zctaCentroids[area]; !ok {
				t.Errorf("client %s wants %s, where the demo has no homes", c.Name, area)
			}
		}
	}
}

// TestDemoPricePerSqftFollowsTheArea checks that the median price per
// square foot (sale price when sold, else list price) ranks the ZIP codes
// as the Austin market does: 78703 and 78704 highest, and any ZIP whose
// level is clearly (20%) above another's priced above it.
func TestDemoPricePerSqftFollowsTheArea(t *testing.T) {
	data := seed.Generate(time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC))
	perSqft := map[string][]float64{}
	for _, p := range data.Properties {
		price := p.ListPrice
		if p.SalePrice != nil {
			price = p.SalePrice
		}
		if price != nil && p.Sqft > 0 {
			perSqft[p.Zip] = append(perSqft[p.Zip], float64(*price)/float64(p.Sqft))
		}
	}
	median := map[string]float64{}
	var zips []string
	for zip, v := range perSqft {
		sort.Float64s(v)
		median[zip] = v[len(v)/2]
		zips = append(zips, zip)
	}
	sort.Slice(zips, func(i, j int) bool { return median[zips[i]] > median[zips[j]] })
	for _, z := range zips {
		t.Logf("%s: median $%.0f per sq ft over %d homes", z, median[z], len(perSqft[z]))
	}
	if top := []string{zips[0], zips[1]}; !slices.Contains(top, "78703") || !slices.Contains(top, "78704") {
		t.Errorf("the two dearest ZIP codes are %v, want 78703 and 78704", top)
	}
	// The market's order, dearest first, in tiers at least 20% apart.
	tiers := [][]string{{"78703", "78704"}, {"78731", "78702", "78757"}, {"78759", "78750", "78745", "78727", "78748"}}
	for i := 0; i+1 < len(tiers); i++ {
		for _, hi := range tiers[i] {
			for _, lo := range tiers[i+1] {
				if median[hi] <= median[lo] {
					t.Errorf("%s ($%.0f per sq ft) is not dearer than %s ($%.0f)", hi, median[hi], lo, median[lo])
				}
			}
		}
	}
}
