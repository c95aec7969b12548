package lab

import (
	"context"
	"fmt"

	"kavach/access"
	"kavach/node"
	"kavach/service"
)

// The lab's permissions.
const (
	OrderTests     access.Permission = "lab.order"     // order tests, or enter an outside prescription
	Prescribe      access.Permission = "lab.prescribe" // order as the treating doctor, for a visit
	CancelOrders   access.Permission = "lab.cancel"    // cancel an order, with a reason
	CollectSamples access.Permission = "lab.collect"   // collect samples, print labels
	ReceiveSamples access.Permission = "lab.receive"   // receive or reject samples in the lab
	EnterResults   access.Permission = "lab.results"   // enter results, see worklists
	VerifyResults  access.Permission = "lab.verify"    // verify results and release the report
	SeeResults     access.Permission = "lab.see"       // read results and reports
	SeeStatus      access.Permission = "lab.status"    // see where a patient's samples stand
	CallCritical   access.Permission = "lab.critical"  // record who was told of a critical value
	EditCatalogue  access.Permission = "lab.catalogue" // edit tests and analytes
)

var grants = []access.Grant{
	{Permission: OrderTests, What: "Order lab tests, or enter an outside prescription at collection",
		Roles: []access.Role{access.Doctor, access.Lab, access.Nurse}},
	{Permission: Prescribe, What: "Order lab tests as the treating doctor", Roles: []access.Role{access.Doctor}},
	{Permission: CancelOrders, What: "Cancel a lab order, with a reason", Roles: []access.Role{access.Doctor, access.Lab}},
	{Permission: CollectSamples, What: "Collect samples and print their labels", Roles: []access.Role{access.Lab, access.Nurse}},
	{Permission: ReceiveSamples, What: "Receive or reject samples in the lab", Roles: []access.Role{access.Lab}},
	{Permission: EnterResults, What: "Enter lab results and see the sections' worklists", Roles: []access.Role{access.Lab, access.Pathologist}},
	{Permission: VerifyResults, What: "Verify lab results and release the report", Roles: []access.Role{access.Pathologist}},
	{Permission: SeeResults, What: "Read lab results and reports",
		Roles: []access.Role{access.Doctor, access.Lab, access.Pathologist, access.Nurse}},
	{Permission: SeeStatus, What: "See where a patient's lab samples stand, without results",
		Roles: []access.Role{access.Registration, access.Doctor, access.Lab, access.Pathologist, access.Nurse, access.Billing}},
	{Permission: CallCritical, What: "Record who was told of a critical value", Roles: []access.Role{access.Lab, access.Pathologist}},
	{Permission: EditCatalogue, What: "Edit the lab's tests and analytes", Roles: []access.Role{access.Admin}},
}

// Service is the laboratory.
func Service() service.Service {
	return service.Service{Name: "lab", Data: Data(), Grants: grants, Web: webPart(), Demo: demo}
}

func demo(ctx context.Context, n *node.Node, password string) error {
	return n.Do(ctx, "system", func(tx *node.Tx) error {
		for _, a := range DemoAnalytes {
			if err := DefineAnalyte(tx, a); err != nil {
				return fmt.Errorf("analyte %s: %w", a.Code, err)
			}
		}
		for _, t := range DemoTests {
			if err := SpecifyTest(tx, t); err != nil {
				return fmt.Errorf("test %s: %w", t.Code, err)
			}
		}
		return nil
	})
}

func r(sex string, from, to int, low, high string) Range {
	return Range{Sex: sex, FromDays: from, ToDays: to, Low: low, High: high}
}

const (
	year  = 365
	adult = 18 * year
)

