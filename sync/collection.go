package sync

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/tideline-dev/tideline"
)

// Policy is how a collection resolves concurrent writes.
type Policy string

// The conflict policies.
const (
	// LWW is the default: per field, the write with the later HLC wins; commutative
	// operations merge exactly; a delete and an update are ordered by HLC.
	LWW Policy = "lww"
	// ServerWins keeps what the server has: a mutation based on an older version than the
	// stored one does not overwrite fields (its commutative operations still apply), and
	// its receipt is merged with the server's document.
	ServerWins Policy = "server-wins"
	// Optimistic refuses a mutation based on an older version: its receipt is conflict,
	// with the server's document, and nothing changes; the app decides.
	Optimistic Policy = "optimistic"
)

// ReadRule is who may read a collection's documents. Only a document's owner (its
// creator) writes it, under every rule.
type ReadRule string

// The read rules.
const (
	// OwnerOnly is the default: each user's documents are private to them, in a namespace
	// of their own.
	OwnerOnly ReadRule = "owner"
	// AuthenticatedRead lets every signed-in user read every document.
	AuthenticatedRead ReadRule = "authenticated-read"
	// PublicRead lets everyone read every document.
	PublicRead ReadRule = "public-read"
	// OwnerShared keeps documents private to their owner unless the owner shares them
	// through the _acl field: {"read": [principals], "write": [principals]}, principals
	// being user:<id>, group:<id> or role:<name>. Writers may put and patch; only the owner
	// sets _acl and deletes.
	OwnerShared ReadRule = "owner-shared"
)

// Collection is a collection's configuration.
type Collection struct {
	Name   string
	Policy Policy
	Read   ReadRule
	// Schema, when set, is a JSON Schema (draft 2020-12 unless it says otherwise) every
	// document must match after each mutation.
	Schema json.RawMessage
	// MaxDocBytes bounds a document's JSON size.
	MaxDocBytes int
	// Notify wakes a user's offline devices when a document they can read changes.
	Notify bool
	// FromConfig is set for collections defined in tideline.yaml: the API cannot change
	// them.
	FromConfig bool
	UpdatedAt  time.Time
}

// DefaultMaxDocBytes is a document's size limit unless its collection sets another.
const DefaultMaxDocBytes = 64 << 10

// MaxDocBytesLimit is the largest limit a collection may set.
const MaxDocBytesLimit = 4 << 20

var collectionName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// defaultCollection is the configuration of a collection nobody configured.
func defaultCollection(name string) Collection {
	return Collection{Name: name, Policy: LWW, Read: OwnerOnly, MaxDocBytes: DefaultMaxDocBytes, Notify: true}
}

// checkCollectionName reports why name cannot be a collection, or nil.
func checkCollectionName(name string) error {
	if !collectionName.MatchString(name) || strings.HasPrefix(name, "tideline_") || strings.HasPrefix(name, "system") {
		return fmt.Errorf("%q is not a collection name: lower-case letters, digits and _, starting with a letter, at most 63, not starting with tideline_ or system", name)
	}
	return nil
}

// Validate fills in defaults and checks the configuration, compiling the schema.
func (c *Collection) Validate() error {
	invalid := func(field, reason string) error {
		return &tideline.Error{Code: tideline.CodeInvalid, Message: "The collection " + field + " " + reason + ".", Fields: map[string]string{field: reason}}
	}
	if err := checkCollectionName(c.Name); err != nil {
		return invalid("name", err.Error())
	}
	switch c.Policy {
	case "":
		c.Policy = LWW
	case LWW, ServerWins, Optimistic:
	default:
		return invalid("policy", "must be lww, server-wins or optimistic")
	}
	switch c.Read {
	case "":
		c.Read = OwnerOnly
	case OwnerOnly, AuthenticatedRead, PublicRead, OwnerShared:
	default:
		return invalid("read", "must be owner, owner-shared, authenticated-read or public-read")
	}
	if c.MaxDocBytes == 0 {
		c.MaxDocBytes = DefaultMaxDocBytes
	}
	if c.MaxDocBytes < 64 || c.MaxDocBytes > MaxDocBytesLimit {
		return invalid("maxDocBytes", fmt.Sprintf("must be from 64 to %d", MaxDocBytesLimit))
	}
	if len(c.Schema) > 0 {
		if _, err := compileSchema(c.Schema); err != nil {
			return invalid("schema", "is not a valid JSON Schema: "+err.Error())
		}
	}
	return nil
}

// compileSchema compiles a JSON Schema held in memory; it never loads anything remote.
func compileSchema(raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	if err := c.AddResource("mem:///schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("mem:///schema.json")
}

// noLoader refuses to fetch schemas: a schema may only refer to itself.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schemas may not refer to other documents (%s)", url)
}

// scope returns the scope of a document of this collection written by user.
func (c Collection) scope(user string) string {
	if c.Read == OwnerOnly {
		return user
	}
	return ""
}

// buckets returns who may read a document of this collection owned by owner, with these
// fields (an owner-shared document's _acl adds its readers and writers).
func (c Collection) buckets(owner string, fields map[string]any) []string {
	switch c.Read {
	case AuthenticatedRead:
		return []string{BucketAuthenticated}
	case PublicRead:
		return []string{BucketPublic}
	case OwnerShared:
		acl := aclOf(fields)
		out := []string{UserBucket(owner)}
		for _, p := range append(acl.Read, acl.Write...) {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
		return out
	}
	return []string{UserBucket(owner)}
}

// Buckets every user is in.
const (
	BucketAuthenticated = "authenticated"
	BucketPublic        = "public"
)

// UserBucket is the bucket of a user's own documents.
func UserBucket(userID string) string { return "user:" + userID }
