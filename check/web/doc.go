// Package web serves the state-space explorer of `tcpcheck browse` and
// `tcpcheck explore --serve`: a page that walks a model's global states by
// hand. It shows the current state (both sides' states and TCBs, the
// segments in flight with their ages, timers, budgets, broken
// properties), the enabled actions (System.Next's successors) as links,
// back and forward, the state diagram with the current states of A and B
// highlighted, jumps to a counterexample (check.Explore on the server, on
// the correct table or a mutant) or to a docs page's trace, and exports
// the trace walked so far as a segment table, Mermaid or a saved trace.
//
// All state lives in the URL, so the browser's back and forward work and a
// URL can be shared: cfg (the configuration as JSON, when not the
// server's), m (a mutant), s (the initial state's key in hex), p (the
// successor numbers taken, comma-separated) and at (how many of them are
// applied; the rest is the forward history). Assets are embedded; the page
// loads nothing from elsewhere and works without JavaScript.
package web
