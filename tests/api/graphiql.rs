//! GraphiQL works offline: the page at `/` and everything it loads come from the server itself.

use reqwest::{Url, header};

use crate::support::TestApp;

/// The value of every `src="..."` and `href="..."` attribute in the page.
fn references(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in [" src=\"", " href=\""] {
        let mut rest = page;
        while let Some(at) = rest.find(attribute) {
            rest = &rest[at + attribute.len()..];
            let end = rest.find('"').expect("a closed attribute");
            found.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    found
}

/// Every `http://` or `https://` URL in a text, up to the first character that ends one.
fn absolute_urls(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for scheme in ["http://", "https://"] {
        let mut rest = text;
        while let Some(at) = rest.find(scheme) {
            rest = &rest[at..];
            let end = rest
                .find(|c: char| c.is_whitespace() || "\"'`<>()\\".contains(c))
                .unwrap_or(rest.len());
            found.push(&rest[..end]);
            rest = &rest[scheme.len()..];
        }
    }
    found
}

async fn get(app: &TestApp, url: &str) -> reqwest::Response {
    let response = app.http().get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200, "GET {url}");
    response
}

fn header_of(response: &reqwest::Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(&name)
        .unwrap_or_else(|| panic!("{name} on {}", response.url()))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn the_page_and_everything_it_loads_come_from_the_server() {
    let app = TestApp::spawn().await;
    let page_url = Url::parse(&app.url("/")).unwrap();
    let response = get(&app, page_url.as_str()).await;
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    let csp = header_of(&response, header::CONTENT_SECURITY_POLICY).to_owned();
    let page = response.text().await.unwrap();
    assert!(page.contains("<div id=\"graphiql\">"));

    let references = references(&page);
    let scripts: Vec<&String> = references.iter().filter(|r| r.ends_with(".js")).collect();
    let styles: Vec<&String> = references.iter().filter(|r| r.ends_with(".css")).collect();
    assert_eq!(
        scripts.len(),
        4,
        "React, ReactDOM, GraphiQL, boot: {references:?}"
    );
    let icons: Vec<&String> = references.iter().filter(|r| r.ends_with(".svg")).collect();
    assert_eq!(styles.len(), 2, "GraphiQL's and the page's: {references:?}");
    assert_eq!(icons.len(), 1, "the page's icon: {references:?}");
    assert_eq!(references.len(), scripts.len() + styles.len() + icons.len());

    for reference in &references {
        // Relative to the page: no scheme, no other host (`//host/...`).
        assert!(
            !reference.contains(':') && !reference.starts_with("//"),
            "{reference} is not a same-origin relative URL"
        );
        let url = page_url.join(reference).unwrap();
        assert_eq!(url.origin(), page_url.origin(), "{reference}");
        let response = get(&app, url.as_str()).await;
        let expected = match reference.rsplit('.').next() {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            _ => "image/svg+xml",
        };
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            expected,
            "{reference}"
        );
        assert_eq!(
            header_of(&response, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{reference}"
        );
        assert_eq!(
            header_of(&response, header::X_CONTENT_TYPE_OPTIONS),
            "nosniff"
        );
        let body = response.text().await.unwrap();
        assert!(body.len() > 100, "{reference} has content");
        if reference.ends_with(".svg") {
            // An SVG names its XML namespace; it loads nothing.
            assert!(!body.contains("href"), "the icon refers to nothing");
        }
        if reference.contains("leadgraph-") && reference.ends_with(".js") {
            // The boot script: endpoints from the page's own address, no absolute URL.
            assert_eq!(absolute_urls(&body), Vec::<&str>::new(), "boot script");
            assert!(body.contains("new URL('graphql', document.baseURI)"));
            assert!(body.contains("new URL('graphql/ws', document.baseURI)"));
            assert!(body.contains("isHeadersEditorEnabled: true"));
            assert!(body.contains("shouldPersistHeaders: true"));
        }
    }

    // No URL to any host at all in the page, so none to another host.
    assert_eq!(absolute_urls(&page), Vec::<&str>::new(), "page");

    // The policy lets scripts come only from this origin, never inline.
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} in {csp}"))
            .to_owned()
    };
    assert_eq!(directive("default-src"), "default-src 'none'");
    assert_eq!(directive("script-src"), "script-src 'self'");
    assert_eq!(directive("connect-src"), "connect-src 'self'");
    assert!(!page.contains("<script>"), "no inline script");
}

#[tokio::test]
async fn the_vendored_files_fetch_nothing_from_a_cdn() {
    let app = TestApp::spawn().await;
    let page_url = Url::parse(&app.url("/")).unwrap();
    let page = get(&app, page_url.as_str()).await.text().await.unwrap();
    for reference in references(&page) {
        let url = page_url.join(&reference).unwrap();
        let body = get(&app, url.as_str()).await.text().await.unwrap();
        for url in absolute_urls(&body) {
            for cdn in [
                "unpkg.com",
                "jsdelivr.net",
                "cdnjs.cloudflare.com",
                "esm.sh",
                "fonts.googleapis.com",
                "fonts.gstatic.com",
            ] {
                assert!(!url.contains(cdn), "{reference} refers to {url}");
            }
        }
        if reference.ends_with(".css") {
            // Fonts and images inside the CSS are data: URLs; nothing is imported.
            assert!(!body.contains("@import"), "{reference}");
            let mut rest = body.as_str();
            while let Some(at) = rest.find("url(") {
                rest = &rest[at + 4..];
                let target = rest.trim_start_matches(['"', '\'']);
                assert!(target.starts_with("data:"), "{reference}: url({})", {
                    &target[..target.len().min(40)]
                });
            }
        }
    }
}

#[tokio::test]
async fn unknown_graphiql_files_are_not_found() {
    let app = TestApp::spawn().await;
    for path in [
        "/graphiql/graphiql-0.0.0.min.js",
        "/graphiql/..%2FCargo.toml",
        "/graphiql/",
    ] {
        let response = app.http().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 404, "{path}");
    }
}
