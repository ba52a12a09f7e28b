package node

import "github.com/peerchat/peerchat/node/internal/fault"

// Code classifies an Error so that callers (and the HTTP API, in one place)
// can tell the user what went wrong and whether trying again can help.
type Code = fault.Code

// The codes of an Error.
const (
	CodeInvalid      = fault.CodeInvalid      // bad input; retrying the same request will fail again
	CodeNotFound     = fault.CodeNotFound     // the room or message does not exist here
	CodeConflict     = fault.CodeConflict     // the request clashes with current state
	CodeTooLarge     = fault.CodeTooLarge     // the input is over a size limit
	CodeGone         = fault.CodeGone         // what was asked for is no longer kept
	CodeRateLimited  = fault.CodeRateLimited  // too many sends in a short time; retry later
	CodeUnavailable  = fault.CodeUnavailable  // a temporary failure; retry later
	CodeInternal     = fault.CodeInternal     // a bug or a storage failure
	CodeUnauthorized = fault.CodeUnauthorized // the caller did not prove who it is
	CodeForbidden    = fault.CodeForbidden    // the caller may not do this
)

// Error is the one error type the node returns for failures a user should
// see. Message is written for people; Err, when set, is the cause.
type Error = fault.Error

// Errorf builds an Error with a formatted message. A %w verb in format
// also records the wrapped cause.
func Errorf(code Code, format string, args ...any) *Error { return fault.Errorf(code, format, args...) }

// ErrorCode returns the Code of err, or CodeInternal when err is not an
// *Error: an unclassified failure is our bug until proven otherwise.
func ErrorCode(err error) Code { return fault.ErrorCode(err) }
