package auth

import (
	"fmt"
	"slices"
	"time"

	"kavach"
)

// Back-off slows password guessing three ways, each with its own count of
// recent failures (a count is forgotten maxWait after its last failure):
//
//   - a user from one client (address): after pairFree failures each
//     further one doubles that client's wait for that user, up to maxWait.
//     A counter's clerk who mistypes waits at that counter only.
//   - one client, any users: after clientFree failures (one password tried
//     against many users) the client waits the same way, whoever it names.
//   - a user from every client: past userCeiling failures (guesses spread
//     over many addresses) the user waits maxWait, except at the clients it
//     logged in from before, so that an attacker cannot lock a clerk out of
//     the counter they work at; an administrator unlocks it at once.
//
// Behind a proxy the client is the address the trusted proxy names
// (web.Config.TrustedProxies), not the proxy's own.
const (
	pairFree    = 3
	clientFree  = 10
	userCeiling = 30
	maxWait     = 15 * time.Minute
	goodFor     = 30 * 24 * time.Hour // a client the user logged in from stays known this long
	maxTracked  = 10000               // entries of each table; made-up usernames could grow them
)

type failure struct {
	count int
	since time.Time // the first failure of this count
	last  time.Time
	until time.Time // when the next try may come
}

// current is f as of now: a count whose last failure is older than maxWait
// is forgotten.
func (f *failure) current(now time.Time) *failure {
	if f == nil || now.Sub(f.last) > maxWait {
		return nil
	}
	return f
}

// backoff holds the three counts and the clients each user logged in from.
// Its methods are called with Auth.mu held.
type backoff struct {
	pair   map[string]*failure // user + "|" + client
	client map[string]*failure
	user   map[string]*failure
	good   map[string]map[string]time.Time // user → client → last login
}

func newBackoff() *backoff {
	return &backoff{pair: map[string]*failure{}, client: map[string]*failure{}, user: map[string]*failure{}, good: map[string]map[string]time.Time{}}
}

// refusal says why a login from client as user must wait, and how long, or
// "" if it may go on. ceiling reports a refusal by the user's ceiling,
// which an administrator's unlock lifts.
func (b *backoff) refusal(now time.Time, user, client string) (msg string, ceiling bool) {
	wait := func(f *failure) time.Duration {
		if f = f.current(now); f == nil || !now.Before(f.until) {
			return 0
		}
		return f.until.Sub(now)
	}
	if w := wait(b.pair[user+"|"+client]); w > 0 {
		return fmt.Sprintf("Too many failed logins. Try again in %s.", seconds(w)), false
	}
	if w := wait(b.client[client]); w > 0 {
		return fmt.Sprintf("Too many failed logins from this computer. Try again in %s.", seconds(w)), false
	}
	if _, known := b.good[user][client]; !known {
		if f := b.user[user].current(now); f != nil && f.count >= userCeiling {
			return "Too many failed logins for this user. Log in at a computer you have used before, or ask an administrator to unlock the user.", true
		}
	}
	return "", false
}

// seconds shows a wait in whole seconds, rounded up: never "0s".
func seconds(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

// fail counts an attempt as a failure. Login counts it before the slow
// password check and forgives it if the password was right: otherwise
// parallel guesses would all pass refusal before the first was counted.
func (b *backoff) fail(now time.Time, user, client string) {
	count := func(m map[string]*failure, key string, free int) {
		f := m[key].current(now)
		if f == nil {
			prune(m, now)
			f = &failure{since: now}
			m[key] = f
		}
		f.count++
		f.last = now
		if f.count >= free {
			f.until = now.Add(min(time.Second<<min(f.count-free, 10), maxWait))
		}
	}
	count(b.pair, user+"|"+client, pairFree)
	count(b.client, client, clientFree)
	count(b.user, user, userCeiling)
}

// forgive takes back the failure counted for a login whose password was
// right, and remembers the client as one the user logs in from. The
// client's count loses that one failure only, not the others: a user who
// logs in now and then between guesses at other users' passwords would
// otherwise clear the count that stops spraying.
func (b *backoff) forgive(now time.Time, user, client string) {
	delete(b.pair, user+"|"+client)
	if f := b.client[client]; f != nil && f.count > 0 {
		if f.count--; f.count < clientFree {
			f.until = time.Time{}
		}
	}
	if f := b.user[user]; f != nil && f.count > 0 {
		f.count--
	}
	if b.good[user] == nil {
		if len(b.good) >= maxTracked {
			b.good = map[string]map[string]time.Time{} // only real logins fill it: rare
		}
		b.good[user] = map[string]time.Time{}
	}
	b.good[user][client] = now
	for c, t := range b.good[user] {
		if now.Sub(t) > goodFor {
			delete(b.good[user], c)
		}
	}
}

// unlock forgets the user's failures from every client.
func (b *backoff) unlock(user string) {
	delete(b.user, user)
	for k := range b.pair {
		if len(k) > len(user) && k[:len(user)+1] == user+"|" {
			delete(b.pair, k)
		}
	}
}

// since is when the user's current count of failures began, zero if none.
func (b *backoff) since(now time.Time, user string) time.Time {
	if f := b.user[user].current(now); f != nil {
		return f.since
	}
	return time.Time{}
}

// prune keeps a table under maxTracked entries: first the forgotten counts,
// then, if a flood of made-up names filled it, the oldest quarter, never
// the whole table (which would free every guesser at once).
func prune(m map[string]*failure, now time.Time) {
	if len(m) < maxTracked {
		return
	}
	for k, f := range m {
		if f.current(now) == nil {
			delete(m, k)
		}
	}
	if len(m) < maxTracked {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return m[a].last.Compare(m[b].last) })
	for _, k := range keys[:len(keys)/4] {
		delete(m, k)
	}
}

// errTooMany is the refusal of a login that must wait.
func errTooMany(msg string) error { return kavach.Errorf(kavach.EUNAUTHORIZED, "%s", msg) }
