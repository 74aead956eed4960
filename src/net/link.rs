//! Framed links: a TCP stream or a WebSocket as a sink and a stream of whole frames, with the
//! maximum frame size enforced by the codec itself (nothing larger is ever buffered).

use std::pin::Pin;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::bytes::Bytes;
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

use super::NetError;

/// Frames to send.
pub(super) type FrameSink = Pin<Box<dyn Sink<Vec<u8>, Error = NetError> + Send>>;
/// Frames received.
pub(super) type FrameStream = Pin<Box<dyn Stream<Item = Result<Vec<u8>, NetError>> + Send>>;

/// A TCP stream as frames, each prefixed by its length (4 bytes, big-endian); `max` bounds a
/// frame (without its prefix).
pub(super) fn tcp(stream: TcpStream, max: usize) -> (FrameSink, FrameStream) {
    // Frames are small and latency matters more than packet count.
    let _ = stream.set_nodelay(true);
    let codec = LengthDelimitedCodec::builder()
        .max_frame_length(max)
        .new_codec();
    let (r, w) = stream.into_split();
    let read = FramedRead::new(r, codec.clone()).map(move |r| match r {
        // No copy when the frame owns its allocation (else one, out of the read buffer).
        Ok(frame) => Ok(Vec::from(frame)),
        // The codec reports an oversized length prefix as InvalidData wrapping its own error.
        Err(e)
            if e.kind() == std::io::ErrorKind::InvalidData
                && e.get_ref().is_some_and(|inner| {
                    inner.is::<tokio_util::codec::LengthDelimitedCodecError>()
                }) =>
        {
            Err(NetError::FrameTooLarge { max })
        }
        Err(e) => Err(NetError::Io(e)),
    });
    let write = FramedWrite::new(w, codec)
        .with(|frame: Vec<u8>| async move { Ok::<_, NetError>(Bytes::from(frame)) });
    (Box::pin(write), Box::pin(read))
}

/// The WebSocket limits for frames of at most `max` bytes.
pub(super) fn ws_config(max: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// A WebSocket as frames: one binary message per frame; pings are answered by tungstenite,
/// a text message is an error.
pub(super) fn ws<S>(socket: WebSocketStream<S>, max: usize) -> (FrameSink, FrameStream)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (w, r) = socket.split();
    let read = r.filter_map(move |msg| async move {
        match msg {
            // No copy when tungstenite's buffer is the message's own.
            Ok(Message::Binary(b)) => Some(Ok(Vec::from(b))),
            Ok(Message::Text(_)) => Some(Err(NetError::TextMessage)),
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_) | Message::Close(_)) => None,
            Err(tungstenite::Error::Capacity(_)) => Some(Err(NetError::FrameTooLarge { max })),
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => None,
            Err(e) => Some(Err(NetError::from(e))),
        }
    });
    let write = w
        .sink_map_err(NetError::from)
        .with(|frame: Vec<u8>| async move { Ok::<_, NetError>(Message::binary(frame)) });
    (Box::pin(write), Box::pin(read))
}

/// Dials a WebSocket URL (`ws://host:port/path`).
pub(super) async fn dial_ws(url: &str, max: usize) -> Result<(FrameSink, FrameStream), NetError> {
    let (socket, _response) =
        tokio_tungstenite::connect_async_with_config(url, Some(ws_config(max)), true).await?;
    Ok(ws::<MaybeTlsStream<TcpStream>>(socket, max))
}
