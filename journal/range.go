package journal

import (
	"errors"
	"fmt"
)

// Range is the compact Merkle range over the first Size events of a
// journal: what a holder of another node's journal keeps to check that
// each new run of events extends what it holds to the origin's signed
// checkpoint, as the vault does.
type Range struct {
	size   uint64
	hashes [][]byte
}

// LoadRange reads a range saved with Bytes, over size leaves.
func LoadRange(size uint64, blob []byte) (*Range, error) {
	if len(blob)%32 != 0 {
		return nil, errors.New("journal: damaged range")
	}
	hs := make([][]byte, 0, len(blob)/32)
	for i := 0; i < len(blob); i += 32 {
		hs = append(hs, blob[i:i+32:i+32])
	}
	if _, err := rf.NewRange(0, size, hs); err != nil {
		return nil, fmt.Errorf("journal: damaged range: %w", err)
	}
	return &Range{size: size, hashes: hs}, nil
}

// Size is how many leaves the range covers.
func (r *Range) Size() uint64 { return r.size }

// Bytes is the range's hashes, concatenated.
func (r *Range) Bytes() []byte {
	out := make([]byte, 0, 32*len(r.hashes))
	for _, h := range r.hashes {
		out = append(out, h...)
	}
	return out
}

// Extend returns the range with leaves appended; r is unchanged.
func (r *Range) Extend(leaves [][]byte) (*Range, error) {
	cr, err := rf.NewRange(0, r.size, append([][]byte(nil), r.hashes...))
	if err != nil {
		return nil, err
	}
	for _, l := range leaves {
		if err := cr.Append(l, nil); err != nil {
			return nil, err
		}
	}
	return &Range{size: cr.End(), hashes: cr.Hashes()}, nil
}

// Root is the Merkle root over the range's leaves.
func (r *Range) Root() []byte {
	if r.size == 0 {
		return rfc6962Empty()
	}
	cr, _ := rf.NewRange(0, r.size, r.hashes)
	root, _ := cr.GetRootHash(nil)
	return root
}
