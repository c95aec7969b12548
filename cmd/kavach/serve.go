package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"kavach/auth"
	"kavach/hl7"
	"kavach/hospital"
	"kavach/internal/dirlock"
	"kavach/lab"
	"kavach/node"
	"kavach/upstream"
	"kavach/web"
)

const serveUsage = `Usage: kavach serve [--data DIR] [--addr HOST:PORT] [--demo] [--trusted-proxy ADDR …]
                    [--upstream URL --enroll-token FILE] [--hl7-addr HOST:PORT]

Runs a hospital node: the web pages, the JSON API under /api/v1 and the journal.
The first start initialises DIR: the node's signing key, its hospital and node
codes, and an admin user whose password is $KAVACH_ADMIN_PASSWORD or, if that is
unset, generated and printed once.

With --upstream and --enroll-token, the first start in an empty DIR makes a site
node instead: it enrols with the central at URL (the token is from 'kavach site
add' there), pulls the hospital's users, departments and patients, then serves.
Later starts need only --data (docs/downtime.md).

Flags:
  --data DIR           data directory (default ./kavach-data)
  --addr HOST:PORT     address to listen on (default 127.0.0.1:8080)
  --demo               on first start, add demo departments, one user per role
                       (password $KAVACH_DEMO_PASSWORD or printed), the lab
                       catalogue and tariffs
  --hospital-name S    hospital name on slips (first start only)
  --hospital-code C    hospital code, 2-10 letters/digits (first start only; default KVH)
  --node-code XY       two letters, this node's identifier namespace (first start only; default KA)
  --trusted-proxy P    a proxy in front of the node (an address or a CIDR prefix,
                       e.g. 127.0.0.1): the client address, HTTPS and host it
                       names in X-Forwarded-For, -Proto and -Host are believed
                       (login back-off per counter, Secure cookies, HSTS, the
                       address in a lab report's QR code). Repeatable.
  --upstream URL       make this a site node of the central node at URL
  --enroll-token FILE  the site node's enrolment token
  --hl7-addr HOST:PORT also listen for lab analysers: HL7 v2 (2.3.1 to 2.5.1)
                       ORU^R01 result messages over MLLP, each answered with an
                       ACK, MSA|AA once its results are stored and synced,
                       MSA|AE (nothing stored) when they cannot be (docs/lab.md)
`

type serveCmd struct {
	stdout, stderr io.Writer
}