// DemoAnalytes are the analytes --demo adds, with LOINC codes, adult
// reference ranges by sex (and children's where they differ much) and
// critical limits as Indian hospital labs commonly use them.
var DemoAnalytes = []Analyte{
	// Haematology
	{Code: "HGB", Name: "Haemoglobin", Unit: "g/dL", LOINC: "718-7", Decimals: 1, CritLow: "7", CritHigh: "20", DeltaPercent: 20,
		Ranges: []Range{r("", 0, 30, "14.0", "24.0"), r("", 30, 12*year, "11.0", "15.5"), r("M", 12*year, 0, "13.0", "17.0"), r("F", 12*year, 0, "12.0", "15.0"), r("", 12*year, 0, "12.0", "17.0")}},
	{Code: "WBC", Name: "Total leucocyte count", Unit: "10^9/L", LOINC: "6690-2", Decimals: 1, CritLow: "2", CritHigh: "30", DeltaPercent: 50,
		Ranges: []Range{r("", 0, 30, "9.0", "30.0"), r("", 30, 12*year, "5.0", "15.0"), r("", 12*year, 0, "4.0", "11.0")}},
	{Code: "PLT", Name: "Platelet count", Unit: "10^9/L", LOINC: "777-3", Decimals: 0, CritLow: "20", CritHigh: "1000", DeltaPercent: 50,
		Ranges: []Range{r("", 0, 0, "150", "410")}},
	{Code: "RBC", Name: "Red cell count", Unit: "10^12/L", LOINC: "789-8", Decimals: 2,
		Ranges: []Range{r("M", adult, 0, "4.5", "5.5"), r("F", adult, 0, "3.8", "4.8"), r("", 0, 0, "3.8", "5.5")}},
	{Code: "HCT", Name: "Haematocrit (PCV)", Unit: "%", LOINC: "4544-3", Decimals: 1,
		Ranges: []Range{r("M", adult, 0, "40", "50"), r("F", adult, 0, "36", "46"), r("", 0, 0, "33", "50")}},
	{Code: "MCV", Name: "Mean cell volume", Unit: "fL", LOINC: "787-2", Decimals: 1, Ranges: []Range{r("", 0, 0, "83", "101")}},
	{Code: "MCH", Name: "Mean cell haemoglobin", Unit: "pg", LOINC: "785-6", Decimals: 1, Ranges: []Range{r("", 0, 0, "27", "32")}},
	{Code: "MCHC", Name: "Mean cell haemoglobin concentration", Unit: "g/dL", LOINC: "786-4", Decimals: 1, Ranges: []Range{r("", 0, 0, "31.5", "34.5")}},
	{Code: "RDW", Name: "Red cell distribution width", Unit: "%", LOINC: "788-0", Decimals: 1, Ranges: []Range{r("", 0, 0, "11.6", "14.0")}},
	{Code: "MPV", Name: "Mean platelet volume", Unit: "fL", LOINC: "32623-1", Decimals: 1, Ranges: []Range{r("", 0, 0, "7.5", "11.5")}},
	// Biochemistry
	{Code: "GLU", Name: "Glucose, fasting", Unit: "mg/dL", LOINC: "1558-6", Decimals: 0, CritLow: "40", CritHigh: "450", DeltaPercent: 0,
		Ranges: []Range{r("", 0, 0, "70", "100")}},
	{Code: "GLUPP", Name: "Glucose, 2 h post-prandial", Unit: "mg/dL", LOINC: "1521-0", Decimals: 0, CritLow: "40", CritHigh: "450",
		Ranges: []Range{r("", 0, 0, "70", "140")}},
	{Code: "HBA1C", Name: "HbA1c", Unit: "%", LOINC: "4548-4", Decimals: 1, Ranges: []Range{r("", 0, 0, "4.0", "5.6")}},
	{Code: "TBIL", Name: "Bilirubin, total", Unit: "mg/dL", LOINC: "1975-2", Decimals: 1, Ranges: []Range{r("", 30, 0, "0.3", "1.2")}},
	{Code: "DBIL", Name: "Bilirubin, direct", Unit: "mg/dL", LOINC: "1968-7", Decimals: 1, Ranges: []Range{r("", 0, 0, "0.0", "0.3")}},
	{Code: "ALT", Name: "ALT (SGPT)", Unit: "U/L", LOINC: "1742-6", Decimals: 0, Ranges: []Range{r("M", 0, 0, "7", "45"), r("F", 0, 0, "7", "35"), r("", 0, 0, "7", "45")}},
	{Code: "AST", Name: "AST (SGOT)", Unit: "U/L", LOINC: "1920-8", Decimals: 0, Ranges: []Range{r("", 0, 0, "8", "40")}},
	{Code: "ALP", Name: "Alkaline phosphatase", Unit: "U/L", LOINC: "6768-6", Decimals: 0, Ranges: []Range{r("", 0, adult, "100", "400"), r("", adult, 0, "40", "130")}},
	{Code: "TP", Name: "Protein, total", Unit: "g/dL", LOINC: "2885-2", Decimals: 1, Ranges: []Range{r("", 0, 0, "6.4", "8.3")}},
	{Code: "ALB", Name: "Albumin", Unit: "g/dL", LOINC: "1751-7", Decimals: 1, Ranges: []Range{r("", 0, 0, "3.5", "5.2")}},
	{Code: "UREA", Name: "Urea", Unit: "mg/dL", LOINC: "3091-6", Decimals: 0, CritHigh: "200", Ranges: []Range{r("", 0, 0, "17", "43")}},
	{Code: "CREAT", Name: "Creatinine", Unit: "mg/dL", LOINC: "2160-0", Decimals: 2, CritHigh: "10", DeltaPercent: 50,
		Ranges: []Range{r("M", adult, 0, "0.70", "1.30"), r("F", adult, 0, "0.60", "1.10"), r("", 0, 0, "0.30", "1.00")}},
	{Code: "UA", Name: "Uric acid", Unit: "mg/dL", LOINC: "3084-1", Decimals: 1, Ranges: []Range{r("M", 0, 0, "3.5", "7.2"), r("F", 0, 0, "2.6", "6.0"), r("", 0, 0, "2.6", "7.2")}},
	{Code: "NA", Name: "Sodium", Unit: "mmol/L", LOINC: "2951-2", Decimals: 0, CritLow: "120", CritHigh: "160", DeltaPercent: 10, Ranges: []Range{r("", 0, 0, "135", "145")}},
	{Code: "K", Name: "Potassium", Unit: "mmol/L", LOINC: "2823-3", Decimals: 1, CritLow: "2.8", CritHigh: "6.2", DeltaPercent: 20, Ranges: []Range{r("", 0, 0, "3.5", "5.1")}},
	{Code: "CL", Name: "Chloride", Unit: "mmol/L", LOINC: "2075-0", Decimals: 0, Ranges: []Range{r("", 0, 0, "98", "107")}},
	{Code: "CHOL", Name: "Cholesterol, total", Unit: "mg/dL", LOINC: "2093-3", Decimals: 0, Ranges: []Range{r("", 0, 0, "", "200")}},
	{Code: "TG", Name: "Triglycerides", Unit: "mg/dL", LOINC: "2571-8", Decimals: 0, Ranges: []Range{r("", 0, 0, "", "150")}},
	{Code: "HDL", Name: "HDL cholesterol", Unit: "mg/dL", LOINC: "2085-9", Decimals: 0, Ranges: []Range{r("", 0, 0, "40", "")}},
	{Code: "LDL", Name: "LDL cholesterol", Unit: "mg/dL", LOINC: "13457-7", Decimals: 0, Ranges: []Range{r("", 0, 0, "", "100")}},
	// Immunoassay
	{Code: "T3", Name: "Triiodothyronine (T3)", Unit: "ng/dL", LOINC: "3053-6", Decimals: 0, Ranges: []Range{r("", 0, 0, "80", "200")}},
	{Code: "T4", Name: "Thyroxine (T4)", Unit: "µg/dL", LOINC: "3026-2", Decimals: 1, Ranges: []Range{r("", 0, 0, "5.1", "14.1")}},
	{Code: "TSH", Name: "Thyroid stimulating hormone", Unit: "mIU/L", LOINC: "3016-3", Decimals: 2, Ranges: []Range{r("", 0, 0, "0.27", "4.20")}},
	// Clinical pathology
	{Code: "URCOL", Name: "Urine colour", LOINC: "5778-6", Kind: "text", Normal: "Pale yellow"},
	{Code: "URPH", Name: "Urine pH", LOINC: "5803-2", Decimals: 1, Ranges: []Range{r("", 0, 0, "4.5", "8.0")}},
	{Code: "URSG", Name: "Urine specific gravity", LOINC: "5811-5", Decimals: 3, Ranges: []Range{r("", 0, 0, "1.005", "1.030")}},
	{Code: "URPRO", Name: "Urine protein", LOINC: "20454-5", Kind: "text", Normal: "Negative"},
	{Code: "URGLU", Name: "Urine glucose", LOINC: "25428-4", Kind: "text", Normal: "Negative"},
	{Code: "URPUS", Name: "Pus cells", Unit: "/HPF", LOINC: "5821-4", Decimals: 0, Ranges: []Range{r("", 0, 0, "0", "5")}},
}

