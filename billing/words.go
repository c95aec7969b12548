package billing

import "strings"

// The amount in words on a receipt, in the Indian system (lakh, crore), in
// English and in Hindi: "Rupees One Thousand Two Hundred Fifty and Paise
// Fifty Only", "एक हज़ार दो सौ पचास रुपये पचास पैसे मात्र".

var ones = []string{"", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten", "Eleven", "Twelve",
	"Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen"}
var tens = []string{"", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety"}

// hindiNumbers are the Hindi words for 0 to 99: each has its own.
var hindiNumbers = strings.Fields(`शून्य एक दो तीन चार पाँच छह सात आठ नौ
दस ग्यारह बारह तेरह चौदह पंद्रह सोलह सत्रह अठारह उन्नीस
बीस इक्कीस बाईस तेईस चौबीस पच्चीस छब्बीस सत्ताईस अट्ठाईस उनतीस
तीस इकतीस बत्तीस तैंतीस चौंतीस पैंतीस छत्तीस सैंतीस अड़तीस उनतालीस
चालीस इकतालीस बयालीस तैंतालीस चवालीस पैंतालीस छियालीस सैंतालीस अड़तालीस उनचास
पचास इक्यावन बावन तिरेपन चौवन पचपन छप्पन सत्तावन अट्ठावन उनसठ
साठ इकसठ बासठ तिरसठ चौंसठ पैंसठ छियासठ सड़सठ अड़सठ उनहत्तर
सत्तर इकहत्तर बहत्तर तिहत्तर चौहत्तर पचहत्तर छिहत्तर सतहत्तर अठहत्तर उन्यासी
अस्सी इक्यासी बयासी तिरासी चौरासी पचासी छियासी सत्तासी अट्ठासी नवासी
नब्बे इक्यानबे बानबे तिरानबे चौरानबे पंचानबे छियानबे सत्तानबे अट्ठानबे निन्यानबे`)

func english99(n int64) string {
	if n < 20 {
		return ones[n]
	}
	if n%10 == 0 {
		return tens[n/10]
	}
	return tens[n/10] + " " + ones[n%10]
}

// indian splits n into crores, lakhs, thousands, hundreds and the rest,
// and names each part with words(part) and its scale.
func indian(n int64, words func(int64) string, scales [4]string) string {
	var parts []string
	if n >= 10000000 {
		parts = append(parts, indian(n/10000000, words, scales)+" "+scales[0])
		n %= 10000000
	}
	for i, unit := range []int64{100000, 1000, 100} {
		if n >= unit {
			parts = append(parts, words(n/unit)+" "+scales[i+1])
			n %= unit
		}
	}
	if n > 0 {
		parts = append(parts, words(n))
	}
	return strings.Join(parts, " ")
}

// InWords is an amount in English words: "Rupees Ten and Paise Fifty Only".
func InWords(paise int64) string {
	if paise < 0 {
		return "Minus " + InWords(-paise)
	}
	r, p := paise/100, paise%100
	s := "Rupees " + indian(r, english99, [4]string{"Crore", "Lakh", "Thousand", "Hundred"})
	if r == 0 {
		s = "Rupees Zero"
	}
	if p > 0 {
		s += " and Paise " + english99(p)
	}
	return s + " Only"
}

// InWordsHindi is an amount in Hindi words: "दस रुपये पचास पैसे मात्र".
func InWordsHindi(paise int64) string {
	if paise < 0 {
		return "ऋण " + InWordsHindi(-paise)
	}
	r, p := paise/100, paise%100
	hindi := func(n int64) string { return hindiNumbers[n] }
	s := indian(r, hindi, [4]string{"करोड़", "लाख", "हज़ार", "सौ"})
	if r == 0 {
		s = "शून्य"
	}
	s += " रुपये"
	if p > 0 {
		s += " " + hindiNumbers[p] + " पैसे"
	}
	return s + " मात्र"
}
