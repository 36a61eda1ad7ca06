//! Listeners and connections: one accept loop per device, one task per connection.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::router;
use super::state::DeviceState;
use super::stats::Counter;

/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Resolves once shutdown has been requested (or the sender is gone).
async fn stopped(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Runs the accept loop of one device until shutdown.
pub fn spawn_device(
    listener: TcpListener,
    dev: Arc<DeviceState>,
    tls: Option<TlsAcceptor>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = stopped(shutdown.clone()) => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, _)) => {
                    dev.counters.bump(Counter::Connections);
                    let _ = stream.set_nodelay(true);
                    let (dev, tls, shutdown) = (dev.clone(), tls.clone(), shutdown.clone());
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = stopped(shutdown) => {}
                            _ = connection(stream, dev, tls) => {}
                        }
                    });
                }
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            }
        }
    })
}

async fn connection(stream: TcpStream, dev: Arc<DeviceState>, tls: Option<TlsAcceptor>) {
    match tls {
        None => serve(stream, dev).await,
        Some(acceptor) => {
            if let Ok(stream) = acceptor.accept(stream).await {
                dev.counters.bump(Counter::TlsHandshakes);
                serve(stream, dev).await;
            }
        }
    }
}

/// HTTP/1.1 with keep-alive; a handler error aborts the connection without a response,
/// which is how the drop faults are delivered.
async fn serve<S>(stream: S, dev: Arc<DeviceState>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| router::handle(dev.clone(), req));
    let _ = http1::Builder::new()
        .keep_alive(true)
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}
