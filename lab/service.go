package lab

import (
	"context"

	"kavach/access"
	"kavach/node"
	"kavach/service"
)

// EnterResults is the lab's permission to enter results: a registration
// clerk may not.
const EnterResults access.Permission = "lab.results"

var grants = []access.Grant{
	{Permission: EnterResults, What: "Enter lab results", Roles: []access.Role{access.Lab}},
}

// Service is the laboratory; for now its test catalogue.
func Service() service.Service {
	return service.Service{Name: "lab", Data: Data(), Grants: grants, Demo: demo}
}

// DemoTests are the catalogue --demo adds.
var DemoTests = []Test{
	{Code: "CBC", Name: "Complete blood count", Specimen: "Blood", Container: "EDTA (purple)", Unit: "", RefRange: "see report"},
	{Code: "HB", Name: "Haemoglobin", Specimen: "Blood", Container: "EDTA (purple)", Unit: "g/dL", RefRange: "12–16 (F), 13–17 (M)"},
	{Code: "FBS", Name: "Fasting blood sugar", Specimen: "Blood", Container: "Fluoride (grey)", Unit: "mg/dL", RefRange: "70–100"},
	{Code: "RBS", Name: "Random blood sugar", Specimen: "Blood", Container: "Fluoride (grey)", Unit: "mg/dL", RefRange: "70–140"},
	{Code: "HBA1C", Name: "Glycated haemoglobin", Specimen: "Blood", Container: "EDTA (purple)", Unit: "%", RefRange: "4.0–5.6"},
	{Code: "LFT", Name: "Liver function tests", Specimen: "Serum", Container: "Plain (red)", Unit: "", RefRange: "see report"},
	{Code: "KFT", Name: "Kidney function tests", Specimen: "Serum", Container: "Plain (red)", Unit: "", RefRange: "see report"},
	{Code: "CREAT", Name: "Serum creatinine", Specimen: "Serum", Container: "Plain (red)", Unit: "mg/dL", RefRange: "0.6–1.2"},
	{Code: "TSH", Name: "Thyroid stimulating hormone", Specimen: "Serum", Container: "Plain (red)", Unit: "mIU/L", RefRange: "0.4–4.0"},
	{Code: "LIPID", Name: "Lipid profile", Specimen: "Serum", Container: "Plain (red)", Unit: "", RefRange: "see report"},
	{Code: "URINE", Name: "Urine routine and microscopy", Specimen: "Urine", Container: "Urine container", Unit: "", RefRange: "see report"},
	{Code: "MP", Name: "Malaria parasite (smear)", Specimen: "Blood", Container: "EDTA (purple)", Unit: "", RefRange: "Not seen"},
	{Code: "DENGNS1", Name: "Dengue NS1 antigen", Specimen: "Serum", Container: "Plain (red)", Unit: "", RefRange: "Negative"},
}

func demo(ctx context.Context, n *node.Node, password string) error {
	return n.Do(ctx, "system", func(tx *node.Tx) error {
		for _, t := range DemoTests {
			if err := DefineTest(tx, t); err != nil {
				return err
			}
		}
		return nil
	})
}
