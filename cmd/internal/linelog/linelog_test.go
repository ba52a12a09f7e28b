package linelog

import "testing"

func TestALineIsKeptOnceCompleteAndWakesTheWaiters(t *testing.T) {
	l := New()
	_, changed := l.Snapshot()
	l.Write([]byte("peer ID: x\nAPI: ht"))
	select {
	case <-changed:
	default:
		t.Fatal("a complete line woke nobody")
	}
	lines, changed := l.Snapshot()
	if len(lines) != 1 || lines[0] != "peer ID: x" {
		t.Fatalf("lines %q, want the complete one only", lines)
	}
	l.Write([]byte("tp://x"))
	select {
	case <-changed:
		t.Fatal("a partial line woke a waiter")
	default:
	}
	if got := l.Tail(1); got != "peer ID: x\nAPI: http://x" {
		t.Fatalf("tail %q", got)
	}
	if got := l.String(); got != "peer ID: x\nAPI: http://x" {
		t.Fatalf("string %q", got)
	}
}