func (c *serveCmd) run(ctx context.Context, args []string) error {
	fs := newFlags("serve", serveUsage, c.stderr)
	dir := fs.String("data", "./kavach-data", "")
	addr := fs.String("addr", "127.0.0.1:8080", "")
	demo := fs.Bool("demo", false, "")
	hname := fs.String("hospital-name", "", "")
	hcode := fs.String("hospital-code", "", "")
	ncode := fs.String("node-code", "", "")
	var proxies []netip.Prefix
	fs.Func("trusted-proxy", "", func(v string) error {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return fmt.Errorf("%q is not an address or a CIDR prefix such as 10.0.0.5 or 10.0.0.0/24", v)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		proxies = append(proxies, p.Masked())
		return nil
	})
	upURL := fs.String("upstream", "", "")
	enroll := fs.String("enroll-token", "", "")
	hl7Addr := fs.String("hl7-addr", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *enroll != "" && *upURL == "" {
		return usageErr("serve: --enroll-token needs --upstream URL, the central node's address")
	}
	if *upURL != "" {
		if err := checkSourceURL(*upURL); err != nil {
			return usageErr("serve: --upstream %q: %v; give the central node's URL, e.g. https://his.hospital.local", *upURL, err)
		}
		if *demo || *hcode != "" || *ncode != "" || *hname != "" {
			return usageErr("serve: a site node takes its hospital, its code and its data from the central: drop --demo, --hospital-code, --hospital-name and --node-code")
		}
	}
	if *hname == "" && *demo {
		*hname = "Kavach Demo Hospital, New Delhi"
	}
	tuneGC()
	if err := notVaultDir(*dir); err != nil {
		return err
	}
	// One node process to a directory: a second would share the journal's
	// appends and the first's writer would no longer be the only one.
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return fmt.Errorf("serve: data directory: %w", err)
	}
	lock, err := dirlock.Lock(filepath.Join(*dir, "serve.lock"))
	if errors.Is(err, dirlock.ErrLocked) {
		return usageErr("serve: another 'kavach serve' is running on %s; stop it first (tools such as 'kavach user', 'token' and 'verify' may run beside it)", *dir)
	}
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer lock.Close()
	// Take the port before the node opens: a busy port must not cost the
	// one printing of the first admin password.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return &exitError{code: exitUsage, msg: fmt.Sprintf("serve: %v (choose another with --addr HOST:PORT)", err)}
	}
	defer ln.Close()
	var hl7ln net.Listener
	if *hl7Addr != "" {
		if hl7ln, err = net.Listen("tcp", *hl7Addr); err != nil {
			return &exitError{code: exitUsage, msg: fmt.Sprintf("serve: %v (choose another with --hl7-addr HOST:PORT)", err)}
		}
		defer hl7ln.Close()
	}
	_, statErr := os.Stat(node.DBPath(*dir))
	first := errors.Is(statErr, os.ErrNotExist)

	if first && *upURL == "" {
		// Passwords from the environment are checked before anything is
		// made: a refused one must not leave a half-made node behind.
		if pw := os.Getenv("KAVACH_ADMIN_PASSWORD"); pw != "" {
			if p := auth.PasswordProblem("admin", pw); p != "" {
				return usageErr("serve: $KAVACH_ADMIN_PASSWORD: %s", p)
			}
		}
		if pw := os.Getenv("KAVACH_DEMO_PASSWORD"); pw != "" && *demo {
			for _, r := range auth.DemoUsers {
				if p := auth.PasswordProblem(string(r), pw); p != "" {
					return usageErr("serve: $KAVACH_DEMO_PASSWORD: %s", p)
				}
			}
		}
	}
	log := slog.Default()
	init := node.InitConfig{HospitalCode: *hcode, HospitalName: *hname, NodeCode: *ncode}
	var enrolment *node.Enrolment
	if first && *upURL != "" {
		// A new site: enrol with the central before the node exists, as
		// its key is made for the enrolment.
		if *enroll == "" {
			return usageErr("serve: a new site node needs --enroll-token FILE, the token 'kavach site add' printed on the central")
		}
		tok, err := os.ReadFile(*enroll)
		if err != nil {
			return usageErr("serve: --enroll-token: %v", err)
		}
		if init, enrolment, err = upstream.Prepare(ctx, *dir, *upURL, strings.TrimSpace(string(tok)), nil); err != nil {
			return faultErr(err)
		}
		fmt.Fprintf(c.stdout, "enrolled as site %s (%s) of %s\n", enrolment.Code, enrolment.Name, *upURL)
	}
	h, err := hospital.Open(ctx, node.Config{Dir: *dir, Logger: log, Init: init})
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := c.link(ctx, h.Node, *upURL, *enroll, enrolment, log)
	if err != nil {
		return err
	}

	if link != nil {
		return c.serve(ctx, h, ln, hl7ln, link, proxies, log)
	}
	adminPW := os.Getenv("KAVACH_ADMIN_PASSWORD")
	generated := adminPW == ""
	if generated {
		adminPW = hospital.GeneratePassword()
	}
	added, err := h.EnsureAdmin(ctx, adminPW)
	if err != nil {
		return fmt.Errorf("serve: add admin: %w", err)
	}
	if added && generated {
		fmt.Fprintf(c.stdout, "admin password (shown once): %s\n", adminPW)
	}
	if *demo && !first {
		fmt.Fprintln(c.stderr, "serve: --demo adds demo data on the first start only; this directory is already initialised")
	}
	if *demo && first {
		pw := os.Getenv("KAVACH_DEMO_PASSWORD")
		if pw == "" {
			pw = hospital.GeneratePassword()
			var names []string
			for _, r := range auth.DemoUsers {
				names = append(names, string(r))
			}
			fmt.Fprintf(c.stdout, "demo users %s, password (shown once): %s\n", strings.Join(names, " "), pw)
		}
		if err := h.SeedDemo(ctx, pw); err != nil {
			return fmt.Errorf("serve: demo data: %w", err)
		}
	}

	return c.serve(ctx, h, ln, hl7ln, nil, proxies, log)
}

