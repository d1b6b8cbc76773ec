package spec

import (
	"testing"
)

func TestTableValid(t *testing.T) {
	if err := Validate(Table()); err != nil {
		t.Fatal(err)
	}
}
