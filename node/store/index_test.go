package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"pgregory.net/rapid"

	"github.com/peerchat/peerchat/protocol"
)

// sentAtOf gives every test message a send time that grows with its
// Lamport clock, so that pruning by age drops a prefix of the history.
func sentAtOf(lamport uint64) time.Time { return time.Unix(1_000_000_000+int64(lamport), 0) }

func addAt(t testing.TB, s *Store, k crypto.PrivKey, room string, lamport uint64, text string) Item {
	t.Helper()
	body, _ := json.Marshal(protocol.MessageBody{Text: text})
	env := &protocol.Envelope{Kind: protocol.KindMessage, Room: room, Lamport: lamport, SentAt: sentAtOf(lamport), Body: body}
	if err := env.Sign(k); err != nil {
		t.Fatal(err)
	}
	m, err := protocol.MessageFromEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMessage(context.Background(), env, m); err != nil {
		t.Fatal(err)
	}
	return Item{Lamport: lamport, ID: env.ID()}
}

// indexAndDatastore returns a copy of room's index as a borrow sees it
// and the index as the datastore holds it.
func indexAndDatastore(s *Store, room string) (index, stored []Item, err error) {
	ctx := context.Background()
	stored, err = s.scanItems(ctx, room)
	if err != nil {
		return nil, nil, err
	}
	items, release, err := s.Items(ctx, room)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	return slices.Clone(items), stored, nil
}

// TestTheIndexInMemoryAlwaysMatchesTheDatastore runs random sequences of
// stores (in order, out of order, repeated), borrows, returns, retention
// and a late first load, and checks after every step that a fresh borrow
// equals what the datastore holds and that no borrowed slice ever changed.
func TestTheIndexInMemoryAlwaysMatchesTheDatastore(t *testing.T) {
	k := key(t)
	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp("", "index")
		if err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(dir)
		s, err := Open(dir, Options{})
		if err != nil {
			rt.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		type borrow struct {
			items, copy []Item
			release     func()
		}
		var borrows []borrow
		defer func() {
			for _, b := range borrows {
				b.release()
			}
		}()
		loaded := false
		top := uint64(0)
		counter := 0
		rt.Repeat(map[string]func(*rapid.T){
			"store": func(rt *rapid.T) {
				var l uint64
				if rapid.Bool().Draw(rt, "in order") {
					l = top + 1
				} else {
					l = rapid.Uint64Range(1, top+2).Draw(rt, "lamport")
				}
				top = max(top, l)
				counter++
				addAt(t, s, k, "r", l, fmt.Sprint("m", counter))
			},
			"borrow": func(rt *rapid.T) {
				items, release, err := s.Items(ctx, "r")
				if err != nil {
					rt.Fatal(err)
				}
				loaded = true
				borrows = append(borrows, borrow{items, slices.Clone(items), release})
			},
			"give back": func(rt *rapid.T) {
				if len(borrows) == 0 {
					rt.Skip("nothing borrowed")
				}
				i := rapid.IntRange(0, len(borrows)-1).Draw(rt, "which")
				borrows[i].release()
				borrows = slices.Delete(borrows, i, i+1)
			},
			"prune": func(rt *rapid.T) {
				upTo := rapid.Uint64Range(0, top+1).Draw(rt, "up to")
				now := sentAtOf(upTo).Add(time.Hour + time.Second/2)
				if _, err := s.Prune(ctx, "r", Retention{MaxAge: time.Hour}, now); err != nil {
					rt.Fatal(err)
				}
			},
			"": func(rt *rapid.T) {
				for i, b := range borrows {
					if !slices.Equal(b.items, b.copy) {
						rt.Fatalf("borrowed slice %d changed while lent", i)
					}
				}
				if !loaded {
					return
				}
				got, want, err := indexAndDatastore(s, "r")
				if err != nil {
					rt.Fatal(err)
				}
				if !slices.Equal(got, want) {
					rt.Fatalf("index holds %d items, datastore %d:\n%v\n%v", len(got), len(want), got, want)
				}
			},
		})
	})
}

// TestTheIndexStaysExactUnderConcurrentWritesAndSyncs stores messages from
// several goroutines while others borrow the index, checking each borrowed
// slice is sorted and unchanged until it is given back, and that the index
// ends equal to the datastore.
func TestTheIndexStaysExactUnderConcurrentWritesAndSyncs(t *testing.T) {
	s := openTest(t, "")
	ctx := context.Background()
	addAt(t, s, key(t), "r", 1, "first")
	const writers, perWriter = 4, 150
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := key(t)
			for i := range perWriter {
				addAt(t, s, k, "r", uint64(2+(i*7+w*13)%200), fmt.Sprint(w, "/", i))
			}
		}()
	}
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			for {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				items, release, err := s.Items(ctx, "r")
				if err != nil {
					errs <- err
					return
				}
				copied := slices.Clone(items)
				if !slices.IsSortedFunc(items, Item.Compare) {
					release()
					errs <- fmt.Errorf("a borrowed index of %d items is not sorted", len(items))
					return
				}
				for range 20 { // a sync reads the slice for a while, as writes go on
					if !slices.Equal(items, copied) {
						release()
						errs <- fmt.Errorf("a borrowed index changed while lent")
						return
					}
					runtime.Gosched()
				}
				release()
			}
		}()
	}
	wg.Wait()
	close(stop)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, want, err := indexAndDatastore(s, "r")
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 1+writers*perWriter || !slices.Equal(got, want) {
		t.Fatalf("index holds %d items, datastore %d, stored %d", len(got), len(want), 1+writers*perWriter)
	}
}