// link starts a site node's link to its central: on the first start it
// records the enrolment and pulls everything before the node serves; on a
// later one it starts replicating in the background. It returns nil on a
// central node.
func (c *serveCmd) link(ctx context.Context, n *node.Node, url, enroll string, en *node.Enrolment, log *slog.Logger) (*upstream.Link, error) {
	if en != nil {
		if err := upstream.Join(ctx, n, en, url); err != nil {
			return nil, fmt.Errorf("serve: join the central: %w", err)
		}
	}
	up, err := n.Upstream(ctx)
	if err != nil {
		return nil, err
	}
	if up == nil {
		if url != "" {
			return nil, usageErr("serve: %s holds a central node (it has no central of its own): a site is made in an empty directory with --upstream and --enroll-token", n.Dir())
		}
		return nil, nil
	}
	storedURL, cred, err := n.UpstreamLink(ctx)
	if err != nil {
		return nil, err
	}
	if cred == "" {
		return nil, fmt.Errorf("serve: this site's sync credential is missing from %s: enrol the site again (kavach site add on the central, then a new directory)", n.Dir())
	}
	if enroll != "" && en == nil {
		log.Info("serve: this site is enrolled already; --enroll-token is not needed any more")
	}
	if url != "" && url != storedURL {
		log.Info("serve: the central's address changed", "was", storedURL, "now", url)
		if err := n.SetUpstreamLink(ctx, url, ""); err != nil {
			return nil, err
		}
		storedURL = url
	}
	l := upstream.New(n, storedURL, cred, log)
	if en != nil {
		// Users, departments, catalogues and patients come from the
		// central before the first login.
		cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		start := time.Now()
		if err := l.CatchUp(cctx); err != nil {
			return nil, fmt.Errorf("serve: the first pull from the central: %w", err)
		}
		origins, _ := n.Origins(ctx)
		var held []string
		for _, o := range slices.Sorted(maps.Keys(origins)) {
			held = append(held, fmt.Sprintf("%s %d", o, origins[o]))
		}
		fmt.Fprintf(c.stdout, "pulled the hospital's journals from the central in %s (events: %s)\n", time.Since(start).Round(time.Millisecond), strings.Join(held, ", "))
	}
	return l, nil
}

// serve runs the node's web server, and a site's link, until ctx ends.
func (c *serveCmd) serve(ctx context.Context, h *hospital.Hospital, ln, hl7ln net.Listener, link *upstream.Link, proxies []netip.Prefix, log *slog.Logger) error {
	var handler *web.Server
	var err error
	if link != nil {
		handler, err = h.SiteServer(log, link.Status, proxies...)
	} else {
		handler, err = h.Server(log, proxies...)
	}
	if err != nil {
		return err
	}
	lctx, stopLink := context.WithCancel(ctx)
	linkDone := make(chan struct{})
	if link != nil {
		go func() { defer close(linkDone); link.Run(lctx) }()
	} else {
		close(linkDone)
	}
	defer func() { stopLink(); <-linkDone }()
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      75 * time.Second, // above the longest replication long poll (60 s)
		IdleTimeout:       120 * time.Second,
	}
	srv.RegisterOnShutdown(handler.BeginShutdown)
	// Analysers: each message's ACK waits for its results to be synced.
	hctx, stopHL7 := context.WithCancel(context.Background())
	hl7Done := make(chan struct{})
	if hl7ln != nil {
		as := &hl7.Server{Log: log, Handler: lab.Analysers(h.Node, log)}
		go func() { defer close(hl7Done); as.Serve(hctx, hl7ln) }()
		fmt.Fprintf(c.stdout, "analysers (HL7 over MLLP) on %s\n", hl7ln.Addr())
	} else {
		close(hl7Done)
	}
	defer func() { stopHL7(); <-hl7Done }()
	fmt.Fprintf(c.stdout, "listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests")
	stopLink()
	<-linkDone
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	stopHL7() // the messages being stored are answered first
	<-hl7Done
	// Close drains the writer: every queued command commits and syncs.
	if err := h.Close(); err != nil {
		return fmt.Errorf("serve: close: %w", err)
	}
	log.Info("stopped")
	return nil
}
