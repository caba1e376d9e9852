SET 'sql.state-ttl' = '1 h';
INSERT INTO `${target_topic}` SELECT * FROM `${source_topic}`;
