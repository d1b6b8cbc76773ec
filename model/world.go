package model

import (
	"encoding/binary"

	"github.com/tcpcheck/tcpcheck/spec"
)

// KeySize is the size in bytes of a [Key].
const KeySize = 64

// Key is the canonical compact encoding of a global state: two states are
// equal exactly when their keys are.
type Key [KeySize]byte

// netCap is how many segments the network holds at most.
const netCap = 10

// NetCap is how many segments the network holds at most: a step that would
// put more on it does not exist (the mutation sweep needs to know where a
// row's step may have been refused for want of room).
const NetCap = netCap

// InFlight returns the number of segments in flight in the state k.
func (k *Key) InFlight() int {
	n := 0
	for i := range netCap {
		o := netOff + 4*i
		if k[o]|k[o+1]|k[o+2]|k[o+3] != 0 {
			n = i + 1
		}
	}
	return n
}

// Layout of a key: two global bytes, two hosts of hostBytes bytes, then
// netCap segment words of 4 bytes, little-endian, unused slots zero, then
// the scenario index and the ghost byte of the world.
const (
	hostBytes = 10
	netOff    = 2 + 2*hostBytes
	scenOff   = netOff + 4*netCap
	ghostOff  = scenOff + 1
)

// Signals a user can see, sticky per incarnation (the last one wins).
const (
	sigNone uint8 = iota
	sigConnected
	sigReset
	sigRefused
	sigTimeout
)

var sigNames = [...]string{"", "connected", "reset", "refused", "timeout"}

// Violation codes, one per safety property checked by ghost state at the
// moment a bad transition happens, in the order of the properties. The
// world keeps the first in that order (a code, not a bit: more properties
// than a byte has bits); a violated state ends the search anyway.
const (
	violEstablished     uint8 = 1 + iota // EstablishedOnlyWithLivePeer
	violIsolation                        // IncarnationIsolation
	violTimeWait                         // TimeWaitHeld
	violBlindReset                       // NoBlindReset
	violNoReply                          // UnknownConnectionReset
	violSynSentReset                     // SynSentResetNeedsAck
	violTimeWaitRestart                  // TimeWaitRestarts
	violSignal                           // SignalsMatchState
	violUnacceptable                     // UnacceptableSegmentIgnored
	violNoConnection                     // SegmentWithoutConnectionIgnored
	violRetransmit                       // RetransmissionResendsEarliest
	violTimeout                          // TimeoutEndsConnection
	violAbort                            // AbortEndsConnection
	violRefused                          // RefusedCallChangesNothing
	violReset                            // AcceptableResetCloses
	violSignalCause                      // SignalsHaveCause
	violCause                            // SegmentsHaveCause
	violStateMeaning                     // StateMatchesSequence
	violProcessed                        // AcceptableSegmentProcessed
	violTimerDuty                        // DelayedAckAndProbeSent
)

// flag records violation v, keeping the one first in property order.
func (w *world) flag(v uint8) {
	if w.viol == 0 || v < w.viol {
		w.viol = v
	}
}

// host is the decoded state of one endpoint: its TCB (sequence numbers in
// the abstract byte-sized space, see seq), its user's program counter and
// ghost bookkeeping for the properties.
type host struct {
	st                      spec.State
	passive, finSent        bool
	iss, irs, una, nxt, rcv uint8
	retries, rto            uint8
	tw                      uint8 // 2MSL timer: 0 not armed, else 1 + the ticks left (1: it fires now)
	queued                  uint8 // octets accepted into the send buffer this incarnation
	sig                     uint8
	pc                      uint8 // index of the user's next call in its program
	written, delivered      uint8 // octets the user wrote / received this incarnation
	sawEOF                  bool  // the user has read end of stream this incarnation
	gsync                   bool  // ghost: reached a synchronized state this incarnation
	aborted                 bool  // ghost: the user called ABORT this incarnation
	endRST, endTimeout      bool  // ghost: a synchronized TCB was deleted by the peer's RST / a timeout
	activeCloser            bool  // ghost: sent its FIN before it received the peer's FIN
	owed                    bool  // accepted text waits for its delayed ACK (RFC 1122 §4.2.3.2)
	probes                  uint8 // keepalive probes the peer has not answered (RFC 1122 §4.2.3.6), 0..3
	rcvClosed               bool  // the user has stopped reading: RCV.WND = 0 (Config.ZeroWindow)
	stopped                 bool  // ghost: the user has stopped reading this incarnation (once per incarnation)
}

