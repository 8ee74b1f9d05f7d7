-- Haru schema, version 3: quality. Practice before real work, hidden gold, each item's
-- verdict (agreement, the model, or a coordinator), the review queue and 🙋 help requests.

-- Each project's rules (defaults from the quality issue).
ALTER TABLE projects ADD COLUMN threshold REAL NOT NULL DEFAULT 0.9;      -- confidence for "done"
ALTER TABLE projects ADD COLUMN max_overlap INTEGER NOT NULL DEFAULT 5;   -- then review
ALTER TABLE projects ADD COLUMN gold_every INTEGER NOT NULL DEFAULT 10;   -- 1 gold in N; 0: none
ALTER TABLE projects ADD COLUMN mastery_need INTEGER NOT NULL DEFAULT 8;  -- right answers ...
ALTER TABLE projects ADD COLUMN mastery_of INTEGER NOT NULL DEFAULT 10;   -- ... among the last N
ALTER TABLE projects ADD COLUMN judged_answers INTEGER NOT NULL DEFAULT 0; -- seen by the model
ALTER TABLE projects ADD COLUMN judged_at TEXT;

-- What an item is for: real work, hidden gold (known answer, mixed into batches), or practice
-- only. Gold and practice items never take part in the free pool (wanted = 0).
ALTER TABLE items ADD COLUMN role TEXT NOT NULL DEFAULT 'work'
    CHECK (role IN ('work', 'gold', 'practice'));
ALTER TABLE items ADD COLUMN answer INTEGER;         -- the known answer of gold and practice
-- The judgement on a work item:
--   NULL (collecting) -> more (one more worker asked) -> agreement | model | review
--   review -> reviewer | dropped (final)
ALTER TABLE items ADD COLUMN verdict TEXT
    CHECK (verdict IN ('more', 'agreement', 'model', 'review', 'reviewer', 'dropped'));
ALTER TABLE items ADD COLUMN label INTEGER;          -- the final (or current best) choice
ALTER TABLE items ADD COLUMN confidence REAL;
ALTER TABLE items ADD COLUMN review_at TEXT;         -- its place in the review queue
ALTER TABLE items ADD COLUMN review_reason TEXT
    CHECK (review_reason IN ('split', 'tie', 'few', 'unsure'));
ALTER TABLE items ADD COLUMN decided_by INTEGER REFERENCES coordinators(id);
ALTER TABLE items ADD COLUMN decided_at TEXT;
CREATE INDEX items_review ON items (review_at, id) WHERE verdict = 'review';
CREATE INDEX items_gold ON items (project_id, id) WHERE role = 'gold';

-- Practice items: imported ones (role 'practice'), and decided work items a coordinator chose
-- with "📚 Use for practice". Lower level comes first (easy items first).
CREATE TABLE practice_items (
    item_id     INTEGER PRIMARY KEY REFERENCES items(id),
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    answer      INTEGER NOT NULL,
    reason      TEXT,
    level       INTEGER NOT NULL DEFAULT 1,
    added_at    TEXT NOT NULL
);
CREATE INDEX practice_order ON practice_items (project_id, level, item_id);

-- Practice answers are kept apart from real work: an item may come round again.
CREATE TABLE practice_answers (
    id           INTEGER PRIMARY KEY,
    worker_id    INTEGER NOT NULL REFERENCES workers(id),
    item_id      INTEGER NOT NULL REFERENCES items(id),
    choice       INTEGER,                    -- NULL = not sure
    is_right     INTEGER NOT NULL CHECK (is_right IN (0, 1)),
    answered_at  TEXT NOT NULL
);
CREATE INDEX practice_answers_worker ON practice_answers (worker_id, id);

ALTER TABLE workers ADD COLUMN practiced_at TEXT;    -- passed practice (or let through)
ALTER TABLE workers ADD COLUMN practiced_how TEXT
    CHECK (practiced_how IN ('mastery', 'coordinator', 'earlier'));
-- Who already did real work before practice existed is not sent back to practice.
UPDATE workers SET practiced_at = (SELECT min(answered_at) FROM answers a
                                   WHERE a.worker_id = workers.id), practiced_how = 'earlier'
    WHERE EXISTS (SELECT 1 FROM answers a WHERE a.worker_id = workers.id);

-- The order items come in a batch: gold is slipped in among the work.
ALTER TABLE reservations ADD COLUMN rank REAL;
UPDATE reservations SET rank = item_id;
CREATE INDEX reservations_order ON reservations (batch_id, rank);

-- One coordinator at a time looks at a review item; the lease runs out on its own.
CREATE TABLE review_leases (
    item_id         INTEGER PRIMARY KEY REFERENCES items(id),
    coordinator_id  INTEGER NOT NULL REFERENCES coordinators(id),
    until           TEXT NOT NULL
);

-- 🙋: one request per worker and item; the messages coordinators got, to route replies.
CREATE TABLE help_requests (
    id          INTEGER PRIMARY KEY,
    worker_id   INTEGER NOT NULL REFERENCES workers(id),
    item_id     INTEGER NOT NULL REFERENCES items(id),
    created_at  TEXT NOT NULL,
    UNIQUE (worker_id, item_id)
);
CREATE TABLE help_messages (
    help_id         INTEGER NOT NULL REFERENCES help_requests(id),
    coordinator_id  INTEGER NOT NULL REFERENCES coordinators(id),
    chat_id         INTEGER NOT NULL,
    message_id      INTEGER NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);

-- The worker's screen gains two modes: a practice item, and its explanation.
CREATE TABLE worker_state_v3 (
    worker_id        INTEGER PRIMARY KEY REFERENCES workers(id),
    seq              INTEGER NOT NULL DEFAULT 0,
    mode             TEXT NOT NULL DEFAULT 'idle'
                     CHECK (mode IN ('idle', 'work', 'review', 'break', 'done',
                                     'practice', 'explain')),
    batch_id         INTEGER REFERENCES batches(id),
    item_id          INTEGER REFERENCES items(id),
    frontier_id      INTEGER REFERENCES items(id),
    frontier_shown   TEXT,
    hold_until       TEXT,
    message_id       INTEGER,
    message_kind     TEXT CHECK (message_kind IN ('photo', 'text'))
);
INSERT INTO worker_state_v3 SELECT worker_id, seq, mode, batch_id, item_id, frontier_id,
    frontier_shown, hold_until, message_id, message_kind FROM worker_state;
DROP TABLE worker_state;
ALTER TABLE worker_state_v3 RENAME TO worker_state;

-- Items filled before this version get their verdict when the bot next judges the project.
