//! The pages' own CSS and scripts, embedded in the binary (government
//! intranets are offline: nothing comes from a CDN). URLs carry a digest of
//! the contents, so the files may be cached for a year. Each file is also
//! served compressed (brotli or gzip, whichever the browser takes first),
//! compressed once per process at the highest setting: ECharts goes from
//! 1.1 MB to about a quarter of that.

use std::io::Write;
use std::sync::{LazyLock, OnceLock};

use crate::extract::PagePath as Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use mashangban_store::Store;

use crate::routes::Route;

/// (path under `/assets/`, content type, contents).
const FILES: &[(&str, &str, &str)] = &[
    ("css/app.css", "text/css; charset=utf-8", include_str!("../../../../assets/css/app.css")),
    ("css/cards.css", "text/css; charset=utf-8", include_str!("../../../../assets/css/cards.css")),
    ("css/card-a6.css", "text/css; charset=utf-8", include_str!("../../../../assets/css/card-a6.css")),
    ("js/dashboard.js", "text/javascript; charset=utf-8", include_str!("../../../../assets/js/dashboard.js")),
    ("js/console.js", "text/javascript; charset=utf-8", include_str!("../../../../assets/js/console.js")),
    ("js/submit.js", "text/javascript; charset=utf-8", include_str!("../../../../assets/js/submit.js")),
    ("js/approvals-live.js", "text/javascript; charset=utf-8", include_str!("../../../../assets/js/approvals-live.js")),
    (
        "js/approval-template.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../assets/js/approval-template.js"),
    ),
    (
        "js/monitoring-live.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../assets/js/monitoring-live.js"),
    ),
    ("js/track.js", "text/javascript; charset=utf-8", include_str!("../../../../assets/js/track.js")),
    ("js/forms.js", "text/javascript; charset=utf-8", include_str!("../../../../assets/js/forms.js")),
    ("js/statistics.js", "text/javascript; charset=utf-8", include_str!("../../../../assets/js/statistics.js")),
    ("js/inbox.js", "text/javascript; charset=utf-8", include_str!("../../../../assets/js/inbox.js")),
    (
        "js/direct-line-live.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../assets/js/direct-line-live.js"),
    ),
    (
        "vendor/echarts/echarts.min.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../assets/vendor/echarts/echarts.min.js"),
    ),
];

static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut digest = Sha256::new();
    for (_, _, contents) in FILES {
        digest.update(contents.as_bytes());
    }
    hex::encode(digest.finalize()).chars().take(12).collect()
});

/// The digest that asset URLs carry (`?v=`).
pub fn version() -> &'static str {
    VERSION.as_str()
}

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![Route::get("/assets/{*path}", asset).public()]
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(index) = FILES.iter().position(|(p, _, _)| *p == path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let (_, content_type, contents) = FILES[index];
    let encoding = Encoding::preferred(headers.get(header::ACCEPT_ENCODING));
    let cached = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        (header::VARY, HeaderValue::from_static("accept-encoding")),
    ];
    let Some(encoding) = encoding else {
        return (cached, contents).into_response();
    };
    let compressed = match COMPRESSED[index].get() {
        Some(compressed) => compressed,
        // The first request compresses off the async workers (ECharts at the highest settings takes a moment).
        None => match tokio::task::spawn_blocking(move || compressed(index)).await {
            Ok(compressed) => compressed,
            Err(_) => return (cached, contents).into_response(),
        },
    };
    let body = match encoding {
        Encoding::Brotli => &compressed.brotli,
        Encoding::Gzip => &compressed.gzip,
    };
    match body {
        Some(body) => (cached, [(header::CONTENT_ENCODING, encoding.token())], body.as_slice()).into_response(),
        None => (cached, contents).into_response(),
    }
}

