-- Skip indexes for the query API (issue 14). Upgrades a data dir in place: ADD INDEX
-- covers parts written from now on, MATERIALIZE INDEX (a mutation, run in the background)
-- builds the index of the parts already stored; a part without it is simply read.
-- - user_id, session_id: bloom filters, for the trace list and span search filters.
-- - input/output text: a token bloom filter over both, lower-cased, so a text search
--   (`q=`) reads only granules that may hold every whole word of the needle
--   (collector/queries/text.py); the exact case-insensitive match still decides.
ALTER TABLE spans ADD INDEX IF NOT EXISTS spans_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 1;
ALTER TABLE spans ADD INDEX IF NOT EXISTS spans_session_id session_id TYPE bloom_filter(0.01) GRANULARITY 1;
ALTER TABLE spans ADD INDEX IF NOT EXISTS spans_text lowerUTF8(concat(input, ' ', output)) TYPE tokenbf_v1(65536, 3, 0) GRANULARITY 1;
ALTER TABLE spans MATERIALIZE INDEX spans_user_id;
ALTER TABLE spans MATERIALIZE INDEX spans_session_id;
ALTER TABLE spans MATERIALIZE INDEX spans_text;
