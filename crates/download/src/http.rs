//! HTTP(S) requests for the downloader, through `ureq` (blocking HTTP/1.1; TLS by rustls).

use std::io::Read;
use std::time::Duration;

use crate::error::DownloadError;

/// Why a request did not produce a usable response.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The host could not be reached at all; retrying soon will not help.
    Offline(String),
    /// The connection broke or stalled; worth retrying (resuming).
    Dropped(String),
    /// A final answer (404, 416, other status, bad URL, no TLS).
    Fatal(DownloadError),
}

/// A successful response (2xx) with its body not yet read.
pub(crate) struct Response {
    pub status: u16,
    pub content_length: Option<u64>,
    /// `Content-Range: bytes start-end/total` → (start, total).
    pub content_range: Option<(u64, Option<u64>)>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body: Box<dyn Read + Send>,
}

/// A configured HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    agent: ureq::Agent,
}

impl Http {
    pub fn new(connect_timeout: Duration, read_timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_resolve(Some(connect_timeout))
            .timeout_connect(Some(connect_timeout))
            .timeout_recv_response(Some(read_timeout))
            // Idle timeout between reads: a stalled connection counts as dropped (and resumes).
            .timeout_per_read(Some(read_timeout))
            .max_redirects(10)
            .user_agent(concat!("florence2-mobile/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
        }
    }

    /// `HEAD url`: the file's size, when the server states it.
    pub fn size_of(&self, url: &str) -> Result<Option<u64>, Failure> {
        check_scheme(url)?;
        let response = self.agent.head(url).call().map_err(|e| classify(url, e))?;
        check_status(url, response.status().as_u16(), 0)?;
        Ok(header_u64(response.headers(), "content-length"))
    }

    /// `GET url`, from byte `from` (with `Range`, and `If-Range` when a validator is known).
    pub fn get(&self, url: &str, from: u64, validator: Option<&str>) -> Result<Response, Failure> {
        check_scheme(url)?;
        let mut request = self.agent.get(url);
        if from > 0 {
            request = request.header("Range", format!("bytes={from}-"));
            if let Some(v) = validator {
                request = request.header("If-Range", v);
            }
        }
        let response = request.call().map_err(|e| classify(url, e))?;
        let status = response.status().as_u16();
        check_status(url, status, from)?;
        let headers = response.headers();
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_range = text("content-range").and_then(|v| parse_content_range(&v));
        let content_length = header_u64(headers, "content-length");
        let etag = text("etag");
        let last_modified = text("last-modified");
        let body = response.into_body().into_with_config().reader();
        Ok(Response {
            status,
            content_length,
            content_range,
            etag,
            last_modified,
            body: Box::new(body),
        })
    }
}

fn check_scheme(url: &str) -> Result<(), Failure> {
    if url.starts_with("https://") && !cfg!(feature = "https") {
        return Err(Failure::Fatal(DownloadError::TlsUnavailable {
            url: url.to_string(),
        }));
    }
    Ok(())
}

fn check_status(url: &str, status: u16, from: u64) -> Result<(), Failure> {
    let url = url.to_string();
    match status {
        200..=299 => Ok(()),
        404 | 410 => Err(Failure::Fatal(DownloadError::NotFound { url })),
        416 => Err(Failure::Fatal(DownloadError::RangeNotSatisfiable {
            url,
            offset: from,
        })),
        // Server-side trouble and throttling are worth a retry.
        500..=599 | 408 | 429 => Err(Failure::Dropped(format!("HTTP {status}"))),
        _ => Err(Failure::Fatal(DownloadError::Http { url, status })),
    }
}

fn header_u64(headers: &ureq::http::HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `bytes 100-199/1000` → `(100, Some(1000))`; `bytes 100-199/*` → `(100, None)`.
pub(crate) fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start.trim().parse().ok()?, total))
}

fn classify(url: &str, error: ureq::Error) -> Failure {
    use ureq::Error as E;
    match error {
        E::HostNotFound | E::ConnectionFailed => Failure::Offline(error.to_string()),
        E::Timeout(t) if matches!(t, ureq::Timeout::Resolve | ureq::Timeout::Connect) => {
            Failure::Offline(format!("timed out ({t})"))
        }
        E::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::AddrNotAvailable
            ) =>
        {
            Failure::Offline(io.to_string())
        }
        E::BadUri(detail) => Failure::Fatal(DownloadError::InvalidManifest {
            detail: format!("bad URL {url:?}: {detail}"),
        }),
        other => Failure::Dropped(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parses() {
        assert_eq!(parse_content_range("bytes 100-199/1000"), Some((100, Some(1000))));
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("bytes */1000"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }
}
