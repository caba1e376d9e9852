-- the seed's user_events_transformed, as written: PROCTIME() is Apache Flink only
CREATE TABLE user_events_transformed AS
SELECT
  user_id,
  event_type,
  CAST(event_timestamp AS TIMESTAMP_LTZ(3)) as event_time,
  JSON_VALUE(payload, '$.product_id') as product_id,
  PROCTIME() as processing_time
FROM ${source_topic}
WHERE event_type IN ('purchase', 'view', 'click');
