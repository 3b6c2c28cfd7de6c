-- Plain-SQL ceiling for W1 on LeadGraph's schema (lg_bench), as leadgraph_app (RLS applies): change
-- one lead's job title as the organization's owner and return what the servers return. The lead
-- event and updated_at come from the same triggers as for the servers; no audit record.
\set org random(1, 20)
\set lead random(1, 10000)
\set title random(1, 1000000)
BEGIN;
SELECT set_config('app.current_organization_id', md5('org:' || :org)::uuid::text, true),
       set_config('app.current_user_id', md5('user:' || :org || ':1')::uuid::text, true);
UPDATE leads SET job_title = 'Bench title ' || :title
 WHERE organization_id = md5('org:' || :org)::uuid AND id = md5('lead:' || :org || ':' || :lead)::uuid
RETURNING id, job_title, updated_at;
COMMIT;
