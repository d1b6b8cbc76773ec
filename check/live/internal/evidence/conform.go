package evidence

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	pcapcheck "github.com/tcpcheck/tcpcheck/check/capture"
)

// PcapFile names the capture a run keeps beside its record (testdata/NAME.pcap).
func PcapFile(name string) string { return name + ".pcap" }

// conformFacts checks a capture against the table, as `tcpcheck conform
// --pcap FILE` does, and returns what the pages cite of the verdict.
func conformFacts(pcap []byte) ([]Fact, error) {
	rd, err := pcapcheck.Open(bytes.NewReader(pcap))
	if err != nil {
		return nil, fmt.Errorf("evidence: %v", err)
	}
	sum, err := pcapcheck.Check(context.Background(), rd, pcapcheck.Options{Workers: 1})
	if err != nil {
		return nil, fmt.Errorf("evidence: %v", err)
	}
	facts := []Fact{
		{"tcpcheck conform --pcap: connections", fmt.Sprint(sum.Connections)},
		{"tcpcheck conform --pcap: conforming (deviating: named deviations only)", fmt.Sprintf("%d (%d)", sum.Conforming, sum.Deviating)},
		{"tcpcheck conform --pcap: failing", fmt.Sprint(sum.Failing)},
	}
	for _, c := range sum.Conns {
		facts = append(facts,
			Fact{"the client's states, as the checker tracked them", strings.Join(c.ClientStates, " > ")},
			Fact{"the server's states, as the checker tracked them", strings.Join(c.ServerStates, " > ")})
	}
	return facts, nil
}
