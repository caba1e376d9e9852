-- Assertions over a run of seed_windowed_aggregation.yaml: DuckDB queries that must return
-- no rows. Tables: the output's final rows, and user_events as ctt sent it (with _ctt_late etc.).

-- name: windows_start_on_the_hour
SELECT * FROM user_activity_summary
WHERE window_start <> date_trunc('hour', window_start);

-- name: no_window_counts_more_than_was_sent_in_its_hour
SELECT s.user_id, s.window_start, s.event_count, count(e.user_id) AS sent_in_hour
FROM user_activity_summary s
LEFT JOIN user_events e
  ON e.user_id = s.user_id
 AND e.event_timestamp >= s.window_start
 AND e.event_timestamp < s.window_start + INTERVAL 1 HOUR
GROUP BY s.user_id, s.window_start, s.event_count
HAVING s.event_count > count(e.user_id);
