-- 0010_api: what the reporting API adds to the schema (additive only).
--
-- /reports/daily reads up to 3,700 consecutive days of one page. In
-- agg_day those rows lie wherever the daily stage wrote them (one heap
-- page per day of a page, typically), so a year costs ~365 random heap
-- visits. This covering index holds every additive measure next to the
-- key, so a series is an index-only scan over a few adjacent leaf pages
-- (measured: 9-26 ms -> 1.7 ms for a year on a loaded 2-core machine).
-- The price: agg_day's storage and the daily stage's writes roughly
-- double; the min/max columns are left out (the API does not read them).
CREATE INDEX IF NOT EXISTS agg_day_series ON agg_day (page_id, day) INCLUDE (users,
    sessions, views, bounces, duration_s, psi_samples, performance_score_n,
    performance_score_sum, lcp_ms_n, lcp_ms_sum, cls_n, cls_sum, inp_ms_n,
    inp_ms_sum, fcp_ms_n, fcp_ms_sum, ttfb_ms_n, ttfb_ms_sum);
