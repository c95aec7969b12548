package hl7

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
)

// MLLP, the minimal lower layer protocol: each message is sent as a start
// byte, the message, and two end bytes.
const (
	startBlock = 0x0b
	endBlock   = 0x1c
	endFrame   = 0x0d
)

// MaxFrame is the longest message ReadFrame takes: 1 MiB. A full blood count
// with its histograms is a few kilobytes.
const MaxFrame = 1 << 20

// ErrFrameTooLarge is returned by ReadFrame for a frame longer than
// MaxFrame. The frame has been read to its end and dropped, so the next
// frame on the connection can still be read.
var ErrFrameTooLarge = errors.New("hl7: MLLP frame longer than 1 MiB (MaxFrame): dropped")

// ReadFrame reads one MLLP frame and returns the message in it, without the
// framing bytes. Bytes before the start byte 0x0B are skipped; a start byte
// inside a frame starts the frame again (the sender gave up on the one
// before); the frame ends at 0x1C 0x0D, or at a 0x1C followed by anything
// else, which is left unread. It returns io.EOF when the reader ends outside
// a frame, an error wrapping io.ErrUnexpectedEOF when it ends inside one,
// and ErrFrameTooLarge for a frame longer than MaxFrame. The slice returned
// is the caller's.
func ReadFrame(r *bufio.Reader) ([]byte, error) {
	for {
		c, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		if c == startBlock {
			break
		}
	}
	var msg []byte
	tooLarge := false
	for {
		chunk, err := r.ReadSlice(endBlock)
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("hl7: MLLP frame cut short after %d bytes: %w", len(msg)+len(chunk), err)
		}
		end := err == nil // chunk ends with endBlock
		if end {
			chunk = chunk[:len(chunk)-1]
		}
		if i := bytes.LastIndexByte(chunk, startBlock); i >= 0 && !tooLarge {
			msg, chunk = msg[:0], chunk[i+1:]
		}
		if !tooLarge && len(msg)+len(chunk) > MaxFrame {
			tooLarge, msg = true, nil
		}
		if !tooLarge {
			msg = append(msg, chunk...)
		}
		if !end {
			continue
		}
		c, err := r.ReadByte()
		switch {
		case err == nil && c != endFrame:
			_ = r.UnreadByte()
		case err != nil && !errors.Is(err, io.EOF):
			return nil, err
		}
		if tooLarge {
			return nil, ErrFrameTooLarge
		}
		if msg == nil {
			msg = []byte{}
		}
		return msg, nil
	}
}

// WriteFrame writes msg in one MLLP frame, in one write. A message holding
// a framing byte (0x0B or 0x1C) cannot be framed and is refused.
func WriteFrame(w io.Writer, msg []byte) error {
	if err := frameable(msg); err != nil {
		return err
	}
	buf := make([]byte, 0, len(msg)+3)
	buf = append(buf, startBlock)
	buf = append(buf, msg...)
	buf = append(buf, endBlock, endFrame)
	_, err := w.Write(buf)
	return err
}

func frameable(msg []byte) error {
	if i := bytes.IndexAny(msg, "\x0b\x1c"); i >= 0 {
		return fmt.Errorf("hl7: the message holds an MLLP framing byte 0x%02X at offset %d and cannot be sent", msg[i], i)
	}
	return nil
}

// Handler answers one message: it gets the message as received (its own
// slice) and returns the acknowledgement to send back (see ACK). ctx is done
// when the connection closes or the server stops.
type Handler func(ctx context.Context, raw []byte) (ack []byte)

// Server takes HL7 messages over MLLP: it answers each message on a
// connection with its Handler's acknowledgement before it reads the next,
// and serves many connections at once.
//
// A frame longer than MaxFrame is answered AR without calling the Handler;
// a Handler that panics or returns no acknowledgement is answered AE. The
// log names connections, control ids and acknowledgement codes, never what
// a message says about a patient.
type Server struct {
	Handler     Handler
	Log         *slog.Logger  // nil: slog.Default()
	IdleTimeout time.Duration // a connection with no message for this long is closed; 0: 5 minutes
	MaxConns    int           // connections served at once, more wait to be accepted; 0: 64
}

