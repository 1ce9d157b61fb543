package seed

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/ent/interaction"
	"github.com/estateflow/estateflow/ent/property"
)

// DemoProperty is one generated property.
type DemoProperty struct {
	ExternalRef               string
	Address, City, State, Zip string
	Latitude, Longitude       float64
	Type                      property.PropertyType
	Beds                      int
	Baths                     float64
	Sqft, LotSqft, YearBuilt  int
	GarageSpaces              int
	Features                  []string
	Description               string
	Status                    property.Status
	ListPrice, SalePrice      *int
	ListDate, SaleDate        *time.Time
}

// DemoClient is one generated client with its interactions.
type DemoClient struct {
	Name, Email, Phone   string
	Stage                contact.Stage
	Source               contact.Source
	BudgetMin, BudgetMax int
	PreApproved          bool
	DesiredBeds          int
	PreferredAreas       []string
	MoveTimelineMonths   int
	LastContactedAt      *time.Time
	// CreatedAt is when the client entered the CRM: before their first
	// interaction, so that a demo client does not look like a lead that
	// arrived today.
	CreatedAt            time.Time
	EmailOptIn, SMSOptIn bool
	Notes                string
	Interactions         []DemoInteraction
}

// DemoInteraction is one generated touch point.
type DemoInteraction struct {
	Type interaction.Type
	At   time.Time
	Note string
}

// DemoData is the generated demo content.
type DemoData struct {
	Properties []DemoProperty
	Clients    []DemoClient
}

// neighborhood is an Austin, TX ZIP area: its centre, its streets and its
// own price level. The centre is the ZIP code's public centroid (US Census
// ZCTA internal point, rounded); every street named runs through the ZIP,
// with a house-number range from that stretch of it. The price per square
// foot is a 2026-style level for a 20-year-old single-family home: central
// and west-side ZIPs (78703, 78704, 78731) highest, the far south and north
// lowest.
type neighborhood struct {
	zip          string
	lat, lng     float64
	pricePerSqft float64
	builtFrom    int
	builtTo      int
	streets      []street
}

// street is a street in a ZIP and the house numbers along it there.
type street struct {
	name     string
	from, to int
}

// homeRadiusMiles is how far from its ZIP's centre a demo home may lie.
const homeRadiusMiles = 1.5

var austin = []neighborhood{
	{"78703", 30.2920, -97.7660, 700, 1930, 2022, []street{
		{"Windsor Rd", 1500, 2900}, {"Exposition Blvd", 1400, 3200}, {"Enfield Rd", 1200, 2800}, {"Pecos St", 2000, 3300}, {"W 35th St", 1400, 2500}}},
	{"78704", 30.2431, -97.7703, 600, 1940, 2022, []street{
		{"S Lamar Blvd", 1600, 3900}, {"S Congress Ave", 1200, 3900}, {"S 1st St", 1200, 3900}, {"Barton Hills Dr", 1900, 2900}, {"Bouldin Ave", 1000, 2400}, {"W Oltorf St", 700, 2200}}},
	{"78731", 30.3472, -97.7686, 520, 1960, 2020, []street{
		{"Far West Blvd", 3600, 4600}, {"Mesa Dr", 6200, 7900}, {"Balcones Dr", 5000, 6900}, {"Mount Bonnell Rd", 3400, 4500}}},
	{"78702", 30.2634, -97.7143, 480, 1920, 2023, []street{
		{"E Cesar Chavez St", 1600, 3300}, {"E 12th St", 1100, 3000}, {"Holly St", 1900, 2900}, {"Chicon St", 500, 1900}, {"E 7th St", 1000, 3500}}},
	{"78757", 30.3515, -97.7326, 450, 1950, 2020, []street{
		{"Burnet Rd", 5700, 7900}, {"Shoal Creek Blvd", 6000, 8000}, {"W Anderson Ln", 1000, 2100}, {"Arroyo Seco", 5600, 7000}}},
	{"78759", 30.4036, -97.7526, 340, 1975, 2015, []street{
		{"Great Hills Trl", 9300, 10600}, {"Jollyville Rd", 9000, 10900}, {"Spicewood Springs Rd", 7000, 8700}}},
	{"78750", 30.4437, -97.7927, 330, 1978, 2010, []street{
		{"Anderson Mill Rd", 10400, 12100}, {"Spicewood Pkwy", 10200, 11600}, {"El Salido Pkwy", 10000, 11900}}},
	{"78745", 30.2064, -97.7956, 330, 1960, 2015, []street{
		{"Menchaca Rd", 4000, 7400}, {"W William Cannon Dr", 500, 2900}, {"Westgate Blvd", 4800, 6800}, {"W Stassney Ln", 100, 1900}}},
	{"78727", 30.4258, -97.7195, 290, 1985, 2010, []street{
		{"Scofield Ridge Pkwy", 1500, 2500}, {"W Parmer Ln", 1800, 3400}, {"McNeil Dr", 11800, 13000}}},
	{"78748", 30.1593, -97.8232, 270, 1985, 2020, []street{
		{"Menchaca Rd", 8800, 11200}, {"W Slaughter Ln", 100, 2500}, {"Brodie Ln", 9400, 10900}, {"Cullen Ln", 9400, 10800}}},
}

