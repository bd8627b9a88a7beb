package sync

import "slices"

// collSet is a set of collections: exactly names, or (all) every collection except names.
// Cursor tracks use it to say which collections they cover.
type collSet struct {
	all   bool
	names []string // sorted
}

// setOf is the set a pull's collections ask for: none means all.
func setOf(collections []string) collSet {
	if len(collections) == 0 {
		return collSet{all: true}
	}
	return collSet{names: sortedUnique(collections)}
}

func sortedUnique(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

func (a collSet) empty() bool { return !a.all && len(a.names) == 0 }

func (a collSet) has(c string) bool { return a.all != slices.Contains(a.names, c) }

func (a collSet) intersect(b collSet) collSet {
	switch {
	case a.all && b.all:
		return collSet{all: true, names: union(a.names, b.names)}
	case a.all:
		return collSet{names: minus(b.names, a.names)}
	case b.all:
		return collSet{names: minus(a.names, b.names)}
	}
	return collSet{names: inter(a.names, b.names)}
}

func (a collSet) union(b collSet) collSet {
	switch {
	case a.all && b.all:
		return collSet{all: true, names: inter(a.names, b.names)}
	case a.all:
		return collSet{all: true, names: minus(a.names, b.names)}
	case b.all:
		return collSet{all: true, names: minus(b.names, a.names)}
	}
	return collSet{names: union(a.names, b.names)}
}

func (a collSet) minus(b collSet) collSet {
	return a.intersect(collSet{all: !b.all, names: b.names})
}

func union(a, b []string) []string { return sortedUnique(append(slices.Clone(a), b...)) }

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func inter(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