// Serve accepts connections on ln and serves them until ctx is done, then
// closes ln and every connection, waits for the handlers running to return,
// and returns nil. It also returns, the same way, on an error of ln other
// than a passing one (too many open files), with that error.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.Handler == nil {
		return errors.New("hl7: Server.Handler is nil")
	}
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	maxConns := s.MaxConns
	if maxConns <= 0 {
		maxConns = 64
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu      sync.Mutex
		conns   = map[net.Conn]struct{}{}
		closing bool
		wg      sync.WaitGroup
	)
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		closing = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	shutdown := func(err error) error {
		cancel() // runs the AfterFunc, if ctx was not done already
		wg.Wait()
		return err
	}

	slots := make(chan struct{}, maxConns)
	backoff := time.Duration(0)
	for {
		select {
		case slots <- struct{}{}:
		default:
			log.Warn("hl7: connections at the limit; new ones wait", "max_conns", maxConns)
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return shutdown(nil)
			}
		}
		conn, err := ln.Accept()
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return shutdown(nil)
			}
			if passing(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				log.Error("hl7: accept failed; retrying", "err", err, "in", backoff)
				select {
				case <-time.After(backoff):
					continue
				case <-ctx.Done():
					return shutdown(nil)
				}
			}
			log.Error("hl7: accept failed; stopping", "err", err)
			return shutdown(err)
		}
		backoff = 0
		mu.Lock()
		if closing {
			mu.Unlock()
			conn.Close()
			<-slots
			return shutdown(nil)
		}
		conns[conn] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			s.serveConn(ctx, conn, log)
			mu.Lock()
			delete(conns, conn)
			mu.Unlock()
			conn.Close()
		}()
	}
}

// passing says whether an accept error may go away by itself.
func passing(err error) bool {
	var ne net.Error
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.As(err, &ne) && ne.Timeout()
}

func (s *Server) serveConn(ctx context.Context, conn net.Conn, log *slog.Logger) {
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = 5 * time.Minute
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log = log.With("remote", conn.RemoteAddr().String())
	log.Info("hl7: connection opened")
	r := bufio.NewReader(conn)
	n := 0
	for {
		if err := conn.SetReadDeadline(time.Now().Add(idle)); err != nil {
			log.Info("hl7: connection closed", "messages", n, "err", err)
			return
		}
		raw, err := ReadFrame(r)
		var ack []byte
		switch {
		case errors.Is(err, ErrFrameTooLarge):
			log.Warn("hl7: frame longer than 1 MiB dropped")
			ack = ACK(nil, "AR", "message longer than 1 MiB: not read", time.Now())
		case errors.Is(err, io.EOF):
			log.Info("hl7: connection closed by the sender", "messages", n)
			return
		case err != nil:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				log.Info("hl7: idle connection closed", "messages", n, "idle", idle)
			} else if ctx.Err() != nil {
				log.Info("hl7: connection closed as the server stops", "messages", n)
			} else {
				log.Info("hl7: connection closed", "messages", n, "err", err)
			}
			return
		default:
			n++
			start := time.Now()
			ack = s.handle(ctx, raw, log)
			if log.Enabled(ctx, slog.LevelInfo) {
				s.logMessage(ctx, log, raw, ack, time.Since(start))
			}
		}
		if err := frameable(ack); err != nil {
			log.Error("hl7: the handler's acknowledgement cannot be framed; sending AE", "err", err)
			m, _ := Parse(raw)
			ack = ACK(m, "AE", "the laboratory system's answer could not be sent", time.Now())
		}
		if err := conn.SetWriteDeadline(time.Now().Add(idle)); err != nil {
			return
		}
		if err := WriteFrame(conn, ack); err != nil {
			log.Info("hl7: connection closed: the acknowledgement could not be sent", "messages", n, "err", err)
			return
		}
	}
}

// handle calls the handler, and answers AE for it when it panics or
// returns nothing.
func (s *Server) handle(ctx context.Context, raw []byte, log *slog.Logger) (ack []byte) {
	defer func() {
		if v := recover(); v != nil {
			log.Error("hl7: handler panicked", "panic", v, "stack", string(debug.Stack()))
			m, _ := Parse(raw)
			ack = ACK(m, "AE", "internal error in the laboratory system; the message was not stored", time.Now())
		}
	}()
	ack = s.Handler(ctx, raw)
	if len(ack) == 0 {
		log.Error("hl7: handler returned no acknowledgement; sending AE")
		m, _ := Parse(raw)
		ack = ACK(m, "AE", "the laboratory system gave no answer; the message may not be stored", time.Now())
	}
	return ack
}

