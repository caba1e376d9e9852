-- the same aggregation as a window TVF: what Confluent Cloud runs
CREATE TABLE `${target_topic}` AS
SELECT
  user_id,
  window_start,
  COUNT(*) AS event_count,
  SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchase_count
FROM TABLE(TUMBLE(TABLE `${source_topic}`, DESCRIPTOR(event_timestamp), INTERVAL '1' HOUR))
GROUP BY user_id, window_start, window_end;
