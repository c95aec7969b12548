// Package registration is the registration counter: patients, their UHIDs,
// validation of what the clerk types, likely-duplicate warnings, search,
// amendments and merges.
package registration

import (
	"context"
	"database/sql"
	"embed"

	"kavach/node"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Data is registration's part of a node: its tables and events.
func Data() node.Service {
	return node.Service{
		Name: "registration",
		Migrations: node.Migrations("registration", migrationFS, "migrations", map[string]func(context.Context, *sql.Tx) error{
			"002": migrateOrigins,
			"007": migrateRegistered,
		}),
		Events: events,
	}
}
