package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"kavach/bench"
)

const benchUsage = `Usage: kavach bench <benchmark> [flags]

Benchmarks, every write synced as in production:
  registration  concurrent clients over the JSON API, each registering a
                patient and opening an OPD visit; throughput and p50/p99
  journal       journal appends alone against plain SQLite inserts of the
                same bytes with the same sync settings, as a ratio
  verify        kavach verify on the data: Merkle+signatures, then the full
                check with the projection replay; events/s
  search        patient search by name, mobile and UHID; latency
  restore       the node's journal into a vault store, then a verified
                restore of it into a new node; events/s
  vault-lag     a steady --rate of journal events/s while the vault's pull
                loop runs in this process into a temp store; the lag from
                each event's synced write to the vault holding it, p50/p99
  site-catchup  a central and a site node on loopback: both write --events
                (registrations with a visit each) while cut off, then the
                link starts; the time until both hold everything
  payments      --clients billing counters take payments over the JSON
                API (cash, or UPI with a reference), synced; payments/s
  account       a patient's account with 1,000 charges and 100 receipts:
                the read alone, then the API's answer (audited)
  hl7           --clients analysers send CBC results (ten analytes a
                message) over MLLP on loopback, each waiting for its ACK
                (after the sync); messages/s and the ACK's p50/p99
  lab-worklist  the haematology worklist (first 200 and the count) with
                --samples received samples pending; the read alone, then
                the API's answer, whose read is audited (a synced write)
  site-lag      a site writes a steady --rate of events/s to its linked
                central; the lag from each event's synced write at the site
                to the central holding it, p50/p99

Flags:
  --data DIR        benchmark data directory, kept between runs so the
                    preload is paid once (default: a new temp directory,
                    removed afterwards)
  --patients N      patients stored before measuring (default 100000; the
                    recorded figures use 1000000)
  --clients N       concurrent clients (registration, payments, hl7; default 64)
  --url URL         drive a 'kavach serve' already running on --data at URL
                    (registration; the preload runs first, before it starts)
  --duration D      how long to measure (default 20s)
  --rate N          journal events per second (vault-lag, site-lag; default 1000)
  --events N        events each node writes while cut off (site-catchup; default 15000)
  --samples N       samples pending on the worklist (lab-worklist; default 100000)
  --json            print one JSON object
  --cpuprofile FILE write a CPU profile (go tool pprof)
  --trace FILE      write an execution trace (go tool trace)
`

type benchCmd struct {
	stdout, stderr io.Writer
}

func (c *benchCmd) run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(c.stderr, benchUsage)
		if len(args) == 0 {
			return &exitError{code: exitUsage}
		}
		return nil
	}
	which := args[0]
	fs := newFlags("bench "+which, benchUsage, c.stderr)
	dir := fs.String("data", "", "")
	patients := fs.Int("patients", 100000, "")
	clients := fs.Int("clients", 64, "")
	duration := fs.Duration("duration", 20*time.Second, "")
	url := fs.String("url", "", "")
	rate := fs.Int("rate", 1000, "")
	events := fs.Int("events", 15000, "")
	samples := fs.Int("samples", 100000, "")
	asJSON := fs.Bool("json", false, "")
	cpuprofile := fs.String("cpuprofile", "", "")
	traceFile := fs.String("trace", "", "")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	tuneGC() // the server runs in this process, as in kavach serve
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *traceFile != "" {
		f, err := os.Create(*traceFile)
		if err != nil {
			return err
		}
		defer f.Close()
		trace.Start(f)
		defer trace.Stop()
	}
	progress := c.stderr
	if *dir == "" {
		d, err := bench.TempDir()
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	var res bench.Result
	var err error
	switch which {
	case "registration", "search", "verify", "restore":
		h, oerr := bench.Open(ctx, *dir)
		if oerr != nil {
			return oerr
		}
		stored, perr := bench.Preload(ctx, h, *patients, progress)
		if perr != nil {
			h.Close()
			return perr
		}
		switch which {
		case "registration":
			if *url != "" {
				// Measure a separately running 'kavach serve' on this data.
				h.Close()
				h = nil
			}
			res, err = bench.Registration(ctx, h, bench.RegistrationConfig{Clients: *clients, Duration: *duration, Warmup: 2 * time.Second, URL: *url})
			res.Patients = stored
			if h != nil {
				h.Close()
			}
		case "search":
			res, err = bench.Search(ctx, h, *duration)
			res.Patients = stored
			h.Close()
		case "verify":
			h.Close()
			res, err = bench.Verify(ctx, *dir)
		case "restore":
			res, err = bench.Restore(ctx, h, *dir)
			h.Close()
		}
	case "payments", "account":
		h, oerr := bench.Open(ctx, *dir)
		if oerr != nil {
			return oerr
		}
		if _, err = bench.Preload(ctx, h, min(*patients, 20000), progress); err == nil {
			if which == "payments" {
				res, err = bench.Payments(ctx, h, *clients, *duration)
			} else {
				res, err = bench.Account(ctx, h, *duration)
			}
		}
		h.Close()
	case "hl7":
		h, oerr := bench.Open(ctx, *dir)
		if oerr != nil {
			return oerr
		}
		if _, err = bench.Preload(ctx, h, min(*patients, 20000), progress); err == nil {
			res, err = bench.HL7(ctx, h, bench.HL7Config{Clients: *clients, Duration: *duration, Log: progress})
		}
		h.Close()
	case "lab-worklist":
		h, oerr := bench.Open(ctx, *dir)
		if oerr != nil {
			return oerr
		}
		if _, err = bench.Preload(ctx, h, min(*patients, 20000), progress); err == nil {
			if _, err = bench.LabPreload(ctx, h, *samples, progress); err == nil {
				res, err = bench.LabWorklist(ctx, h, *duration)
			}
		}
		h.Close()
	case "journal":
		res, err = bench.Journal(ctx, *dir, *duration)
	case "vault-lag":
		h, oerr := bench.Open(ctx, *dir)
		if oerr != nil {
			return oerr
		}
		res, err = bench.VaultLag(ctx, h, bench.VaultLagConfig{Rate: *rate, Duration: *duration, Log: progress})
		h.Close()
	case "site-catchup", "site-lag":
		d, derr := os.MkdirTemp(*dir, "sites-*")
		if derr != nil {
			return derr
		}
		defer os.RemoveAll(d)
		if which == "site-catchup" {
			res, err = bench.SiteCatchUp(ctx, d, bench.SiteCatchUpConfig{Events: *events, Log: progress})
		} else {
			res, err = bench.SiteLag(ctx, d, bench.SiteLagConfig{Rate: *rate, Duration: *duration, Log: progress})
		}
	default:
		fmt.Fprint(c.stderr, benchUsage)
		return usageErr("bench: unknown benchmark %q", which)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(res)
	}
	fmt.Fprintln(c.stdout, res)
	return nil
}