/// A content coding the assets are served in besides the plain file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }

    /// The coding to answer in for an `Accept-Encoding` header: the one with the highest weight, brotli
    /// on a tie (it is the smaller), none when neither is accepted (`q=0` refuses a coding, `*` stands
    /// for any not named).
    fn preferred(accept: Option<&HeaderValue>) -> Option<Encoding> {
        let accept = accept.and_then(|v| v.to_str().ok())?;
        let (mut brotli, mut gzip, mut any) = (None::<f32>, None::<f32>, None::<f32>);
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let weight = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match coding.as_str() {
                "br" => brotli = Some(weight),
                "gzip" | "x-gzip" => gzip = Some(weight),
                "*" => any = Some(weight),
                _ => {}
            }
        }
        let brotli = brotli.or(any).unwrap_or(0.0);
        let gzip = gzip.or(any).unwrap_or(0.0);
        if brotli <= 0.0 && gzip <= 0.0 {
            None
        } else if brotli >= gzip {
            Some(Encoding::Brotli)
        } else {
            Some(Encoding::Gzip)
        }
    }
}

/// One file compressed in both codings (`None`: the encoder failed, the plain file is served).
struct Compressed {
    brotli: Option<Vec<u8>>,
    gzip: Option<Vec<u8>>,
}

static COMPRESSED: [OnceLock<Compressed>; FILES.len()] = [const { OnceLock::new() }; FILES.len()];

/// Compresses every file now (brotli at quality 11 takes seconds for ECharts), so that the first
/// visitor after a start does not wait for it. The server runs this beside itself at start-up.
pub fn warm() {
    (0..FILES.len()).for_each(|index| {
        compressed(index);
    });
}

fn compressed(index: usize) -> &'static Compressed {
    COMPRESSED[index].get_or_init(|| {
        let contents = FILES[index].2.as_bytes();
        Compressed { brotli: brotli(contents).ok(), gzip: gzip(contents).ok() }
    })
}

/// Quality 11 with a 4 MiB window (22 bits): done once, so the smallest file wins over speed.
fn brotli(contents: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut writer = brotli::CompressorWriter::new(Vec::with_capacity(contents.len() / 3), 64 * 1024, 11, 22);
    writer.write_all(contents)?;
    writer.flush()?;
    Ok(writer.into_inner())
}

fn gzip(contents: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut writer = flate2::write::GzEncoder::new(Vec::with_capacity(contents.len() / 3), flate2::Compression::best());
    writer.write_all(contents)?;
    writer.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn preferred(accept: &str) -> Option<Encoding> {
        Encoding::preferred(Some(&HeaderValue::from_str(accept).unwrap()))
    }

    #[test]
    fn the_coding_follows_the_browsers_weights() {
        assert_eq!(preferred("gzip, deflate, br, zstd"), Some(Encoding::Brotli));
        assert_eq!(preferred("gzip, deflate"), Some(Encoding::Gzip));
        assert_eq!(preferred("br;q=0.5, gzip;q=0.8"), Some(Encoding::Gzip));
        assert_eq!(preferred("br;q=0, gzip;q=0"), None);
        assert_eq!(preferred("identity"), None);
        assert_eq!(preferred("*"), Some(Encoding::Brotli));
        assert_eq!(preferred("*;q=0.1, br;q=0"), Some(Encoding::Gzip));
        assert_eq!(Encoding::preferred(None), None);
    }

    #[test]
    fn every_file_decompresses_to_itself() {
        use std::io::Read;
        for (index, (path, _, contents)) in FILES.iter().enumerate() {
            let compressed = compressed(index);
            let mut plain = String::new();
            let (brotli, gzip) = (compressed.brotli.as_ref().unwrap(), compressed.gzip.as_ref().unwrap());
            brotli::Decompressor::new(brotli.as_slice(), 4096).read_to_string(&mut plain).unwrap();
            assert_eq!(plain, *contents, "{path} through brotli");
            plain.clear();
            flate2::read::GzDecoder::new(gzip.as_slice()).read_to_string(&mut plain).unwrap();
            assert_eq!(plain, *contents, "{path} through gzip");
            if contents.len() > 4096 {
                assert!(brotli.len() < contents.len() / 2, "{path} compresses");
            }
        }
    }
}
