package web

// pageRoutes registers the pages. (The pages are being built.)
func (s *Server) pageRoutes() {}
