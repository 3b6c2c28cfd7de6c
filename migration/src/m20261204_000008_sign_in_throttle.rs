//! Sign-in throttling that holds across server replicas: failed attempts are counted in the
//! database, per account (organization slug and e-mail, hashed by the server) and per client
//! address. Every attempt counts as a failure when it starts — with the rows locked, so
//! concurrent guesses cannot slip past the count — and a success takes its own back. The table is global
//! (a sign-in has no tenant yet) and reachable only through two SECURITY DEFINER functions.

use sea_orm_migration::prelude::*;

use crate::{cross_tenant_functions, roles, run_sql};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
CREATE TABLE sign_in_throttle (
    -- 'account:<sha-256 of slug and e-mail>' or 'ip:<address>'
    subject text PRIMARY KEY,
    failures integer NOT NULL,
    window_started_at timestamptz NOT NULL,
    blocked_until timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE sign_in_throttle IS
    'Global on purpose (sign-ins have no tenant yet); only auth_sign_in_* functions touch it.';

-- Starts a sign-in attempt. Returns the seconds to wait when the account or the address is
-- blocked (nothing is counted then), else 0 after counting the attempt as a failure:
-- past p_free consecutive failures an account waits 1 s, then 2 s, 4 s ... up to p_max_block;
-- an address with p_ip_max failures within p_window waits until that window ends. Both rows
-- are locked (account first, then address: no deadlock) before anything is decided, so
-- concurrent attempts are counted one after the other.
CREATE FUNCTION auth_sign_in_attempt(
    p_account text, p_ip text, p_free integer, p_ip_max integer,
    p_window interval, p_max_block interval)
RETURNS double precision
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_account public.sign_in_throttle;
    v_ip public.sign_in_throttle;
    v_wait double precision;
BEGIN
    INSERT INTO public.sign_in_throttle AS t (subject, failures, window_started_at)
    VALUES ('account:' || p_account, 0, now())
    ON CONFLICT (subject) DO UPDATE SET updated_at = now()
    RETURNING * INTO v_account;
    INSERT INTO public.sign_in_throttle AS t (subject, failures, window_started_at)
    VALUES ('ip:' || p_ip, 0, now())
    ON CONFLICT (subject) DO UPDATE SET updated_at = now()
    RETURNING * INTO v_ip;

    v_wait := greatest(extract(epoch FROM v_account.blocked_until - now()),
                       extract(epoch FROM v_ip.blocked_until - now()), 0);
    IF v_wait > 0 THEN
        RETURN v_wait;
    END IF;

    UPDATE public.sign_in_throttle
    SET failures = failures + 1,
        blocked_until = CASE WHEN failures + 1 > p_free THEN now() + least(
            p_max_block,
            interval '1 second' * power(2, least(failures + 1 - p_free - 1, 30))) END
    WHERE subject = v_account.subject;

    IF v_ip.window_started_at < now() - p_window THEN
        v_ip.failures := 0;
        v_ip.window_started_at := now();
    END IF;
    UPDATE public.sign_in_throttle
    SET failures = v_ip.failures + 1,
        window_started_at = v_ip.window_started_at,
        blocked_until = CASE WHEN v_ip.failures + 1 >= p_ip_max
                             THEN v_ip.window_started_at + p_window END
    WHERE subject = v_ip.subject;

    -- Now and then, forget subjects nobody has tried for a day.
    IF random() < 0.001 THEN
        DELETE FROM public.sign_in_throttle
        WHERE updated_at < now() - interval '1 day'
          AND (blocked_until IS NULL OR blocked_until < now());
    END IF;
    RETURN 0;
END
$$;

-- A sign-in succeeded: the account's failures are forgotten and the address gets back the
-- failure its attempt was counted as.
CREATE FUNCTION auth_sign_in_succeeded(p_account text, p_ip text)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM public.sign_in_throttle WHERE subject = 'account:' || p_account;
    UPDATE public.sign_in_throttle SET failures = greatest(failures - 1, 0)
    WHERE subject = 'ip:' || p_ip;
$$;

-- The API-key lookup also returns the key's rate limit, which the server enforces.
DROP FUNCTION auth_api_key(text, text);
CREATE FUNCTION auth_api_key(p_prefix text, p_key text)
RETURNS TABLE (organization_id uuid, api_key_id uuid, user_id uuid, scopes text[],
               rate_limit_per_hour integer)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE public.api_keys k
    SET usage_count = k.usage_count + 1, last_used_at = now()
    WHERE k.prefix = p_prefix
      AND k.key_hash = sha256(convert_to(p_key, 'UTF8'))
      AND k.revoked_at IS NULL
      AND (k.expires_at IS NULL OR k.expires_at > now())
    RETURNING k.organization_id, k.id, k.created_by, k.scopes, k.rate_limit_per_hour
$$;
"#;

const SIGNATURES: [&str; 3] = [
    "auth_api_key(text, text)",
    "auth_sign_in_attempt(text, text, integer, integer, interval, interval)",
    "auth_sign_in_succeeded(text, text)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let auth = roles::AUTH;
        let sql = format!(
            "{SQL}\nGRANT SELECT, INSERT, UPDATE, DELETE ON sign_in_throttle TO {auth};\n{}",
            cross_tenant_functions(&SIGNATURES)
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let drops: String = SIGNATURES
            .iter()
            .map(|f| format!("DROP FUNCTION {f};\n"))
            .collect();
        // The API-key lookup as the previous migration left it.
        let previous = r#"
CREATE FUNCTION auth_api_key(p_prefix text, p_key text)
RETURNS TABLE (organization_id uuid, api_key_id uuid, user_id uuid, scopes text[])
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE public.api_keys k
    SET usage_count = k.usage_count + 1, last_used_at = now()
    WHERE k.prefix = p_prefix
      AND k.key_hash = sha256(convert_to(p_key, 'UTF8'))
      AND k.revoked_at IS NULL
      AND (k.expires_at IS NULL OR k.expires_at > now())
    RETURNING k.organization_id, k.id, k.created_by, k.scopes
$$;"#;
        run_sql(
            manager,
            &format!(
                "{drops}DROP TABLE sign_in_throttle;\n{previous}\n{}",
                cross_tenant_functions(&["auth_api_key(text, text)"])
            ),
        )
        .await
    }
}
