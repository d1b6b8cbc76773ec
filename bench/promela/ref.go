package promela

import "github.com/tcpcheck/tcpcheck/model"

// RefFile is where the Promela model of [RefConfig] is committed, relative
// to the repository root (`go run ./bench -gen` rewrites it).
const RefFile = "bench/promela/tcp.pml"

// RefConfig is the configuration of the committed model: the default's
// main scenario with a duplication budget of 2, which is the preset
// "large".
func RefConfig() model.Config {
	c := model.DefaultConfig()
	c.Dup, c.Also = 2, nil
	return c
}
