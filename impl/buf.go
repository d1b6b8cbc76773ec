package impl

// queueAppend appends p to the queue *q, whose consumed front has been
// sliced off, reusing *store, the queue's backing array: when the tail of
// *q has no room, the live octets slide to the front of *store (or to a
// new, larger store) before p is appended. A send or receive buffer in
// steady use then allocates nothing, where plain append would allocate a
// new array every time the tail filled and leave the old one to the
// garbage collector. The store is kept at least twice the live octets it
// slides, so that sliding copies no more than one octet for each octet
// appended: a full send buffer whose store were just its size would slide
// all of it for each ACK's worth of room (most of a bulk sender's time).
func queueAppend(q, store *[]byte, p []byte) {
	if len(p) == 0 {
		return
	}
	if cap(*q)-len(*q) >= len(p) {
		*q = append(*q, p...)
		return
	}
	need := len(*q) + len(p)
	if cap(*store) < need || len(*q) > cap(*store)/2 {
		s := make([]byte, 0, 2*need)
		*store = s[:cap(s)]
	}
	s := (*store)[:cap(*store)]
	n := copy(s, *q) // copy is memmove: the regions may overlap
	*q = append(s[:n], p...)
}

// keepStore returns the store of a queue that has just emptied, or nil
// when it is of middling size: a connection that moves little text (most
// of them) then holds no more than a small buffer while idle, one that
// streams keeps its array, and one that exchanges small messages
// (request/response) does not allocate a buffer for each.
func keepStore(store []byte) []byte {
	if cap(store) > smallStore && cap(store) < 64<<10 {
		return nil
	}
	return store
}

// smallStore is the largest store kept however little it is used.
const smallStore = 2 << 10
