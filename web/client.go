package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Behind the TLS proxy the docs recommend, every counter's request comes
// from the proxy's address. The proxy names the client in X-Forwarded-For,
// and whether it used HTTPS in X-Forwarded-Proto; both are believed only
// from a proxy the configuration trusts (Config.TrustedProxies), since any
// client could send them.

// peer is the address the connection came from.
func peer(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

// trusted reports whether a is a trusted proxy.
func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// client is the address a request came from: the connection's, or, from a
// trusted proxy, the nearest address in X-Forwarded-For that is not itself
// a trusted proxy.
func (s *Server) client(r *http.Request) string {
	a, ok := peer(r)
	if !ok {
		return r.RemoteAddr
	}
	if !s.trusted(a) {
		return a.String()
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a proxy would not write that: stop at the last good hop
		}
		a = h.Unmap()
		if !s.trusted(a) {
			break
		}
	}
	return a.String()
}

// secure reports whether the client reached the node over HTTPS: directly,
// or through a trusted proxy that says so.
func (s *Server) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	a, ok := peer(r)
	return ok && s.trusted(a) && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}
