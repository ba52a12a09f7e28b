package jepsen

// What a run found: the clients' sends, the chaos, and every class of
// failure counted, in all and per transport. classify fills it from the
// send book, the converged histories and the readers.

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Transports are the event transports a reader follows, in the order the
// report lists them.
var Transports = []string{"ws", "sse", "poll"}

// Report is the outcome of one run. Every failure class must be 0 for the
// run to pass; the caller judges, Run only counts.
type Report struct {
	Seed uint64 `json:"seed"`

	// Sends.
	Attempted   int      `json:"attempted"`    // client_msg_ids tried
	Acked       int      `json:"acked"`        // acknowledged with a 201 or a 200
	Retries     int      `json:"retries"`      // tries beyond the first, over every acknowledged send
	RateLimited int      `json:"rate_limited"` // tries answered 429
	Resent      int      `json:"resent"`       // answered 200: stored by a try whose answer was cut off
	Unanswered  []string `json:"unanswered"`   // never acknowledged within the send deadline

	// The chaos.
	Kills    int           `json:"kills"`
	MeanDown time.Duration `json:"mean_down_ns"` // from SIGKILL until the API answers again

	// Convergence: how long after the sends stopped (and after the last
	// restart) every node held the same messages, every acknowledged one
	// among them. Converged is false if they did not within the timeout.
	Converged           bool          `json:"converged"`
	ConvergedAfterSends time.Duration `json:"converged_after_sends_ns"`
	ConvergedAfterStart time.Duration `json:"converged_after_last_restart_ns"`

	// The failure classes, summed over every node and reader.
	Lost        int `json:"lost"`         // acknowledged messages missing from a node's history
	StoredTwice int `json:"stored_twice"` // extra messages of a client_msg_id on a node
	Unexpected  int `json:"unexpected"`   // messages no client sent, or with another text
	Duplicates  int `json:"duplicates"`   // message events given to a reader again
	Missed      int `json:"missed"`       // messages a node holds that its reader was never given
	Refused     int `json:"refused"`      // resumes refused (400 or 410) for a seq the node gave
	Gaps        int `json:"gaps"`         // seqs skipped between two events given

	// ByTransport breaks the readers' counts down by transport.
	ByTransport map[string]*TransportReport `json:"by_transport"`

	// Examples are the first failures found, for a reader of the log.
	Examples []string `json:"examples,omitempty"`
}

// TransportReport is what the readers of one transport, one per node,
// were given.
type TransportReport struct {
	Readers       int `json:"readers"`
	Events        int `json:"events"`         // events of every type
	MessageEvents int `json:"message_events"` // message events, duplicates included
	Reconnects    int `json:"reconnects"`
	Duplicates    int `json:"duplicates"`
	Missed        int `json:"missed"`
	Refused       int `json:"refused"`
	Gaps          int `json:"gaps"`
}

// Failure is one failure class and its count.
type Failure struct {
	What  string
	Count int
}

// Failures lists every class a passing run has at 0, with its count, so
// that a caller checks them all and cannot forget one.
func (r *Report) Failures() []Failure {
	return []Failure{
		{"acknowledged messages lost", r.Lost},
		{"messages stored twice", r.StoredTwice},
		{"unexpected messages", r.Unexpected},
		{"duplicate message events", r.Duplicates},
		{"missed message events", r.Missed},
		{"refused resumes", r.Refused},
		{"seq gaps", r.Gaps},
		{"sends never acknowledged", len(r.Unanswered)},
	}
}

// Summary is the report as lines of text, for a test log or a terminal.
func (r *Report) Summary() []string {
	out := []string{
		fmt.Sprintf("seed %d; sends: %d attempted, %d acknowledged, %d retries, %d answered 429, %d answered 200 (stored by an earlier try), %d never acknowledged",
			r.Seed, r.Attempted, r.Acked, r.Retries, r.RateLimited, r.Resent, len(r.Unanswered)),
		fmt.Sprintf("kills: %d, down %v on average; converged %v (%v after the sends stopped, %v after the last restart)",
			r.Kills, r.MeanDown.Round(time.Millisecond), r.Converged, r.ConvergedAfterSends.Round(time.Millisecond), r.ConvergedAfterStart.Round(time.Millisecond)),
		fmt.Sprintf("lost %d, stored twice %d, unexpected %d, duplicate events %d, missed events %d, refused resumes %d, seq gaps %d",
			r.Lost, r.StoredTwice, r.Unexpected, r.Duplicates, r.Missed, r.Refused, r.Gaps),
	}
	for _, tr := range Transports {
		if v := r.ByTransport[tr]; v != nil {
			out = append(out, fmt.Sprintf("%s readers (%d): %d events given, %d message events, %d reconnects, %d duplicate, %d missed, %d refused, %d seq gaps",
				tr, v.Readers, v.Events, v.MessageEvents, v.Reconnects, v.Duplicates, v.Missed, v.Refused, v.Gaps))
		}
	}
	return out
}

