package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/network"
)

// floorSyncProtocol is the floor of sync: a stream that carries exactly
// the missing envelopes, each with a varint length, and nothing else. No
// protocol can move fewer bytes without compressing.
const floorSyncProtocol = "/peerchat-bench/floor-sync/1"

func syncFloor(ctx context.Context, o *options, envs [][]byte) (syncResult, error) {
	var res syncResult
	counter := &streamCounter{BandwidthCounter: metrics.NewBandwidthCounter()}
	a, err := newFloorHostOnly(o.Transport, libp2p.BandwidthReporter(counter))
	if err != nil {
		return res, err
	}
	defer a.Close()
	b, err := newFloorHostOnly(o.Transport)
	if err != nil {
		return res, err
	}
	defer b.Close()
	a.SetStreamHandler(floorSyncProtocol, func(s network.Stream) {
		defer s.Close()
		w := bufio.NewWriter(s)
		for _, e := range envs {
			w.Write(binary.AppendUvarint(nil, uint64(len(e))))
			w.Write(e)
		}
		w.Flush()
	})
	if err := connectAddr(ctx, b, p2pAddrs(a)[0]); err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	start := time.Now()
	s, err := b.NewStream(ctx, a.ID(), floorSyncProtocol)
	if err != nil {
		return res, fmt.Errorf("open floor stream: %w", err)
	}
	s.CloseWrite()
	if _, err := io.Copy(io.Discard, s); err != nil {
		return res, fmt.Errorf("read floor stream: %w", err)
	}
	res.took = time.Since(start)
	s.Close()
	res.bytes = counter.syncBytes()
	return res, nil
}
