package sync

// HandoffHook makes h call fn at the start of every hand-over, before it looks at the
// stream (between a pull's scan and its hand-over); the returned function removes it.
func HandoffHook(h *Hub, fn func()) func() {
	h.mu.Lock()
	h.beforeHandoff = fn
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		h.beforeHandoff = nil
		h.mu.Unlock()
	}
}