// DemoTests are the tests and panels --demo adds.
var DemoTests = []TestSpec{
	{Code: "CBC", Name: "Complete blood count", Specimen: "Blood", Container: "EDTA (purple)", Section: "HAEM", TATMinutes: 120,
		Analytes: []string{"HGB", "WBC", "PLT", "RBC", "HCT", "MCV", "MCH", "MCHC", "RDW", "MPV"}},
	{Code: "HB", Name: "Haemoglobin", Specimen: "Blood", Container: "EDTA (purple)", Section: "HAEM", TATMinutes: 60, Analytes: []string{"HGB"}},
	{Code: "HBA1C", Name: "Glycated haemoglobin (HbA1c)", Specimen: "Blood", Container: "EDTA (purple)", Section: "BIOC", TATMinutes: 240, Analytes: []string{"HBA1C"}},
	{Code: "GLUF", Name: "Glucose, fasting", Specimen: "Plasma", Container: "Fluoride (grey)", Section: "BIOC", TATMinutes: 120, Analytes: []string{"GLU"}},
	{Code: "GLUPP", Name: "Glucose, post-prandial", Specimen: "Plasma", Container: "Fluoride (grey)", Section: "BIOC", TATMinutes: 120, Analytes: []string{"GLUPP"}},
	{Code: "LFT", Name: "Liver function tests", Specimen: "Serum", Container: "Plain (red)", Section: "BIOC", TATMinutes: 240,
		Analytes: []string{"TBIL", "DBIL", "ALT", "AST", "ALP", "TP", "ALB"}},
	{Code: "KFT", Name: "Kidney function tests", Specimen: "Serum", Container: "Plain (red)", Section: "BIOC", TATMinutes: 240,
		Analytes: []string{"UREA", "CREAT", "UA", "NA", "K", "CL"}},
	{Code: "LIPID", Name: "Lipid profile", Specimen: "Serum", Container: "Plain (red)", Section: "BIOC", TATMinutes: 240,
		Analytes: []string{"CHOL", "TG", "HDL", "LDL"}},
	{Code: "ELEC", Name: "Serum electrolytes", Specimen: "Serum", Container: "Plain (red)", Section: "BIOC", TATMinutes: 120,
		Analytes: []string{"NA", "K", "CL"}},
	{Code: "THY", Name: "Thyroid profile (T3, T4, TSH)", Specimen: "Serum", Container: "Plain (red)", Section: "IMMU", TATMinutes: 480,
		Analytes: []string{"T3", "T4", "TSH"}},
	{Code: "URINE", Name: "Urine routine and microscopy", Specimen: "Urine", Container: "Urine container", Section: "CPATH", TATMinutes: 120,
		Analytes: []string{"URCOL", "URPH", "URSG", "URPRO", "URGLU", "URPUS"}},
}