// world is the decoded global state.
type world struct {
	h                        [2]host
	net                      [netCap]uint32
	n                        uint8
	round, loss, dup, inject uint8
	viol                     uint8
	scen                     uint8 // index of the scenario (Config.Also)
	ghost                    uint8 // per-incarnation ghost bits of the world (ghost*)
}

// Ghost bits of the world, cleared when an incarnation starts.
const (
	ghostRetriesOut uint8 = 1 << iota // some host's retries ran out (R2 fired)
	ghostInjectHit                    // an injected segment changed a host's state, SND.UNA or RCV.NXT, or drew a RST from it
	ghostMisusedA                     // A's user made its call outside the program
	ghostMisusedB                     // B's user made its call outside the program
)

// owedShift is the bit of the key's ghost byte where the hosts' owed
// flags (a delayed ACK is owed) start, A's then B's: the host bytes and the
// violation byte are full.
const owedShift = 4

// rcvClosedShift is the bit of the key's ghost byte where the hosts'
// closed receive windows (Config.ZeroWindow) start, A's then B's.
const rcvClosedShift = 6

func misusedBit(i int) uint8 { return ghostMisusedA << i }

// The scenario byte of a key holds the scenario index in its low bits
// (at most 1+maxAlso scenarios) and from probesShift on the hosts'
// keepalive probe counts, two bits each, A's then B's.
const (
	scenMask    = 3
	probesShift = 2
)

// The scenario index and the probe counts must fit their bits.
var (
	_ = [scenMask + 1 - (1 + maxAlso)]struct{}{}
	_ = [3 - maxKeepAlive]struct{}{}
)

// A segment in flight is a 32-bit word:
//
//	bits  0- 7 ACK field      bits 16-18 age
//	bits  8-15 SEQ field      bits 19-20 incarnation tag
//	bits 21-22 text length    bits 23-26 flags (FIN, SYN, RST, ACK)
//	bit  27    sender (0 = A)
//
// Every segment has a flag set, so the zero word marks an empty slot.
const (
	segAgeShift   = 16
	segIncShift   = 19
	segLenShift   = 21
	segFlagsShift = 23
	segFromShift  = 27
	segAgeOne     = 1 << segAgeShift
)

func mkSeg(from uint8, f spec.Flags, seq, ack, n, inc uint8) uint32 {
	f4 := uint32(f&(spec.FIN|spec.SYN|spec.RST)) | uint32(f&spec.ACK)>>1
	return uint32(ack) | uint32(seq)<<8 | uint32(inc&3)<<segIncShift | uint32(n&3)<<segLenShift |
		f4<<segFlagsShift | uint32(from&1)<<segFromShift
}

func segAck(w uint32) uint8  { return uint8(w) }
func segSeq(w uint32) uint8  { return uint8(w >> 8) }
func segAge(w uint32) uint8  { return uint8(w>>segAgeShift) & 7 }
func segInc(w uint32) uint8  { return uint8(w>>segIncShift) & 3 }
func segLen(w uint32) uint8  { return uint8(w>>segLenShift) & 3 }
func segFrom(w uint32) uint8 { return uint8(w>>segFromShift) & 1 }
func segFlags(w uint32) spec.Flags {
	f4 := spec.Flags(w>>segFlagsShift) & 15
	return f4&(spec.FIN|spec.SYN|spec.RST) | (f4&8)<<1
}

