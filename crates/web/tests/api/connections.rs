//! Kept-alive connections after a refused request whose body the server did not read (issue 18): a raw
//! HTTP/1.1 client sends the refused request with its whole body, reads the answer, then sends a second
//! request on the same connection. The connection either stays usable (the small rest of the body read
//! and dropped) or the answer says `Connection: close` and the server closes it — never closed unsaid,
//! which a pooling client sees as a reset of its next request.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::spawn;

/// A hang guard only: a right answer takes milliseconds.
const GUARD: Duration = Duration::from_secs(60);

/// One answer read off a connection: status, head (lower case) and whether the server then closed.
struct Answer {
    status: u16,
    head: String,
}

impl Answer {
    fn says_close(&self) -> bool {
        self.head.lines().any(|l| l.starts_with("connection:") && l.contains("close"))
    }
}

/// Reads one answer (head and a `Content-Length` or chunked body) from `stream`, keeping what follows in
/// `buffer`; `None` if the connection ended first.
async fn read_answer(stream: &mut tokio::net::tcp::OwnedReadHalf, buffer: &mut Vec<u8>) -> Option<Answer> {
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.lines().any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
    let body_complete = |b: &[u8]| match length {
        Some(n) => b.len() >= head_end + n,
        None if chunked => b[head_end..].windows(5).any(|w| w == b"0\r\n\r\n"),
        None => true,
    };
    while !body_complete(buffer) {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    let end = match length {
        Some(n) => head_end + n,
        None if chunked => head_end + buffer[head_end..].windows(5).position(|w| w == b"0\r\n\r\n").unwrap_or(0) + 5,
        None => head_end,
    };
    buffer.drain(..end);
    Some(Answer { status, head })
}

/// Sends `head` and the first `sent` bytes of a body of `length` bytes (declared in full), reads the
/// answer, and then — unless it says `Connection: close` — asks `GET /healthz` on the same connection.
/// Returns the first answer and the second (`None`: the connection was closed).
async fn refused_then_next(
    base: &str,
    request_line: &str,
    headers: &str,
    length: usize,
    sent: usize,
) -> (Answer, Option<Answer>) {
    let addr = base.trim_start_matches("http://");
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!("{request_line} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {length}\r\n\r\n");
    let body = vec![b'a'; sent];
    // The body goes out while the answer is read, as a client sends it: a server that answers early and
    // closes may make the writes fail, which is the server's to say.
    let sending = tokio::spawn(async move {
        let _ = writer.write_all(head.as_bytes()).await;
        let _ = writer.write_all(&body).await;
        writer
    });
    let mut buffer = Vec::new();
    let first = tokio::time::timeout(GUARD, read_answer(&mut reader, &mut buffer))
        .await
        .expect("an answer")
        .unwrap_or_else(|| panic!("{request_line}: the connection ended without an answer"));
    if first.says_close() {
        // The server must then close: nothing more comes.
        let mut rest = [0u8; 1024];
        let closed = tokio::time::timeout(GUARD, async {
            loop {
                match reader.read(&mut rest).await {
                    Ok(0) | Err(_) => return true,
                    Ok(_) => continue,
                }
            }
        })
        .await
        .expect("the server closes after Connection: close");
        assert!(closed);
        return (first, None);
    }
    let mut writer = sending.await.unwrap();
    writer.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).await.unwrap_or_else(|e| {
        panic!("{request_line} answered {} without Connection: close, then the connection broke: {e}", first.status)
    });
    let second = tokio::time::timeout(GUARD, read_answer(&mut reader, &mut buffer)).await.expect("an answer");
    (first, second)
}

/// Refusals before the body is read, with a body small enough to read and drop: the connection stays
/// usable and the next request on it is answered.
#[tokio::test]
async fn a_refusal_before_a_small_body_keeps_the_connection_usable() {
    let app = spawn().await;
    let json = "Content-Type: application/json\r\n";
    let cases: [(&str, &str, u16); 5] = [
        // Not signed in.
        ("POST /api/v1/requests/12345/dispatch", json, 401),
        // A wrong content type on a public route.
        ("POST /api/v1/public/category-suggestions", "Content-Type: text/plain\r\n", 415),
        // A control character in the path.
        ("POST /api/v1/requests/a%00b/dispatch", json, 400),
        // No such route.
        ("POST /api/v1/no-such-thing", json, 404),
        // A staff form posted without a session: to the sign-in page.
        ("POST /approvals", "Content-Type: application/x-www-form-urlencoded\r\n", 303),
    ];
    for (line, headers, status) in cases {
        let (first, second) = refused_then_next(&app.base, line, headers, 40 * 1024, 40 * 1024).await;
        assert_eq!(first.status, status, "{line}: {}", first.head);
        assert!(!first.says_close(), "{line}: a small unread body is read and dropped: {}", first.head);
        let second = second.unwrap_or_else(|| {
            panic!("{line}: answered {status} without Connection: close, then the connection was closed")
        });
        assert_eq!(second.status, 200, "{line}: the next request on the connection: {}", second.head);
    }
}

/// A body too large to read (over the route's limit, or too much left over after an early refusal) is
/// not read: the answer says `Connection: close` and the server closes the connection.
#[tokio::test]
async fn a_body_too_large_to_read_closes_the_connection_and_says_so() {
    let app = spawn().await;
    let json = "Content-Type: application/json\r\n";
    let form = "Content-Type: application/x-www-form-urlencoded\r\n";
    // Over a public route's JSON limit (declared 2 MiB; the server stops reading at its limit).
    let line = "POST /api/v1/public/category-suggestions";
    let (first, second) = refused_then_next(&app.base, line, json, 2 << 20, 200 * 1024).await;
    assert_eq!(first.status, 413, "{}", first.head);
    assert!(first.says_close() && second.is_none(), "{}", first.head);
    // Refused before the body, with more left than is worth reading (300 KiB of a form).
    let (first, second) = refused_then_next(&app.base, "POST /approvals", form, 300 * 1024, 300 * 1024).await;
    assert_eq!(first.status, 303, "{}", first.head);
    assert!(first.says_close() && second.is_none(), "{}", first.head);
    // A client waiting for `100 Continue` is not asked for a body the answer does not need.
    let headers = format!("{json}Expect: 100-continue\r\n");
    let (first, second) = refused_then_next(&app.base, "POST /api/v1/requests/12345/dispatch", &headers, 1024, 0).await;
    assert_eq!(first.status, 401, "{}", first.head);
    assert!(first.says_close() && second.is_none(), "{}", first.head);
}

/// A JSON body cut short (the client hangs up its sending side before the declared length) did not
/// arrive whole: a 400 `body_incomplete`, not a 413 — it was not too large.
#[tokio::test]
async fn a_json_body_cut_short_is_incomplete_not_too_large() {
    let app = spawn().await;
    let addr = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/public/category-suggestions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n{{\"title\": \"路灯"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(GUARD, stream.read_to_end(&mut answer)).await.expect("an answer").unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"code\":\"body_incomplete\"") && answer.contains("没有完整收到"), "{answer}");
}
