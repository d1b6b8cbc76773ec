package check

// Pinned sizes of the state spaces of smallConfigs (states, transitions,
// depth), with the model as of this commit.
var (
	pinSmall = [3]int64{76, 131, 21}
	pinLoss  = [3]int64{197, 368, 15}
	pinAbort = [3]int64{494, 954, 33}
)
