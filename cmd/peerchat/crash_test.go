package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const crashRoom = "crash"

type postResult struct {
	Message apiMessage `json:"message"`
}

// checkAcknowledged fails unless every acknowledged message (client_msg_id
// to message id) is in the node's history exactly once, and no
// client_msg_id appears twice in the history at all.
func checkAcknowledged(t *testing.T, p *proc, acked map[string]string) []apiMessage {
	t.Helper()
	hist := p.history(crashRoom)
	byID := map[string]int{}
	byClientID := map[string]int{}
	for _, m := range hist {
		byID[m.ID]++
		if m.ClientMsgID != "" {
			byClientID[m.ClientMsgID]++
		}
	}
	for id, n := range byID {
		if n != 1 {
			t.Errorf("message %s is in history %d times", id, n)
		}
	}
	for cid, n := range byClientID {
		if n != 1 {
			t.Errorf("client_msg_id %s is in history %d times", cid, n)
		}
	}
	missing := 0
	for cid, id := range acked {
		if byID[id] != 1 {
			missing++
			if missing <= 10 {
				t.Errorf("acknowledged message %s (client_msg_id %s) is in history %d times, want 1", id, cid, byID[id])
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged messages are not in history exactly once (history has %d)", missing, len(acked), len(hist))
	}
	return hist
}

// TestKill9RightAfter201LosesNothing kills the node with SIGKILL right after
// it answered 201, then at random moments inside a concurrent stream of
// sends, and checks after each restart that every message the API
// acknowledged is in history exactly once, and that retrying a
// client_msg_id returns the stored message instead of a duplicate.
func TestKill9RightAfter201LosesNothing(t *testing.T) {
	dir := t.TempDir()
	acked := map[string]string{} // client_msg_id -> message id

	// Part 1: sequential sends; SIGKILL the moment the last 201 arrives.
	p := startLocalNode(t, "crashy", dir, "--join", crashRoom)
	p.call("PUT", "/v1/rooms/"+crashRoom, nil, nil, http.StatusOK)
	const sequential = 50
	var lastCID string
	for i := range sequential {
		cid := fmt.Sprintf("seq-%03d", i)
		var res postResult
		p.call("POST", "/v1/rooms/"+crashRoom+"/messages", map[string]string{"text": fmt.Sprintf("message %d", i), "client_msg_id": cid}, &res, http.StatusCreated)
		if res.Message.ID == "" || res.Message.ClientMsgID != cid {
			t.Fatalf("201 for %s carries message %+v", cid, res.Message)
		}
		acked[cid] = res.Message.ID
		lastCID = cid
	}
	p.kill()
	if p.cmd.ProcessState.Success() {
		t.Fatalf("the node exited cleanly instead of being killed: %v", p.cmd.ProcessState)
	}

	p = startLocalNode(t, "crashy-restarted", dir)
	hist := checkAcknowledged(t, p, acked)
	if len(hist) != sequential {
		t.Errorf("history has %d messages after %d sends", len(hist), sequential)
	}
	// Retrying the last send, as a client that never saw the 201 would.
	var again postResult
	p.call("POST", "/v1/rooms/"+crashRoom+"/messages", map[string]string{"text": fmt.Sprintf("message %d", sequential-1), "client_msg_id": lastCID}, &again, http.StatusOK)
	if again.Message.ID != acked[lastCID] {
		t.Errorf("retry of %s returned message %s, want the stored %s", lastCID, again.Message.ID, acked[lastCID])
	}
	checkAcknowledged(t, p, acked)
	if t.Failed() {
		t.FailNow()
	}

	// Part 2: four writers send at once; the node is killed when a random
	// number of sends has been acknowledged, with other sends in flight.
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed>>7))
	t.Logf("random seed %d", seed)
	const rounds, writers = 3, 4
	for round := range rounds {
		killAfter := 5 + rng.IntN(80)
		var (
			mu         sync.Mutex
			roundAcked = map[string]string{}
			count      atomic.Int64
			inFlight   atomic.Int64 // sends cut off by the kill
			killOnce   sync.Once
			wg         sync.WaitGroup
			failures   []string
		)
		killNow := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-killNow:
						return
					default:
					}
					cid := fmt.Sprintf("r%d-w%d-%04d", round, w, i)
					status, data, err := p.do("POST", "/v1/rooms/"+crashRoom+"/messages", map[string]string{"text": "stream " + cid, "client_msg_id": cid})
					if err != nil {
						inFlight.Add(1)
						return // the node is gone: this send's fate is unknown
					}
					if status != http.StatusCreated {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("%s: status %d: %s", cid, status, data))
						mu.Unlock()
						return
					}
					var res postResult
					if err := json.Unmarshal(data, &res); err != nil || res.Message.ID == "" {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("%s: bad 201 body %s", cid, data))
						mu.Unlock()
						return
					}
					mu.Lock()
					roundAcked[cid] = res.Message.ID
					mu.Unlock()
					if count.Add(1) >= int64(killAfter) {
						killOnce.Do(func() { close(killNow) })
					}
				}
			})
		}
		select {
		case <-killNow:
		case <-time.After(2 * time.Minute):
			t.Fatalf("round %d: %d sends acknowledged in 2 minutes, wanted %d", round, count.Load(), killAfter)
		}
		p.kill() // other writers' requests are still in flight
		wg.Wait()
		if len(failures) > 0 {
			t.Fatalf("round %d: sends failed before the kill: %v", round, failures)
		}
		for cid, id := range roundAcked {
			acked[cid] = id
		}
		p = startLocalNode(t, fmt.Sprintf("crashy-round-%d", round), dir)
		hist := checkAcknowledged(t, p, acked)
		t.Logf("round %d: killed after %d acknowledged sends (target %d) with %d sends in flight; history holds %d, %d acknowledged in all",
			round, len(roundAcked), killAfter, inFlight.Load(), len(hist), len(acked))
		if t.Failed() {
			t.FailNow()
		}
		// A retry of every acknowledged send of this round is answered
		// with the stored message, and adds nothing.
		for cid, id := range roundAcked {
			var res postResult
			p.call("POST", "/v1/rooms/"+crashRoom+"/messages", map[string]string{"text": "stream " + cid, "client_msg_id": cid}, &res, http.StatusOK)
			if res.Message.ID != id {
				t.Fatalf("retry of %s returned message %s, want %s", cid, res.Message.ID, id)
			}
		}
		checkAcknowledged(t, p, acked)
	}
}
