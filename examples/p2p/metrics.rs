//! `--metrics ADDR`: the peer's metrics (what the library's `metrics` feature records, through
//! a Prometheus recorder) as Prometheus text at `/metrics`, and a dashboard at `/` that reads
//! them every second. A minimal HTTP/1.1 responder: GET only, one request per connection.

use std::net::SocketAddr;

use crate::Error;

/// Installs the recorder and serves it on `addr`; the address bound.
#[cfg(feature = "metrics")]
pub(crate) async fn serve(addr: &str) -> Result<SocketAddr, Error> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let handle = handle.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    respond(socket, &handle),
                )
                .await;
            });
        }
    });
    Ok(local)
}

#[cfg(not(feature = "metrics"))]
pub(crate) async fn serve(_: &str) -> Result<SocketAddr, Error> {
    Err("--metrics needs a build with the metrics feature: --features tokio,redb,metrics".into())
}

/// The dashboard page: self-contained, it polls `/metrics` of the server it came from.
#[cfg(feature = "metrics")]
const DASHBOARD: &str = include_str!("dashboard.html");

#[cfg(feature = "metrics")]
async fn respond(
    mut socket: tokio::net::TcpStream,
    handle: &metrics_exporter_prometheus::PrometheusHandle,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The request head, at most 8 KiB.
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
        let n = socket.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("");
    let (status, kind, body) = match (head.starts_with("GET "), path) {
        (true, "/metrics") => {
            handle.run_upkeep();
            ("200 OK", "text/plain; version=0.0.4", handle.render())
        }
        (true, "/" | "/index.html") => ("200 OK", "text/html; charset=utf-8", DASHBOARD.to_owned()),
        (true, _) => ("404 Not Found", "text/plain", "not found\n".to_owned()),
        (false, _) => (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_owned(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(response.as_bytes()).await?;
    socket.shutdown().await
}
