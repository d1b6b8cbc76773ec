package gen

// The project's only go:generate directives, in dependency order, so that
// one `go generate ./...` leaves everything current: first the table's step
// functions, table and diagrams; then the explorer page's copy of the state
// diagram; then the fragments of the runs that the pages about connections
// in use show (rendered from check/live/internal/evidence's records); then
// the question pages of docs/, which embed the diagrams, the traces the
// explorer produces and those fragments; last, the Promela model bench/ compares SPIN
// with, which is generated from the table too.
//
//go:generate go run ./cmd/tcpgen -root ..
//go:generate go run ../check/web/internal/copyfile ../docs/states.svg ../check/web/states.svg
//go:generate go run ../check/live/internal/evidence/genruns -out ../check/explain/runs -records ../check/live/internal/evidence/testdata
//go:generate go run ../check/explain/internal/gendocs -out ../docs
//go:generate sh -c "cd .. && go run ./bench -gen"
