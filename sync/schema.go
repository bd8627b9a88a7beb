package sync

import (
	"bytes"
	"errors"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// schemaProblem names the field a schema violation is about (its path, dotted, "fields"
// for the document itself) and describes it.
func schemaProblem(err error) (field, msg string) {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return "fields", err.Error()
	}
	leaf := ve
	for len(leaf.Causes) > 0 {
		leaf = leaf.Causes[0]
	}
	path := leaf.InstanceLocation
	if req, ok := leaf.ErrorKind.(*kind.Required); ok && len(req.Missing) > 0 {
		path = append(append([]string(nil), path...), req.Missing[0]) // name the missing property
	}
	field = "fields"
	if len(path) > 0 {
		field = "fields." + strings.Join(path, ".")
	}
	msg = leaf.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "at ") {
		msg = msg[i+2:]
	}
	return field, msg
}
