-- Haru schema, version 5: a project's items in id order, for its judge (review/service.py),
-- which reads a project a stretch of items at a time, each in a short read, and must find
-- the next stretch without stepping over other projects' items. Neither column ever changes,
-- so a worker's answer does not touch this index.
CREATE INDEX items_project ON items (project_id, id);
