package main

import (
	"os"
	"strings"
	"testing"
)

func loadFixture(t *testing.T) *api {
	t.Helper()
	spec, err := os.ReadFile("testdata/fixture.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := load(spec)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func fieldOf(t *testing.T, m *model, name string) field {
	t.Helper()
	for _, f := range m.fields {
		if f.json == name {
			return f
		}
	}
	t.Fatalf("%s has no field %s", m.name, name)
	return field{}
}

func opOf(t *testing.T, a *api, id string) *operation {
	t.Helper()
	for _, op := range a.ops {
		if op.id == id {
			return op
		}
	}
	t.Fatalf("no operation %s", id)
	return nil
}

// TestFixtureShapes checks what the generator understood of each shape of the fixture,
// beneath the golden files' text.
func TestFixtureShapes(t *testing.T) {
	a := loadFixture(t)
	pet := a.model("Pet")
	for _, c := range []struct {
		field    string
		kind     kind
		ref      string
		elem     kind
		nullable bool
		required bool
	}{
		{"id", kInt64, "", 0, false, true},
		{"name", kString, "", 0, true, true},       // nullable and required: null is sent
		{"kind", kRef, "ToyKind", 0, false, true},  // a named enum
		{"weight", kDouble, "", 0, false, false},   // optional
		{"born", kDateTime, "", 0, false, false},   // date-time
		{"owner", kRef, "Owner", 0, false, true},   // a oneOf
		{"toys", kArray, "", kRef, false, true},    // an array of refs
		{"tags", kMap, "", kString, false, true},   // typed additionalProperties
		{"extra", kMap, "", kAny, false, false},    // free-form additionalProperties
		{"scores", kArray, "", kNum, true, false},  // a nullable array
		{"mood", kRef, "PetMood", 0, false, false}, // an inline enum gets a model
	} {
		f := fieldOf(t, pet, c.field)
		if f.t.kind != c.kind || f.t.ref != c.ref || f.t.nullable != c.nullable || f.required != c.required {
			t.Errorf("Pet.%s: %+v (required %v), want kind %v ref %q nullable %v required %v", c.field, f.t, f.required, c.kind, c.ref, c.nullable, c.required)
		}
		if c.elem != 0 && (f.t.elem == nil || f.t.elem.kind != c.elem) {
			t.Errorf("Pet.%s: element %+v, want kind %v", c.field, f.t.elem, c.elem)
		}
	}
	if e := fieldOf(t, pet, "toys").t.elem; e.ref != "Toy" {
		t.Errorf("Pet.toys elements are %q, want Toy", e.ref)
	}
	if toy := a.model("Toy"); toy.extra == nil || toy.extra.kind != kInt {
		t.Errorf("Toy's additionalProperties: %+v, want integers beside its fields", toy.extra)
	}
	if mood := a.model("PetMood"); mood.kind != mEnum || strings.Join(mood.values, ",") != "happy,so-so,default" {
		t.Errorf("PetMood: %+v", mood)
	}

	owner := a.model("Owner")
	if owner.kind != mOneOf || owner.discriminator != "type" || len(owner.variants) != 2 ||
		owner.variants[0].tag != "person" || owner.variants[1].tag != "shelter" || owner.variants[1].t.ref != "Shelter" {
		t.Errorf("Owner: %+v", owner)
	}
	label := a.model("Label")
	if label.kind != mOneOf || label.discriminator != "" || len(label.variants) != 3 ||
		label.variants[0].t.kind != kString || label.variants[1].t.kind != kInt ||
		strings.Join(label.variants[2].required, ",") != "type,name" {
		t.Errorf("Label: %+v", label)
	}

	toys := opOf(t, a, "listToys")
	if toys.method != "GET" || len(toys.pathParams) != 1 || toys.pathParams[0].name != "petId" || !toys.secured {
		t.Errorf("listToys: %+v", toys)
	}
	if q := toys.queryParams; len(q) != 3 || q[0].name != "kind" || !q[0].required || q[0].t.ref != "ToyKind" || q[1].required || q[2].t.kind != kDateTime {
		t.Errorf("listToys query parameters: %+v", q)
	}
	if toys.result != rJSON || toys.resultType.kind != kArray || toys.resultType.elem.ref != "Toy" {
		t.Errorf("listToys result: %v %+v", toys.result, toys.resultType)
	}
	if del := opOf(t, a, "deletePet"); del.result != rNone || del.secured || del.pathParams[0].t.kind != kInt64 {
		t.Errorf("deletePet: %+v", del)
	}
	note := opOf(t, a, "putNote")
	if note.body == nil || note.bodyRequired || note.body.ref != "PutNoteRequest" || note.resultType.ref != "PutNoteResponse" {
		t.Errorf("putNote: %+v", note)
	}
	if text := fieldOf(t, a.model("PutNoteRequest"), "text"); !text.t.nullable || text.required {
		t.Errorf("PutNoteRequest.text: %+v", text)
	}
	if opOf(t, a, "feed").result != rURI || opOf(t, a, "readme").result != rText {
		t.Error("feed should build a URI (101), readme return text")
	}
}

// TestUnsupportedShapes: what the generator cannot express is an error, never a silent
// approximation.
func TestUnsupportedShapes(t *testing.T) {
	base := "openapi: 3.0.3\ninfo: {title: t, version: \"1\"}\n"
	for name, spec := range map[string]string{
		"allOf":                base + "paths: {}\ncomponents:\n  schemas:\n    A:\n      allOf:\n        - {type: object, properties: {x: {type: string}}}\n",
		"header parameter":     base + "paths:\n  /a:\n    get:\n      operationId: a\n      parameters:\n        - {name: X, in: header, schema: {type: string}}\n      responses:\n        \"204\": {description: ok}\n",
		"no operationId":       base + "paths:\n  /a:\n    get:\n      responses:\n        \"204\": {description: ok}\n",
		"discriminated string": base + "paths: {}\ncomponents:\n  schemas:\n    A:\n      oneOf:\n        - {type: string}\n      discriminator: {propertyName: kind}\n",
		"number enum":          base + "paths: {}\ncomponents:\n  schemas:\n    A:\n      type: integer\n      enum: [1, 2]\n",
	} {
		if _, err := load([]byte(spec)); err == nil {
			t.Errorf("%s: loaded without an error", name)
		}
	}
}

// The Tideline-Client header is the transport's, sent with every request: no operation
// takes it as an argument.
func TestTransportHeader(t *testing.T) {
	spec := "openapi: 3.0.3\ninfo: {title: t, version: \"1\"}\npaths:\n  /a:\n    get:\n      operationId: a\n      parameters:\n" +
		"        - {name: Tideline-Client, in: header, schema: {type: string}}\n        - {name: q, in: query, schema: {type: string}}\n" +
		"      responses:\n        \"204\": {description: ok}\n"
	a, err := load([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	if op := opOf(t, a, "a"); len(op.queryParams) != 1 || len(op.pathParams) != 0 {
		t.Fatalf("operation a: %+v", op)
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{"request_id": "requestId", "hlcClamped": "hlcClamped", "server-wins": "serverWins",
		"OKP": "okp", "Ed25519": "ed25519", "EdDSA": "edDSA", "default": "defaultValue", "name": "name", "json": "jsonValue"} {
		if got := dartMember(in); got != want {
			t.Errorf("dartMember(%q) = %q, want %q", in, got, want)
		}
	}
	if got := memberName("name", dartEnumReserved, "Value"); got != "nameValue" {
		t.Errorf("an enum value named name is %q, want nameValue", got)
	}
	for in, want := range map[string]string{"default": "`default`", "type": "type", "request_id": "requestId"} {
		if got := swiftMember(in); got != want {
			t.Errorf("swiftMember(%q) = %q, want %q", in, got, want)
		}
	}
	if got := typeName("adminListUsers"); got != "AdminListUsers" {
		t.Errorf("typeName = %q", got)
	}
}
