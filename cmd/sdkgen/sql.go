package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tideline-dev/tideline/sdk/core"
)

// coreFiles is what the SQL constants are made of: the client core's statements, its
// migrations and its settings (sdk/core: core.json, statements.sql, migrations/).
type coreFiles struct {
	statements map[string]string
	migrations []string
	settings   core.Config
}

func sdkCore() coreFiles {
	return coreFiles{statements: core.Statements, migrations: core.Migrations, settings: core.Settings}
}

func (c coreFiles) names() []string {
	names := make([]string, 0, len(c.statements))
	for n := range c.statements {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// dartSQL writes the core as Dart constants.
func dartSQL(c coreFiles) (string, error) {
	var b strings.Builder
	b.WriteString(`// GENERATED CODE - DO NOT EDIT. cmd/sdkgen writes it from sdk/core (core.json,
// statements.sql, migrations/): go generate ./cmd/sdkgen
//
// The client core's SQL and settings, as the SDK embeds them (a package cannot read files
// outside itself at run time). docs/sdk-core.md says which statement runs when.

// ignore_for_file: lines_longer_than_80_chars

/// The client core: its settings, its migrations and its named statements.
abstract final class CoreSql {
`)
	s := c.settings
	fmt.Fprintf(&b, "  /// The cache version: the number of migrations (PRAGMA user_version).\n  static const int cacheVersion = %d;\n\n", s.CacheVersion)
	fmt.Fprintf(&b, "  /// The oldest SQLite the core runs on, checked at open.\n  static const String sqliteMinimum = %s;\n\n", dartString(s.SQLite.Minimum))
	fmt.Fprintf(&b, "  /// The SQLite version the core is pinned to (the newest of its test matrix).\n  static const String sqlitePinned = %s;\n\n", dartString(s.SQLite.Pinned))
	fmt.Fprintf(&b, "  /// The most mutations one push sends.\n  static const int pushMaxMutations = %d;\n\n", s.Push.MaxMutations)
	fmt.Fprintf(&b, "  /// The byte budget of one push.\n  static const int pushMaxBytes = %d;\n\n", s.Push.MaxBytes)
	fmt.Fprintf(&b, "  /// The most changes one pull asks for.\n  static const int pullLimit = %d;\n\n", s.Pull.Limit)
	fmt.Fprintf(&b, "  /// The download cache's default limit in bytes (unpinned files).\n  static const int filesCacheBytes = %d;\n\n", s.Files.CacheBytes)
	fmt.Fprintf(&b, "  /// How long a cut download's bytes are kept without being resumed (milliseconds).\n  static const int filesPartialMaxAgeMs = %d;\n\n", s.Files.PartialMaxAgeMs)
	b.WriteString("  /// The migrations: migrations[i] brings a cache from version i to version i + 1.\n  static const List<String> migrations = [\n")
	for i, m := range c.migrations {
		lit, err := dartRaw(m)
		if err != nil {
			return "", fmt.Errorf("migration %d: %w", i+1, err)
		}
		fmt.Fprintf(&b, "    %s,\n", lit)
	}
	b.WriteString("  ];\n")
	for _, n := range c.names() {
		lit, err := dartRaw(c.statements[n])
		if err != nil {
			return "", fmt.Errorf("statement %s: %w", n, err)
		}
		fmt.Fprintf(&b, "\n  /// The statement %s.\n  static const String %s = %s;\n", n, memberName(n, dartReserved, "Sql"), lit)
	}
	b.WriteString("\n  /// Every statement, by its name in statements.sql.\n  static const Map<String, String> statements = {\n")
	for _, n := range c.names() {
		fmt.Fprintf(&b, "    %s: %s,\n", dartString(n), memberName(n, dartReserved, "Sql"))
	}
	b.WriteString("  };\n}\n")
	return b.String(), nil
}

// dartRaw is s as a raw multi-line Dart string.
func dartRaw(s string) (string, error) {
	if strings.Contains(s, "'''") {
		return "", fmt.Errorf("holds ''', which a raw Dart string cannot")
	}
	return "r'''\n" + s + "'''", nil
}

// swiftSQL writes the core as Swift constants.
func swiftSQL(c coreFiles) (string, error) {
	var b strings.Builder
	b.WriteString(`// GENERATED CODE - DO NOT EDIT. cmd/sdkgen writes it from sdk/core (core.json,
// statements.sql, migrations/): go generate ./cmd/sdkgen
//
// The client core's SQL and settings, as the SDK embeds them. docs/sdk-core.md says which
// statement runs when.

/// The client core: its settings, its migrations and its named statements.
public enum CoreSQL {
`)
	s := c.settings
	fmt.Fprintf(&b, "    /// The cache version: the number of migrations (PRAGMA user_version).\n    public static let cacheVersion = %d\n", s.CacheVersion)
	fmt.Fprintf(&b, "    /// The oldest SQLite the core runs on, checked at open.\n    public static let sqliteMinimum = %s\n", strconv.Quote(s.SQLite.Minimum))
	fmt.Fprintf(&b, "    /// The SQLite version the core is pinned to (the newest of its test matrix).\n    public static let sqlitePinned = %s\n", strconv.Quote(s.SQLite.Pinned))
	fmt.Fprintf(&b, "    /// The most mutations one push sends.\n    public static let pushMaxMutations = %d\n", s.Push.MaxMutations)
	fmt.Fprintf(&b, "    /// The byte budget of one push.\n    public static let pushMaxBytes = %d\n", s.Push.MaxBytes)
	fmt.Fprintf(&b, "    /// The most changes one pull asks for.\n    public static let pullLimit = %d\n", s.Pull.Limit)
	fmt.Fprintf(&b, "    /// The download cache's default limit in bytes (unpinned files).\n    public static let filesCacheBytes = %d\n", s.Files.CacheBytes)
	fmt.Fprintf(&b, "    /// How long a cut download's bytes are kept without being resumed (milliseconds).\n    public static let filesPartialMaxAgeMs = %d\n", s.Files.PartialMaxAgeMs)
	b.WriteString("\n    /// The migrations: migrations[i] brings a cache from version i to version i + 1.\n    public static let migrations: [String] = [\n")
	for i, m := range c.migrations {
		lit, err := swiftRaw(m)
		if err != nil {
			return "", fmt.Errorf("migration %d: %w", i+1, err)
		}
		fmt.Fprintf(&b, "        %s,\n", lit)
	}
	b.WriteString("    ]\n")
	for _, n := range c.names() {
		lit, err := swiftRaw(c.statements[n])
		if err != nil {
			return "", fmt.Errorf("statement %s: %w", n, err)
		}
		fmt.Fprintf(&b, "\n    /// The statement %s.\n    public static let %s = %s\n", n, swiftMember(n), lit)
	}
	b.WriteString("\n    /// Every statement, by its name in statements.sql.\n    public static let statements: [String: String] = [\n")
	for _, n := range c.names() {
		fmt.Fprintf(&b, "        %s: %s,\n", strconv.Quote(n), swiftMember(n))
	}
	b.WriteString("    ]\n}\n")
	return b.String(), nil
}

// swiftRaw is s as a multi-line Swift string literal, its lines at column 0 so that the
// closing delimiter strips no indentation; a backslash is escaped, so the text is s
// exactly. (Not a raw string #"""...""": the Swift grammar of the syntax check misreads
// files with many of them.)
func swiftRaw(s string) (string, error) {
	if strings.Contains(s, `"""`) {
		return "", fmt.Errorf(`holds """, which a multi-line Swift string cannot`)
	}
	return "\"\"\"\n" + strings.ReplaceAll(strings.TrimRight(s, "\n"), `\`, `\\`) + "\n\"\"\"", nil
}
