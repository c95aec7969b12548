package billing_test

import (
	"testing"

	"kavach/billing"
	"kavach/internal/servicetest"
	"kavach/node"
)

// TestService runs billing through the suite every service runs: a price
// set on each node, differently.
func TestService(t *testing.T) {
	servicetest.Run(t, "billing", func(t *testing.T, n *servicetest.Node) {
		paise := int64(1500)
		if n.Variant == "B" {
			paise = 2000
		}
		n.Do(t, "admin", func(tx *node.Tx) error {
			return billing.SetTariff(tx, billing.Tariff{Item: "opd.new", Category: "*", Paise: paise})
		})
	})
}
