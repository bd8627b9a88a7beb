package main

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// api is what the emitters need of an OpenAPI document: its models and its operations,
// each in the document's order (models of inline schemas after the named ones, in the
// order they were met).
type api struct {
	models []*model
	ops    []*operation
}

type kind int

const (
	kString kind = iota
	kInt         // integer
	kInt64       // integer, format int64
	kNum         // number
	kDouble      // number, format double or float
	kBool
	kDateTime // string, format date-time
	kAny      // any JSON value ({} or an object's free-form additionalProperties)
	kRef      // a model
	kArray
	kMap // an object with additionalProperties only
)

// typ is a value's type. A nullable type may hold JSON null.
type typ struct {
	kind     kind
	ref      string // the model's name (kRef)
	elem     *typ   // the element's type (kArray, kMap)
	nullable bool
}

type modelKind int

const (
	mObject modelKind = iota
	mEnum
	mOneOf
)

type model struct {
	name, doc string
	kind      modelKind
	fields    []field  // mObject
	extra     *typ     // mObject: the type of additionalProperties beside declared fields (nil: none)
	values    []string // mEnum
	variants  []variant
	// discriminator is the oneOf's discriminator property ("" when it has none: the
	// variants are told apart by their JSON type and their required properties).
	discriminator string
}

type field struct {
	json, doc string
	t         typ
	required  bool
}

type variant struct {
	t        typ
	tag      string   // the discriminator's value for it
	required []string // an object variant's required properties
}

type param struct {
	name, doc string
	t         typ
	required  bool
}

// result is what an operation's success answer is.
type result int

const (
	rNone result = iota // no body (204, 202)
	rJSON               // a JSON body of resultType
	rText               // a text body (text/plain, application/yaml, text/html)
	rURI                // not a request/response: a WebSocket upgrade or an event stream; the method builds its URI
)

type operation struct {
	id, method, path, summary, doc string
	pathParams, queryParams        []param
	body                           *typ
	bodyRequired                   bool
	result                         result
	resultType                     *typ
	secured                        bool
}

// load reads an OpenAPI 3.0 document and builds its api.
func load(spec []byte) (*api, error) {
	loader := openapi3.NewLoader()
	loader.IncludeOrigin = true // the document's order of properties and paths
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("invalid OpenAPI document: %w", err)
	}
	b := &builder{byName: map[string]*model{}}
	var names []string
	if doc.Components != nil {
		for name := range doc.Components.Schemas {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(line(doc.Components.Schemas[a]), line(doc.Components.Schemas[b])), cmp.Compare(a, b))
	})
	// Every named model first, so that a reference finds its model whatever the order.
	named := map[string]*model{}
	for _, name := range names {
		if isModel(doc.Components.Schemas[name].Value) { // a plain type is used inline where referenced
			m, err := b.add(typeName(name))
			if err != nil {
				return nil, fmt.Errorf("schema %s: %w", name, err)
			}
			named[name] = m
		}
	}
	for _, name := range names {
		if m := named[name]; m != nil {
			if err := b.fill(m, doc.Components.Schemas[name].Value); err != nil {
				return nil, fmt.Errorf("schema %s: %w", name, err)
			}
		}
	}
	for _, path := range pathsInOrder(doc) {
		item := doc.Paths.Value(path)
		ops := item.Operations()
		methods := make([]string, 0, len(ops))
		for m := range ops {
			methods = append(methods, m)
		}
		slices.SortFunc(methods, func(a, b string) int {
			return cmp.Or(cmp.Compare(opLine(ops[a]), opLine(ops[b])), cmp.Compare(a, b))
		})
		for _, m := range methods {
			op, err := b.operation(doc, path, m, item, ops[m])
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", m, path, err)
			}
			b.api.ops = append(b.api.ops, op)
		}
	}
	for _, m := range b.api.models {
		for i, v := range m.variants {
			if m.discriminator != "" && (v.t.kind != kRef || b.byName[v.t.ref].kind != mObject) {
				return nil, fmt.Errorf("%s: oneOf[%d]: a discriminated variant must be an object schema", m.name, i)
			}
		}
	}
	return &b.api, nil
}

