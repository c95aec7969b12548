package web

// hindi is the Hindi of the node's own labels and messages (the layout,
// login, errors, status) and of what several services share. Each service
// has its own table beside its pages; the server merges them. Keys are the
// English exactly as the templates and the code write them; a test checks
// that every label in a template has an entry.
var hindi = map[string]string{
	// Layout and navigation.
	"Pages":                               "पृष्ठ",
	"Home":                                "मुख्य पृष्ठ",
	"Search":                              "खोजें",
	"Node status":                         "नोड की स्थिति",
	"Backups":                             "बैकअप",
	"Backed up to vault":                  "वॉल्ट में बैकअप",
	"up to event":                         "घटना तक",
	"at":                                  "समय",
	"No vault has confirmed a backup yet": "किसी वॉल्ट ने अभी तक बैकअप की पुष्टि नहीं की",
	"Log in":                              "लॉग इन",
	"Change password":                     "पासवर्ड बदलें",
	"Medical records officer":             "चिकित्सा अभिलेख अधिकारी",
	"Pathologist":                         "रोगविज्ञानी",
	"Accounts officer":                    "लेखा अधिकारी",
	"Log out":                             "लॉग आउट",
	"Username":                            "उपयोगकर्ता नाम",
	"Password":                            "पासवर्ड",
	"Welcome":                             "स्वागत है",
	"Go to the home page":                 "मुख्य पृष्ठ पर जाएँ",
	"Your role has no pages here yet.":    "आपकी भूमिका के लिए अभी यहाँ कोई पृष्ठ नहीं है।",
	"Type your username and password.":    "अपना उपयोगकर्ता नाम और पासवर्ड लिखें।",
	"Find a patient by UHID, mobile, ABHA number or name": "यूएचआईडी, मोबाइल, आभा संख्या या नाम से रोगी खोजें",
	"Journal, checkpoints and the node's key":             "जर्नल, चेकपॉइंट और नोड की कुंजी",

	// Roles.
	"Doctor":             "चिकित्सक",
	"Administrator":      "प्रशासक",
	"Registration clerk": "पंजीकरण लिपिक",
	"Lab technician":     "प्रयोगशाला तकनीशियन",
	"Billing clerk":      "बिलिंग लिपिक",
	"Nurse":              "नर्स",
	"Auditor":            "लेखा परीक्षक",

	// Patient fields.
	"Name": "नाम",

	// Registration.
	"Please correct the marked fields.": "कृपया चिह्नित खानों को ठीक करें।",

	// A site node's link to its central.
	"Central node unreachable":   "केंद्रीय नोड से संपर्क नहीं",
	"since":                      "से",
	"working locally":            "यहीं काम चल रहा है",
	"changes waiting to be sent": "बदलाव भेजे जाने की प्रतीक्षा में",
	"Carry on: nothing is lost, and the changes go when it answers again.": "काम जारी रखें: कुछ भी नहीं खोता, संपर्क लौटते ही बदलाव भेज दिए जाएँगे।",

	// Status: sites and alerts.
	"Central node":               "केंद्रीय नोड",
	"Linked":                     "जुड़ा हुआ",
	"the oldest from":            "सबसे पुराना",
	"Site nodes":                 "साइट नोड",
	"Events held":                "रखी गई घटनाएँ",
	"Waiting at the site":        "साइट पर प्रतीक्षा में",
	"Last seen":                  "अंतिम संपर्क",
	"not enrolled yet":           "अभी नामांकित नहीं",
	"Other nodes' journals held": "अन्य नोडों के जर्नल",
	"Applied":                    "लागू",
	"Alerts":                     "चेतावनियाँ",
	"Kind":                       "प्रकार",
	"About":                      "किसके बारे में",
	"What happened":              "क्या हुआ",
	"When":                       "कब",

	// Status.
	"Hospital":        "अस्पताल",
	"Node code":       "नोड कोड",
	"Log origin":      "लॉग ऑरिजिन",
	"Journal size":    "जर्नल का आकार",
	"events":          "घटनाएँ",
	"Last checkpoint": "अंतिम चेकपॉइंट",
	"ago":             "पहले",
	"none yet":        "अभी कोई नहीं",
	"Verifier key":    "सत्यापन कुंजी",
	"Serving for":     "चालू समय",

	// Errors.
	"Error":                                 "त्रुटि",
	"Not allowed":                           "अनुमति नहीं",
	"Not found":                             "नहीं मिला",
	"Please check":                          "कृपया जाँचें",
	"Your role (%s) may not see this page.": "आपकी भूमिका (%s) यह पृष्ठ नहीं देख सकती।",
	errCSRF:                                 "यह फ़ॉर्म पुराना हो गया है या इस स्क्रीन से नहीं आया। वापस जाएँ, पृष्ठ फिर से खोलें और दोबारा प्रयास करें।",
	"Something went wrong on the server. It has been logged; please try again.": "सर्वर पर कुछ गड़बड़ हुई। यह दर्ज कर लिया गया है; कृपया फिर प्रयास करें।",
}
