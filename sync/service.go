package sync

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/tideline-dev/tideline"
)

// Config configures the Service; zero fields take the defaults given.
type Config struct {
	// Collections are the collections defined in configuration (tideline.yaml); the API
	// cannot change them.
	Collections []Collection
	// StrictCollections refuses pushes to collections nobody configured. Off: such a
	// collection is owner-private with the lww policy.
	StrictCollections bool
	// MaxClockSkew is how far ahead of the server's clock an HLC may be before it is
	// clamped (60 s).
	MaxClockSkew time.Duration
	// MaxBatch is the most mutations in one push (500).
	MaxBatch int
	// DefaultPage and MaxPage are the changes in a pull page by default and at most
	// (500, 5000); MaxPageBytes bounds a page's documents (4 MiB; a page holds at least one).
	DefaultPage, MaxPage, MaxPageBytes int
	// CollectionsTTL is how long a node trusts its copy of the API-defined collections
	// (5 s): changes made on another node apply within it.
	CollectionsTTL time.Duration
	// Retention is how long tombstones and eviction markers are kept (30 days); clients
	// offline for longer sync the affected buckets again, keeping their pending writes.
	Retention time.Duration
	// Secrets keeps the server secrets (the cursor key, tideline.SecretCursor), shared by
	// every node; required. The composition root hands it sealed with the master key.
	Secrets tideline.SecretStore
	Clock   tideline.Clock
	Logger  *slog.Logger
}

