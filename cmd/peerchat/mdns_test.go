package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The LAN: two network namespaces joined by a bridge in the root
// namespace, which also holds an address so the test reaches both APIs.
const (
	lanBridge   = "pcmdns-br"
	lanBridgeIP = "10.231.0.1/24"
	lanRoom     = "lan"
	lanAPIPort  = "7777"
)

type lanHost struct {
	ns   string // namespace
	veth string // the root end of its veth pair
	ip   string
}

var lanHosts = []lanHost{
	{ns: "pcmdns-a", veth: "pcmdns-va", ip: "10.231.0.2"},
	{ns: "pcmdns-b", veth: "pcmdns-vb", ip: "10.231.0.3"},
}

// runIP runs ip with args and fails the test on error.
func runIP(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// removeLAN deletes the namespaces and links of the LAN, ignoring any that
// do not exist. Deleting a namespace destroys the veth end inside it, and
// with it the pair.
func removeLAN() {
	for _, h := range lanHosts {
		exec.Command("ip", "netns", "del", h.ns).Run()
		exec.Command("ip", "link", "del", h.veth).Run()
	}
	exec.Command("ip", "link", "del", lanBridge).Run()
}

// buildLAN makes the namespaces and the bridge, and removes them when the
// test ends.
func buildLAN(t *testing.T) {
	t.Helper()
	removeLAN() // leftovers of an earlier run that was killed
	t.Cleanup(removeLAN)

	runIP(t, "link", "add", lanBridge, "type", "bridge")
	// mDNS is multicast (224.0.0.251:5353): with snooping on, the bridge
	// may drop it until it has seen an IGMP membership report.
	if err := exec.Command("ip", "link", "set", lanBridge, "type", "bridge", "mcast_snooping", "0").Run(); err != nil {
		if err := os.WriteFile(filepath.Join("/sys/class/net", lanBridge, "bridge/multicast_snooping"), []byte("0"), 0o644); err != nil {
			t.Fatalf("turn multicast snooping off on %s: %v", lanBridge, err)
		}
	}
	// Bridged frames must not meet the root namespace's iptables rules
	// (br_netfilter), which belong to someone else.
	exec.Command("ip", "link", "set", lanBridge, "type", "bridge", "nf_call_iptables", "0", "nf_call_ip6tables", "0", "nf_call_arptables", "0").Run()
	runIP(t, "addr", "add", lanBridgeIP, "dev", lanBridge)
	runIP(t, "link", "set", lanBridge, "up")

	for _, h := range lanHosts {
		inner := h.veth + "i"
		runIP(t, "netns", "add", h.ns)
		runIP(t, "link", "add", h.veth, "type", "veth", "peer", "name", inner)
		runIP(t, "link", "set", inner, "netns", h.ns)
		runIP(t, "-n", h.ns, "link", "set", inner, "name", "eth0")
		runIP(t, "link", "set", h.veth, "master", lanBridge)
		runIP(t, "link", "set", h.veth, "up")
		runIP(t, "-n", h.ns, "link", "set", "lo", "up")
		runIP(t, "-n", h.ns, "addr", "add", h.ip+"/24", "dev", "eth0")
		runIP(t, "-n", h.ns, "link", "set", "eth0", "up")
		// Multicast leaves by eth0 even though the namespace has no
		// default route.
		runIP(t, "-n", h.ns, "route", "add", "224.0.0.0/4", "dev", "eth0")
	}
}

// TestTwoNodesOnALANFindEachOtherByMDNSAndChat runs two nodes in two
// network namespaces on one bridge, with no bootstrap address: they must
// find each other by mDNS, connect, and exchange a message in a room.
func TestTwoNodesOnALANFindEachOtherByMDNSAndChat(t *testing.T) {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, fmt.Sprintf("root (running as uid %d; network namespaces need root)", os.Geteuid()))
	}
	if _, err := exec.LookPath("ip"); err != nil {
		missing = append(missing, "the ip command (install iproute2, or run .ci/run)")
	}
	if len(missing) > 0 {
		t.Fatalf("this test builds a LAN of network namespaces and needs: %s", strings.Join(missing, "; "))
	}
	buildLAN(t)

	var nodes []*proc
	for i, h := range lanHosts {
		dir := t.TempDir()
		nodes = append(nodes, launch(t, procSpec{
			name:    "lan-node-" + h.ns,
			prefix:  []string{"ip", "netns", "exec", h.ns},
			dataDir: dir,
			args: []string{
				"--data", dir,
				"--api", h.ip + ":" + lanAPIPort,
				"--listen", "/ip4/0.0.0.0/tcp/0",
				"--listen", "/ip4/0.0.0.0/udp/0/quic-v1",
				"--join", lanRoom,
				"--name", fmt.Sprintf("lan-%c", 'a'+i),
			},
		}))
	}
	for _, p := range nodes {
		p.waitUp()
	}

	// Discovery: each node lists the other as a connected peer.
	hasPeer := func(p *proc, id string) (bool, string) {
		var resp struct {
			Peers []struct {
				PeerID     string `json:"peer_id"`
				Connection string `json:"connection"`
			} `json:"peers"`
		}
		p.call("GET", "/v1/peers", nil, &resp, http.StatusOK)
		var ids []string
		for _, q := range resp.Peers {
			if q.PeerID == id {
				return true, ""
			}
			ids = append(ids, q.PeerID)
		}
		return false, fmt.Sprintf("%s sees peers %v, not %s", p.name, ids, id)
	}
	eventually(t, 20*time.Second, 100*time.Millisecond, func() string {
		for i, p := range nodes {
			if ok, why := hasPeer(p, nodes[1-i].peerID); !ok {
				return why
			}
		}
		return ""
	})

	// Chat: each sends one message; each sees the other's.
	sent := make([]string, len(nodes))
	for i, p := range nodes {
		var res postResult
		p.call("POST", "/v1/rooms/"+lanRoom+"/messages", map[string]string{"text": "hello from " + p.name, "client_msg_id": "hello-" + p.peerID}, &res, http.StatusCreated)
		sent[i] = res.Message.ID
	}
	eventually(t, 20*time.Second, 100*time.Millisecond, func() string {
		for i, p := range nodes {
			found := false
			for _, m := range p.history(lanRoom) {
				if m.ID == sent[1-i] {
					found = true
					if m.Author != nodes[1-i].peerID {
						return fmt.Sprintf("%s has message %s by %s, want author %s", p.name, m.ID, m.Author, nodes[1-i].peerID)
					}
				}
			}
			if !found {
				return fmt.Sprintf("%s does not have %s's message %s", p.name, nodes[1-i].name, sent[1-i])
			}
		}
		return ""
	})
}