func line(r *openapi3.SchemaRef) int {
	if r != nil && r.Origin != nil && r.Origin.Key != nil {
		return r.Origin.Key.Line
	}
	return 0
}

func opLine(op *openapi3.Operation) int {
	if op.Origin != nil && op.Origin.Key != nil {
		return op.Origin.Key.Line
	}
	return 0
}

func pathsInOrder(doc *openapi3.T) []string {
	paths := doc.Paths.Map()
	out := make([]string, 0, len(paths))
	for p := range paths {
		out = append(out, p)
	}
	at := func(p string) int {
		if o := paths[p].Origin; o != nil && o.Key != nil {
			return o.Key.Line
		}
		return 0
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(cmp.Compare(at(a), at(b)), cmp.Compare(a, b)) })
	return out
}

type builder struct {
	api    api
	byName map[string]*model
}

// isModel reports whether a named schema becomes a model (a class, an enum or a sealed
// type) rather than a plain type.
func isModel(s *openapi3.Schema) bool {
	return len(s.OneOf) > 0 || len(s.AllOf) > 0 || len(s.AnyOf) > 0 || len(s.Enum) > 0 || (isObject(s) && len(s.Properties) > 0)
}

func isObject(s *openapi3.Schema) bool {
	return s.Type.Is("object") || (s.Type.IsEmpty() && len(s.Properties) > 0)
}

// takenTypes are the type names the generated code uses besides the models'; a model so
// named would shadow them.
var takenTypes = set("String", "int", "double", "num", "bool", "DateTime", "Object", "List", "Map", "Uri",
	"Duration", "Future", "FormatException", "Int", "Int64", "Double", "Bool", "Date", "Data", "URL", "Set",
	"JSONValue", "JSONKey", "TidelineApi", "TidelineAPI", "TidelineTransport", "TidelineException", "TidelineError", "CoreSql", "CoreSQL")

// add adds an empty model named name.
func (b *builder) add(name string) (*model, error) {
	if _, dup := b.byName[name]; dup {
		return nil, fmt.Errorf("two models named %s", name)
	}
	if takenTypes[name] {
		return nil, fmt.Errorf("a model named %s would shadow a type the generated code uses", name)
	}
	m := &model{name: name}
	b.byName[name] = m
	b.api.models = append(b.api.models, m)
	return m, nil
}

// fill makes m the model of schema s.
func (b *builder) fill(m *model, s *openapi3.Schema) error {
	m.doc = describe(s.Title, s.Description)
	name := m.name
	switch {
	case len(s.AllOf) > 0 || len(s.AnyOf) > 0 || s.Not != nil:
		return fmt.Errorf("allOf, anyOf and not are not supported")
	case len(s.OneOf) > 0:
		m.kind = mOneOf
		return b.oneOf(m, s)
	case len(s.Enum) > 0:
		m.kind = mEnum
		for _, v := range s.Enum {
			str, ok := v.(string)
			if !ok {
				return fmt.Errorf("enum value %v: only string enums are supported", v)
			}
			m.values = append(m.values, str)
		}
		return nil
	}
	m.kind = mObject
	props := make([]string, 0, len(s.Properties))
	for p := range s.Properties {
		props = append(props, p)
	}
	slices.SortFunc(props, func(a, c string) int {
		return cmp.Or(cmp.Compare(line(s.Properties[a]), line(s.Properties[c])), cmp.Compare(a, c))
	})
	for _, p := range props {
		ref := s.Properties[p]
		t, err := b.typeOf(ref, name+typeName(p))
		if err != nil {
			return fmt.Errorf("property %s: %w", p, err)
		}
		m.fields = append(m.fields, field{json: p, doc: describe(ref.Value.Title, ref.Value.Description), t: t, required: slices.Contains(s.Required, p)})
	}
	if extra := s.AdditionalProperties; extra.Schema != nil || (extra.Has != nil && *extra.Has) {
		t := typ{kind: kAny, nullable: true}
		if extra.Schema != nil {
			var err error
			if t, err = b.typeOf(extra.Schema, name+"Value"); err != nil {
				return fmt.Errorf("additionalProperties: %w", err)
			}
		}
		m.extra = &t
	}
	return nil
}

