package opd

// hindi is the Hindi of the labels and messages of this service's pages,
// keyed by the English exactly as the templates and the code write them.
var hindi = map[string]string{
	// Layout and navigation.
	"Registration": "पंजीकरण",
	"Queue":        "कतार",
	"Register a new patient and print the OPD slip": "नया रोगी पंजीकृत करें और ओपीडी पर्ची छापें",
	"Today's OPD queue of a department":             "किसी विभाग की आज की ओपीडी कतार",

	// Patient fields.
	"optional":                 "वैकल्पिक",
	"Age":                      "उम्र",
	"years":                    "वर्ष",
	"months":                   "माह",
	"or Date of birth":         "या जन्म तिथि",
	"card no.":                 "कार्ड सं.",
	"Department":               "विभाग",
	"Department (today's OPD)": "विभाग (आज की ओपीडी)",

	// Registration.
	"New registration":        "नया पंजीकरण",
	"Register and print slip": "पंजीकरण करें और पर्ची छापें",
	"Fields marked * are required. Give the age, or the date of birth if the patient knows it.":                 "* वाले खाने भरना ज़रूरी है। उम्र लिखें, या रोगी को पता हो तो जन्म तिथि।",
	"This patient may already be registered":                                                                    "यह रोगी शायद पहले से पंजीकृत है",
	"Ask the patient. If one of these is the same person, use that record: a second UHID splits their history.": "रोगी से पूछें। यदि इनमें से कोई वही व्यक्ति है, तो वही रिकॉर्ड लें: दूसरा यूएचआईडी उनका इतिहास बाँट देता है।",
	"Why":                     "कारण",
	"Use this patient":        "यही रोगी लें",
	"Register as new patient": "नए रोगी के रूप में पंजीकरण करें",
	"Choose a department":     "विभाग चुनें",

	// Patient page.
	"Today's OPD visit":         "आज की ओपीडी विज़िट",
	"Open visit and print slip": "विज़िट खोलें और पर्ची छापें",
	"Visits":                    "विज़िट",
	"Date":                      "दिनांक",
	"Token":                     "टोकन",
	"Visit":                     "विज़िट",
	"Visit no.":                 "विज़िट सं.",
	"Seen":                      "देखा गया",
	"Slip":                      "पर्ची",
	"No visits yet.":            "अभी कोई विज़िट नहीं।",

	// Slip.
	"OPD slip":                               "ओपीडी पर्ची",
	"Register next patient":                  "अगला रोगी पंजीकृत करें",
	"Print again":                            "फिर से छापें",
	"Paper":                                  "कागज़",
	"Patient record":                         "रोगी का रिकॉर्ड",
	"Unit":                                   "यूनिट",
	"Room No.":                               "कमरा सं.",
	"Room":                                   "कमरा",
	"OPD days":                               "ओपीडी के दिन",
	"New":                                    "नया",
	"Revisit":                                "पुनः परामर्श",
	"Date & time":                            "दिनांक व समय",
	"Valid up to":                            "तक मान्य",
	"Fee":                                    "शुल्क",
	"Notes":                                  "टिप्पणी",
	"Please bring this slip on every visit.": "कृपया हर बार यह पर्ची साथ लाएँ।",
	"Tell the patient":                       "रोगी को बताएँ",
	"Go to":                                  "कहाँ जाएँ",

	// Queue.
	"OPD queue":                        "ओपीडी कतार",
	"Choose a department.":             "विभाग चुनें।",
	"waiting":                          "प्रतीक्षा में",
	"Refresh":                          "ताज़ा करें",
	"Mark seen":                        "देखा गया चिह्नित करें",
	"Undo":                             "वापस लें",
	"No patients in this queue today.": "आज इस कतार में कोई रोगी नहीं।",
	"earlier patients already seen are not shown.":               "पहले देखे जा चुके रोगी नहीं दिखाए गए।",
	"more patients are waiting; they appear as the queue moves.": "और रोगी प्रतीक्षा में हैं; कतार आगे बढ़ने पर दिखेंगे।",

	// Validation messages from registration, as a clerk reads them.
	"Age must be a whole number":                                "उम्र पूरी संख्या में लिखें",
	"Already has today's visit":                                 "आज की विज़िट पहले से है",
	"This patient already has a visit to this department today": "इस रोगी की आज इस विभाग में विज़िट पहले से है",
	"Reprint the slip (Duplicate)":                              "पर्ची फिर से छापें (डुप्लीकेट)",
	"A new token instead":                                       "इसके बजाय नया टोकन",
	"Why a new token":                                           "नया टोकन क्यों",
	"Give a new token":                                          "नया टोकन दें",
	"Say why a new token is needed":                             "बताएँ कि नया टोकन क्यों चाहिए",
	"Duplicate":                                                 "डुप्लीकेट",
	"Say why the patient needs a second token today.":           "बताएँ कि रोगी को आज दूसरा टोकन क्यों चाहिए।",
	// Messages that name an identifier, which stands as {} (web translates them by pattern).
	"No visit {}.": "विज़िट {} नहीं मिली।",
}
