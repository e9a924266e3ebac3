-- Growth (issue 12 item 6): a person's own wishes, newest first, for the list that merges them
-- with the open ones (db/wishes.rs).
CREATE INDEX wishes_adopter_created ON wishes (adopted_by, created_at, id);
