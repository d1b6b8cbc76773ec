package impl

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

// TestCookieRoundTrip: a cookie validates for the 4-tuple and IRS it was
// made for, for between 64 and 128 seconds, and returns the MSS rounded
// down to the table of cookieMSS; a cookie with any single bit flipped,
// for another 4-tuple or IRS, or from another stack's secret, does not.
func TestCookieRoundTrip(t *testing.T) {
	s, clock := isnStack(t)
	s2, _ := isnStack(t)
	k := connKey{port: 80, peer: netip.MustParseAddrPort("10.0.0.2:0"), peerPort: 40000}
	irs := spec.Seq(123456789)
	for _, tc := range []struct{ mss, want int }{{536, 536}, {1000, 536}, {1460, 1460}, {1400, 1400}, {9000, 8960}, {100, 536}} {
		c := s.makeCookie(k, irs, tc.mss)
		got, ok := s.checkCookie(k, c, irs)
		if !ok || got != tc.want {
			t.Fatalf("MSS %d: cookie %#x validates %v with MSS %d, want %d", tc.mss, uint32(c), ok, got, tc.want)
		}
	}
	c := s.makeCookie(k, irs, 1460)
	for b := range 32 {
		if _, ok := s.checkCookie(k, c^spec.Seq(1<<b), irs); ok {
			t.Fatalf("cookie with bit %d flipped validates", b)
		}
	}
	other := k
	other.peerPort++
	if _, ok := s.checkCookie(other, c, irs); ok {
		t.Fatal("cookie validates for another 4-tuple")
	}
	if _, ok := s.checkCookie(k, c, irs+1); ok {
		t.Fatal("cookie validates for another IRS")
	}
	if _, ok := s2.checkCookie(k, c, irs); ok {
		t.Fatal("cookie validates under another stack's secret")
	}
	// Made at the start of a 64 s tick, it lives through that tick and the
	// next one: 128 s, and not a second more.
	clock.Advance(cookieTick - time.Duration(clock.Now().Unix()%64)*time.Second)
	c = s.makeCookie(k, irs, 1460)
	clock.Advance(2*cookieTick - time.Second)
	if _, ok := s.checkCookie(k, c, irs); !ok {
		t.Fatal("cookie rejected 127 s after it was made")
	}
	clock.Advance(time.Second)
	if _, ok := s.checkCookie(k, c, irs); ok {
		t.Fatal("cookie accepted 128 s after it was made")
	}
}

// TestOptionsLimits: the resource options reject nonsense with a message
// that names the field.
func TestOptionsLimits(t *testing.T) {
	for _, tc := range []struct {
		opt  Options
		want string
	}{
		{Options{MaxConns: -1}, "connection cap"},
		{Options{MaxTimeWait: -5}, "TIME-WAIT cap"},
		{Options{KeepAliveProbes: -1}, "keepalive probes"},
		{Options{KeepAlive: -time.Second}, "durations"},
	} {
		err := tc.opt.fill()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "impl: ") {
			t.Errorf("%+v: error %v, want one about %q", tc.opt, err, tc.want)
		}
	}
}
