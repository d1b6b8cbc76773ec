package check

// Pinned sizes of the state spaces of smallConfigs (states, transitions,
// depth), with the model as of this commit.
var (
	pinSmall = [3]int64{9336, 22203, 31}
	pinLoss  = [3]int64{4811, 15047, 24}
	pinAbort = [3]int64{1832, 4085, 24}
)
