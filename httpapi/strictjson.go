package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/tideline-dev/tideline"
)

// checkJSONStrict refuses what Go's decoder would read differently from the client, or
// from the spec's validator, before either sees the body:
//   - data after the JSON value ({...} xyz, {...}{...}): the decoder reads the first value
//     and ignores the rest;
//   - a member twice in one object: the decoder keeps the last, a validator may check the
//     first;
//   - a member whose name differs only in case from one the spec declares there ("NAME"
//     beside "name"): the validator sees an unknown member, the decoder (which matches
//     names case-insensitively) fills the declared field with it. Objects whose members
//     the spec leaves open (a synced document's fields) may hold such names: there they
//     are two members;
//   - a \u escape of half a surrogate pair: the decoder would replace it with U+FFFD;
//   - a number too large for a 64-bit float.
//
// schema is the operation's request body schema (nil: no declared members anywhere). The
// error is invalid, in the API's words, with the offending member's path in Fields.
func checkJSONStrict(body []byte, schema *openapi3.Schema) error {
	if err := checkEscapes(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	w := &jsonWalker{dec: dec}
	if err := w.value(schema, nil); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return strictError("body", "The request body has data after its JSON value.", "has data after the JSON value")
	}
	return nil
}

// jsonWalker walks a JSON text token by token beside the schema that describes it.
type jsonWalker struct {
	dec *json.Decoder
}

// value reads one value at path, described by schema (nil: nothing declared).
func (w *jsonWalker) value(schema *openapi3.Schema, path []string) error {
	tok, err := w.dec.Token()
	if err != nil {
		return syntaxProblem(err, w.dec.InputOffset())
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return w.object(schema, path)
		}
		return w.array(schema, path)
	case json.Number:
		if _, err := strconv.ParseFloat(string(t), 64); err != nil {
			return strictError(pathName(path), fmt.Sprintf("The request body's %s is a number out of range.", pathName(path)), "is a number out of range")
		}
	}
	return nil
}

func (w *jsonWalker) object(schema *openapi3.Schema, path []string) error {
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return syntaxProblem(err, w.dec.InputOffset())
		}
		name := tok.(string) // an object's tokens alternate: a name, then its value
		at := append(path[:len(path):len(path)], name)
		if seen[name] {
			return strictError(pathName(at), fmt.Sprintf("The request body has the member %s twice.", pathName(at)), "appears twice")
		}
		seen[name] = true
		if declared := caseVariant(schema, name); declared != "" {
			return strictError(pathName(at), fmt.Sprintf("The request body's member %s is not %q: member names are case-sensitive.", pathName(at), declared),
				fmt.Sprintf("is not a member; names are case-sensitive (%q)", declared))
		}
		if err := w.value(memberSchema(schema, name), at); err != nil {
			return err
		}
	}
	return w.close()
}

func (w *jsonWalker) array(schema *openapi3.Schema, path []string) error {
	var items *openapi3.Schema
	if schema != nil && schema.Items != nil {
		items = schema.Items.Value
	}
	for i := 0; w.dec.More(); i++ {
		if err := w.value(items, append(path[:len(path):len(path)], strconv.Itoa(i))); err != nil {
			return err
		}
	}
	return w.close()
}

// close reads the '}' or ']' that ends an object or array.
func (w *jsonWalker) close() error {
	if _, err := w.dec.Token(); err != nil {
		return syntaxProblem(err, w.dec.InputOffset())
	}
	return nil
}

// caseVariant returns the member schema declares that name spells in other letter case,
// or "" when name is declared itself or spells none.
func caseVariant(schema *openapi3.Schema, name string) string {
	if schema == nil {
		return ""
	}
	if _, ok := schema.Properties[name]; ok {
		return ""
	}
	for declared := range schema.Properties {
		if strings.EqualFold(declared, name) {
			return declared
		}
	}
	return ""
}

// memberSchema is the schema of member name of an object described by schema.
func memberSchema(schema *openapi3.Schema, name string) *openapi3.Schema {
	if schema == nil {
		return nil
	}
	if p, ok := schema.Properties[name]; ok && p != nil {
		return p.Value
	}
	if ap := schema.AdditionalProperties.Schema; ap != nil {
		return ap.Value
	}
	return nil
}

func pathName(path []string) string {
	if len(path) == 0 {
		return "body"
	}
	return strings.Join(path, ".")
}

func strictError(field, msg, reason string) error {
	return &tideline.Error{Code: tideline.CodeInvalid, Message: msg, Fields: map[string]string{field: reason}}
}

// syntaxProblem words a decoder's error on malformed JSON: where, not Go's account of it.
func syntaxProblem(err error, offset int64) error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		offset = se.Offset
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return strictError("body", "The request body is not valid JSON: it ends too soon.", "is not valid JSON")
	}
	return tideline.Wrap(err, tideline.CodeInvalid, fmt.Sprintf("The request body is not valid JSON (near byte %d).", offset))
}

// checkEscapes refuses \u escapes of lone surrogates in strings: \uD800-\uDBFF not
// followed at once by \uDC00-\uDFFF, or \uDC00-\uDFFF not preceded by one. (The body is
// valid UTF-8 already, which rules out raw surrogates.) Malformed escapes are left to the
// decoder, which refuses them.
func checkEscapes(body []byte) error {
	for i := 0; i < len(body); i++ {
		if body[i] != '"' {
			continue // outside strings
		}
		high := false // the previous character was a high surrogate's escape
		for i++; i < len(body) && body[i] != '"'; i++ {
			if body[i] != '\\' || i+1 == len(body) {
				if high {
					return loneSurrogate()
				}
				continue
			}
			if body[i+1] != 'u' {
				if high {
					return loneSurrogate()
				}
				i++ // the escaped character, which may be a quote
				continue
			}
			if i+6 > len(body) {
				return nil
			}
			v, err := strconv.ParseUint(string(body[i+2:i+6]), 16, 32)
			if err != nil {
				return nil
			}
			i += 5
			isHigh, isLow := v >= 0xD800 && v <= 0xDBFF, v >= 0xDC00 && v <= 0xDFFF
			if high != isLow {
				return loneSurrogate()
			}
			high = isHigh
		}
		if high {
			return loneSurrogate()
		}
	}
	return nil
}

func loneSurrogate() error {
	return strictError("body", "The request body holds a \\u escape of half a UTF-16 surrogate pair, which is no character.", "holds a lone surrogate escape")
}
