//go:build linux

package relay_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node"
)

// The lab's addresses. The "internet" is a /24 of 198.18.0.0/15 (RFC
// 2544's benchmarking range); each peer sits in its own private /24 behind
// its NAT router; every process also gets a /30 management link to the
// test's own namespace, for the HTTP API and metrics only.
const (
	labPrefix  = "pcnat-"
	labInet    = "198.18.77."
	labCIDRs   = "198.18.0.0/15"
	apiPort    = "7777"
	metricPort = "9090"
)

// labPeer describes one NAT'd peer: its namespace, its NAT router's
// namespace and addresses.
type labPeer struct {
	name   string
	wanIP  string // the NAT router's public address
	lanNet string // 10.77.N
	mgmt   int    // management /30 number
}

var (
	labPeerA = labPeer{name: "a", wanIP: labInet + "20", lanNet: "10.77.1", mgmt: 1}
	labPeerB = labPeer{name: "b", wanIP: labInet + "21", lanNet: "10.77.2", mgmt: 2}
	// Relays: name, public address, management /30.
	labRelays = []struct {
		name string
		ip   string
		mgmt int
	}{{"r1", labInet + "10", 3}, {"r2", labInet + "11", 4}}
)

func (p labPeer) ns() string    { return labPrefix + p.name }
func (p labPeer) natNS() string { return labPrefix + "nat" + p.name }
func (p labPeer) lanIP() string { return p.lanNet + ".2" }

func mgmtIP(n int) string { return fmt.Sprintf("10.78.%d.2", n) }

// requireLab skips unless the test can build namespaces.
func requireLab(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("NAT lab skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("NAT lab needs root (network namespaces, iptables)")
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("NAT lab needs %s (apt-get install -y iproute2 iptables)", tool)
		}
	}
}

// buildPeerchat builds the peerchat binary once for the lab.
func buildPeerchat(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "peerchat")
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", bin, "github.com/peerchat/peerchat/cmd/peerchat")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built peerchat in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// sh runs a command, failing the test on error.
func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// removeLabNamespaces deletes every namespace and root link the lab may
// have left, from this run or an earlier one that was killed.
func removeLabNamespaces() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], labPrefix) {
			exec.Command("ip", "netns", "del", f[0]).Run()
		}
	}
	out, _ = exec.Command("ip", "-o", "link", "show").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			if name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@"); strings.HasPrefix(name, labPrefix) {
				exec.Command("ip", "link", "del", name).Run()
			}
		}
	}
}

