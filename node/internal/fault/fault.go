// Package fault is the one coded error type of the node: every failure a
// user should see carries a Code that says what went wrong and whether
// trying again can help. Package node re-exports it as node.Error, and the
// HTTP API maps each Code to a status in one place.
package fault

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies an Error so that callers (and the HTTP API, in one place)
// can tell the user what went wrong and whether trying again can help.
type Code string

const (
	CodeInvalid      Code = "invalid"      // bad input; retrying the same request will fail again
	CodeNotFound     Code = "not_found"    // the room or message does not exist here
	CodeConflict     Code = "conflict"     // the request clashes with current state
	CodeTooLarge     Code = "too_large"    // the input is over a size limit
	CodeGone         Code = "gone"         // what was asked for is no longer kept
	CodeRateLimited  Code = "rate_limited" // too many sends in a short time; retry later
	CodeUnavailable  Code = "unavailable"  // a temporary failure; retry later
	CodeInternal     Code = "internal"     // a bug or a storage failure
	CodeUnauthorized Code = "unauthorized" // the caller did not prove who it is
	CodeForbidden    Code = "forbidden"    // the caller may not do this
)

// Error is the one error type the node returns for failures a user should
// see. Message is written for people; Err, when set, is the cause.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Error is the message and then the cause, unless the message already
// ends with the cause (as Errorf's with a %w at the end do), which would
// print it twice.
func (e *Error) Error() string {
	if e.Err != nil && !strings.HasSuffix(e.Message, e.Err.Error()) {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with a formatted message. A %w verb in format
// also records the wrapped cause.
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// ErrorCode returns the Code of err, or CodeInternal when err is not an
// *Error: an unclassified failure is our bug until proven otherwise.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
