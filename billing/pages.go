package billing

import (
	"kavach/web"
)

// pageRoutes registers billing's pages for the counter.
func pageRoutes(rt *web.Router, h *handlers) {}