func (r *Report) example(format string, args ...any) {
	if len(r.Examples) < 20 {
		r.Examples = append(r.Examples, fmt.Sprintf(format, args...))
	}
}

// addSends copies the send book into the report.
func (r *Report) addSends(book *sendBook) {
	book.mu.Lock()
	defer book.mu.Unlock()
	r.Attempted, r.Acked = len(book.attempted), len(book.acked)
	r.Retries, r.RateLimited, r.Resent = book.retries, book.rateLimited, book.resent
	r.Unanswered = slices.Clone(book.unanswered)
	for _, cid := range r.Unanswered {
		r.example("send %s was never acknowledged", cid)
	}
}

// classify compares what the clients did, what the nodes hold (histories
// in the order of nodes) and what each node's readers were given. The
// clients must have stopped; the readers may still run.
func (r *Report) classify(book *sendBook, histories [][]message, nodes []*node, readers map[*node][]*eventReader) {
	book.mu.Lock()
	defer book.mu.Unlock()
	if r.ByTransport == nil {
		r.ByTransport = map[string]*TransportReport{}
	}
	for i, h := range histories {
		n := nodes[i]
		byID := map[string]bool{}
		byCID := map[string][]string{}
		for _, m := range h {
			byID[m.ID] = true
			text, tried := book.attempted[m.ClientMsgID]
			if m.ClientMsgID == "" || !tried || m.Text != text {
				r.Unexpected++
				r.example("%s holds an unexpected message %s %q (client_msg_id %q)", n.name, m.ID, m.Text, m.ClientMsgID)
				continue
			}
			byCID[m.ClientMsgID] = append(byCID[m.ClientMsgID], m.ID)
		}
		for cid, id := range book.acked {
			if !byID[id] {
				r.Lost++
				r.example("%s lost acknowledged message %s (%s)", n.name, id, cid)
			}
		}
		cids := make([]string, 0, len(byCID))
		for cid := range byCID {
			cids = append(cids, cid)
		}
		sort.Strings(cids)
		for _, cid := range cids {
			if ids := byCID[cid]; len(ids) > 1 {
				r.StoredTwice += len(ids) - 1
				r.example("%s stores %s %d times: %v", n.name, cid, len(ids), ids)
			}
		}
		for _, rd := range readers[n] {
			r.classifyReader(rd, h)
		}
	}
}

// classifyReader counts what one reader was given against its node's
// history.
func (r *Report) classifyReader(rd *eventReader, history []message) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	dup, miss := rd.replayed, 0
	for id, n := range rd.got {
		if n > 1 {
			dup += n - 1
			r.example("%s was given message %s %d times", rd, id, n)
		}
	}
	for _, m := range history {
		if rd.got[m.ID] == 0 {
			miss++
			r.example("%s was never given message %s", rd, m.ID)
		}
	}
	messages := 0
	for _, n := range rd.got {
		messages += n
	}
	for _, ref := range rd.refused {
		r.example("%s was refused a resume: %s", rd, ref)
	}
	r.Duplicates += dup
	r.Missed += miss
	r.Refused += len(rd.refused)
	r.Gaps += int(rd.gapped)
	t := r.ByTransport[rd.transport]
	if t == nil {
		t = &TransportReport{}
		r.ByTransport[rd.transport] = t
	}
	t.Readers++
	t.Events += rd.events
	t.MessageEvents += messages
	t.Reconnects += rd.reconnects
	t.Duplicates += dup
	t.Missed += miss
	t.Refused += len(rd.refused)
	t.Gaps += int(rd.gapped)
}

// missedBy counts the messages of history that rd was never given.
func missedBy(rd *eventReader, history []message) int {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	missing := 0
	for _, m := range history {
		if rd.got[m.ID] == 0 {
			missing++
		}
	}
	return missing
}

// sameAndComplete explains why the histories have not converged yet, or
// returns "".
func sameAndComplete(histories [][]message, acked map[string]string, nodes []*node) string {
	for i, h := range histories {
		ids := map[string]bool{}
		for _, m := range h {
			ids[m.ID] = true
		}
		missing := 0
		for _, id := range acked {
			if !ids[id] {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Sprintf("%s lacks %d acknowledged messages", nodes[i].name, missing)
		}
		if len(h) != len(histories[0]) {
			return fmt.Sprintf("%s holds %d messages, %s %d", nodes[i].name, len(h), nodes[0].name, len(histories[0]))
		}
	}
	return ""
}
