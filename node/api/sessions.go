package api

import (
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// SessionTTL is how long a browser session lasts unused. Each use renews
// it, so a page that stays open, or comes back within the week, stays
// signed in; a browser left alone for longer signs in again.
const SessionTTL = 7 * 24 * time.Hour

// maxSessions bounds the sessions a node keeps. Signing in is rare; when
// the table is full the least recently used session ends.
const maxSessions = 256

// sessions are the browser sessions of one Server, kept in memory: a
// restart of the node signs every browser out, which the sign-in link
// fixes. A session id is 32 random bytes; the table keys its SHA-256, so
// a lookup's timing tells nothing about the ids it holds.
type sessions struct {
	ttl time.Duration

	mu sync.Mutex             // guards m
	m  map[[32]byte]time.Time // id hash → last use
}

func newSessions(ttl time.Duration) *sessions {
	if ttl <= 0 {
		ttl = SessionTTL
	}
	return &sessions{ttl: ttl, m: make(map[[32]byte]time.Time)}
}

// create starts a session and returns its id.
func (ss *sessions) create() string {
	id := rand.Text() + rand.Text() // 52 characters of base32: 260 bits
	now := time.Now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.pruneLocked(now)
	if len(ss.m) >= maxSessions {
		var oldest [32]byte
		var oldestAt time.Time
		for k, at := range ss.m {
			if oldestAt.IsZero() || at.Before(oldestAt) {
				oldest, oldestAt = k, at
			}
		}
		delete(ss.m, oldest)
	}
	ss.m[sha256.Sum256([]byte(id))] = now
	return id
}

// use reports whether id is a live session, and renews it.
func (ss *sessions) use(id string) bool {
	if id == "" {
		return false
	}
	k := sha256.Sum256([]byte(id))
	now := time.Now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	at, ok := ss.m[k]
	if !ok {
		return false
	}
	if now.Sub(at) > ss.ttl {
		delete(ss.m, k)
		return false
	}
	ss.m[k] = now
	return true
}

// end ends a session; it reports whether there was one.
func (ss *sessions) end(id string) bool {
	k := sha256.Sum256([]byte(id))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	_, ok := ss.m[k]
	delete(ss.m, k)
	return ok
}

func (ss *sessions) pruneLocked(now time.Time) {
	for k, at := range ss.m {
		if now.Sub(at) > ss.ttl {
			delete(ss.m, k)
		}
	}
}
