package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"maps"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/tideline-dev/tideline/httpapi/oapi"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// The /docs page is rendered once at start-up from the embedded OpenAPI document: plain
// HTML with one inline stylesheet, no script and nothing fetched from elsewhere. Markdown
// in descriptions is rendered by goldmark, which drops raw HTML.

//go:embed docs.html.tmpl
var docsTemplate string

//go:embed docs.css
var docsCSS string

// docsCSP lets the page use its own inline stylesheet (by hash) and nothing else.
var docsCSP = func() string {
	sum := sha256.Sum256([]byte(docsCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; frame-ancestors 'none'"
}()

var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

type (
	docsPage struct {
		Title, Version string
		Description    template.HTML
		CSS            template.CSS
		Groups         []docsGroup
		Schemas        []docsSchema
	}
	docsGroup struct {
		Name        string
		Description template.HTML
		Ops         []docsOp
	}
	docsOp struct {
		ID, Method, Path, Summary string
		// PathHTML is Path with a break opportunity after each slash, so the sidebar wraps
		// long paths between their segments, never inside one.
		PathHTML     template.HTML
		Description  template.HTML
		Auth         string
		Params       []docsField
		Body         []docsMedia
		BodyRequired bool
		Responses    []docsResponse
	}
	docsResponse struct {
		Status      string
		Description template.HTML
		Media       []docsMedia
	}
	docsMedia struct {
		Type   string
		Schema template.HTML
		Props  []docsField
		// Example is the media's example, else one made of its schema's examples, as
		// indented JSON; empty when there is neither.
		Example string
	}
	docsSchema struct {
		Name        string
		Description template.HTML
		Type        template.HTML
		Props       []docsField
	}
	docsField struct {
		Name, In    string
		Type        template.HTML
		Required    bool
		Description template.HTML
	}
)

// renderDocs renders the reference page of the OpenAPI document.
func renderDocs(doc *openapi3.T) ([]byte, error) {
	page := docsPage{Title: doc.Info.Title, Version: doc.Info.Version, Description: md(doc.Info.Description), CSS: template.CSS(docsCSS)}

	groups := map[string]*docsGroup{}
	var order []string
	for _, t := range doc.Tags {
		groups[t.Name] = &docsGroup{Name: t.Name, Description: md(t.Description)}
		order = append(order, t.Name)
	}
	paths := doc.Paths.Map()
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		for _, method := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
			op := paths[path].GetOperation(method)
			if op == nil {
				continue
			}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			if groups[tag] == nil {
				groups[tag] = &docsGroup{Name: tag}
				order = append(order, tag)
			}
			groups[tag].Ops = append(groups[tag].Ops, docsOperation(doc, path, method, op))
		}
	}
	for _, name := range order {
		if len(groups[name].Ops) > 0 {
			page.Groups = append(page.Groups, *groups[name])
		}
	}
	var schemas openapi3.Schemas
	if doc.Components != nil {
		schemas = doc.Components.Schemas
	}
	for _, name := range slices.Sorted(maps.Keys(schemas)) {
		ref := schemas[name]
		page.Schemas = append(page.Schemas, docsSchema{Name: name, Description: md(ref.Value.Description), Type: schemaType(ref, false), Props: schemaProps(ref.Value)})
	}

	tmpl, err := template.New("docs").Parse(docsTemplate)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, page); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func docsOperation(doc *openapi3.T, path, method string, op *openapi3.Operation) docsOp {
	o := docsOp{ID: op.OperationID, Method: method, Path: path, Summary: op.Summary, Description: md(op.Description), Auth: "none",
		PathHTML: template.HTML(strings.ReplaceAll(html.EscapeString(path), "/", "/<wbr>"))}
	security := doc.Security
	if op.Security != nil {
		security = *op.Security
	}
	var schemes []string
	for _, req := range security {
		for name := range req {
			schemes = append(schemes, name)
		}
	}
	if len(schemes) > 0 {
		slices.Sort(schemes)
		o.Auth = strings.Join(schemes, " or ")
	}
	for _, p := range op.Parameters {
		v := p.Value
		o.Params = append(o.Params, docsField{Name: v.Name, In: v.In, Type: schemaType(v.Schema, true), Required: v.Required, Description: md(v.Description)})
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		o.BodyRequired = op.RequestBody.Value.Required
		o.Body = docsContent(op.RequestBody.Value.Content)
	}
	if op.Responses != nil {
		for _, status := range slices.Sorted(maps.Keys(op.Responses.Map())) {
			r := op.Responses.Map()[status].Value
			desc := ""
			if r.Description != nil {
				desc = *r.Description
			}
			o.Responses = append(o.Responses, docsResponse{Status: status, Description: md(desc), Media: docsContent(r.Content)})
		}
	}
	return o
}

