//! GraphiQL at `/`, served entirely by LeadGraph: the page, React, GraphiQL and the boot script
//! are embedded in the binary (`assets/graphiql/`, vendored at pinned versions), so the page
//! works with no internet access. Assets live under `/graphiql/` with their version (or, for
//! LeadGraph's own files, a content hash) in the name and are cached for a year; the page itself
//! is revalidated, and its Content-Security-Policy lets it load and connect to this origin only.

use std::sync::LazyLock;

use axum::{
    Router,
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use sha2::{Digest, Sha256};

/// What the page may do: scripts, styles and connections of this origin only (`'self'` covers
/// the same host's `ws:`/`wss:` in CSP 3). GraphiQL needs inline styles (its UI libraries add
/// `<style>` elements) and `data:` fonts and images (inside its CSS); it needs no inline script
/// and no `eval`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// One embedded file and the name it is served under (`/graphiql/{file}`).
#[derive(Debug)]
pub struct Asset {
    pub file: String,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

struct Site {
    page: String,
    assets: Vec<Asset>,
}

static SITE: LazyLock<Site> = LazyLock::new(Site::build);

/// The `version` of a vendored package.json.
fn version_of(package_json: &str) -> String {
    let package: serde_json::Value =
        serde_json::from_str(package_json).expect("a vendored package.json is JSON");
    let version = package["version"]
        .as_str()
        .expect("a vendored package.json has a version");
    assert!(
        !version.is_empty()
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c)),
        "unexpected package version {version:?}"
    );
    version.to_owned()
}

/// A short hash of the content, for files that have no version of their own.
fn fingerprint(body: &[u8]) -> String {
    Sha256::digest(body)[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl Site {
    fn build() -> Self {
        let graphiql = version_of(include_str!("../assets/graphiql/graphiql/package.json"));
        let react = version_of(include_str!("../assets/graphiql/react/package.json"));
        let react_dom = version_of(include_str!("../assets/graphiql/react-dom/package.json"));
        let boot: &'static [u8] = include_bytes!("../assets/graphiql/leadgraph/boot.js");
        let page_css: &'static [u8] = include_bytes!("../assets/graphiql/leadgraph/page.css");
        let icon: &'static [u8] = include_bytes!("../assets/graphiql/leadgraph/favicon.svg");
        let asset = |file: String, content_type, body| Asset {
            file,
            content_type,
            body,
        };
        // In the order the page loads them: icon and styles, then scripts (each needs the ones
        // before it).
        let assets = vec![
            asset(format!("leadgraph-{}.svg", fingerprint(icon)), SVG, icon),
            asset(
                format!("graphiql-{graphiql}.min.css"),
                CSS,
                include_bytes!("../assets/graphiql/graphiql/graphiql.min.css"),
            ),
            asset(
                format!("leadgraph-{}.css", fingerprint(page_css)),
                CSS,
                page_css,
            ),
            asset(
                format!("react-{react}.production.min.js"),
                JAVASCRIPT,
                include_bytes!("../assets/graphiql/react/react.production.min.js"),
            ),
            asset(
                format!("react-dom-{react_dom}.production.min.js"),
                JAVASCRIPT,
                include_bytes!("../assets/graphiql/react-dom/react-dom.production.min.js"),
            ),
            asset(
                format!("graphiql-{graphiql}.min.js"),
                JAVASCRIPT,
                include_bytes!("../assets/graphiql/graphiql/graphiql.min.js"),
            ),
            asset(
                format!("leadgraph-{}.js", fingerprint(boot)),
                JAVASCRIPT,
                boot,
            ),
        ];
        // Relative URLs: the page works at the root and behind a proxy that mounts it under
        // a path prefix alike.
        let mut head = String::new();
        let mut body = String::new();
        for asset in &assets {
            if asset.content_type == SVG {
                head.push_str(&format!(
                    "    <link rel=\"icon\" type=\"{SVG}\" href=\"graphiql/{}\">\n",
                    asset.file
                ));
            } else if asset.content_type == CSS {
                head.push_str(&format!(
                    "    <link rel=\"stylesheet\" href=\"graphiql/{}\">\n",
                    asset.file
                ));
            } else {
                body.push_str(&format!(
                    "    <script src=\"graphiql/{}\"></script>\n",
                    asset.file
                ));
            }
        }
        let page = format!(
            "<!doctype html>\n\
             <html lang=\"en\">\n\
             <head>\n\
             \x20   <meta charset=\"utf-8\">\n\
             \x20   <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             \x20   <meta name=\"referrer\" content=\"no-referrer\">\n\
             \x20   <title>LeadGraph · GraphiQL</title>\n\
             {head}\
             </head>\n\
             <body>\n\
             \x20   <div id=\"graphiql\">Loading GraphiQL…</div>\n\
             \x20   <noscript>GraphiQL needs JavaScript.</noscript>\n\
             {body}\
             </body>\n\
             </html>\n"
        );
        Self { page, assets }
    }
}

/// The page's HTML.
pub fn page_html() -> &'static str {
    &SITE.page
}

/// Every file served under `/graphiql/`.
pub fn assets() -> &'static [Asset] {
    &SITE.assets
}

