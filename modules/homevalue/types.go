package homevalue

import (
	"time"

	"github.com/estateflow/estateflow/modules/analytics"
)

// Valuation is the HOME_VALUATION step's output: the CMA of the client's
// home, and how the home was found.
type Valuation struct {
	ClientID   int    `json:"clientId"`
	PropertyID int    `json:"propertyId"`
	Address    string `json:"address"`
	City       string `json:"city"`
	Zip        string `json:"zip"`
	// PurchaseTransactionID is the client's CLOSED buyer-side transaction
	// of the home: the record that says it is theirs.
	PurchaseTransactionID int        `json:"purchaseTransactionId"`
	PurchasePrice         *int       `json:"purchasePrice,omitempty"`
	PurchaseDate          *time.Time `json:"purchaseDate,omitempty"`
	// Basis says in words how the home was found.
	Basis string           `json:"basis"`
	CMA   analytics.Report `json:"cma"`
}

// IsStepOutput marks a Valuation as a step's typed output.
func (*Valuation) IsStepOutput() {}
