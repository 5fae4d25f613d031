-- Structured knowledge base: one file per KB version, read-only once built.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE codes (
    code TEXT NOT NULL,
    system TEXT NOT NULL,
    title TEXT NOT NULL,
    billable INTEGER NOT NULL,
    kind TEXT NOT NULL,
    parent TEXT,
    chapter TEXT,
    inclusion_terms TEXT NOT NULL,
    -- PCS table codes (B00: imaging) share names with CM categories (B00: herpes).
    PRIMARY KEY (code, system)
);
CREATE INDEX codes_parent ON codes (parent, system);
CREATE TABLE notes (
    code TEXT NOT NULL,
    system TEXT NOT NULL,
    ord INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (code, system, ord)
);
CREATE TABLE index_entries (
    source_id TEXT PRIMARY KEY,
    idx TEXT NOT NULL,
    path TEXT NOT NULL,
    path_key TEXT NOT NULL,
    modifiers TEXT NOT NULL,
    code TEXT,
    see TEXT,
    see_also TEXT,
    use TEXT
);
CREATE INDEX index_entries_code ON index_entries (code);
CREATE INDEX index_entries_path ON index_entries (idx, path_key);
CREATE TABLE table_rows (
    source_id TEXT PRIMARY KEY,
    tbl TEXT NOT NULL,
    path TEXT NOT NULL,
    path_key TEXT NOT NULL,
    modifiers TEXT NOT NULL,
    cells TEXT NOT NULL
);
CREATE INDEX table_rows_path ON table_rows (tbl, path_key);
CREATE TABLE table_cells (
    source_id TEXT NOT NULL,
    col TEXT NOT NULL,
    code TEXT NOT NULL
);
CREATE INDEX table_cells_code ON table_cells (code);
CREATE TABLE guidelines (
    source_id TEXT PRIMARY KEY,
    system TEXT NOT NULL,
    section_id TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE pcs_definitions (
    source_id TEXT PRIMARY KEY,
    section TEXT NOT NULL,
    axis INTEGER NOT NULL,
    axis_title TEXT NOT NULL,
    term TEXT NOT NULL,
    definition TEXT NOT NULL,
    explanation TEXT NOT NULL,
    includes TEXT NOT NULL
);
-- Normalised phrases (titles, inclusion terms, index paths) -> code, for exact lookup.
CREATE TABLE phrases (
    phrase TEXT NOT NULL,
    code TEXT NOT NULL,
    source_id TEXT NOT NULL
);
CREATE INDEX phrases_phrase ON phrases (phrase);
-- Medicare Code Editor lists (age, sex, principal-diagnosis edits); codes without the dot.
CREATE TABLE mce_edits (
    edit_type TEXT NOT NULL,
    code_type TEXT NOT NULL,
    code TEXT NOT NULL
);
CREATE INDEX mce_edits_code ON mce_edits (code);
-- Fiscal years after the base year (the year `codes` holds): per year, every code whose
-- record differs from the base year's (added, revised, turned into a heading, or absent with
-- present = 0), cumulative from the base, so a year's code set is `codes` overlaid with its
-- rows alone. A few hundred rows a year instead of a copy of 180k codes.
CREATE TABLE code_overlay (
    year INTEGER NOT NULL,
    code TEXT NOT NULL,
    system TEXT NOT NULL,
    title TEXT NOT NULL,
    billable INTEGER NOT NULL,
    kind TEXT NOT NULL,
    parent TEXT,
    chapter TEXT,
    inclusion_terms TEXT NOT NULL,
    present INTEGER NOT NULL,
    PRIMARY KEY (year, code, system)
);
CREATE INDEX code_overlay_parent ON code_overlay (year, parent, system);
-- What each year's addenda changed, as applied (replacements of deleted codes resolved).
CREATE TABLE code_changes (
    year INTEGER NOT NULL,
    system TEXT NOT NULL,
    code TEXT NOT NULL,
    action TEXT NOT NULL,
    title TEXT NOT NULL,
    former_title TEXT,
    replaced_by TEXT NOT NULL,
    heading INTEGER NOT NULL,
    implied INTEGER NOT NULL,
    PRIMARY KEY (year, system, code)
);
-- Exact-lookup phrases of a year's added and revised titles (the base year's are in phrases).
CREATE TABLE year_phrases (
    year INTEGER NOT NULL,
    phrase TEXT NOT NULL,
    code TEXT NOT NULL,
    source_id TEXT NOT NULL
);
CREATE INDEX year_phrases_phrase ON year_phrases (year, phrase);