var (
	allFeatures = []string{
		"updated kitchen", "quartz counters", "hardwood floors", "primary suite on main", "covered patio",
		"pool", "solar panels", "home office", "open floor plan", "mature trees", "walk-in closets",
		"energy-efficient windows", "fenced yard", "vaulted ceilings", "smart thermostat",
	}
	firstNames = []string{
		"Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sophia", "Elijah", "Isabella", "Lucas",
		"Mia", "Amir", "Priya", "Wei", "Chloe", "Diego", "Hannah", "Kenji", "Grace", "Samuel",
	}
	lastNames = []string{
		"Garcia", "Nguyen", "Johnson", "Patel", "Smith", "Kim", "Martinez", "Brown", "Okafor", "Lee",
		"Hernandez", "Davis", "Chen", "Wilson", "Rossi", "Singh", "Lopez", "Anderson", "Moore", "Cohen",
	}
)

// demoSeed fixes the generator, so that every new database gets the same data.
const demoSeed = 20260527

// annualAppreciation is the market trend built into the demo sale prices, so
// that the CMA's time adjustment has something real to find.
const annualAppreciation = 0.04

// Generate builds the demo properties and clients. Dates are laid out
// backwards from now; everything else depends only on the fixed seed.
func Generate(now time.Time) DemoData {
	rng := rand.New(rand.NewPCG(demoSeed, demoSeed>>3))
	today := now.UTC().Truncate(24 * time.Hour)
	var data DemoData
	const total = 320
	for i := range total {
		data.Properties = append(data.Properties, genProperty(rng, i, today))
	}
	for i := range 50 {
		data.Clients = append(data.Clients, genClient(rng, i, today))
	}
	return data
}

