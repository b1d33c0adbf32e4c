-- GET /api/schedule/classes pages in (start_at, id) order: each page is an index range scan.
CREATE INDEX classes_start_id ON classes (start_at, id);
