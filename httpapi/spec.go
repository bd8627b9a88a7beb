package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/gin-gonic/gin"
	"github.com/tideline-dev/tideline"
)

// specRoute is what the spec says about one route: who may call it, and the operation
// requests are validated against.
type specRoute struct {
	security string // "", "bearerAuth" or "adminAuth"
	route    *routers.Route
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// specRoutes maps "METHOD /gin/:path" to its specRoute, and the operation's name in the
// generated code (its operationId with the first letter upper-cased) to the same, under
// "op:<Name>". An operation may name at most one
// security scheme: the API has no route that accepts either of two credentials.
func specRoutes(doc *openapi3.T) (map[string]specRoute, error) {
	out := map[string]specRoute{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			var scheme string
			for _, req := range security {
				for name := range req {
					if scheme != "" && scheme != name {
						return nil, fmt.Errorf("%s %s: more than one security scheme", method, path)
					}
					scheme = name
				}
			}
			key := method + " " + pathParam.ReplaceAllString(path, ":$1")
			out[key] = specRoute{security: scheme, route: &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}}
			out["op:"+strings.ToUpper(op.OperationID[:1])+op.OperationID[1:]] = out[key]
		}
	}
	return out, nil
}

// validateRequests checks each request against its operation in the spec: path and query
// parameters, and the JSON body's types, required fields, lengths and enums. A body that
// is not JSON is unsupported_media_type; anything else that does not match is invalid, with
// the reason per field. Authentication is checked separately (authenticate).
func (s *Server) validateRequests(c *gin.Context) {
	sr, ok := s.routes[c.Request.Method+" "+c.FullPath()]
	if !ok {
		return
	}
	if hasBody(c.Request) && sr.route.Operation.RequestBody != nil {
		mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
		if mt != "application/json" {
			writeProblem(c, s.log, tideline.Errorf(tideline.CodeUnsupportedMediaType, "The request body must be JSON (Content-Type: application/json)."))
			return
		}
		body, err := io.ReadAll(c.Request.Body)
		if err != nil {
			writeProblem(c, s.log, requestError(err))
			return
		}
		if err := checkJSONText(body); err != nil {
			writeProblem(c, s.log, err)
			return
		}
		var schema *openapi3.Schema
		if mt := sr.route.Operation.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			schema = mt.Schema.Value
		}
		if err := checkJSONStrict(body, schema); err != nil {
			writeProblem(c, s.log, err)
			return
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
	}
	params := map[string]string{}
	for _, p := range c.Params {
		params[p.Key] = p.Value
	}
	in := &openapi3filter.RequestValidationInput{
		Request: c.Request, PathParams: params, Route: sr.route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if err := openapi3filter.ValidateRequest(c, in); err != nil {
		writeProblem(c, s.log, invalidRequest(err))
	}
}

// maxJSONDepth bounds the nesting of request bodies, before any decoder sees them.
const maxJSONDepth = 64

// checkJSONText refuses a body that is not valid UTF-8 (Go's decoder would silently
// replace the bad bytes, changing the client's data) or nests deeper than maxJSONDepth.
func checkJSONText(body []byte) error {
	if !utf8.Valid(body) {
		return &tideline.Error{Code: tideline.CodeInvalid, Message: "The request body is not valid UTF-8.", Fields: map[string]string{"body": "is not valid UTF-8"}}
	}
	depth, inString, escaped := 0, false, false
	for _, b := range body {
		switch {
		case escaped:
			escaped = false
		case inString:
			escaped, inString = b == '\\', b != '"'
		case b == '"':
			inString = true
		case b == '{' || b == '[':
			if depth++; depth > maxJSONDepth {
				return &tideline.Error{Code: tideline.CodeInvalid, Message: fmt.Sprintf("The request body nests deeper than %d levels.", maxJSONDepth), Fields: map[string]string{"body": "nests too deep"}}
			}
		case b == '}' || b == ']':
			depth--
		}
	}
	return nil
}

func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody)
}

// invalidRequest turns kin-openapi's validation errors into an invalid problem whose
// Fields name each offending field (a dotted path into the body, or the parameter name)
// with the schema's reason.
func invalidRequest(err error) error {
	if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return tideline.Wrap(err, tideline.CodeTooLarge, tooLarge(mbe.Limit).(*tideline.Error).Message)
	}
	fields := map[string]string{}
	var walk func(err error, in *openapi3filter.RequestError)
	walk = func(err error, in *openapi3filter.RequestError) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, x := range e {
				walk(x, in)
			}
		case *openapi3filter.RequestError:
			if e.Err == nil {
				fields[fieldOf(e, nil)] = e.Reason
				return
			}
			walk(e.Err, e)
		case *openapi3.SchemaError:
			fields[fieldOf(in, e)] = e.Reason
		default:
			reason := err.Error()
			if in != nil && in.Reason != "" {
				reason = in.Reason
			}
			fields[fieldOf(in, nil)] = reason
		}
	}
	walk(err, nil)
	names := slices.Sorted(maps.Keys(fields))
	msg := "The request does not match the API: " + names[0] + ": " + fields[names[0]] + "."
	return &tideline.Error{Code: tideline.CodeInvalid, Message: msg, Fields: fields, Err: err}
}

// fieldOf names the field an error is about: the schema error's path in the body (for a
// missing required property, the property), else the parameter, else "body".
func fieldOf(in *openapi3filter.RequestError, se *openapi3.SchemaError) string {
	if se != nil && len(se.JSONPointer()) > 0 {
		return strings.Join(se.JSONPointer(), ".")
	}
	if in != nil && in.Parameter != nil {
		return in.Parameter.Name
	}
	return "body"
}

// loadSpec parses and validates the OpenAPI document.
func loadSpec(ctx context.Context, spec []byte) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI document: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("invalid OpenAPI document: %w", err)
	}
	return doc, nil
}
