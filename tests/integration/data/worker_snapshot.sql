-- One line per table of the staged and aggregate levels: the table name and
-- the md5 of its rows, with page ids replaced by (site, path) so that two
-- databases that created their pages in different orders compare equal.
SELECT * FROM (
SELECT 'staged_ga', md5(coalesce(string_agg(r, '|' ORDER BY r), ''))
FROM (SELECT p.site || p.path || (to_jsonb(t) - 'page_id')::text r
      FROM staged_ga t JOIN page p USING (page_id)) x
UNION ALL
SELECT 'staged_psi', md5(coalesce(string_agg(r, '|' ORDER BY r), ''))
FROM (SELECT p.site || p.path || (to_jsonb(t) - 'page_id')::text r
      FROM staged_psi t JOIN page p USING (page_id)) x
UNION ALL
SELECT 'agg_hour', md5(coalesce(string_agg(r, '|' ORDER BY r), ''))
FROM (SELECT p.site || p.path || (to_jsonb(t) - 'page_id')::text r
      FROM agg_hour t JOIN page p USING (page_id)) x
UNION ALL
SELECT 'agg_interval', md5(coalesce(string_agg(r, '|' ORDER BY r), ''))
FROM (SELECT p.site || p.path || (to_jsonb(t) - 'page_id')::text r
      FROM agg_interval t JOIN page p USING (page_id)) x
UNION ALL
SELECT 'agg_day', md5(coalesce(string_agg(r, '|' ORDER BY r), ''))
FROM (SELECT p.site || p.path || (to_jsonb(t) - 'page_id')::text r
      FROM agg_day t JOIN page p USING (page_id)) x
UNION ALL
SELECT 'agg_month', md5(coalesce(string_agg(r, '|' ORDER BY r), ''))
FROM (SELECT p.site || p.path || (to_jsonb(t) - 'page_id')::text r
      FROM agg_month t JOIN page p USING (page_id)) x
UNION ALL
SELECT 'agg_year', md5(coalesce(string_agg(r, '|' ORDER BY r), ''))
FROM (SELECT p.site || p.path || (to_jsonb(t) - 'page_id')::text r
      FROM agg_year t JOIN page p USING (page_id)) x
) s ORDER BY 1;