func (c *Config) setDefaults() {
	if c.MaxClockSkew <= 0 {
		c.MaxClockSkew = time.Minute
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 500
	}
	if c.DefaultPage <= 0 {
		c.DefaultPage = 500
	}
	if c.MaxPage <= 0 {
		c.MaxPage = 5000
	}
	if c.MaxPageBytes <= 0 {
		c.MaxPageBytes = 4 << 20
	}
	if c.CollectionsTTL <= 0 {
		c.CollectionsTTL = 5 * time.Second
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.Clock == nil {
		c.Clock = tideline.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Service is the sync capability. It is safe for concurrent use.
type Service struct {
	cfg       Config
	store     storeNoCommit
	clock     tideline.Clock
	hlc       *hlcClock
	cursorKey []byte
	fixed     map[string]Collection // from configuration

	hub   *Hub  // set by NewHub: membership changes refresh streams
	marks marks // this node's copy of the watermark (watermark.go)

	notes clientNotes // when this node last recorded each client's activity (health.go)

	mu       stdsync.Mutex
	stored   map[string]Collection // from the API, cached
	loadedAt time.Time
	schemas  map[string]*compiled
}

// storeNoCommit is the Service's view of its Store: everything but Commit, which only
// Service.commit may call (through .Store), since it counts the node's commits for its
// copy of the watermark (watermark.go). A commit around it would leave this node's next
// pull short of its own write; the console's document delete once did. s.store.Commit(...)
// does not compile: it names the method below.
type storeNoCommit struct{ Store }

// commitThroughService is the parameter of the shadowing Commit: the error a wrong call
// gets names it.
type commitThroughService struct{}

// Commit shadows Store.Commit so that a call to it does not compile; see storeNoCommit.
func (storeNoCommit) Commit(commitThroughService) {}

type compiled struct {
	raw    string
	schema *jsonschema.Schema
}

// New returns the Service on store. It fails when the cursor secret cannot be read, such
// as when it is encrypted with another master key than store's.
func New(ctx context.Context, store Store, cfg Config) (*Service, error) {
	if cfg.Secrets == nil {
		return nil, errors.New("sync: Config.Secrets is required")
	}
	cfg.setDefaults()
	s := &Service{cfg: cfg, store: storeNoCommit{store}, clock: cfg.Clock, fixed: map[string]Collection{}, schemas: map[string]*compiled{}}
	s.hlc = &hlcClock{clock: cfg.Clock, maxSkew: cfg.MaxClockSkew}
	for _, c := range cfg.Collections {
		c.FromConfig = true
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("collection %q: %w", c.Name, err)
		}
		s.fixed[c.Name] = c
	}
	candidate := make([]byte, 32)
	_, _ = rand.Read(candidate)
	var err error
	if s.cursorKey, err = cfg.Secrets.Secret(ctx, tideline.SecretCursor, candidate); err != nil {
		return nil, fmt.Errorf("load the cursor secret: %w", err)
	}
	return s, nil
}

// collections returns every configured collection: configuration first, then the API's.
func (s *Service) collections(ctx context.Context) (map[string]Collection, error) {
	s.mu.Lock()
	fresh := s.stored != nil && s.clock.Now().Sub(s.loadedAt) < s.cfg.CollectionsTTL
	stored := s.stored
	s.mu.Unlock()
	if !fresh {
		list, err := s.store.ListCollections(ctx)
		if err != nil {
			return nil, err
		}
		stored = map[string]Collection{}
		for _, c := range list {
			stored[c.Name] = c
		}
		s.mu.Lock()
		s.stored, s.loadedAt = stored, s.clock.Now()
		s.mu.Unlock()
	}
	out := maps.Clone(stored)
	maps.Copy(out, s.fixed)
	return out, nil
}

// collection returns a collection's configuration, whether it is configured, and the
// default configuration when it is not.
func (s *Service) collection(all map[string]Collection, name string) (Collection, bool) {
	if c, ok := all[name]; ok {
		return c, true
	}
	return defaultCollection(name), false
}

// schema returns the compiled schema of c, or nil.
func (s *Service) schema(c Collection) (*jsonschema.Schema, error) {
	if len(c.Schema) == 0 {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs, ok := s.schemas[c.Name]; ok && cs.raw == string(c.Schema) {
		return cs.schema, nil
	}
	sch, err := compileSchema(c.Schema)
	if err != nil {
		return nil, err
	}
	s.schemas[c.Name] = &compiled{raw: string(c.Schema), schema: sch}
	return sch, nil
}

// ListCollections returns every configured collection (admin).
func (s *Service) ListCollections(ctx context.Context) ([]Collection, error) {
	all, err := s.collections(ctx)
	if err != nil {
		return nil, err
	}
	return slices.SortedFunc(maps.Values(all), func(a, b Collection) int { return strings.Compare(a.Name, b.Name) }), nil
}

// GetCollection returns a configured collection (admin). Not found otherwise.
func (s *Service) GetCollection(ctx context.Context, name string) (Collection, error) {
	all, err := s.collections(ctx)
	if err != nil {
		return Collection{}, err
	}
	if c, ok := all[name]; ok {
		return c, nil
	}
	return Collection{}, tideline.Errorf(tideline.CodeNotFound, "No collection %q is configured.", name)
}

// PutCollection creates or replaces a collection's configuration (admin). Conflict for a
// collection defined in configuration.
func (s *Service) PutCollection(ctx context.Context, c Collection) (Collection, error) {
	if _, ok := s.fixed[c.Name]; ok {
		return c, tideline.Errorf(tideline.CodeConflict, "The collection %q is defined in the configuration file; change it there.", c.Name)
	}
	c.FromConfig = false
	if err := c.Validate(); err != nil {
		return c, err
	}
	c.UpdatedAt = s.clock.Now()
	if err := s.store.PutCollection(ctx, c); err != nil {
		return c, err
	}
	s.forgetCollections()
	return c, nil
}

// DeleteCollection removes a collection's configuration (admin); its documents stay, and
// the collection behaves as unconfigured. Conflict for a collection defined in
// configuration.
func (s *Service) DeleteCollection(ctx context.Context, name string) error {
	if _, ok := s.fixed[name]; ok {
		return tideline.Errorf(tideline.CodeConflict, "The collection %q is defined in the configuration file; remove it there.", name)
	}
	if err := s.store.DeleteCollection(ctx, name); err != nil {
		if tideline.ErrorCode(err) == tideline.CodeNotFound {
			return tideline.Errorf(tideline.CodeNotFound, "No collection %q is configured.", name)
		}
		return err
	}
	s.forgetCollections()
	return nil
}

func (s *Service) forgetCollections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stored = nil
}