func (s *Server) logMessage(ctx context.Context, log *slog.Logger, raw, ack []byte, d time.Duration) {
	m, err := Parse(ack)
	var code, text string
	if err == nil {
		code, text, err = m.ackCode()
	}
	if err != nil {
		log.Warn("hl7: message answered with something that is not an acknowledgement", "bytes", len(raw), "err", err)
		return
	}
	level := slog.LevelInfo
	if code != "AA" && code != "CA" {
		level = slog.LevelWarn
	}
	attrs := []any{"control_id", m.Field("MSA", 2), "ack", code, "bytes", len(raw), "took", d}
	if text != "" {
		attrs = append(attrs, "text", text)
	}
	log.Log(ctx, level, "hl7: message", attrs...)
}

// Client sends messages over one MLLP connection and waits for each one's
// acknowledgement; for tests, benchmarks and tools. It is safe for
// concurrent use, one message at a time. After a failed Send (a cancelled
// context, a broken connection) the connection's state is not known and
// every later Send fails: Dial again.
type Client struct {
	mu   sync.Mutex
	conn net.Conn
	r    *bufio.Reader
	err  error // sticky
}

// Dial connects to an MLLP listener at addr (host:port).
func Dial(ctx context.Context, addr string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("hl7: dial %s: %w", addr, err)
	}
	return &Client{conn: conn, r: bufio.NewReader(conn)}, nil
}

// Send sends msg in one frame and returns the frame that comes back (the
// acknowledgement: read it with AckCode). It gives up when ctx is done.
func (c *Client) Send(ctx context.Context, msg []byte) (ack []byte, err error) {
	if err := frameable(msg); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hl7: send: %w", err)
	}
	deadline, hasDeadline := ctx.Deadline()
	if err := c.conn.SetDeadline(deadline); err != nil {
		c.err = fmt.Errorf("hl7: connection unusable: %w", err)
		return nil, c.err
	}
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		_ = c.conn.SetDeadline(time.Unix(1, 0)) // unblocks the write or read
	})
	defer func() {
		if !stop() {
			<-done
		}
	}()
	if err = WriteFrame(c.conn, msg); err == nil {
		ack, err = ReadFrame(c.r)
	}
	if err != nil {
		var ne net.Error
		if ctx.Err() != nil {
			err = fmt.Errorf("hl7: send: %w (%v)", ctx.Err(), err)
		} else if hasDeadline && errors.As(err, &ne) && ne.Timeout() {
			// The connection's deadline, which is ctx's, came first.
			err = fmt.Errorf("hl7: send: %w (%v)", context.DeadlineExceeded, err)
		} else {
			err = fmt.Errorf("hl7: send: %w", err)
		}
		c.err = fmt.Errorf("hl7: connection unusable after a failed send: %w", err)
		return nil, err
	}
	return ack, nil
}

// Close closes the connection.
func (c *Client) Close() error {
	err := c.conn.Close() // first: it ends a Send waiting for its answer
	c.mu.Lock()
	c.err = errors.New("hl7: client closed")
	c.mu.Unlock()
	return err
}

// HandleORU returns a Handler for a result port: it parses each message as
// an ORU^R01 and calls fn with it, and answers AA when fn returns nil, AE
// with fn's error text when it does not, and AR or AE with the reason when
// the message is not a good ORU^R01 (AR when it cannot be read or is of
// another type). The text of fn's error is shown on the analyser: make it
// plain. fn may be nil, to accept every good ORU.
func HandleORU(fn func(ctx context.Context, o *ORU, m *Message) error) Handler {
	return func(ctx context.Context, raw []byte) []byte {
		o, m, err := ParseORU(raw)
		if err != nil {
			code := "AR"
			var e *Error
			if errors.As(err, &e) && e.Ack != "" {
				code = e.Ack
			}
			return ACK(m, code, err.Error(), time.Now())
		}
		if fn != nil {
			if err := fn(ctx, o, m); err != nil {
				return ACK(m, "AE", err.Error(), time.Now())
			}
		}
		return ACK(m, "AA", "", time.Now())
	}
}
