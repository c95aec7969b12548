package auth

import (
	"fmt"
	"testing"
	"time"
)

// A wait is shown in whole seconds, rounded up: a clerk never reads "Try
// again in 0s".
func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		1: "1s", 400 * time.Millisecond: "1s", time.Second: "1s", 1001 * time.Millisecond: "2s", 90 * time.Second: "1m30s",
	} {
		if got := seconds(d).String(); got != want {
			t.Errorf("seconds(%v) = %s, want %s", d, got, want)
		}
	}
}

// The back-off's tables stay bounded without being wiped whole: a flood of
// made-up names pushes out the oldest counts, and a guesser who failed
// recently is still counted.
func TestBackoffBounded(t *testing.T) {
	b := newBackoff()
	now := time.Now()
	b.fail(now, "admin", "10.0.0.66")
	for i := range 3 * maxTracked {
		b.fail(now.Add(time.Duration(i+1)*time.Millisecond), fmt.Sprintf("made-up-%d", i), "10.0.0.99")
	}
	if len(b.pair) > maxTracked || len(b.user) > maxTracked {
		t.Fatalf("tables grew to %d and %d entries", len(b.pair), len(b.user))
	}
	// The attacker's client kept failing: its count is the newest and stays.
	if f := b.client["10.0.0.99"]; f == nil || f.count < 3*maxTracked {
		t.Errorf("the flooding client's count: %+v", f)
	}
}

// TestSprayBetweenGoodLogins: a user who logs in as themselves now and then
// while trying one password against other users still meets the client's
// back-off; a good login takes back its own failure only.
func TestSprayBetweenGoodLogins(t *testing.T) {
	b := newBackoff()
	now := time.Now()
	const client = "10.0.0.7"
	refused := 0
	for i := range 40 {
		now = now.Add(100 * time.Millisecond)
		if msg, _ := b.refusal(now, fmt.Sprintf("victim-%d", i), client); msg != "" {
			refused++
			continue
		}
		b.fail(now, fmt.Sprintf("victim-%d", i), client)
		if i%9 == 8 {
			// The sprayer's own login, which is right.
			b.fail(now, "sprayer", client)
			b.forgive(now, "sprayer", client)
		}
	}
	if refused == 0 {
		t.Fatal("40 tries against 40 users, with good logins between, met no back-off")
	}
}
