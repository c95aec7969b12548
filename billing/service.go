package billing

import (
	"context"

	"kavach/node"
	"kavach/service"
)

// Service is billing; for now its tariffs.
func Service() service.Service {
	return service.Service{Name: "billing", Data: Data(), Demo: demo}
}

// DemoTariffs are the prices --demo sets.
var DemoTariffs = []Tariff{
	{Item: "opd.new", Category: "*", Paise: 1000},
	{Item: "opd.revisit", Category: "*", Paise: 0},
	{Item: "opd.new", Category: "bpl", Paise: 0},
	{Item: "opd.new", Category: "senior", Paise: 0},
	{Item: "opd.new", Category: "staff", Paise: 0},
	{Item: "opd.new", Category: "scheme", Paise: 0},
	{Item: "lab.CBC", Category: "*", Paise: 15000},
	{Item: "lab.HB", Category: "*", Paise: 3000},
	{Item: "lab.HBA1C", Category: "*", Paise: 30000},
	{Item: "lab.GLUF", Category: "*", Paise: 4000},
	{Item: "lab.GLUPP", Category: "*", Paise: 4000},
	{Item: "lab.LFT", Category: "*", Paise: 22500},
	{Item: "lab.KFT", Category: "*", Paise: 22500},
	{Item: "lab.LIPID", Category: "*", Paise: 20000},
	{Item: "lab.ELEC", Category: "*", Paise: 15000},
	{Item: "lab.THY", Category: "*", Paise: 35000},
	{Item: "lab.URINE", Category: "*", Paise: 5000},
}

func demo(ctx context.Context, n *node.Node, password string) error {
	return n.Do(ctx, "system", func(tx *node.Tx) error {
		for _, t := range DemoTariffs {
			if err := SetTariff(tx, t); err != nil {
				return err
			}
		}
		return nil
	})
}
