package auth

// hindi is the Hindi of the labels and messages of this service's pages,
// keyed by the English exactly as the templates and the code write them.
var hindi = map[string]string{
	// Layout and navigation.
	"Users":                       "उपयोगकर्ता",
	"Add and disable staff users": "कर्मचारी उपयोगकर्ता जोड़ें और निष्क्रिय करें",

	// Queue.
	"Status": "स्थिति",

	// Users.
	"Full name":  "पूरा नाम",
	"Role":       "भूमिका",
	"Added":      "जोड़ा गया",
	"Disabled":   "निष्क्रिय",
	"Disable":    "निष्क्रिय करें",
	"You":        "आप",
	"Add a user": "उपयोगकर्ता जोड़ें",
	"Add user":   "उपयोगकर्ता जोड़ें",

	// Errors.
	"Wrong username or password.": "उपयोगकर्ता नाम या पासवर्ड गलत है।",
}