func (b *builder) oneOf(m *model, s *openapi3.Schema) error {
	if d := s.Discriminator; d != nil {
		m.discriminator = d.PropertyName
	}
	tags := map[string]string{} // schema ref -> its discriminator value
	if d := s.Discriminator; d != nil {
		for value, ref := range d.Mapping {
			tags[ref.Ref] = value
		}
	}
	for i, ref := range s.OneOf {
		t, err := b.typeOf(ref, fmt.Sprintf("%sVariant%d", m.name, i+1))
		if err != nil {
			return fmt.Errorf("oneOf[%d]: %w", i, err)
		}
		v := variant{t: t, required: slices.Clone(ref.Value.Required)}
		if m.discriminator != "" {
			v.tag = cmp.Or(tags[ref.Ref], t.ref) // without a mapping the value is the schema's name
		}
		m.variants = append(m.variants, v)
	}
	return nil
}

// typeOf is the type of a schema; an inline schema that needs a model of its own gets one
// named name.
func (b *builder) typeOf(ref *openapi3.SchemaRef, name string) (typ, error) {
	s := ref.Value
	if s == nil {
		return typ{}, fmt.Errorf("unresolved schema %s", ref.Ref)
	}
	nullable := s.Nullable || s.Type.Includes("null")
	if ref.Ref != "" && isModel(s) {
		target, ok := strings.CutPrefix(ref.Ref, "#/components/schemas/")
		if !ok {
			return typ{}, fmt.Errorf("reference %s: only #/components/schemas/ references are supported", ref.Ref)
		}
		return typ{kind: kRef, ref: typeName(target), nullable: nullable}, nil
	}
	if isModel(s) {
		m, err := b.add(name)
		if err != nil {
			return typ{}, err
		}
		if err := b.fill(m, s); err != nil {
			return typ{}, err
		}
		return typ{kind: kRef, ref: name, nullable: nullable}, nil
	}
	t := typ{nullable: nullable}
	switch {
	case s.Type.Includes("array"):
		t.kind = kArray
		elem := typ{kind: kAny, nullable: true}
		if s.Items != nil {
			var err error
			if elem, err = b.typeOf(s.Items, name+"Item"); err != nil {
				return typ{}, err
			}
		}
		t.elem = &elem
	case isObject(s) || (s.Type.IsEmpty() && (s.AdditionalProperties.Schema != nil || s.AdditionalProperties.Has != nil)):
		t.kind = kMap
		elem := typ{kind: kAny, nullable: true}
		if s.AdditionalProperties.Schema != nil {
			var err error
			if elem, err = b.typeOf(s.AdditionalProperties.Schema, name+"Value"); err != nil {
				return typ{}, err
			}
		}
		t.elem = &elem
	case s.Type.Includes("string") && s.Format == "date-time":
		t.kind = kDateTime
	case s.Type.Includes("string"):
		t.kind = kString
	case s.Type.Includes("integer") && s.Format == "int64":
		t.kind = kInt64
	case s.Type.Includes("integer"):
		t.kind = kInt
	case s.Type.Includes("number") && (s.Format == "double" || s.Format == "float"):
		t.kind = kDouble
	case s.Type.Includes("number"):
		t.kind = kNum
	case s.Type.Includes("boolean"):
		t.kind = kBool
	case s.Type.IsEmpty():
		t.kind, t.nullable = kAny, true
	default:
		return typ{}, fmt.Errorf("unsupported schema type %v", s.Type.Slice())
	}
	return t, nil
}

// transportHeaders are the header parameters an SDK sends with every request from its
// HTTP client, not per call (docs/sdk-core.md, "Identify the client"): the generated
// operations leave them out. Any other header parameter is unsupported.
var transportHeaders = map[string]bool{"Tideline-Client": true}

