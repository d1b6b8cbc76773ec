package check

// Pinned sizes of the state spaces of smallConfigs (states, transitions,
// depth), with the model as of this commit.
var (
	pinSmall = [3]int64{93, 165, 19} // moved with the delayed ACK: 76, 131, 21 before
	pinLoss  = [3]int64{197, 368, 15}
	pinAbort = [3]int64{494, 954, 33}
)
