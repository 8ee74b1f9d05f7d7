-- Haru schema, version 2: each worker's daily schedule, the day's batch reserved for them,
-- what the bot has to send (and what it sent), and coordinators.

-- The schedule. Days are 0 = Monday .. 6 = Sunday, comma-separated; times are local "HH:MM".
ALTER TABLE workers ADD COLUMN days TEXT NOT NULL DEFAULT '0,1,2,3,4';
ALTER TABLE workers ADD COLUMN start_at TEXT NOT NULL DEFAULT '10:00';
ALTER TABLE workers ADD COLUMN reminder_at TEXT;          -- NULL: no reminder (the default)
ALTER TABLE workers ADD COLUMN paused_at TEXT;            -- set: no batches, no reminders
ALTER TABLE workers ADD COLUMN unreachable_at TEXT;       -- set: the worker blocked the bot
ALTER TABLE workers ADD COLUMN next_due_at TEXT;          -- when their next batch is due (UTC)
CREATE INDEX workers_due ON workers (next_due_at) WHERE next_due_at IS NOT NULL;

-- How many answers each item wants (the project's overlap when imported; review may ask for
-- more), and how many hands have it reserved in a day's batch right now.
ALTER TABLE items ADD COLUMN wanted INTEGER NOT NULL DEFAULT 1;
ALTER TABLE items ADD COLUMN n_reserved INTEGER NOT NULL DEFAULT 0;
UPDATE items SET wanted = (SELECT overlap FROM projects p WHERE p.id = items.project_id);
-- Only items that can still take a hand: choosing a batch never steps over full ones. (Written
-- "wanted > ..." because SQLite turns "a + b < c" around, and then a query would not match.)
CREATE INDEX items_free ON items (project_id, id)
    WHERE status = 'open' AND wanted > n_answers + n_reserved;
-- Which items come next is items_free's job now; the project's other lookups use the
-- (project_id, content_key) index.
DROP INDEX items_next;

-- A batch lasts until the end of the worker's local day; then what is left goes back.
ALTER TABLE batches ADD COLUMN ends_at TEXT;
ALTER TABLE batches ADD COLUMN started_at TEXT;           -- the first item was shown
ALTER TABLE batches ADD COLUMN scheduled INTEGER NOT NULL DEFAULT 0;  -- made by the schedule
-- Every worker so far was on Asia/Seoul (UTC+9): their day ends at 15:00 UTC.
UPDATE batches SET ends_at = day || 'T15:00:00+00:00';

-- An item reserved for one worker's batch. Answering it, or the end of the day, frees it.
CREATE TABLE reservations (
    worker_id  INTEGER NOT NULL REFERENCES workers(id),
    item_id    INTEGER NOT NULL REFERENCES items(id),
    batch_id   INTEGER NOT NULL REFERENCES batches(id),
    until      TEXT NOT NULL,
    PRIMARY KEY (worker_id, item_id)
) WITHOUT ROWID;
CREATE INDEX reservations_batch ON reservations (batch_id, item_id);
CREATE INDEX reservations_until ON reservations (until);

-- A worker's recent answers, newest first (their pace; later their hours).
CREATE INDEX answers_worker ON answers (worker_id, id);

-- Holds of one item on screen are replaced by the day's reservations.
DROP INDEX worker_state_hold;

CREATE TABLE coordinators (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    tg_user_id      INTEGER UNIQUE,
    chat_id         INTEGER,
    lang            TEXT NOT NULL DEFAULT 'ko',
    created_at      TEXT NOT NULL,
    joined_at       TEXT,
    unreachable_at  TEXT
);

-- Invites for every role (a table rebuild: SQLite cannot change a CHECK in place).
CREATE TABLE invites_v2 (
    code_hash       TEXT PRIMARY KEY,
    role            TEXT NOT NULL CHECK (role IN ('worker', 'coordinator', 'guardian')),
    worker_id       INTEGER REFERENCES workers(id),
    coordinator_id  INTEGER REFERENCES coordinators(id),
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT,
    used_by         INTEGER
);
INSERT INTO invites_v2 (code_hash, role, worker_id, created_at, expires_at, used_at, used_by)
    SELECT code_hash, role, worker_id, created_at, expires_at, used_at, used_by FROM invites;
DROP TABLE invites;
ALTER TABLE invites_v2 RENAME TO invites;

-- What the bot has to send on its own, at most once each: the day's batch message, the
-- optional reminder, and alerts to coordinators.
--   due -> sending -> sent | blocked | uncertain (may have arrived: never sent twice)
--   due -> dropped (no longer wanted: paused, started already, the day is over) | failed
CREATE TABLE notices (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('batch', 'reminder', 'unreachable')),
    worker_id       INTEGER NOT NULL REFERENCES workers(id),   -- whom it is for, or about
    coordinator_id  INTEGER REFERENCES coordinators(id),       -- the recipient of an alert
    batch_id        INTEGER REFERENCES batches(id),
    due_at          TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'due' CHECK (state IN
                    ('due', 'sending', 'sent', 'blocked', 'uncertain', 'dropped', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    seq             INTEGER,                                   -- the screen it draws
    message_id      INTEGER,
    error           TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE UNIQUE INDEX notices_once ON notices (kind, batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX notices_due ON notices (state, due_at);
