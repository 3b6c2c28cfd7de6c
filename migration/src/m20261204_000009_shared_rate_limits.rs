//! Request rate limits shared by the server replicas. Each replica admits requests out of what
//! it was granted (no statement per request) and, about once a second while it serves, reports
//! what it used and is granted its share of what each bucket has left (see
//! `src/admission/rate.rs`). The tables are global (a bucket is an API
//! key's or a user's, named by id only), UNLOGGED (after a crash every bucket starts full), and
//! reachable only through one SECURITY DEFINER function.

use sea_orm_migration::prelude::*;

use crate::{cross_tenant_functions, roles, run_sql};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
CREATE UNLOGGED TABLE rate_limit_buckets (
    -- 'key:<api key id>' or 'user:<user id>'
    bucket text PRIMARY KEY,
    -- GCRA's theoretical arrival time: the bucket is full again then. Each request used, and
    -- each one granted to a replica but not yet used, moves it one interval (window / limit).
    tat timestamptz NOT NULL,
    interval_us bigint NOT NULL CHECK (interval_us > 0),
    window_us bigint NOT NULL CHECK (window_us > 0)
);
CREATE INDEX rate_limit_buckets_tat ON rate_limit_buckets (tat);
COMMENT ON TABLE rate_limit_buckets IS
    'Global on purpose (shared by replicas); only rate_limit_sync touches it.';

CREATE UNLOGGED TABLE rate_limit_replicas (
    replica uuid PRIMARY KEY,
    seen_at timestamptz NOT NULL
);
COMMENT ON TABLE rate_limit_replicas IS
    'Server processes that shared their use lately; only rate_limit_sync touches it.';

-- One replica's turn. For each of its buckets p_net[i] is what it used beyond its last grant
-- (negative: the unused rest, given back); when p_want[i] it is granted its share (by the
-- replicas live within p_live) of what the bucket has left, which is counted as used until
-- it comes back. Returns each bucket's grant and how far its TAT then lies ahead of now.
-- Grants come out of one bucket row at a time, locked, in name order (no deadlock between
-- replicas), so together they never exceed the limit.
CREATE FUNCTION rate_limit_sync(
    p_replica uuid, p_live interval, p_buckets text[], p_net bigint[], p_want boolean[],
    p_interval_us bigint[], p_window_us bigint[])
RETURNS TABLE (name text, granted bigint, ahead_us bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_replicas bigint;
    v_in record;
    v_step interval;
    v_tat timestamptz;
    v_left bigint;
BEGIN
    INSERT INTO public.rate_limit_replicas AS r (replica, seen_at) VALUES (p_replica, now())
    ON CONFLICT ON CONSTRAINT rate_limit_replicas_pkey DO UPDATE SET seen_at = now();
    SELECT count(*) INTO v_replicas
    FROM public.rate_limit_replicas r WHERE r.seen_at > now() - p_live;

    FOR v_in IN
        SELECT u.bucket, u.net, u.want, u.interval_us, u.window_us
        FROM unnest(p_buckets, p_net, p_want, p_interval_us, p_window_us)
             AS u(bucket, net, want, interval_us, window_us)
        ORDER BY u.bucket
    LOOP
        v_step := v_in.interval_us * interval '1 microsecond';
        INSERT INTO public.rate_limit_buckets AS b (bucket, tat, interval_us, window_us)
        VALUES (v_in.bucket, now(), v_in.interval_us, v_in.window_us)
        ON CONFLICT ON CONSTRAINT rate_limit_buckets_pkey DO UPDATE
        SET interval_us = excluded.interval_us, window_us = excluded.window_us
        RETURNING b.tat INTO v_tat;
        -- A bucket is never fuller than full.
        v_tat := greatest(greatest(v_tat, now()) + v_in.net * v_step, now());
        v_left := greatest(floor(extract(epoch FROM
                      now() + v_in.window_us * interval '1 microsecond' - v_tat)
                      * 1000000 / v_in.interval_us), 0);
        granted := CASE WHEN v_in.want THEN ceil(v_left::numeric / greatest(v_replicas, 1))
                        ELSE 0 END;
        v_tat := v_tat + granted * v_step;
        UPDATE public.rate_limit_buckets b SET tat = v_tat WHERE b.bucket = v_in.bucket;
        name := v_in.bucket;
        ahead_us := (extract(epoch FROM v_tat - now()) * 1000000)::bigint;
        RETURN NEXT;
    END LOOP;

    DELETE FROM public.rate_limit_buckets b WHERE b.tat < now() - interval '1 minute';
    DELETE FROM public.rate_limit_replicas r WHERE r.seen_at < now() - interval '1 hour';
END
$$;
"#;

const SIGNATURES: [&str; 1] =
    ["rate_limit_sync(uuid, interval, text[], bigint[], boolean[], bigint[], bigint[])"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let auth = roles::AUTH;
        let sql = format!(
            "{SQL}\nGRANT SELECT, INSERT, UPDATE, DELETE ON rate_limit_buckets, rate_limit_replicas \
             TO {auth};\n{}",
            cross_tenant_functions(&SIGNATURES)
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP FUNCTION rate_limit_sync(uuid, interval, text[], bigint[], boolean[], bigint[], bigint[]);
             DROP TABLE rate_limit_buckets, rate_limit_replicas;",
        )
        .await
    }
}
