package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// proxy forwards TCP connections to the central node, wherever it listens
// now; with cut set it cuts each connection after a random number of bytes
// from the central, mid-answer.
type proxy struct {
	ln     net.Listener
	mu     sync.Mutex
	target string
	cut    atomic.Bool
	cuts   atomic.Int64
	rnd    *rand.Rand
}

func newProxy(t *testing.T) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, rnd: rand.New(rand.NewPCG(7, 11))}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *proxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) to(url string) {
	p.mu.Lock()
	p.target = strings.TrimPrefix(url, "http://")
	p.mu.Unlock()
}

func (p *proxy) serve(c net.Conn) {
	defer c.Close()
	p.mu.Lock()
	target := p.target
	limit := int64(200 + p.rnd.IntN(20000))
	p.mu.Unlock()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
	buf := make([]byte, 4096)
	var sent int64 // while cutting
	for {
		n, err := up.Read(buf)
		if n > 0 {
			if p.cut.Load() {
				if sent += int64(n); sent >= limit {
					c.Write(buf[:n/2])
					p.cuts.Add(1) // cut mid-answer
					return
				}
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

type siteCounter struct {
	s     *server
	token string
}

// registerMany registers n patients with a MED visit each at s, with
// several clients, and returns the visits' answers by UHID.
func registerMany(t *testing.T, c siteCounter, n, base int) map[string]map[string]any {
	t.Helper()
	var mu sync.Mutex
	out := map[string]map[string]any{}
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				code, b := call(t, "POST", c.s.url+"/api/v1/patients", c.token, patient(base+i))
				if code != 201 {
					failed.Store(fmt.Sprintf("register: %d %s", code, b))
					return
				}
				var p struct{ UHID string }
				json.Unmarshal(b, &p)
				code, b = call(t, "POST", c.s.url+"/api/v1/opd-visits", c.token, map[string]string{"uhid": p.UHID, "department": "MED"})
				if code != 201 {
					failed.Store(fmt.Sprintf("visit: %d %s", code, b))
					return
				}
				var v map[string]any
				json.Unmarshal(b, &v)
				mu.Lock()
				out[p.UHID] = v
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		t.Fatal(f)
	}
	return out
}

type status struct {
	Role     string
	Node     string
	Origins  map[string]uint64
	Upstream *struct {
		Reachable bool
		Pending   uint64
	}
}

func nodeStatus(t *testing.T, s *server, token string) status {
	t.Helper()
	code, b := call(t, "GET", s.url+"/api/v1/status", token, nil)
	if code != 200 {
		t.Fatalf("status: %d %s", code, b)
	}
	var st status
	json.Unmarshal(b, &st)
	return st
}

// converge waits until every node holds the same events of every origin
// and returns how long that took.
func converge(t *testing.T, within time.Duration, nodes ...siteCounter) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		var maps_ []map[string]uint64
		for _, n := range nodes {
			maps_ = append(maps_, nodeStatus(t, n.s, n.token).Origins)
		}
		same := true
		for _, m := range maps_[1:] {
			same = same && maps.Equal(m, maps_[0])
		}
		if same {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("not converged after %s: %v", within, maps_)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSitesProcess runs a central and two sites as real processes: the
// central is killed with SIGKILL, the sites register 500 patients with
// visits each meanwhile, and after the central restarts all three hold
// the same journals within 10 s, issued no identifier twice, read the
// same and verify. Then the link is cut mid-answer again and again while
// every node writes: nothing is lost or applied twice.
func TestSitesProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	tmp := t.TempDir()
	cdir := filepath.Join(tmp, "central")
	central := startServer(t, cdir, "--demo")
	px := newProxy(t)
	px.to(central.url)
	var sites []*server
	for _, code := range []string{"KB", "KC"} {
		out, err := exec.Command(binary(t), "site", "add", "--data", cdir, "--code", code, "--name", "Counter "+code).Output()
		if err != nil {
			t.Fatalf("site add: %v %s", err, out)
		}
		tokFile := filepath.Join(tmp, code+".token")
		os.WriteFile(tokFile, out, 0o600)
		sites = append(sites, startServer(t, filepath.Join(tmp, code), "--upstream", px.url(), "--enroll-token", tokFile))
	}
	nodes := []siteCounter{{central, login(t, central, "registration")}}
	for _, s := range sites {
		nodes = append(nodes, siteCounter{s, login(t, s, "registration")})
	}
	converge(t, 10*time.Second, nodes...)

	central.cmd.Process.Signal(syscall.SIGKILL)
	central.cmd.Wait()
	visits := map[string]map[string]any{}
	for i, n := range nodes[1:] {
		maps.Copy(visits, registerMany(t, n, 500, 1000*i))
		st := nodeStatus(t, n.s, n.token)
		if st.Upstream == nil || st.Upstream.Reachable || st.Upstream.Pending < 1000 {
			t.Errorf("site %s with the central down: %+v", st.Node, st.Upstream)
		}
	}
	checkUnique(t, visits, 1000)

	central = startServer(t, cdir)
	px.to(central.url)
	nodes[0] = siteCounter{central, login(t, central, "registration")}
	took := converge(t, 10*time.Second, nodes...)
	t.Logf("after the central's restart, 1000 registrations with visits from two sites converged in %s", took.Round(time.Millisecond))
	start := time.Now()
	sameReads(t, visits, nodes)
	t.Logf("every patient and visit read on every node in %s", time.Since(start).Round(time.Millisecond))

	// The link cut mid-answer, again and again, while every node writes.
	px.cut.Store(true)
	more := map[string]map[string]any{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func(i int, n siteCounter) {
			defer wg.Done()
			v := registerMany(t, n, 150, 5000+1000*i)
			mu.Lock()
			maps.Copy(more, v)
			mu.Unlock()
		}(i, n)
	}
	wg.Wait()
	time.Sleep(2 * time.Second)
	px.cut.Store(false)
	converge(t, 20*time.Second, nodes...)
	if px.cuts.Load() == 0 {
		t.Error("the proxy cut no connection")
	}
	t.Logf("%d connections cut mid-answer", px.cuts.Load())
	checkUnique(t, more, 450)
	sameReads(t, more, nodes)
	for _, n := range append([]*server{central}, sites...) {
		out, err := exec.Command(binary(t), "verify", "--data", dataDir(n), "--json").Output()
		var rep struct{ OK bool }
		if json.Unmarshal(out, &rep); err != nil || !rep.OK {
			t.Errorf("verify %s: %v %s", dataDir(n), err, out)
		}
	}
}

// dataDir is the --data of a server's command line.
func dataDir(s *server) string {
	for i, a := range s.cmd.Args {
		if a == "--data" {
			return s.cmd.Args[i+1]
		}
	}
	return ""
}

// checkUnique checks that n visits were opened with distinct UHIDs, visit
// numbers and tokens.
func checkUnique(t *testing.T, visits map[string]map[string]any, n int) {
	t.Helper()
	ids, tokens := map[string]bool{}, map[string]bool{}
	for _, v := range visits {
		id, tok := fmt.Sprint(v["visit_id"]), fmt.Sprint(v["date"], v["department"], v["token"])
		if ids[id] || tokens[tok] {
			t.Errorf("issued twice: visit %s, token %s", id, tok)
		}
		ids[id], tokens[tok] = true, true
	}
	if len(visits) != n {
		t.Errorf("%d patients, want %d (a UHID issued twice?)", len(visits), n)
	}
}

// sameReads checks that every patient and visit reads the same on every node.
func sameReads(t *testing.T, visits map[string]map[string]any, nodes []siteCounter) {
	t.Helper()
	uhids := make(chan string)
	var wg sync.WaitGroup
	var diff atomic.Value
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for uhid := range uhids {
				var first [2]string
				for i, n := range nodes {
					_, p := call(t, "GET", n.s.url+"/api/v1/patients/"+uhid, n.token, nil)
					_, vv := call(t, "GET", n.s.url+"/api/v1/opd-visits/"+fmt.Sprint(visits[uhid]["visit_id"]), n.token, nil)
					if i == 0 {
						first = [2]string{string(p), string(vv)}
						continue
					}
					if string(p) != first[0] || string(vv) != first[1] {
						diff.Store(fmt.Sprintf("%s reads differently on node %d:\n%s\n%s\nvs\n%s\n%s", uhid, i, first[0], first[1], p, vv))
					}
				}
			}
		}()
	}
	for uhid := range visits {
		uhids <- uhid
	}
	close(uhids)
	wg.Wait()
	if d := diff.Load(); d != nil {
		t.Fatal(d)
	}
}
