-- Cache version 4: partial downloads (docs/sdk-core.md "Attachments", "download").
--   tl_downloads  the bytes a cut download kept, one file per file id (part/<file id>),
--                 resumed with Range by a later open (this process or another, also after
--                 a restart); dropped with access, by clear, and when older than
--                 core.json files.partialMaxAgeMs.
-- A row is deleted in the transaction that takes its file (renames it away): a process
-- that finds the row owns the file, so two processes never write the same bytes.

CREATE TABLE IF NOT EXISTS tl_downloads (
    file_id    TEXT    PRIMARY KEY,         -- the server's file id ("_file")
    path       TEXT    NOT NULL,            -- part/<file id>, relative to the files directory
    sha256     TEXT    NOT NULL,            -- the reference's hash: the If-Range validator
    collection TEXT    NOT NULL,            -- the document it was opened through: the
    doc_id     TEXT    NOT NULL,            -- partial goes when the user loses it
    updated_at INTEGER NOT NULL             -- unix milliseconds of the last bytes kept
);
