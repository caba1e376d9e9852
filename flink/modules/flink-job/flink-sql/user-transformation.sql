-- The seed's user_events transformation for Confluent Cloud: PROCTIME() does not
-- exist there, so processing_time is the Kafka record time ($rowtime).
CREATE TABLE `${target_topic}` AS
SELECT
  user_id,
  event_type,
  CAST(event_timestamp AS TIMESTAMP_LTZ(3)) AS event_time,
  JSON_VALUE(payload, '$.product_id') AS product_id,
  CASE
    WHEN event_type = 'purchase' THEN CAST(JSON_VALUE(payload, '$.amount') AS DECIMAL(10, 2))
    ELSE 0.0
  END AS purchase_amount,
  `$rowtime` AS processing_time
FROM `${source_topic}`
WHERE event_type IN ('purchase', 'view', 'click')
