// Package model is the abstract system that tcpcheck explores: hosts A and
// B running the transition table of package spec over one 4-tuple, their
// users following a scenario, a network with budgeted faults, and a
// discrete clock.
package model
