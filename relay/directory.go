package relay

import (
	"encoding/json"
	"math/rand/v2"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/peerchat/peerchat/protocol"
)

// directoryTimeout bounds one directory request.
const directoryTimeout = 10 * time.Second

// directory answers protocol.RelayDirectoryProtocol: which peers the relay
// sees in the rooms a node names. It knows because every peer's gossipsub
// announces its room topics to the relay on connecting. Anyone connected
// may ask, but only about rooms it names, and gossipsub already tells
// every connected peer the same: the relay reveals nothing a room member
// could not learn by joining.
type directory struct {
	host host.Host
	ps   *pubsub.PubSub

	mu     sync.Mutex
	closed bool           // guarded by mu: no new requests after stop
	wg     sync.WaitGroup // the requests being served
}

// serveDirectory makes h answer the directory protocol from what ps knows.
func serveDirectory(h host.Host, ps *pubsub.PubSub) *directory {
	d := &directory{host: h, ps: ps}
	h.SetStreamHandler(protocol.RelayDirectoryProtocol, d.handle)
	return d
}

func (d *directory) handle(s network.Stream) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		s.Reset()
		return
	}
	d.wg.Add(1)
	d.mu.Unlock()
	defer d.wg.Done()
	d.serve(s)
}

// stop refuses new requests; wait waits for those being served, which
// end once the host is closed.
func (d *directory) stop() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
}

func (d *directory) wait() { d.wg.Wait() }

func (d *directory) serve(s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(directoryTimeout))
	rooms, err := protocol.ReadDirectoryRequest(s)
	if err != nil {
		s.Reset()
		return
	}
	asker := s.Conn().RemotePeer()
	resp := protocol.DirectoryResponse{Rooms: map[string][]protocol.DirectoryPeer{}}
	for _, room := range rooms {
		peers := d.ps.ListPeers(protocol.Topic(room))
		rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
		list := []protocol.DirectoryPeer{}
		for _, p := range peers {
			if p == asker || len(list) == protocol.MaxDirectoryPeers {
				continue
			}
			dp := protocol.DirectoryPeer{ID: p.String()}
			for _, a := range d.host.Peerstore().Addrs(p) {
				if len(dp.Addrs) < protocol.MaxDirectoryAddrs && !isRelayed(a) && manet.IsPublicAddr(a) {
					dp.Addrs = append(dp.Addrs, a.String())
				}
			}
			list = append(list, dp)
		}
		resp.Rooms[room] = list
	}
	if err := json.NewEncoder(s).Encode(resp); err != nil {
		s.Reset()
	}
}

func isRelayed(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}
