package main

import (
	"context"
	"io"
)

type benchCmd struct {
	stdout, stderr io.Writer
}

func (c *benchCmd) run(ctx context.Context, args []string) error {
	return usageErr("bench: not yet")
}