// operation builds one operation.
func (b *builder) operation(doc *openapi3.T, path, method string, item *openapi3.PathItem, o *openapi3.Operation) (*operation, error) {
	if o.OperationID == "" {
		return nil, fmt.Errorf("no operationId")
	}
	op := &operation{id: o.OperationID, method: method, path: path, summary: strings.TrimSpace(o.Summary), doc: strings.TrimSpace(o.Description)}
	base := typeName(o.OperationID)
	params := map[string]*openapi3.Parameter{}
	var order []string
	for _, list := range []openapi3.Parameters{item.Parameters, o.Parameters} {
		for _, p := range list {
			key := p.Value.In + " " + p.Value.Name
			if _, ok := params[key]; !ok {
				order = append(order, key)
			}
			params[key] = p.Value
		}
	}
	for _, key := range order {
		p := params[key]
		if p.In == openapi3.ParameterInHeader && transportHeaders[p.Name] {
			continue
		}
		t, err := b.typeOf(p.Schema, base+typeName(p.Name))
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", p.Name, err)
		}
		if !scalar(t) && !(t.kind == kRef && b.byName[t.ref].kind == mEnum) {
			return nil, fmt.Errorf("parameter %s: only scalar and enum parameters are supported", p.Name)
		}
		pr := param{name: p.Name, doc: strings.TrimSpace(p.Description), t: t, required: p.Required}
		switch p.In {
		case openapi3.ParameterInPath:
			pr.required = true
			op.pathParams = append(op.pathParams, pr)
		case openapi3.ParameterInQuery:
			op.queryParams = append(op.queryParams, pr)
		default:
			return nil, fmt.Errorf("parameter %s in %s: only path and query parameters are supported", p.Name, p.In)
		}
	}
	for _, p := range op.pathParams {
		if !strings.Contains(path, "{"+p.name+"}") {
			return nil, fmt.Errorf("path parameter %s is not in the path", p.name)
		}
	}
	if rb := o.RequestBody; rb != nil && rb.Value != nil {
		mt := rb.Value.Content.Get("application/json")
		if mt == nil || mt.Schema == nil {
			return nil, fmt.Errorf("only application/json request bodies are supported")
		}
		t, err := b.typeOf(mt.Schema, base+"Request")
		if err != nil {
			return nil, fmt.Errorf("request body: %w", err)
		}
		op.body, op.bodyRequired = &t, rb.Value.Required
	}
	if err := b.result(op, o, base); err != nil {
		return nil, err
	}
	security := doc.Security
	if o.Security != nil {
		security = *o.Security
	}
	for _, req := range security {
		if len(req) > 0 {
			op.secured = true
		}
	}
	return op, nil
}

// result finds the operation's success answer: the first of its 1xx and 2xx responses.
func (b *builder) result(op *operation, o *openapi3.Operation, base string) error {
	var codes []int
	for code := range o.Responses.Map() {
		if n, err := strconv.Atoi(code); err == nil && n < 300 {
			codes = append(codes, n)
		}
	}
	if len(codes) == 0 {
		return nil
	}
	code := slices.Min(codes)
	res := o.Responses.Status(code).Value
	switch {
	case code == http.StatusSwitchingProtocols:
		op.result = rURI
	case res.Content.Get("application/json") != nil:
		t, err := b.typeOf(res.Content.Get("application/json").Schema, base+"Response")
		if err != nil {
			return fmt.Errorf("response %d: %w", code, err)
		}
		op.result, op.resultType = rJSON, &t
	case res.Content.Get("text/event-stream") != nil:
		op.result = rURI
	case len(res.Content) > 0:
		op.result = rText
	}
	return nil
}

func scalar(t typ) bool {
	switch t.kind {
	case kString, kInt, kInt64, kNum, kDouble, kBool, kDateTime:
		return true
	}
	return false
}

// describe joins a schema's title and description into one comment text.
func describe(title, description string) string {
	title, description = strings.TrimSpace(title), strings.TrimSpace(description)
	switch {
	case title == "":
		return description
	case description == "":
		return title
	}
	return title + "\n\n" + description
}

// opDoc is an operation's documentation: its summary, its description, its method and
// path, and whether it needs the bearer token.
func opDoc(op *operation) string {
	doc := op.summary
	if op.doc != "" {
		doc = strings.TrimSpace(doc + "\n\n" + op.doc)
	}
	doc += fmt.Sprintf("\n\n`%s %s`", strings.ToUpper(op.method), op.path)
	if op.secured {
		doc += " (bearer token)"
	}
	return doc
}
