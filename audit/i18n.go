package audit

// hindi is the Hindi of the labels and messages of this service's pages,
// keyed by the English exactly as the templates and the code write them.
var hindi = map[string]string{
	// Layout and navigation.
	"Audit trail":                    "ऑडिट ट्रेल",
	"Who saw which patient's record": "किसने किस रोगी का रिकॉर्ड देखा",

	// Patient page.
	"Time": "समय",

	// Audit.
	"Who saw which patient's record, newest first.": "किसने किस रोगी का रिकॉर्ड देखा, नवीनतम पहले।",
	"Patient UHID": "रोगी का यूएचआईडी",
	"User":         "उपयोगकर्ता",
	"Show":         "दिखाएँ",
	"Action":       "कार्य",
	"No entries.":  "कोई प्रविष्टि नहीं।",
	"Only the latest 200 entries are shown; filter by patient or user to see older ones.": "केवल नवीनतम 200 प्रविष्टियाँ दिखाई गई हैं; पुरानी देखने के लिए रोगी या उपयोगकर्ता चुनें।",
}