// buildLab makes the namespaces: the internet (a bridge), the relays on
// it, and for each peer a NAT router (MASQUERADE, optionally with
// --random-fully for a symmetric NAT, dropping unsolicited inbound) in
// front of the peer's private network. They are removed when the test
// ends, pass or fail.
func buildLab(t *testing.T, symmetric bool) {
	t.Helper()
	removeLabNamespaces()
	t.Cleanup(removeLabNamespaces)
	inet := labPrefix + "inet"
	sh(t, "ip", "netns", "add", inet)
	sh(t, "ip", "-n", inet, "link", "add", "br0", "type", "bridge")
	sh(t, "ip", "-n", inet, "link", "set", "br0", "up")
	port := 0
	// onInternet plugs namespace ns into the bridge as interface dev.
	onInternet := func(ns, dev, ip string) {
		port++
		p := fmt.Sprintf("p%d", port)
		sh(t, "ip", "link", "add", dev, "netns", ns, "type", "veth", "peer", "name", p, "netns", inet)
		sh(t, "ip", "-n", inet, "link", "set", p, "master", "br0", "up")
		sh(t, "ip", "-n", ns, "addr", "add", ip+"/24", "dev", dev)
		sh(t, "ip", "-n", ns, "link", "set", dev, "up")
	}
	// mgmtLink joins ns to the test's namespace over a /30.
	mgmtLink := func(ns string, n int) {
		root := fmt.Sprintf("%sm%d", labPrefix, n)
		sh(t, "ip", "link", "add", root, "type", "veth", "peer", "name", "mgmt", "netns", ns)
		sh(t, "ip", "addr", "add", fmt.Sprintf("10.78.%d.1/30", n), "dev", root)
		sh(t, "ip", "link", "set", root, "up")
		sh(t, "ip", "-n", ns, "addr", "add", mgmtIP(n)+"/30", "dev", "mgmt")
		sh(t, "ip", "-n", ns, "link", "set", "mgmt", "up")
	}
	for _, r := range labRelays {
		ns := labPrefix + r.name
		sh(t, "ip", "netns", "add", ns)
		sh(t, "ip", "-n", ns, "link", "set", "lo", "up")
		onInternet(ns, "eth0", r.ip)
		mgmtLink(ns, r.mgmt)
	}
	for _, p := range []labPeer{labPeerA, labPeerB} {
		nat, ns := p.natNS(), p.ns()
		sh(t, "ip", "netns", "add", nat)
		sh(t, "ip", "netns", "add", ns)
		sh(t, "ip", "-n", ns, "link", "set", "lo", "up")
		onInternet(nat, "wan", p.wanIP)
		sh(t, "ip", "link", "add", "lan", "netns", nat, "type", "veth", "peer", "name", "eth0", "netns", ns)
		sh(t, "ip", "-n", nat, "addr", "add", p.lanNet+".1/24", "dev", "lan")
		sh(t, "ip", "-n", nat, "link", "set", "lan", "up")
		sh(t, "ip", "-n", ns, "addr", "add", p.lanIP()+"/24", "dev", "eth0")
		sh(t, "ip", "-n", ns, "link", "set", "eth0", "up")
		sh(t, "ip", "-n", ns, "route", "add", "default", "via", p.lanNet+".1")
		mgmtLink(ns, p.mgmt)

		ipt := []string{"ip", "netns", "exec", nat, "iptables"}
		sh(t, "ip", "netns", "exec", nat, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
		masq := append(ipt, "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE")
		if symmetric {
			masq = append(masq, "--random-fully")
		}
		sh(t, masq...)
		sh(t, append(ipt, "-A", "FORWARD", "-i", "lan", "-o", "wan", "-j", "ACCEPT")...)
		sh(t, append(ipt, "-A", "FORWARD", "-i", "wan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")...)
		sh(t, append(ipt, "-A", "FORWARD", "-i", "wan", "-j", "DROP")...)
		sh(t, append(ipt, "-A", "INPUT", "-i", "wan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")...)
		sh(t, append(ipt, "-A", "INPUT", "-i", "wan", "-j", "DROP")...)
	}
}

// dumpIfFailed logs, if the test failed, the sockets of the peers and the
// NAT routers' rules and connection tracking, to explain the failure.
func dumpIfFailed(t *testing.T) {
	if !t.Failed() {
		return
	}
	for _, p := range []labPeer{labPeerA, labPeerB} {
		out, _ := exec.Command("ip", "netns", "exec", p.ns(), "ss", "-tanu").CombinedOutput()
		t.Logf("--- sockets of %s ---\n%s", p.name, out)
		out, _ = exec.Command("ip", "netns", "exec", p.natNS(), "iptables", "-S").CombinedOutput()
		t.Logf("--- filter rules of %s's NAT ---\n%s", p.name, out)
		out, _ = exec.Command("ip", "netns", "exec", p.natNS(), "cat", "/proc/net/nf_conntrack").CombinedOutput()
		t.Logf("--- connection tracking of %s's NAT ---\n%s", p.name, out)
	}
}

// blockDirect makes each NAT router drop what its peer sends to the other
// peer's public address, or stops doing so. It holds a cone NAT lab in the
// relayed phase: hole punches fail until the path opens. Dropped, a punch
// leaves no state behind in either router or host.
func blockDirect(t *testing.T, block bool) {
	t.Helper()
	op := "-I"
	if !block {
		op = "-D"
	}
	for _, pair := range [][2]labPeer{{labPeerA, labPeerB}, {labPeerB, labPeerA}} {
		sh(t, "ip", "netns", "exec", pair[0].natNS(), "iptables", op, "FORWARD", "-d", pair[1].wanIP, "-j", "DROP")
	}
}

// proc is a peerchat process in a lab namespace.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}

	mu  sync.Mutex
	out bytes.Buffer
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startProc runs the binary in namespace ns with the lab's public CIDRs.
// It is stopped when the test ends, and its output shown if the test
// failed.
func startProc(t *testing.T, bin, name, ns string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PEERCHAT_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Env = append(p.cmd.Env, node.LabPublicCIDRsEnv+"="+labCIDRs)
	if os.Getenv("PEERCHAT_LAB_VERBOSE") != "" {
		p.cmd.Args = append(p.cmd.Args, "--verbose")
	}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM)
		if t.Failed() || os.Getenv("PEERCHAT_LAB_SHOW") != "" {
			out := p.output()
			if len(out) > 12000 {
				out = "...\n" + out[len(out)-12000:]
			}
			t.Logf("--- output of %s ---\n%s", name, out)
		}
	})
	return p
}

// stop sends sig and waits for the process, killing it after 10 s.
func (p *proc) stop(sig syscall.Signal) {
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// count returns how many times the process printed s.
func (p *proc) count(s string) int { return strings.Count(p.output(), s) }

// waitLine waits until the process printed a line containing s.
func (p *proc) waitLine(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, p.name+" to print "+strconv.Quote(s), func() bool {
		select {
		case <-p.done:
			t.Fatalf("%s exited early:\n%s", p.name, p.output())
		default:
		}
		return strings.Contains(p.output(), s)
	})
}

// labRelay is a relay's identity, fixed before it starts.
type labRelay struct {
	name, ns, ip, dir string
	id                peer.ID
	mgmt              int
}

func (r labRelay) addr() string { return "/ip4/" + r.ip + "/tcp/4001/p2p/" + r.id.String() }

