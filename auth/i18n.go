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

	// Passwords, unlocking, tokens.
	"Enable":                       "सक्रिय करें",
	"Unlock":                       "ताला खोलें",
	"Reset":                        "नया सेट करें",
	"Current password":             "वर्तमान पासवर्ड",
	"New password":                 "नया पासवर्ड",
	"New password again":           "नया पासवर्ड दोबारा",
	"After too many failed logins": "कई बार गलत लॉग इन के बाद",
	"At least 10 characters; not a common password.":                             "कम से कम 10 अक्षर; कोई आम पासवर्ड नहीं।",
	"An administrator set your password: choose your own before you go on.":      "प्रशासक ने आपका पासवर्ड सेट किया है: आगे बढ़ने से पहले अपना पासवर्ड चुनें।",
	"Your password is changed.":                                                  "आपका पासवर्ड बदल दिया गया है।",
	"The two new passwords differ":                                               "दोनों नए पासवर्ड अलग हैं",
	"A user whose password you reset must choose a new one at their next login.": "जिस उपयोगकर्ता का पासवर्ड आप सेट करते हैं, उसे अगले लॉग इन पर नया चुनना होगा।",
	"Replication tokens":                                                         "प्रतिकृति टोकन",
	"Expires":                                                                    "समाप्ति",
	"Revoked":                                                                    "रद्द",
	"Expired":                                                                    "समाप्त",
	"Revoke":                                                                     "रद्द करें",
	"None yet.":                                                                  "अभी कोई नहीं।",
	"A vault pulls the whole journal with one of these: every patient's record, in the clear. Make one per vault with kavach token; revoke one that may have leaked.": "वॉल्ट इनमें से एक से पूरा जर्नल लेता है: हर रोगी का रिकॉर्ड, बिना कूटबद्ध किए। हर वॉल्ट के लिए kavach token से अलग टोकन बनाएँ; जो लीक हो सकता है उसे रद्द करें।",

	// Errors.
	"Wrong username or password.":                                       "उपयोगकर्ता नाम या पासवर्ड गलत है।",
	"Password must have at least 10 characters":                         "पासवर्ड में कम से कम 10 अक्षर हों",
	"Password must have at most 128 characters":                         "पासवर्ड में अधिकतम 128 अक्षर हों",
	"This password is one of the most common ones; choose another":      "यह सबसे आम पासवर्डों में से एक है; कोई दूसरा चुनें",
	"Password must not contain the username":                            "पासवर्ड में उपयोगकर्ता नाम न हो",
	"This is not your current password":                                 "यह आपका वर्तमान पासवर्ड नहीं है",
	"The new password must differ from the current one":                 "नया पासवर्ड वर्तमान से अलग हो",
	"Too many failed logins from this computer. Try again in a minute.": "इस कंप्यूटर से कई बार गलत लॉग इन हुआ। एक मिनट बाद प्रयास करें।",
	"Too many failed logins for this user. Log in at a computer you have used before, or ask an administrator to unlock the user.": "इस उपयोगकर्ता के लिए कई बार गलत लॉग इन हुआ। पहले इस्तेमाल किए कंप्यूटर से लॉग इन करें, या प्रशासक से ताला खुलवाएँ।",
}
