// Command copyfile copies a file: go generate uses it to embed
// docs/states.svg into package web.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: copyfile FROM TO")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "copyfile: %v\n", err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.Args[2], data, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "copyfile: %v\n", err)
		os.Exit(1)
	}
}
