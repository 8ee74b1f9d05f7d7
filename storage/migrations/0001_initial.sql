-- Haru schema, version 1: projects, items and their pictures, workers, invites,
-- the worker's screen state and the answers.
-- Times are ISO-8601 UTC text ("2026-11-21T10:00:00.123456+00:00"), so they sort as text.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE projects (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    question   TEXT NOT NULL,
    choices    TEXT NOT NULL,              -- JSON list of "emoji words" labels, order is fixed
    overlap    INTEGER NOT NULL CHECK (overlap BETWEEN 1 AND 10),
    created_at TEXT NOT NULL
);

-- Phone-ready pictures (RGB JPEG, longest side <= 1280 px), stored once.
CREATE TABLE media (
    id          INTEGER PRIMARY KEY,
    sha256      TEXT NOT NULL UNIQUE,       -- of the stored JPEG bytes
    data        BLOB NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    tg_file_id  TEXT                        -- Telegram's id after the first upload
);

CREATE TABLE items (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER NOT NULL REFERENCES projects(id),
    kind         TEXT NOT NULL CHECK (kind IN ('image', 'text')),
    text         TEXT,
    media_id     INTEGER REFERENCES media(id),
    content_key  TEXT NOT NULL,             -- hash of the content, for "imported once"
    source       TEXT NOT NULL,             -- file name (and line) it came from
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'filled')),
    n_answers    INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    CHECK ((kind = 'image' AND media_id IS NOT NULL) OR (kind = 'text' AND text IS NOT NULL)),
    UNIQUE (project_id, content_key)
);
CREATE INDEX items_next ON items (project_id, status, id);

CREATE TABLE workers (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    tg_user_id  INTEGER UNIQUE,
    chat_id     INTEGER,
    lang        TEXT NOT NULL DEFAULT 'ko',
    tz          TEXT NOT NULL DEFAULT 'Asia/Seoul',
    batch_size  INTEGER NOT NULL DEFAULT 20 CHECK (batch_size BETWEEN 1 AND 500),
    created_at  TEXT NOT NULL,
    joined_at   TEXT
);

-- Only a hash of each invite code is kept: a copied database does not leak live links.
CREATE TABLE invites (
    code_hash   TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('worker')),
    worker_id   INTEGER REFERENCES workers(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    used_by     INTEGER
);

-- One working session ("today's work") per worker and local date.
CREATE TABLE batches (
    id          INTEGER PRIMARY KEY,
    worker_id   INTEGER NOT NULL REFERENCES workers(id),
    day         TEXT NOT NULL,               -- the worker's local date, YYYY-MM-DD
    size        INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (worker_id, day)
);

CREATE TABLE answers (
    id           INTEGER PRIMARY KEY,
    item_id      INTEGER NOT NULL REFERENCES items(id),
    worker_id    INTEGER NOT NULL REFERENCES workers(id),
    batch_id     INTEGER NOT NULL REFERENCES batches(id),
    choice       INTEGER,                    -- index into the project's choices; NULL = not sure
    not_sure     INTEGER NOT NULL DEFAULT 0 CHECK (not_sure IN (0, 1)),
    shown_at     TEXT NOT NULL,
    answered_at  TEXT NOT NULL,
    changed_at   TEXT,
    CHECK ((not_sure = 1 AND choice IS NULL) OR (not_sure = 0 AND choice IS NOT NULL)),
    UNIQUE (item_id, worker_id)
);
CREATE INDEX answers_batch ON answers (batch_id, id);

-- What is on each worker's screen. `seq` grows with every screen drawn; buttons carry it, so a
-- tap on anything but the newest screen is recognised as stale.
CREATE TABLE worker_state (
    worker_id        INTEGER PRIMARY KEY REFERENCES workers(id),
    seq              INTEGER NOT NULL DEFAULT 0,
    mode             TEXT NOT NULL DEFAULT 'idle'
                     CHECK (mode IN ('idle', 'work', 'review', 'break', 'done')),
    batch_id         INTEGER REFERENCES batches(id),
    item_id          INTEGER REFERENCES items(id),   -- item on screen (work or review)
    frontier_id      INTEGER REFERENCES items(id),   -- next unanswered item kept for the worker
    frontier_shown   TEXT,                           -- when the frontier item was first shown
    hold_until       TEXT,                           -- frontier is held from others until then
    message_id       INTEGER,
    message_kind     TEXT CHECK (message_kind IN ('photo', 'text'))
);
CREATE INDEX worker_state_hold ON worker_state (frontier_id, hold_until);
