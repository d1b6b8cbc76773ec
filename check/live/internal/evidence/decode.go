package evidence

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// decodeTCP reads a TCP segment, options included.
func decodeTCP(src, dst netip.Addr, t []byte) (Seg, bool) {
	if len(t) < 20 {
		return Seg{}, false
	}
	off := int(t[12]>>4) * 4
	if off < 20 || off > len(t) {
		return Seg{}, false
	}
	s := Seg{
		Src:    netip.AddrPortFrom(src, binary.BigEndian.Uint16(t[0:2])),
		Dst:    netip.AddrPortFrom(dst, binary.BigEndian.Uint16(t[2:4])),
		RawSeq: binary.BigEndian.Uint32(t[4:8]),
		RawAck: binary.BigEndian.Uint32(t[8:12]),
		Flags:  flagText(t[13]),
		Win:    binary.BigEndian.Uint16(t[14:16]),
		HdrLen: off,
		Len:    len(t) - off,
	}
	s.Options = decodeOptions(t[20:off])
	s.Text = printable(t[off:])
	return s, true
}

// flagText names the flags in the order FIN, SYN, RST, PSH, ACK, URG, as
// the tables of tcpcheck write them.
func flagText(f byte) string {
	names := []struct {
		bit  byte
		name string
	}{{0x02, "SYN"}, {0x01, "FIN"}, {0x04, "RST"}, {0x08, "PSH"}, {0x10, "ACK"}, {0x20, "URG"}}
	out := ""
	for _, n := range names {
		if f&n.bit != 0 {
			if out != "" {
				out += ","
			}
			out += n.name
		}
	}
	return out
}

// decodeOptions lists TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018).
func decodeOptions(b []byte) []Option {
	var out []Option
	for len(b) > 0 {
		kind := b[0]
		switch kind {
		case 0:
			out = append(out, Option{Kind: 0, Name: "EOL", Len: len(b)})
			return out
		case 1:
			out = append(out, Option{Kind: 1, Name: "NOP", Len: 1})
			b = b[1:]
			continue
		}
		if len(b) < 2 || int(b[1]) < 2 || int(b[1]) > len(b) {
			out = append(out, Option{Kind: kind, Name: "malformed", Len: len(b)})
			return out
		}
		n := int(b[1])
		v := b[2:n]
		o := Option{Kind: kind, Len: n}
		switch {
		case kind == 2 && n == 4:
			o.Name, o.Value = "MSS", fmt.Sprint(binary.BigEndian.Uint16(v))
		case kind == 3 && n == 3:
			o.Name, o.Value = "WS", fmt.Sprint(v[0])
		case kind == 4 && n == 2:
			o.Name = "SACK-permitted"
		case kind == 5:
			o.Name, o.Value = "SACK", fmt.Sprintf("%d blocks", (n-2)/8)
		case kind == 8 && n == 10:
			o.Name, o.Value = "TS", fmt.Sprintf("val=%d ecr=%d", binary.BigEndian.Uint32(v[0:4]), binary.BigEndian.Uint32(v[4:8]))
		default:
			o.Name = fmt.Sprintf("kind %d", kind)
		}
		out = append(out, o)
		b = b[n:]
	}
	return out
}

// printable returns the first line of a payload that is text, up to 40
// characters, or "".
func printable(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	end := len(p)
	for i, c := range p {
		if c == '\r' || c == '\n' {
			end = i
			break
		}
		if c < 0x20 || c > 0x7e {
			return ""
		}
	}
	if end > 40 {
		end = 40
	}
	return string(p[:end])
}
