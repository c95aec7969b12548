// Package hospital puts a node together with every hospital service: it is
// the one list of services, the first admin, and the demo data.
package hospital

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"kavach/audit"
	"kavach/auth"
	"kavach/billing"
	"kavach/lab"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
)

// Services lists every service's migrations and projectors, in the order
// their migrations apply.
func Services() []node.Service {
	return []node.Service{
		auth.Data(),
		audit.Data(),
		registration.Data(),
		opd.Data(),
		billing.Data(),
		lab.Data(),
	}
}

// Hospital is an open node with its services.
type Hospital struct {
	Node *node.Node
	Auth *auth.Auth
}

// Open opens the node in cfg.Dir with every service.
func Open(ctx context.Context, cfg node.Config) (*Hospital, error) {
	cfg.Services = Services()
	n, err := node.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Hospital{Node: n, Auth: auth.New(n)}, nil
}

// Close closes the node.
func (h *Hospital) Close() error { return h.Node.Close() }

// GeneratePassword returns a random password that is easy to type.
func GeneratePassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HasUsers reports whether any user exists.
func (h *Hospital) HasUsers(ctx context.Context) (bool, error) {
	us, err := auth.Users(ctx, h.Node.DB())
	return len(us) > 0, err
}

// EnsureAdmin adds the admin user on a node that has no users yet.
func (h *Hospital) EnsureAdmin(ctx context.Context, password string) (bool, error) {
	has, err := h.HasUsers(ctx)
	if err != nil || has {
		return false, err
	}
	err = h.Auth.AddUser(ctx, "system", auth.NewUser{Username: "admin", FullName: "Administrator", Role: auth.Admin, Password: password})
	return err == nil, err
}

// DemoDepartments are the departments --demo adds.
var DemoDepartments = []opd.Department{
	{Code: "MED", Name: "General Medicine", NameHi: "सामान्य चिकित्सा", Room: "101", Days: "Mon–Sat", Unit: "Unit I", Doctor: "Dr. A. Sharma"},
	{Code: "SUR", Name: "General Surgery", NameHi: "सामान्य शल्य चिकित्सा", Room: "201", Days: "Mon, Wed, Fri", Unit: "Unit I", Doctor: "Dr. R. Verma"},
	{Code: "PED", Name: "Paediatrics", NameHi: "बाल रोग", Room: "105", Days: "Mon–Sat", Unit: "Unit II", Doctor: "Dr. S. Iyer"},
	{Code: "ENT", Name: "ENT", NameHi: "नाक, कान, गला", Room: "110", Days: "Tue, Thu, Sat", Unit: "Unit I", Doctor: "Dr. K. Gupta"},
	{Code: "EYE", Name: "Ophthalmology", NameHi: "नेत्र रोग", Room: "115", Days: "Mon–Sat", Unit: "Unit I", Doctor: "Dr. M. Khan"},
	{Code: "ORT", Name: "Orthopaedics", NameHi: "हड्डी रोग", Room: "210", Days: "Mon, Thu", Unit: "Unit I", Doctor: "Dr. P. Singh"},
	{Code: "OBG", Name: "Obstetrics & Gynaecology", NameHi: "प्रसूति एवं स्त्री रोग", Room: "301", Days: "Mon–Sat", Unit: "Unit I", Doctor: "Dr. N. Rao"},
	{Code: "DER", Name: "Dermatology", NameHi: "त्वचा रोग", Room: "120", Days: "Tue, Fri", Unit: "Unit I", Doctor: "Dr. L. Menon"},
}

// DemoUsers are the users --demo adds, one per role, named after the role.
var DemoUsers = []auth.Role{auth.Registration, auth.Doctor, auth.Lab, auth.Billing, auth.Nurse, auth.Auditor}

var demoTests = []lab.Test{
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

var demoTariffs = []billing.Tariff{
	{Item: "opd.new", Category: "*", Paise: 1000},
	{Item: "opd.revisit", Category: "*", Paise: 0},
	{Item: "opd.new", Category: "bpl", Paise: 0},
	{Item: "opd.new", Category: "senior", Paise: 0},
	{Item: "opd.new", Category: "staff", Paise: 0},
	{Item: "opd.new", Category: "scheme", Paise: 0},
	{Item: "lab.CBC", Category: "*", Paise: 15000},
	{Item: "lab.FBS", Category: "*", Paise: 4000},
	{Item: "lab.LFT", Category: "*", Paise: 22500},
	{Item: "lab.KFT", Category: "*", Paise: 22500},
	{Item: "lab.TSH", Category: "*", Paise: 25000},
}

// SeedDemo adds the demo departments, users, lab catalogue and tariffs. It
// does nothing on a node that already has departments.
func (h *Hospital) SeedDemo(ctx context.Context, password string) error {
	ds, err := opd.Departments(ctx, h.Node.DB())
	if err != nil {
		return err
	}
	if len(ds) > 0 {
		return nil
	}
	for _, r := range DemoUsers {
		u := auth.NewUser{Username: string(r), FullName: "Demo " + string(r), Role: r, Password: password}
		if err := h.Auth.AddUser(ctx, "system", u); err != nil {
			return fmt.Errorf("demo user %s: %w", r, err)
		}
	}
	return h.Node.Do(ctx, "system", func(tx *node.Tx) error {
		for _, d := range DemoDepartments {
			if err := opd.AddDepartment(tx, d); err != nil {
				return err
			}
		}
		for _, t := range demoTests {
			if err := lab.DefineTest(tx, t); err != nil {
				return err
			}
		}
		for _, t := range demoTariffs {
			if err := billing.SetTariff(tx, t); err != nil {
				return err
			}
		}
		return nil
	})
}
