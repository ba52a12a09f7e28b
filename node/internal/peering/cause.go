package peering

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Cause says in words why a dial or a hole punch failed, for logs that a
// user reads: libp2p's errors list every address tried, and "connection
// refused" there usually means the remote's router answered the packet
// with a reset, not that a program refused. The first matching rule wins,
// in the order of how much each tells.
func Cause(err error) string {
	if err == nil {
		return ""
	}
	return causeOf(err, err.Error())
}

// CauseText is Cause for an error known only by its text (libp2p's hole
// punch events carry strings).
func CauseText(s string) string { return causeOf(nil, s) }

func causeOf(err error, s string) string {
	s = strings.ToLower(s)
	has := func(errno syscall.Errno, texts ...string) bool {
		if err != nil && errors.Is(err, errno) {
			return true
		}
		for _, t := range texts {
			if strings.Contains(s, t) {
				return true
			}
		}
		return false
	}
	switch {
	case strings.Contains(s, "no_reservation"):
		return "the relay holds no reservation for the peer (it is not, or no longer, reachable there)"
	case strings.Contains(s, "permission_denied"):
		return "the relay refused us (it allows only some peers)"
	case strings.Contains(s, "reservation_refused"), strings.Contains(s, "resource_limit_exceeded"):
		return "the relay is full (its reservation or circuit limits are reached)"
	case strings.Contains(s, "peer id mismatch"):
		return "another peer answered at that address"
	case strings.Contains(s, "gater disallows"):
		return "blocked here"
	case has(syscall.ECONNREFUSED, "connection refused"):
		return "refused: the remote's router answered with a reset (or nothing listens there)"
	case has(syscall.ECONNRESET, "connection reset"):
		return "reset by the remote or its router"
	case has(syscall.EHOSTUNREACH, "no route to host", "host is unreachable"),
		has(syscall.ENETUNREACH, "network is unreachable"):
		return "no route to the address (a router answered that it cannot reach it)"
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)),
		strings.Contains(s, "timeout"), strings.Contains(s, "deadline exceeded"), strings.Contains(s, "timed out"):
		return "timed out: no answer (a router dropping the packets, or the peer is gone)"
	case strings.Contains(s, "no addresses"), strings.Contains(s, "no good addresses"):
		return "no known address to dial"
	case strings.Contains(s, "all dials failed"):
		return "every address failed"
	}
	return "failed"
}

// Once remembers the last cause logged for each peer and kind of
// failure, so that a peer retried every few seconds is logged when its
// cause changes, not on every attempt. Its methods are safe for
// concurrent use.
type Once struct {
	mu   sync.Mutex
	last map[onceKey]string // guarded by mu
}

type onceKey struct {
	what string
	peer peer.ID
}

// First reports whether cause is new for p and what (and notes it).
func (o *Once) First(what string, p peer.ID, cause string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.last == nil {
		o.last = map[onceKey]string{}
	}
	k := onceKey{what, p}
	if o.last[k] == cause {
		return false
	}
	o.last[k] = cause
	return true
}

// Forget clears p's last cause for what, after a success.
func (o *Once) Forget(what string, p peer.ID) {
	o.mu.Lock()
	delete(o.last, onceKey{what, p})
	o.mu.Unlock()
}
