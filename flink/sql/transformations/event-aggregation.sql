-- The seed's event-aggregation: per-user activity in tumbling event-time windows.
-- Rendered by ctt (Jinja2, sandboxed, strict) with the params of the spec that runs it:
--   source          the table of events (user_id, event_type, and the event-time column)
--   sink            the table this statement creates
--   time_column     the event-time column of `source`
--   window          the window size as a Flink interval, e.g. '1' HOUR or '30' MINUTE
--   event_types     the event types that count (a list)
-- specs/templated_event_aggregation.yaml runs it; a change here selects that spec's suite.
CREATE TABLE {{ sink }} AS
SELECT
  user_id,
  window_start,
  window_end,
  COUNT(*) AS event_count,
  SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchase_count
FROM TABLE(TUMBLE(TABLE {{ source }}, DESCRIPTOR({{ time_column }}), INTERVAL {{ window }}))
WHERE event_type IN ({% for t in event_types %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %})
GROUP BY user_id, window_start, window_end;
