// Package access is who may do what in Kavach: the staff roles, the
// permissions that services declare with the roles that hold them, and the
// session of a logged-in user. The users themselves (passwords, logins) are
// the auth service's; the web server checks a session's permission before
// every action.
package access

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Role is a user's job in the hospital.
type Role string

// The roles.
const (
	Admin        Role = "admin"
	Registration Role = "registration"
	Doctor       Role = "doctor"
	Lab          Role = "lab"
	Billing      Role = "billing"
	Nurse        Role = "nurse"
	Auditor      Role = "auditor"
	Records      Role = "records" // the medical records officer
	Pathologist  Role = "pathologist"
	Accounts     Role = "accounts" // the cash office: approves refunds, receives the day's cash
)

// Roles lists every role in the order pages and the docs show them.
var Roles = []Role{Admin, Registration, Doctor, Lab, Pathologist, Billing, Accounts, Nurse, Auditor, Records}

var labels = map[Role]string{
	Admin: "Administrator", Registration: "Registration clerk", Doctor: "Doctor", Lab: "Lab technician",
	Billing: "Billing clerk", Nurse: "Nurse", Auditor: "Auditor", Records: "Medical records officer",
	Pathologist: "Pathologist", Accounts: "Accounts officer",
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Label names the role as staff do, in English.
func (r Role) Label() string {
	if l, ok := labels[r]; ok {
		return l
	}
	return string(r)
}

// Permission is one thing a role may do, named service.action.
type Permission string

// Grant is a permission a service declares: what it allows, in words an
// auditor reads, and the roles that hold it.
type Grant struct {
	Permission Permission
	What       string
	Roles      []Role
}

// Policy is who may do what: every service's grants, gathered.
type Policy struct {
	grants []Grant
	allow  map[Role]map[Permission]bool
}

// NewPolicy gathers grants. A permission declared twice, or given to a role
// that does not exist, is a programming error.
func NewPolicy(grants ...[]Grant) (*Policy, error) {
	p := &Policy{allow: map[Role]map[Permission]bool{}}
	seen := map[Permission]bool{}
	for _, gs := range grants {
		for _, g := range gs {
			if seen[g.Permission] {
				return nil, fmt.Errorf("access: permission %s is declared twice", g.Permission)
			}
			seen[g.Permission] = true
			for _, r := range g.Roles {
				if !r.Valid() {
					return nil, fmt.Errorf("access: permission %s is given to unknown role %q", g.Permission, r)
				}
				if p.allow[r] == nil {
					p.allow[r] = map[Permission]bool{}
				}
				p.allow[r][g.Permission] = true
			}
			p.grants = append(p.grants, g)
		}
	}
	sort.Slice(p.grants, func(i, j int) bool { return p.grants[i].Permission < p.grants[j].Permission })
	return p, nil
}

// Allows reports whether the role holds the permission.
func (p *Policy) Allows(r Role, perm Permission) bool { return p != nil && p.allow[r][perm] }

// Declared reports whether some service declares the permission.
func (p *Policy) Declared(perm Permission) bool {
	for _, g := range p.grants {
		if g.Permission == perm {
			return true
		}
	}
	return false
}

// Grants lists every grant, by permission.
func (p *Policy) Grants() []Grant { return slices.Clone(p.grants) }

// User is a member of staff who can log in.
type User struct {
	Username string    `json:"username"`
	FullName string    `json:"full_name"`
	Role     Role      `json:"role"`
	Disabled bool      `json:"disabled"`
	Created  time.Time `json:"created"`
}

// Session is a logged-in user.
type Session struct {
	ID      string // sha256 of the token, hex; the token itself is never stored
	User    User
	Kind    string // "api" or "web"
	Expires time.Time
	Policy  *Policy // what the user's role may do
	// MustChange: an administrator reset the password, and the user may do
	// nothing but choose a new one (and log out).
	MustChange bool
}

// Can reports whether the session's user may do perm.
func (s *Session) Can(perm Permission) bool {
	return s != nil && !s.User.Disabled && s.Policy.Allows(s.User.Role, perm)
}
