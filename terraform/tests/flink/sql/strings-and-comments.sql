-- PROCTIME() in a comment and GROUP BY TUMBLE( in a string are not code
INSERT INTO `${target_topic}`
SELECT user_id, 'GROUP BY TUMBLE(x) PROCTIME()' AS note FROM `${source_topic}`