func genProperty(rng *rand.Rand, i int, today time.Time) DemoProperty {
	n := austin[rng.IntN(len(austin))]
	st := n.streets[rng.IntN(len(n.streets))]
	lat, lng := scatter(rng, n.lat, n.lng, homeRadiusMiles)
	p := DemoProperty{
		ExternalRef: fmt.Sprintf("demo-%04d", i+1),
		Address:     fmt.Sprintf("%d %s", st.from+rng.IntN(st.to-st.from+1), st.name),
		City:        "Austin",
		State:       "TX",
		Zip:         n.zip,
		Latitude:    lat,
		Longitude:   lng,
	}
	typeFactor := 1.0
	switch r := rng.Float64(); {
	case r < 0.72:
		p.Type = property.PropertyTypeSINGLE_FAMILY
		p.Sqft = 1100 + rng.IntN(2600)
		p.LotSqft = 5000 + rng.IntN(7000)
	case r < 0.85:
		p.Type = property.PropertyTypeCONDO
		p.Sqft = 600 + rng.IntN(1100)
		typeFactor = 0.92
	case r < 0.95:
		p.Type = property.PropertyTypeTOWNHOUSE
		p.Sqft = 1100 + rng.IntN(1200)
		p.LotSqft = 1800 + rng.IntN(1500)
		typeFactor = 0.95
	default:
		p.Type = property.PropertyTypeMULTI_FAMILY
		p.Sqft = 1800 + rng.IntN(2400)
		p.LotSqft = 6000 + rng.IntN(5000)
		typeFactor = 0.88
	}
	p.Beds = max(1, min(6, p.Sqft/550+rng.IntN(2)))
	p.Baths = math.Max(1, float64(p.Beds-1)+0.5*float64(rng.IntN(3)))
	p.YearBuilt = n.builtFrom + rng.IntN(n.builtTo-n.builtFrom+1)
	if p.Type != property.PropertyTypeCONDO {
		p.GarageSpaces = rng.IntN(3) + 1
	}
	p.Features = pickFeatures(rng)

	age := float64(today.Year() - p.YearBuilt)
	// Newer homes sell higher; the effect fades with age.
	ageFactor := 1.12 - 0.0035*math.Min(age, 60)
	bedsFactor := 1 + 0.02*float64(p.Beds-3)
	value := float64(p.Sqft) * n.pricePerSqft * typeFactor * ageFactor * bedsFactor
	value += float64(p.GarageSpaces) * 9000
	value += float64(p.LotSqft) * 2.5

	var daysAgo int
	switch r := rng.Float64(); {
	case r < 0.74:
		p.Status = property.StatusSOLD
		daysAgo = 5 + rng.IntN(540)
	case r < 0.88:
		p.Status = property.StatusACTIVE
		daysAgo = rng.IntN(60)
	case r < 0.95:
		p.Status = property.StatusPENDING
		daysAgo = 10 + rng.IntN(40)
	default:
		p.Status = property.StatusOFF_MARKET
		daysAgo = 90 + rng.IntN(200)
	}
	// Prices move with the market: a sale a year ago closed about 4% lower.
	value *= math.Pow(1+annualAppreciation, -float64(daysAgo)/365)
	noise := 1 + rng.NormFloat64()*0.05
	listPrice := roundTo(value*noise*1.02, 1000)
	listDate := today.AddDate(0, 0, -daysAgo)
	p.ListPrice = &listPrice
	if p.Status == property.StatusSOLD {
		dom := 7 + rng.IntN(60)
		listed := listDate.AddDate(0, 0, -dom)
		sale := roundTo(float64(listPrice)*(0.95+rng.Float64()*0.07), 500)
		p.ListDate, p.SaleDate, p.SalePrice = &listed, &listDate, &sale
	} else {
		p.ListDate = &listDate
	}
	p.Description = fmt.Sprintf("%d-bed, %s-bath %s in %s with %s.",
		p.Beds, trimFloat(p.Baths), strings.ToLower(strings.ReplaceAll(string(p.Type), "_", " ")), p.Zip, strings.Join(p.Features, ", "))
	return p
}

