package billing

import "embed"

// staticFS holds the counter's stylesheet and the cash count's script.
//
//go:embed static
var staticFS embed.FS
