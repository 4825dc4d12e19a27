-- Load 60,000 rows into an in-memory table and index them.
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, value REAL, tag TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 60000)
INSERT INTO t(name, value, tag) SELECT printf('name-%08d', x * 7919 % 60000), x * 0.5, hex(randomblob(8)) FROM c;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_tag ON t(tag);
SELECT count(*), sum(value) FROM t WHERE name > 'name-00030000';