func genClient(rng *rand.Rand, i int, today time.Time) DemoClient {
	first := firstNames[rng.IntN(len(firstNames))]
	last := lastNames[rng.IntN(len(lastNames))]
	areas := []string{austin[rng.IntN(len(austin))].zip}
	if rng.IntN(2) == 0 {
		areas = append(areas, austin[rng.IntN(len(austin))].zip)
	}
	if areas[len(areas)-1] == areas[0] && len(areas) == 2 {
		areas = areas[:1]
	}
	budgetMax := roundTo(300000+rng.Float64()*900000, 5000)
	c := DemoClient{
		Name:               first + " " + last,
		Email:              fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(first), strings.ToLower(last), i+1),
		Phone:              fmt.Sprintf("+1-512-555-%04d", 100+i),
		Stage:              []contact.Stage{contact.StageLEAD, contact.StageLEAD, contact.StagePROSPECT, contact.StageACTIVE, contact.StagePAST_CLIENT}[rng.IntN(5)],
		Source:             []contact.Source{contact.SourceREFERRAL, contact.SourceWEBSITE, contact.SourceOPEN_HOUSE, contact.SourceSOCIAL, contact.SourceZILLOW, contact.SourceOTHER}[rng.IntN(6)],
		BudgetMin:          roundTo(float64(budgetMax)*0.7, 5000),
		BudgetMax:          budgetMax,
		PreApproved:        rng.Float64() < 0.45,
		DesiredBeds:        2 + rng.IntN(3),
		PreferredAreas:     areas,
		MoveTimelineMonths: []int{1, 2, 3, 6, 9, 12, 18}[rng.IntN(7)],
		EmailOptIn:         rng.Float64() < 0.8,
		SMSOptIn:           rng.Float64() < 0.5,
	}
	kinds := []interaction.Type{
		interaction.TypeEMAIL_OPEN, interaction.TypeEMAIL_OPEN, interaction.TypeWEBSITE_VISIT, interaction.TypeLISTING_VIEW,
		interaction.TypeLISTING_VIEW, interaction.TypeEMAIL_REPLY, interaction.TypeCALL, interaction.TypeTEXT,
		interaction.TypeSHOWING, interaction.TypeOPEN_HOUSE_VISIT, interaction.TypeMEETING, interaction.TypeFORM_SUBMISSION,
	}
	for range rng.IntN(13) {
		at := today.Add(-time.Duration(rng.IntN(90*24)) * time.Hour)
		c.Interactions = append(c.Interactions, DemoInteraction{
			Type: kinds[rng.IntN(len(kinds))],
			At:   at,
		})
		if c.LastContactedAt == nil || at.After(*c.LastContactedAt) {
			t := at
			c.LastContactedAt = &t
		}
	}
	// Past clients send referrals; the note names the friend referred.
	if c.Stage == contact.StagePAST_CLIENT && rng.IntN(2) == 0 {
		for range 1 + rng.IntN(2) {
			at := today.Add(-time.Duration(rng.IntN(120*24)) * time.Hour)
			friend := firstNames[rng.IntN(len(firstNames))] + " " + lastNames[rng.IntN(len(lastNames))]
			c.Interactions = append(c.Interactions, DemoInteraction{Type: interaction.TypeREFERRAL, At: at, Note: "Referred " + friend + ", who is looking to buy."})
			if c.LastContactedAt == nil || at.After(*c.LastContactedAt) {
				t := at
				c.LastContactedAt = &t
			}
		}
	}
	c.CreatedAt = today.AddDate(0, 0, -rng.IntN(180))
	for _, in := range c.Interactions {
		if in.At.Before(c.CreatedAt) {
			c.CreatedAt = in.At.AddDate(0, 0, -rng.IntN(30))
		}
	}
	return c
}

// scatter is a point spread evenly over the disc of the given radius
// around a centre.
func scatter(rng *rand.Rand, lat, lng, radiusMiles float64) (float64, float64) {
	const milesPerDegreeLat = 69.0
	r := radiusMiles * math.Sqrt(rng.Float64())
	theta := 2 * math.Pi * rng.Float64()
	dLat := r * math.Sin(theta) / milesPerDegreeLat
	dLng := r * math.Cos(theta) / (milesPerDegreeLat * math.Cos(lat*math.Pi/180))
	return round(lat+dLat, 6), round(lng+dLng, 6)
}

func pickFeatures(rng *rand.Rand) []string {
	perm := rng.Perm(len(allFeatures))
	out := make([]string, 0, 4)
	for _, idx := range perm[:2+rng.IntN(3)] {
		out = append(out, allFeatures[idx])
	}
	return out
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

func roundTo(v float64, step int) int { return int(math.Round(v/float64(step))) * step }

func trimFloat(f float64) string { return strings.TrimSuffix(fmt.Sprintf("%.1f", f), ".0") }
