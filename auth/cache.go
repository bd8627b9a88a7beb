package auth

import "sync"

// boundedMap is a map safe for concurrent use that holds at most max entries: when full,
// it starts over (the caches built on it only save work, so losing them is harmless).
type boundedMap[K comparable, V any] struct {
	max     int
	mu      sync.Mutex
	entries map[K]V
}

func newBoundedMap[K comparable, V any](max int) *boundedMap[K, V] {
	return &boundedMap[K, V]{max: max, entries: map[K]V{}}
}

func (m *boundedMap[K, V]) get(k K) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.entries[k]
	return v, ok
}

func (m *boundedMap[K, V]) put(k K, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.entries) >= m.max {
		m.entries = map[K]V{}
	}
	m.entries[k] = v
}

func (m *boundedMap[K, V]) delete(k K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, k)
}

// deleteFunc deletes the entries for which del is true.
func (m *boundedMap[K, V]) deleteFunc(del func(K, V) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range m.entries {
		if del(k, v) {
			delete(m.entries, k)
		}
	}
}

// clear deletes every entry.
func (m *boundedMap[K, V]) clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.entries)
}
