//go:build !linux

package evidence
