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
	"Patient UHID": "रोगी का यूएचआईडी",
	"User":         "उपयोगकर्ता",
	"Show":         "दिखाएँ",
	"Action":       "कार्य",
	"No entries.":  "कोई प्रविष्टि नहीं।",

	// Actions in words (actions.go).
	"opened the patient's record":                         "रोगी का रिकॉर्ड खोला",
	"read the patient's record":                           "रोगी का रिकॉर्ड पढ़ा",
	"opened the patient's record to correct it":           "सुधारने के लिए रोगी का रिकॉर्ड खोला",
	"compared two records to merge them":                  "मिलाने के लिए दो रिकॉर्ड की तुलना की",
	"searched for patients":                               "रोगियों को खोजा",
	"checked for duplicate records":                       "दोहरे रिकॉर्ड की जाँच की",
	"was shown possible duplicates while registering":     "पंजीकरण करते समय संभावित दोहरे रिकॉर्ड दिखाए गए",
	"looked at the records to reconcile":                  "मिलान के लिए रिकॉर्ड देखे",
	"read the records to reconcile":                       "मिलान के लिए रिकॉर्ड पढ़े",
	"printed the OPD slip":                                "ओपीडी पर्ची छापी",
	"printed the OPD slip as PDF":                         "ओपीडी पर्ची पीडीएफ़ में छापी",
	"read the OPD slip":                                   "ओपीडी पर्ची पढ़ी",
	"read a visit":                                        "एक विज़िट पढ़ी",
	"was shown the patient's visit already open today":    "रोगी की आज की खुली विज़िट दिखाई गई",
	"looked at a department's queue":                      "विभाग की कतार देखी",
	"read a department's queue":                           "विभाग की कतार पढ़ी",
	"read the patient's visit history":                    "रोगी का विज़िट इतिहास पढ़ा",
	"ordered lab tests":                                   "लैब जाँचें मँगवाईं",
	"read a lab order":                                    "लैब ऑर्डर पढ़ा",
	"opened a lab order to cancel it":                     "रद्द करने के लिए लैब ऑर्डर खोला",
	"collected the patient's samples":                     "रोगी के नमूने लिए",
	"printed sample labels":                               "नमूना लेबल छापे",
	"printed a sample label":                              "नमूना लेबल छापा",
	"received a sample in the lab":                        "लैब में नमूना प्राप्त किया",
	"looked at a lab worklist":                            "लैब कार्यसूची देखी",
	"read a lab worklist":                                 "लैब कार्यसूची पढ़ी",
	"read lab results":                                    "लैब परिणाम पढ़े",
	"read the patient's lab results":                      "रोगी के लैब परिणाम पढ़े",
	"looked at results awaiting verification":             "सत्यापन की प्रतीक्षा में परिणाम देखे",
	"looked at critical results":                          "गंभीर परिणाम देखे",
	"read critical results":                               "गंभीर परिणाम पढ़े",
	"printed a lab report":                                "लैब रिपोर्ट छापी",
	"read lab reports":                                    "लैब रिपोर्टें पढ़ीं",
	"a lab report was opened by its public link":          "लैब रिपोर्ट उसके सार्वजनिक लिंक से खोली गई",
	"a lab report's proof was checked by its public link": "लैब रिपोर्ट का प्रमाण उसके सार्वजनिक लिंक से जाँचा गया",
	"looked at the patient's account":                     "रोगी का खाता देखा",
	"read the patient's account":                          "रोगी का खाता पढ़ा",
	"looked at a receipt":                                 "एक रसीद देखी",
	"printed a receipt":                                   "रसीद छापी",
	"read a receipt":                                      "एक रसीद पढ़ी",
	"exported receipts":                                   "रसीदें निर्यात कीं",
	"looked at refunds":                                   "धनवापसी देखी",
	"read refunds":                                        "धनवापसी पढ़ी",

	// Filters and rows of the trail's page.
	msgNotDate:    "यह तारीख नहीं है: DD-MM-YYYY के रूप में लिखें।",
	msgToBefore:   "अंतिम तारीख आरंभ तारीख से पहले है।",
	"From":        "से",
	"To":          "तक",
	"Patients":    "रोगी",
	"%d patients": "%d रोगी",
	"Who saw which patient's record, newest first: a view of many patients, such as a queue, is one line.": "किसने किस रोगी का रिकॉर्ड देखा, नवीनतम पहले: कई रोगियों का एक दृश्य, जैसे कतार, एक पंक्ति है।",
	"Only the latest 200 views are shown; filter by patient, user or date to see older ones.":              "केवल नवीनतम 200 दृश्य दिखाए गए हैं; पुराने देखने के लिए रोगी, उपयोगकर्ता या तारीख चुनें।",
}
