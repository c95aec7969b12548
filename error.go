// Package kavach holds what every part of Kavach shares: the coded error type
// that the API and the pages turn into a status and a plain message.
package kavach

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error codes, each mapped to one HTTP status by the web package.
const (
	EINVALID      = "invalid"      // 400: bad input; Fields says which
	ENOTFOUND     = "not_found"    // 404
	ECONFLICT     = "conflict"     // 409
	EUNAUTHORIZED = "unauthorized" // 401: not logged in, or wrong password
	EFORBIDDEN    = "forbidden"    // 403: logged in, but the role may not
	EMETHOD       = "method"       // 405: the path is there, the method is not
	ETOOLARGE     = "too_large"    // 413: the request body is larger than any the node takes
	EINTERNAL     = "internal"     // 500: never shown in detail
)

// Error is an error a user can act on.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string // field name → what is wrong with it, in a clerk's words
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, strings.Join(parts, "; "))
}

// Errorf returns an Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err; internal errors get a
// plain sentence and no detail.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong on the server. It has been logged; please try again."
}

// Fields collects field errors while validating input.
type Fields map[string]string

// Add records a problem with field unless one is already recorded.
func (f Fields) Add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// Err returns an EINVALID error if any field is wrong, else nil.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "Please correct the marked fields.", Fields: f}
}
