package audit

import (
	"embed"

	"kavach/access"
	"kavach/node"
	"kavach/service"
	"kavach/web"
)

// ReadAudit is the audit trail's permission: read who saw what.
const ReadAudit access.Permission = "audit.read"

var grants = []access.Grant{
	{Permission: ReadAudit, What: "Read the audit trail: who saw which patient's record", Roles: []access.Role{access.Auditor}},
}

//go:embed templates/*.html
var templateFS embed.FS

// Service is the audit trail of who saw which record; its page shows the
// patients' names through names (nil: UHIDs only).
func Service(names Names) service.Service {
	return service.Service{
		Name:   "audit",
		Data:   Data(),
		Grants: grants,
		Web: web.Part{
			Routes: func(rt *web.Router) {
				h := &handlers{n: rt.Node(), names: names}
				rt.API("GET /api/v1/audit", ReadAudit, h.apiAudit)
				rt.Page("GET /audit", ReadAudit, h.pageAudit)
			},
			Templates: web.Sub(templateFS, "templates"),
			Hindi:     hindi,
			Nav: []web.Nav{
				{Href: "/audit", Label: "Audit trail", Key: "a", Desc: "Who saw which patient's record", Perm: ReadAudit, Order: 90},
			},
		},
	}
}

// handlers are the trail's API and page actions.
type handlers struct {
	n     *node.Node
	names Names
}
