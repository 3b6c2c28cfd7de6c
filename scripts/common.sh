# Sourced by the scripts (run from the repository root): the settings the user made win.

# .env from .env.example on the first run, with a fresh signing key (the example's is only a
# placeholder).
ensure_env_file() {
    [ -f .env ] && return
    cp .env.example .env
    local secret
    secret=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=' | head -c 64)
    sed -i "s|^JWT_SECRET=.*|JWT_SECRET=$secret|" .env
    echo "created .env from .env.example" >&2
}

# A setting: the environment's value, else the last one .env gives (quotes removed).
setting() {
    local name=$1
    if [ -n "${!name:-}" ]; then
        echo "${!name}"
    elif [ -f .env ]; then
        sed -n "s/^$name=//p" .env | tail -n 1 | sed 's/^"\(.*\)"$/\1/'
    fi
}

# A superuser URL: ADMIN_DATABASE_URL when set, else local PostgreSQL (see ensure-postgres.sh).
admin_database_url() {
    scripts/ensure-postgres.sh "$(setting ADMIN_DATABASE_URL)" | tail -n 1
}

# Where cargo puts its builds, wherever CARGO_TARGET_DIR or a config's target-dir points.
target_dir() {
    cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'
}
