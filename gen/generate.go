package gen

//go:generate go run ./cmd/tcpgen -root ..
