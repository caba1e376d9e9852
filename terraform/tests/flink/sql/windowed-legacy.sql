-- the seed's windowed_aggregation, as written (Apache Flink legacy group window)
CREATE TABLE user_activity_summary AS
SELECT
  user_id,
  TUMBLE_START(event_timestamp, INTERVAL '1' HOUR) as window_start,
  COUNT(*) as event_count,
  SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) as purchase_count
FROM ${source_topic}
GROUP BY user_id, TUMBLE(event_timestamp, INTERVAL '1' HOUR);
