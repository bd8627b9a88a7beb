// Package sync is Tideline's offline-first delta sync: clients push ordered batches of
// mutations and get a receipt for each (applied, merged, rejected, conflict); they pull
// the changes of the buckets they may read, in sequence order, from an opaque cursor.
//
// Documents are state-based CRDTs (crdt.go): each top-level field is last-writer-wins by
// hybrid logical clock, commutative operations (inc, max, min, set add/remove) merge
// exactly, and the same mutations applied in any order give the same document. The
// Service holds the rules; Store is what each storage engine implements: commit documents
// each only if its version is still the one read, give each change a number from one
// gap-free sequence, and scan a bucket's changes up to the watermark. See
// docs/sync-protocol.md.
//
// Code that also needs the standard library's sync imports this package as datasync.
package sync
