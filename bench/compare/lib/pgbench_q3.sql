-- Plain-SQL ceiling for Q3 on LeadGraph's schema (lg_bench), as leadgraph_app (RLS applies): Q1's
-- statement from the keyset position after the organization's 5,000th lead (score desc, id desc).
-- run.sh keeps each organization's position in bench_ceiling.q3_after (a one-row lookup by key in
-- the same statement, where a server would decode its cursor).
\set org random(1, 20)
BEGIN;
SELECT set_config('app.current_organization_id', md5('org:' || :org)::uuid::text, true),
       set_config('app.current_user_id', md5('user:' || :org || ':5')::uuid::text, true);
SELECT l.id, l.first_name, l.last_name, l.email, l.status, l.score,
       c.name AS company_name, c.domain AS company_domain,
       u.full_name AS assigned_user_full_name,
       ARRAY(SELECT ROW(a.kind, a.subject, a.created_at)
               FROM activities a
              WHERE a.organization_id = l.organization_id AND a.lead_id = l.id
              ORDER BY a.created_at DESC, a.id DESC
              LIMIT 5) AS activities
  FROM leads l
  LEFT JOIN companies c ON c.organization_id = l.organization_id AND c.id = l.company_id
  LEFT JOIN users u ON u.organization_id = l.organization_id AND u.id = l.assigned_to_id
 WHERE l.organization_id = md5('org:' || :org)::uuid AND l.deleted_at IS NULL
   AND (l.score, l.id) < (SELECT p.score, p.id FROM bench_ceiling.q3_after p WHERE p.org = :org)
 ORDER BY l.score DESC, l.id DESC
 LIMIT 50;
COMMIT;
