// Package attack is an attacker test peer for the reference endpoint of
// package impl, in the manner of gVisor's packetimpact: a [Peer] crafts
// arbitrary segments (chosen 4-tuple, flags, sequence and acknowledgment
// numbers, window, options and text), puts them on the mem link or the udp
// link, and records what the endpoints send back.
//
// Its tests hold the endpoint to the promises of RFC 5961 (blind
// injection), RFC 4987 (SYN floods), RFC 6528 (ISNs, in package impl),
// RFC 1122 §4.2.3.6 (keepalive) and RFC 9293 §3.8.4 (user timeout) while
// package check/conform replays every transition through the table, so an
// endpoint under attack is shown to follow the table too.
//
// # Running
//
// The default run (`go test ./check/attack`) uses scaled-down figures that
// assert the same properties. The figures of issue 9 run with
//
//	go test ./check/attack -run . -security.full -v -timeout 30m
//
// which sends 100,000 spoofed RSTs, floods 200,000 spoofed SYNs over the
// udp link during 1,000 legitimate dials, and soaks 1,000 connections.
package attack
