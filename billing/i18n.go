package billing

// hindi is the Hindi of billing's labels and messages.
var hindi = map[string]string{
	"Billing": "बिलिंग",
	"Day end": "दिन की समाप्ति",
	"Patients' accounts, payments, receipts and refunds": "रोगियों के खाते, भुगतान, रसीदें और धनवापसी",
	"Count the cash and close the counter's day":         "नकदी गिनें और काउंटर का दिन बंद करें",
}