func docsContent(content openapi3.Content) []docsMedia {
	var out []docsMedia
	for _, mt := range slices.Sorted(maps.Keys(content)) {
		m := docsMedia{Type: mt}
		if s := content[mt].Schema; s != nil {
			m.Schema = schemaType(s, true)
			if s.Ref == "" && s.Value != nil {
				m.Props = schemaProps(s.Value) // inline objects are shown in place
			}
		}
		m.Example = mediaExample(content[mt])
		out = append(out, m)
	}
	return out
}

// mediaExample is the media's example (or its first named one), else an example made of
// its schema's property examples, as indented JSON; "" when there is none.
func mediaExample(mt *openapi3.MediaType) string {
	ex := mt.Example
	if ex == nil && len(mt.Examples) > 0 {
		first := mt.Examples[slices.Sorted(maps.Keys(mt.Examples))[0]]
		if first != nil && first.Value != nil {
			ex = first.Value.Value
		}
	}
	if ex == nil {
		var ok bool
		if ex, ok = schemaExample(mt.Schema, 0); !ok {
			return ""
		}
	}
	b, err := json.MarshalIndent(ex, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

// schemaExample is the schema's example, else an object of its properties' examples (or an
// array of its items' example), ok when there is any.
func schemaExample(ref *openapi3.SchemaRef, depth int) (any, bool) {
	if ref == nil || ref.Value == nil || depth > 4 {
		return nil, false
	}
	s := ref.Value
	if s.Example != nil {
		return s.Example, true
	}
	switch {
	case s.Type.Is("array"):
		if item, ok := schemaExample(s.Items, depth+1); ok {
			return []any{item}, true
		}
	case len(s.Properties) > 0:
		obj := map[string]any{}
		for name, p := range s.Properties {
			if v, ok := schemaExample(p, depth+1); ok {
				obj[name] = v
			}
		}
		return obj, len(obj) > 0
	}
	return nil, false
}

func schemaProps(s *openapi3.Schema) []docsField {
	var out []docsField
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		p := s.Properties[name]
		desc := ""
		if p.Value != nil {
			desc = p.Value.Description
		}
		out = append(out, docsField{Name: name, Type: schemaType(p, true), Required: slices.Contains(s.Required, name), Description: md(desc)})
	}
	return out
}

// schemaType describes a schema in a few words, linking named schemas when link is set.
func schemaType(ref *openapi3.SchemaRef, link bool) template.HTML {
	if ref == nil {
		return "any"
	}
	if ref.Ref != "" && link {
		name := ref.Ref[strings.LastIndex(ref.Ref, "/")+1:]
		return template.HTML(`<a href="#schema-` + html.EscapeString(name) + `">` + html.EscapeString(name) + `</a>`)
	}
	s := ref.Value
	if s == nil {
		return "any"
	}
	var t string
	switch {
	case s.Type.Is("array"):
		return "array of " + schemaType(s.Items, true)
	case s.Type.Is("object") && s.AdditionalProperties.Schema != nil:
		return "map of string to " + schemaType(s.AdditionalProperties.Schema, true)
	case s.Type != nil && len(*s.Type) > 0:
		t = html.EscapeString(strings.Join(*s.Type, " | "))
	case len(s.OneOf) > 0:
		var parts []string
		for _, o := range s.OneOf {
			parts = append(parts, string(schemaType(o, true)))
		}
		return template.HTML("one of " + strings.Join(parts, ", "))
	default:
		t = "any"
	}
	if s.Format != "" {
		t += " (" + html.EscapeString(s.Format) + ")"
	}
	if len(s.Enum) > 0 {
		var vals []string
		for _, v := range s.Enum {
			vals = append(vals, "<code>"+html.EscapeString(fmt.Sprint(v))+"</code>")
		}
		t += ": " + strings.Join(vals, ", ")
	}
	if s.Nullable {
		t += ", nullable"
	}
	return template.HTML(t)
}

// md renders Markdown to HTML; raw HTML in the source is dropped, not passed through.
func md(src string) template.HTML {
	if src == "" {
		return ""
	}
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(src), &buf); err != nil {
		return template.HTML("<p>" + html.EscapeString(src) + "</p>")
	}
	return template.HTML(buf.String())
}

// GetDocs serves the rendered reference page.
func (s *Server) GetDocs(context.Context, oapi.GetDocsRequestObject) (oapi.GetDocsResponseObject, error) {
	return oapi.GetDocs200TexthtmlResponse{Body: bytes.NewReader(s.docs), ContentLength: int64(len(s.docs))}, nil
}