// segEvents is spec.Classify of every combination of a segment word's
// text length and flags (bits 21-26), so that delivering a segment looks
// its event up rather than branching on its flags.
var segEvents = func() (t [64]spec.Event) {
	for x := range uint32(64) {
		w := x << segLenShift
		t[x] = spec.Classify(segFlags(w), int(segLen(w)))
	}
	return t
}()

// segEvent is the event of receiving segment w: spec.Classify of its flags
// and text length.
func segEvent(w uint32) spec.Event { return segEvents[w>>segLenShift&63] }

// segSpaceLen is SEG.LEN: text plus one for SYN and one for FIN.
func segSpaceLen(w uint32) uint32 {
	n := uint32(segLen(w))
	f := segFlags(w)
	if f.Has(spec.SYN) {
		n++
	}
	if f.Has(spec.FIN) {
		n++
	}
	return n
}

// seqOrigin maps the model's byte-sized abstract sequence space onto real
// sequence numbers; comparisons use spec.Seq's modular rules throughout.
const seqOrigin spec.Seq = 0

func seq(b uint8) spec.Seq { return seqOrigin + spec.Seq(b) }

// unseq is the inverse of seq. Every sequence number the model computes is
// derived from abstract ones by small offsets, so it stays in range.
func unseq(s spec.Seq) uint8 { return uint8(s - seqOrigin) }

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func (h *host) encode(p []byte) {
	_ = p[hostBytes-1]
	p[0] = uint8(h.st) | b2u(h.passive)<<4 | b2u(h.finSent)<<5 | b2u(h.sawEOF)<<6 | b2u(h.gsync)<<7
	p[1] = h.iss
	p[2] = h.irs
	p[3] = h.una
	p[4] = h.nxt
	p[5] = h.rcv
	p[6] = h.retries | h.rto<<2 | b2u(h.aborted)<<5 | b2u(h.endRST)<<6 | b2u(h.endTimeout)<<7
	p[7] = h.tw | h.sig<<4 | b2u(h.activeCloser)<<7
	p[8] = h.written | h.queued<<4
	p[9] = h.delivered | h.pc<<4 | b2u(h.stopped)<<7 // pc < 8: a program has at most 5 calls
}

func (h *host) decode(p []byte) {
	_ = p[hostBytes-1]
	h.st = spec.State(p[0] & 15)
	h.passive = p[0]&(1<<4) != 0
	h.finSent = p[0]&(1<<5) != 0
	h.sawEOF = p[0]&(1<<6) != 0
	h.gsync = p[0]&(1<<7) != 0
	h.iss, h.irs, h.una, h.nxt, h.rcv = p[1], p[2], p[3], p[4], p[5]
	h.retries, h.rto = p[6]&3, p[6]>>2&7
	h.aborted = p[6]&(1<<5) != 0
	h.endRST = p[6]&(1<<6) != 0
	h.endTimeout = p[6]&(1<<7) != 0
	h.tw, h.sig, h.activeCloser = p[7]&15, p[7]>>4&7, p[7]&(1<<7) != 0
	h.written, h.queued = p[8]&15, p[8]>>4
	h.delivered, h.pc, h.stopped = p[9]&15, p[9]>>4&7, p[9]&(1<<7) != 0
}

func (w *world) encode() Key {
	var k Key
	w.encodeInto(&k)
	return k
}

