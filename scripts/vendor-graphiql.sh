#!/usr/bin/env bash
# Re-fetches the GraphiQL assets LeadGraph serves at / (see assets/graphiql/README.md) from the
# npm registry, at the pinned versions, and checks each package tarball against its pinned
# integrity before copying the browser-ready files and their licences into assets/graphiql/.
#
# To update: change a version below and its integrity (`npm view <package>@<version>
# dist.integrity`), run this script, then `cargo test --lib graphiql` (src/graphiql.rs reads
# the versions from the vendored package.json files), and try the page in a browser
# (scripts/smoke-graphiql.sh). GraphiQL 4 and later ship ES modules only: staying on a UMD
# build (3.x) keeps the page free of an import map and a bundler.
set -euo pipefail
cd "$(dirname "$0")/.."

# package   version   tarball integrity (sha512, as the registry publishes it)
pins=(
    "graphiql  3.9.0  sha512-rJYFlHdBbug9+YbFSwRVvgfPjCayC7wHecZkx/qB4XLuQPFQZw/yB9pmHFtOJV6RiNBBHro3u1GdocKa3YcGRA=="
    "react     18.3.1 sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ=="
    "react-dom 18.3.1 sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw=="
)
# package   files taken from the tarball (package/ prefix omitted)
files_of() {
    case "$1" in
        graphiql) echo "graphiql.min.js graphiql.min.css LICENSE package.json" ;;
        react) echo "umd/react.production.min.js LICENSE package.json" ;;
        react-dom) echo "umd/react-dom.production.min.js LICENSE package.json" ;;
    esac
}

dest=assets/graphiql
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for pin in "${pins[@]}"; do
    read -r package version integrity <<<"$pin"
    tarball=$(cd "$work" && npm pack --silent "$package@$version")
    actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)"
    if [ "$actual" != "$integrity" ]; then
        echo "$package@$version: tarball integrity $actual, pinned $integrity" >&2
        exit 1
    fi
    mkdir -p "$work/$package"
    tar -xzf "$work/$tarball" -C "$work/$package"
    rm -rf "${dest:?}/$package"
    mkdir -p "$dest/$package"
    for file in $(files_of "$package"); do
        cp "$work/$package/package/$file" "$dest/$package/$(basename "$file")"
    done
    echo "$package@$version"
done

packages=$(for pin in "${pins[@]}"; do read -r package _ <<<"$pin"; echo "$package"; done)
# shellcheck disable=SC2086 # one word per package
(cd "$dest" && find $packages -type f | sort | xargs sha256sum >SHA256SUMS)
echo "updated $dest; checksums in $dest/SHA256SUMS"
