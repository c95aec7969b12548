package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"

	"kavach/hospital"
	"kavach/node"
	"kavach/vault"
)

// Restore measures a restore end to end: the node's journal is first copied
// into a vault store (encrypted segments of up to 20,000 events, as the
// vault's pull loop stores them), then restored into a new directory with
// every event and checkpoint checked and every projection rebuilt.
func Restore(ctx context.Context, h *hospital.Hospital, work string) (Result, error) {
	vdir := filepath.Join(work, "bench-vault")
	to := filepath.Join(work, "bench-restored")
	os.RemoveAll(vdir)
	os.RemoveAll(to)
	defer os.RemoveAll(to)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return Result{}, err
	}
	store, err := vault.OpenStore(vdir)
	if err != nil {
		return Result{}, err
	}
	defer store.Close()
	const per = 20000
	size := h.Node.Status().Events
	for from := uint64(0); from < size; {
		end := min(size, from+per)
		evs, err := h.Node.EventsFrom(ctx, from, end, per)
		if err != nil {
			return Result{}, err
		}
		cp, err := h.Node.CheckpointAt(ctx, end)
		if err != nil {
			return Result{}, err
		}
		data := make([][]byte, len(evs))
		for i, e := range evs {
			data[i] = e.Data
		}
		if _, err := store.Append(from, data, cp, id.Recipient()); err != nil {
			return Result{}, err
		}
		from = end
	}
	var bytes int64
	cps := map[uint64][]byte{}
	for _, g := range store.Segments() {
		cps[g.First+g.Count] = g.Checkpoint
		bytes += g.Size
	}
	info := h.Node.Info()
	v, err := note.NewVerifier(info.Verifier)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	rep, err := node.Restore(ctx, to, hospital.Services(), node.RestoreInput{
		Origin: info.Origin, Verifiers: []note.Verifier{v}, Checkpoints: cps,
		Events: func(each func(uint64, []byte) error) error {
			return store.Events([]age.Identity{id}, nil, each)
		},
	})
	if err != nil {
		return Result{}, err
	}
	secs := time.Since(start).Seconds()
	if rep.Events != size {
		return Result{}, fmt.Errorf("bench: restored %d of %d events", rep.Events, size)
	}
	return Result{Name: "restore", Ops: int64(rep.Events), Seconds: secs, PerSecond: float64(rep.Events) / secs, Unit: "events",
		Extra: map[string]float64{"vault_megabytes": float64(bytes) / 1e6, "megabytes_per_second": float64(bytes) / 1e6 / secs}}, nil
}
