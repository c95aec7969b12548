package billing

import (
	"regexp"
	"strconv"
	"strings"

	"kavach"
)

// The counter's pages take money in rupees as a clerk types it (150.50,
// 1,500) and turn it into paise exactly: no floating point on the way.

var rupeesRE = regexp.MustCompile(`^([0-9]{1,9})(?:\.([0-9]*))?$`)

// parseRupees reads an amount in rupees with up to two digits of paise
// ("150", "150.5", "1,500.50", "₹ 20") as integer paise. A negative
// amount, a third digit of paise or anything but a number is refused with
// the reason, in a clerk's words.
func parseRupees(s string) (int64, error) {
	s = strings.TrimSpace(s)
	for _, sym := range []string{"₹", "Rs.", "Rs"} {
		s = strings.TrimSpace(strings.TrimPrefix(s, sym))
	}
	s = strings.ReplaceAll(s, ",", "")
	switch {
	case s == "":
		return 0, amountError("Type the amount in rupees, like 150.50")
	case strings.HasPrefix(s, "-"):
		return 0, amountError("The amount cannot be negative")
	}
	m := rupeesRE.FindStringSubmatch(s)
	if m == nil {
		return 0, amountError("Type the amount in rupees, like 150.50")
	}
	if len(m[2]) > 2 {
		return 0, amountError("At most two digits of paise, like 150.50")
	}
	r, _ := strconv.ParseInt(m[1], 10, 64)
	p := int64(0)
	if m[2] != "" {
		p, _ = strconv.ParseInt((m[2] + "0")[:2], 10, 64)
	}
	return r*100 + p, nil
}

// amountPaise reads a form's amount in rupees, refusing nothing (0) too.
func amountPaise(typed string) (int64, error) {
	p, err := parseRupees(typed)
	if err == nil && p == 0 {
		err = amountError("The amount must be more than ₹0")
	}
	return p, err
}

func amountError(msg string) error {
	return &kavach.Error{Code: kavach.EINVALID, Message: "Please correct the marked fields.", Fields: map[string]string{"amount": msg}}
}

// rupeesInput shows paise as the amount field takes them: 150.50.
func rupeesInput(paise int64) string {
	if paise < 0 {
		paise = 0
	}
	return strconv.FormatInt(paise/100, 10) + "." + twoDigits(paise%100)
}

func twoDigits(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

// inr formats paise as the counter reads money: ₹1,50,000.50, grouped
// the Indian way (lakh, crore).
func inr(paise int64) string {
	sign := ""
	if paise < 0 {
		sign, paise = "−", -paise
	}
	r := strconv.FormatInt(paise/100, 10)
	if len(r) > 3 {
		head, tail := r[:len(r)-3], r[len(r)-3:]
		var groups []string
		for len(head) > 2 {
			groups = append([]string{head[len(head)-2:]}, groups...)
			head = head[:len(head)-2]
		}
		groups = append([]string{head}, groups...)
		r = strings.Join(groups, ",") + "," + tail
	}
	return sign + "₹" + r + "." + twoDigits(paise%100)
}
