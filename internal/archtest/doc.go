// Package archtest holds the tests that keep tcpcheck's architecture true:
// the import graph between its packages (docs/architecture.md draws it and
// states the rules), and the rule that the connection's sequence variables
// are changed only through spec's TCB. It has no code of its own.
package archtest
