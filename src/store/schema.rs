//! The history's SQLite schema, as the migrations that build it.

/// The schema's migrations, applied in order; `PRAGMA user_version` says how
/// many have run. Never edit one that shipped: add the next.
pub(super) const MIGRATIONS: &[&str] = &[
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        prompt TEXT NOT NULL,
        system_prompt TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL DEFAULT '',
        version TEXT NOT NULL,
        device TEXT NOT NULL DEFAULT '',
        batch TEXT
    );
    CREATE TABLE outputs (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        slot INTEGER NOT NULL,
        label TEXT NOT NULL,
        model TEXT NOT NULL,
        settings TEXT NOT NULL,
        rendered_prompt TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        error TEXT,
        stats TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (run_id, slot)
    );
    CREATE INDEX runs_started ON runs(started_at);",
    // What reasoning models thought before answering.
    "ALTER TABLE outputs ADD COLUMN thinking TEXT NOT NULL DEFAULT '';",
    // Votes on comparisons (`votes.rs`): a ranking of the slots, by a person
    // or a judge model.
    "CREATE TABLE votes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        prompt_index INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        voter TEXT NOT NULL,
        tiers TEXT NOT NULL,
        all_bad INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX votes_run ON votes(run_id);",
    // A judge's verdict beside its vote: scores per criterion and its reason.
    "ALTER TABLE votes ADD COLUMN detail TEXT;",
    // Follow-up turns of a comparison (`turns.rs`); turn 0 stays in `runs`
    // and `outputs`.
    "CREATE TABLE turns (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        turn INTEGER NOT NULL,
        prompt TEXT NOT NULL,
        started_at TEXT NOT NULL,
        PRIMARY KEY (run_id, turn)
    );
    CREATE TABLE turn_outputs (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        turn INTEGER NOT NULL,
        slot INTEGER NOT NULL,
        rendered_prompt TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        thinking TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        error TEXT,
        stats TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (run_id, turn, slot)
    );",
    // A model's further samples of a prompt (`samples.rs`); sample 0 stays
    // in outputs / turn_outputs. A vote names the sample it judged.
    "CREATE TABLE samples (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        turn INTEGER NOT NULL,
        slot INTEGER NOT NULL,
        sample INTEGER NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        thinking TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        error TEXT,
        stats TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (run_id, turn, slot, sample)
    );
    ALTER TABLE votes ADD COLUMN sample INTEGER NOT NULL DEFAULT 0;",
    // Battles imported from files (`battles.rs`): FastChat's battle format,
    // each with a digest of what it says (importing twice adds nothing) and
    // where it came from; `meta` holds this history's id.
    "CREATE TABLE battles (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        digest TEXT NOT NULL UNIQUE,
        model_a TEXT NOT NULL,
        model_b TEXT NOT NULL,
        key_a TEXT NOT NULL,
        key_b TEXT NOT NULL,
        winner TEXT NOT NULL,
        tstamp REAL,
        judge TEXT,
        question_id TEXT,
        prompt TEXT,
        style TEXT,
        flagged INTEGER NOT NULL DEFAULT 0,
        vote TEXT,
        source TEXT NOT NULL,
        line INTEGER NOT NULL,
        imported_at TEXT NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
];