/// `/` (the page) and `/graphiql/{file}` (what it loads).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(page))
        .route("/graphiql/{file}", get(asset))
}

async fn page() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            // Revalidated, so a new release's asset names are picked up at once.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        page_html(),
    )
        .into_response()
}

async fn asset(Path(file): Path<String>) -> Response {
    let Some(asset) = assets().iter().find(|asset| asset.file == file) else {
        return (StatusCode::NOT_FOUND, "no such GraphiQL file").into_response();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_names_carry_the_vendored_versions() {
        let names: Vec<&str> = assets().iter().map(|a| a.file.as_str()).collect();
        for expected in [
            "graphiql-3.9.0.min.js",
            "graphiql-3.9.0.min.css",
            "react-18.3.1.production.min.js",
            "react-dom-18.3.1.production.min.js",
        ] {
            assert!(names.contains(&expected), "{expected} in {names:?}");
        }
        let boot = assets().last().unwrap();
        assert_eq!(boot.file.len(), "leadgraph-0123456789abcdef.js".len());
        assert!(boot.file.starts_with("leadgraph-") && boot.file.ends_with(".js"));
    }

    #[test]
    fn the_page_references_every_asset_in_order_and_no_inline_script() {
        let page = page_html();
        let mut from = 0;
        for asset in assets().iter().filter(|a| a.content_type == JAVASCRIPT) {
            let tag = format!("<script src=\"graphiql/{}\"></script>", asset.file);
            let at = page[from..].find(&tag).expect(&tag) + from;
            from = at + tag.len();
        }
        for asset in assets().iter().filter(|a| a.content_type == CSS) {
            assert!(page.contains(&format!("href=\"graphiql/{}\"", asset.file)));
        }
        assert_eq!(page.matches("<script").count(), 4);
        assert!(!page.contains("<style"));
    }

    #[test]
    fn names_are_unique_and_path_safe() {
        let mut names: Vec<&str> = assets().iter().map(|a| a.file.as_str()).collect();
        assert!(names.iter().all(|n| {
            n.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
        }));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), assets().len());
    }

    #[test]
    fn the_vendored_files_are_the_minified_browser_builds() {
        let body = |prefix: &str, suffix: &str| {
            let asset = assets()
                .iter()
                .find(|a| a.file.starts_with(prefix) && a.file.ends_with(suffix))
                .unwrap();
            std::str::from_utf8(asset.body).unwrap()
        };
        // UMD builds that set the globals the boot script uses.
        assert!(body("react-18", ".js").contains("@license React"));
        assert!(body("react-dom-", ".js").contains("react-dom.production.min.js"));
        let graphiql = body("graphiql-", ".js");
        assert!(graphiql.contains(".GraphiQL=t(e.React,e.ReactDOM)"));
        assert!(graphiql.contains("createFetcher"));
        assert!(graphiql.contains("graphql-transport-ws"));
        let boot = body("leadgraph-", ".js");
        assert!(boot.contains("ReactDOM.createRoot"));
        assert!(boot.contains("subscriptionUrl"));
    }
}
