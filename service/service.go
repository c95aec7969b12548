// Package service says what a hospital service is made of. A service is one
// package (registration, opd, lab, billing, …) holding its events and their
// projectors, its migrations, its commands and reads, the permissions it
// declares for each role, its demo data and its web parts; hospital.List
// lists every service once. docs/architecture.md ("Adding a service") walks
// through making one.
package service

import (
	"context"

	"kavach/access"
	"kavach/node"
	"kavach/web"
)

// Service is one hospital service.
type Service struct {
	Name   string       // as staff name it: "registration", "opd", "lab"
	Data   node.Service // its tables, migrations, events and projectors
	Grants []access.Grant
	Web    web.Part
	// Demo adds the service's demo data (kavach serve --demo, first start
	// only), as user "system", with password for any demo users.
	Demo func(ctx context.Context, n *node.Node, password string) error
}