// prepareRelays makes the relays' identities, so nodes can be configured
// with a relay that has not started yet.
func prepareRelays(t *testing.T) []labRelay {
	t.Helper()
	var out []labRelay
	for _, r := range labRelays {
		dir := filepath.Join(t.TempDir(), r.name)
		key, err := node.LoadOrCreateIdentity(dir)
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.IDFromPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, labRelay{name: r.name, ns: labPrefix + r.name, ip: r.ip, dir: dir, id: id, mgmt: r.mgmt})
	}
	return out
}

func startLabRelay(t *testing.T, bin string, r labRelay) *proc {
	t.Helper()
	p := startProc(t, bin, r.name, r.ns, "relay", "--data", r.dir,
		"--listen", "/ip4/"+r.ip+"/tcp/4001", "--listen", "/ip4/"+r.ip+"/udp/4001/quic-v1",
		"--room", "lab", "--metrics", mgmtIP(r.mgmt)+":"+metricPort)
	p.waitLine(t, "relay ready", 60*time.Second)
	return p
}

// metricValue scrapes a relay's /metrics and sums the samples of name.
func metricValue(t *testing.T, r labRelay, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + mgmtIP(r.mgmt) + ":" + metricPort + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", r.name, err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// labNode is a node in a NAT'd namespace, driven through its API.
type labNode struct {
	*proc
	base, token string
	id          string
}

func startLabNode(t *testing.T, bin string, p labPeer, relays ...labRelay) *labNode {
	t.Helper()
	return startLabNodeWith(t, bin, p, nil, relays...)
}

// startLabNodeWith starts a lab node with extra arguments.
func startLabNodeWith(t *testing.T, bin string, p labPeer, extra []string, relays ...labRelay) *labNode {
	t.Helper()
	dir := filepath.Join(t.TempDir(), p.name)
	args := []string{"--data", dir, "--api", mgmtIP(p.mgmt) + ":" + apiPort,
		"--listen", "/ip4/" + p.lanIP() + "/tcp/4001", "--listen", "/ip4/" + p.lanIP() + "/udp/4001/quic-v1",
		"--no-mdns", "--join", "lab", "--name", p.name,
		// A punch's failure is logged at info once for each cause and at
		// debug after that; the cone NAT case times the path's opening on
		// every failed attempt.
		"--verbose"}
	for _, r := range relays {
		args = append(args, "--relay", r.addr())
	}
	args = append(args, extra...)
	n := &labNode{proc: startProc(t, bin, p.name, p.ns(), args...), base: "http://" + mgmtIP(p.mgmt) + ":" + apiPort}
	n.waitLine(t, "API:", 60*time.Second)
	tok, err := os.ReadFile(filepath.Join(dir, "api-token"))
	if err != nil {
		t.Fatalf("read %s's API token: %v", p.name, err)
	}
	n.token = strings.TrimSpace(string(tok))
	var info struct {
		PeerID string `json:"peer_id"`
	}
	n.call(t, "GET", "/v1/node", nil, &info)
	n.id = info.PeerID
	return n
}

// call makes an API request and decodes the JSON answer into out.
func (n *labNode) call(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, n.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+n.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s on %s: %v", method, path, n.name, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s on %s: %s: %s", method, path, n.name, resp.Status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s on %s: decode %s: %v", method, path, n.name, data, err)
		}
	}
}

// peer returns what n's GET /v1/peers says of other.
func (n *labNode) peer(t *testing.T, other *labNode) node.PeerInfo {
	t.Helper()
	var resp struct{ Peers []node.PeerInfo }
	n.call(t, "GET", "/v1/peers", nil, &resp)
	for _, p := range resp.Peers {
		if p.ID == other.id {
			return p
		}
	}
	return node.PeerInfo{}
}

// link returns how n is connected to other: "", direct or relayed, and
// the relay's peer ID.
func (n *labNode) link(t *testing.T, other *labNode) (kind, via string) {
	t.Helper()
	var resp struct{ Peers []node.PeerInfo }
	n.call(t, "GET", "/v1/peers", nil, &resp)
	for _, p := range resp.Peers {
		if p.ID == other.id {
			return p.Connection, p.Relay
		}
	}
	return "", ""
}

// post sends count messages, text prefix-0 and on, and returns the texts.
func (n *labNode) post(t *testing.T, prefix string, count int) []string {
	t.Helper()
	var texts []string
	for i := range count {
		text := fmt.Sprintf("%s-%d", prefix, i)
		n.call(t, "POST", "/v1/rooms/lab/messages", map[string]string{"text": text}, nil)
		texts = append(texts, text)
	}
	return texts
}

// texts returns the texts in n's history of the lab room written by author.
func (n *labNode) texts(t *testing.T, author *labNode) []string {
	t.Helper()
	var resp struct {
		Messages []struct{ Author, Text string }
	}
	n.call(t, "GET", "/v1/rooms/lab/messages?limit=500", nil, &resp)
	var out []string
	for _, m := range resp.Messages {
		if m.Author == author.id {
			out = append(out, m.Text)
		}
	}
	return out
}
