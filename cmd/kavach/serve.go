package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kavach/auth"
	"kavach/hospital"
	"kavach/internal/dirlock"
	"kavach/node"
)

const serveUsage = `Usage: kavach serve [--data DIR] [--addr HOST:PORT] [--demo] [--trusted-proxy ADDR …]

Runs a hospital node: the web pages, the JSON API under /api/v1 and the journal.
The first start initialises DIR: the node's signing key, its hospital and node
codes, and an admin user whose password is $KAVACH_ADMIN_PASSWORD or, if that is
unset, generated and printed once.

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
                       e.g. 127.0.0.1): the client address and HTTPS it names in
                       X-Forwarded-For and X-Forwarded-Proto are believed (login
                       back-off per counter, Secure cookies, HSTS). Repeatable.
  --upstream URL       make this a site node of the central node at URL
  --enroll-token FILE  the site node's enrolment token
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
	upstream := fs.String("upstream", "", "")
	enroll := fs.String("enroll-token", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *upstream != "" || *enroll != "" {
		return usageErr("serve: site nodes (--upstream) are not available in this version; run a central node without --upstream")
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
	_, statErr := os.Stat(node.DBPath(*dir))
	first := errors.Is(statErr, os.ErrNotExist)

	log := slog.Default()
	h, err := hospital.Open(ctx, node.Config{Dir: *dir, Logger: log,
		Init: node.InitConfig{HospitalCode: *hcode, HospitalName: *hname, NodeCode: *ncode}})
	if err != nil {
		return err
	}
	defer h.Close()

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

	handler, err := h.Server(log, proxies...)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      75 * time.Second, // above the longest replication long poll (60 s)
		IdleTimeout:       120 * time.Second,
	}
	srv.RegisterOnShutdown(handler.BeginShutdown)
	fmt.Fprintf(c.stdout, "listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	// Close drains the writer: every queued command commits and syncs.
	if err := h.Close(); err != nil {
		return fmt.Errorf("serve: close: %w", err)
	}
	log.Info("stopped")
	return nil
}