// encodeInto writes the key of w into k, which must be zero.
func (w *world) encodeInto(k *Key) {
	k[0] = w.round | w.loss<<2 | w.dup<<4 | w.inject<<6
	k[1] = w.viol
	w.h[0].encode(k[2 : 2+hostBytes])
	w.h[1].encode(k[2+hostBytes : 2+2*hostBytes])
	k[scenOff] = w.scen | w.h[0].probes<<probesShift | w.h[1].probes<<(probesShift+2)
	k[ghostOff] = w.ghost | b2u(w.h[0].owed)<<owedShift | b2u(w.h[1].owed)<<(owedShift+1) |
		b2u(w.h[0].rcvClosed)<<rcvClosedShift | b2u(w.h[1].rcvClosed)<<(rcvClosedShift+1)
	for i := range netCap { // the slots past w.n are zero (see remove, tick, decode)
		binary.LittleEndian.PutUint32(k[netOff+4*i:], w.net[i])
	}
}

func (w *world) decode(k *Key) {
	w.round, w.loss, w.dup, w.inject = k[0]&3, k[0]>>2&3, k[0]>>4&3, k[0]>>6
	w.viol = k[1]
	w.h[0].decode(k[2 : 2+hostBytes])
	w.h[1].decode(k[2+hostBytes : 2+2*hostBytes])
	w.scen = k[scenOff] & scenMask
	w.h[0].probes = k[scenOff] >> probesShift & 3
	w.h[1].probes = k[scenOff] >> (probesShift + 2) & 3
	w.ghost = k[ghostOff] & (1<<owedShift - 1)
	w.h[0].owed = k[ghostOff]&(1<<owedShift) != 0
	w.h[1].owed = k[ghostOff]&(1<<(owedShift+1)) != 0
	w.h[0].rcvClosed = k[ghostOff]&(1<<rcvClosedShift) != 0
	w.h[1].rcvClosed = k[ghostOff]&(1<<(rcvClosedShift+1)) != 0
	w.n = 0
	for i := range netCap {
		o := netOff + 4*i
		s := binary.LittleEndian.Uint32(k[o:])
		w.net[i] = s
		if s != 0 {
			w.n = uint8(i + 1)
		}
	}
}

// canonFrom puts the network in canonical order. With reordering the
// network is a multiset: words sorted in decreasing order. Without it each
// direction is a FIFO queue whose order matters: segments from A first, in
// sending order, then segments from B; send and duplicate keep that layout.
// The segments before index sorted are in canonical order already (0: none
// is known to be): a host step's network is its state's, canonical, with
// at most a segment taken out, and what the step sent pushed at the end;
// only those are sorted in.
func (w *world) canonFrom(reorder bool, sorted int) {
	if reorder && int(w.n) > max(sorted, 1) {
		s := w.net[:w.n]
		// Insertion sort: the network is small and mostly sorted.
		for i := max(sorted, 1); i < len(s); i++ {
			v := s[i]
			j := i
			for j > 0 && s[j-1] < v {
				s[j] = s[j-1]
				j--
			}
			s[j] = v
		}
	}
}

// push adds segment s; it reports false when the network is full.
func (w *world) push(s uint32, reorder bool) bool {
	if int(w.n) >= netCap {
		return false
	}
	if reorder || segFrom(s) == 1 {
		w.net[w.n] = s
		w.n++
		return true
	}
	// FIFO from A: insert after the last segment from A.
	i := 0
	for i < int(w.n) && segFrom(w.net[i]) == 0 {
		i++
	}
	copy(w.net[i+1:w.n+1], w.net[i:w.n])
	w.net[i] = s
	w.n++
	return true
}

// remove deletes the segment at index i, keeping the order of the rest.
func (w *world) remove(i int) {
	n := int(w.n) - 1
	for ; i < n; i++ { // a loop, not copy: the network is short
		w.net[i] = w.net[i+1]
	}
	w.net[n] = 0
	w.n = uint8(n)
}

// dupAt inserts a copy of the segment at index i right after it.
func (w *world) dupAt(i int) bool {
	if int(w.n) >= netCap {
		return false
	}
	copy(w.net[i+2:w.n+1], w.net[i+1:w.n])
	w.net[i+1] = w.net[i]
	w.n++
	return true
}

// The key must hold the scenario and ghost bytes.
var _ = [KeySize - ghostOff - 1]struct{}{}
