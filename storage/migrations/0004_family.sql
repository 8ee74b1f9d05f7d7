-- Haru schema, version 4: guardians and what each worker agreed to share with them; the
-- coordinators' daily digest; and what was sent to guardians and coordinators on a schedule.

-- A guardian (family, caregiver) of one worker. The same Telegram account may be the guardian
-- of two workers (a parent of two): that is two rows, each seeing only its own worker.
CREATE TABLE guardians (
    id              INTEGER PRIMARY KEY,
    worker_id       INTEGER NOT NULL REFERENCES workers(id),
    name            TEXT NOT NULL,
    tg_user_id      INTEGER,
    chat_id         INTEGER,
    lang            TEXT NOT NULL DEFAULT 'ko',
    tz              TEXT NOT NULL DEFAULT 'Asia/Seoul',
    every           TEXT NOT NULL DEFAULT 'week' CHECK (every IN ('week', 'day')),
    created_at      TEXT NOT NULL,
    joined_at       TEXT,
    unreachable_at  TEXT,
    -- The worker's own choice. NULL: nothing is shared (not asked yet, not agreed, stopped).
    share           TEXT CHECK (share IN ('days', 'amount')),
    alerts          INTEGER CHECK (alerts IN (0, 1)),   -- NULL: not chosen yet
    asked_at        TEXT,                 -- the worker was asked (and may answer any time)
    consent_at      TEXT,                 -- the last time the worker chose what to share
    consent_seq     INTEGER NOT NULL DEFAULT 0,  -- grows with each choice: older buttons are stale
    shared_since    TEXT,                 -- sharing (re)started: nothing before is shown
    stopped_at      TEXT,                 -- the worker stopped sharing (until they choose again)
    next_at         TEXT,                 -- when Haru next looks at what this guardian is owed
    UNIQUE (worker_id, name)
);
CREATE INDEX guardians_tg ON guardians (tg_user_id) WHERE tg_user_id IS NOT NULL;
CREATE INDEX guardians_next ON guardians (next_at) WHERE next_at IS NOT NULL;

-- When a paused worker was resumed: days before it are not "missed".
ALTER TABLE workers ADD COLUMN resumed_at TEXT;

ALTER TABLE invites ADD COLUMN guardian_id INTEGER REFERENCES guardians(id);

-- Each coordinator's daily digest: local time (NULL: off) and time zone.
ALTER TABLE coordinators ADD COLUMN digest_at TEXT DEFAULT '18:00';
ALTER TABLE coordinators ADD COLUMN tz TEXT NOT NULL DEFAULT 'Asia/Seoul';
ALTER TABLE coordinators ADD COLUMN next_digest_at TEXT;
CREATE INDEX coordinators_digest ON coordinators (next_digest_at)
    WHERE next_digest_at IS NOT NULL;

-- Summaries, alerts and digests: at most one of each kind per recipient and period. A row is
-- written before the message goes out; one left at 'sending' by a crash may have arrived and
-- is never sent again.
CREATE TABLE sends (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('summary', 'alert', 'stopped', 'digest')),
    guardian_id     INTEGER REFERENCES guardians(id),
    coordinator_id  INTEGER REFERENCES coordinators(id),
    period          TEXT NOT NULL,        -- the day (or the week's last day) it is about
    state           TEXT NOT NULL DEFAULT 'sending'
                    CHECK (state IN ('sending', 'sent', 'blocked', 'uncertain', 'failed')),
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    error           TEXT,
    CHECK ((guardian_id IS NULL) <> (coordinator_id IS NULL))
);
CREATE UNIQUE INDEX sends_once ON sends
    (kind, coalesce(guardian_id, 0), coalesce(coordinator_id, 0), period);

-- Answers by time, for the coordinators' 14-day chart and digest.
CREATE INDEX answers_time ON answers (answered_at);
