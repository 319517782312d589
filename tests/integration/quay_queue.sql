-- quay_queue.sql — Quay's queue table and its protocol in SQL, for the tests that need a
-- Quay-shaped database (pg.sh's pg_queue_table loads it).
--
-- The table is data/database.py's QueueItem as quay-facts.md gives it ("Queues and workers"),
-- with the model's indexes; Quay's code supplies every value, so the table has no defaults.
-- The functions do what data/queue.py's WorkQueue does, statement for statement, so a test
-- can play Quay's producer and a worker without Quay:
--   qi_put(queue_name, body, retries_remaining = 5, available_after_s = 0) -> id   (put)
--   qi_claim(id) -> bool          (_attempt_to_claim_item: one row updated = claimed)
--   qi_complete(id)               (complete: the row is deleted)
--   qi_incomplete(id, retry_after_s = 300, restore_retry = false)   (incomplete)
CREATE TABLE queueitem (
    id serial PRIMARY KEY,
    queue_name varchar(1024) NOT NULL,
    body text NOT NULL,
    available_after timestamp without time zone NOT NULL,
    available boolean NOT NULL,
    processing_expires timestamp without time zone,
    retries_remaining integer NOT NULL,
    state_id varchar(255) NOT NULL
);
CREATE INDEX queueitem_queue_name ON queueitem (queue_name);
CREATE UNIQUE INDEX queueitem_state_id ON queueitem (state_id);
CREATE INDEX queueitem_processing_expires_available ON queueitem (processing_expires, available);
CREATE INDEX queueitem_pe_queue_name_available ON queueitem (processing_expires, queue_name, available);
CREATE INDEX queueitem_pe_aa_rr_available ON queueitem (processing_expires, available_after, retries_remaining, available);
CREATE INDEX queueitem_pe_aa_qn_rr_available ON queueitem
    (processing_expires, available_after, queue_name, retries_remaining, available);

CREATE FUNCTION qi_put(name text, message text, retries integer DEFAULT 5, after_s double precision DEFAULT 0)
RETURNS integer LANGUAGE sql AS $$
    INSERT INTO queueitem (queue_name, body, retries_remaining, available_after, available, state_id)
    VALUES (name, message, retries, (now() AT TIME ZONE 'utc') + make_interval(secs => after_s), true,
            gen_random_uuid()::text)
    RETURNING id
$$;

CREATE FUNCTION qi_claim(item integer, processing_s double precision DEFAULT 300) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    current_state text;
    changed integer;
BEGIN
    SELECT state_id INTO current_state FROM queueitem WHERE id = item;
    UPDATE queueitem SET available = false,
        processing_expires = (now() AT TIME ZONE 'utc') + make_interval(secs => processing_s),
        retries_remaining = retries_remaining - 1, state_id = gen_random_uuid()::text
    WHERE id = item AND state_id = current_state;
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed = 1;
END
$$;

CREATE FUNCTION qi_complete(item integer) RETURNS void LANGUAGE sql AS $$
    DELETE FROM queueitem WHERE id = item
$$;

CREATE FUNCTION qi_incomplete(item integer, retry_after_s double precision DEFAULT 300,
                              restore_retry boolean DEFAULT false) RETURNS void LANGUAGE sql AS $$
    UPDATE queueitem SET available_after = (now() AT TIME ZONE 'utc') + make_interval(secs => retry_after_s),
        available = true,
        retries_remaining = retries_remaining + CASE WHEN restore_retry THEN 1 ELSE 0 END,
        state_id = gen_random_uuid()::text
    WHERE id = item
$$;
