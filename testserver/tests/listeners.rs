//! TLS verification, ALPN per listener, h2c, counters and shutdown.

mod common;

use common::{alpn_of, tls, Client, H2_H1};
use wxnet_testserver::TestServer;

#[tokio::test]
async fn https_port_verifies_with_the_ca_and_prefers_h2() {
    let server = TestServer::start();
    for name in TestServer::hostnames().iter().chain(&["127.0.0.1"]) {
        let stream = tls(server.https_port(), server.ca_pem(), H2_H1, name)
            .await
            .unwrap_or_else(|e| panic!("TLS to {name}: {e}"));
        assert_eq!(alpn_of(&stream).as_deref(), Some(&b"h2"[..]), "{name}");
    }
    let mut client = Client::https(server.https_port(), server.ca_pem()).await;
    let resp = client.get("/alpn").await;
    assert_eq!(resp.text(), "HTTP/2.0");
    assert_eq!(client.get("/echo").await.json()["httpVersion"], "HTTP/2.0");

    // Only h1 offered by the client: the main port speaks HTTP/1.1 too.
    let stream = tls(server.https_port(), server.ca_pem(), &[b"http/1.1"], "localhost")
        .await
        .expect("TLS");
    assert_eq!(alpn_of(&stream).as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(Client::new(stream, false).await.get("/alpn").await.text(), "HTTP/1.1");
}

#[tokio::test]
async fn h1_port_never_negotiates_h2() {
    let server = TestServer::start();
    let stream = tls(server.https_h1_port(), server.ca_pem(), H2_H1, "cdn.wxnet.test")
        .await
        .expect("TLS");
    assert_eq!(alpn_of(&stream).as_deref(), Some(&b"http/1.1"[..]));
    let mut client = Client::new(stream, false).await;
    assert_eq!(client.get("/alpn").await.text(), "HTTP/1.1");
}

#[tokio::test]
async fn other_ca_and_unknown_names_are_rejected() {
    let server = TestServer::start();
    let other = TestServer::start();
    assert_ne!(server.ca_pem(), other.ca_pem());
    let wrong_ca = tls(server.https_port(), other.ca_pem(), H2_H1, "localhost").await;
    assert!(wrong_ca.is_err(), "a foreign CA must not verify");
    let wrong_name = tls(server.https_port(), server.ca_pem(), H2_H1, "evil.wxnet.test").await;
    assert!(wrong_name.is_err(), "a name outside the SANs must not verify");
}

#[tokio::test]
async fn http_port_speaks_h1_and_h2c() {
    let server = TestServer::start();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.http_port()))
        .await
        .expect("connect");
    assert_eq!(Client::new(tcp, false).await.get("/alpn").await.text(), "HTTP/1.1");
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.http_port()))
        .await
        .expect("connect");
    assert_eq!(Client::new(tcp, true).await.get("/alpn").await.text(), "HTTP/2.0");
}

#[tokio::test]
async fn hits_and_connections_are_counted() {
    let server = TestServer::start();
    assert_eq!(server.connections(), 0);
    let mut client = Client::https(server.https_h1_port(), server.ca_pem()).await;
    for _ in 0..3 {
        assert_eq!(client.get("/json?x=1").await.status, 200);
    }
    assert_eq!(server.connections(), 1, "keep-alive reuses the connection");
    assert_eq!(server.hits("/json"), 3, "counted without the query");
    assert_eq!(
        server.hits("/json?x=1"),
        3,
        "and with it, so a test can tag its requests"
    );
    assert_eq!(server.hits("/json?x=2"), 0);

    let mut h2 = Client::https(server.https_port(), server.ca_pem()).await;
    let (a, b) = tokio::join!(async { h2.get("/text").await }, async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.http_port()))
            .await
            .expect("connect");
        Client::new(tcp, false).await.get("/nope").await
    });
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (200, 404));
    assert_eq!(server.connections(), 3);
    assert_eq!(server.hits("/text"), 1);
    assert_eq!(server.hits("/nope"), 1);
}

#[test]
fn drop_closes_the_listeners() {
    let server = TestServer::start();
    let ports = [server.https_port(), server.http_port(), server.https_h1_port()];
    let distinct: std::collections::HashSet<_> = ports.iter().collect();
    assert_eq!(distinct.len(), 3);
    for port in ports {
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("listening");
    }
    let started = std::time::Instant::now();
    drop(server);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    for port in ports {
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}

#[test]
fn starts_fast() {
    let started = std::time::Instant::now();
    let server = TestServer::start();
    let elapsed = started.elapsed();
    assert!(server.https_port() != 0);
    assert!(elapsed < std::time::Duration::from_millis(500), "{elapsed:?}");
}

#[test]
fn server_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TestServer>();
    let server = TestServer::start();
    assert!(format!("{server:?}").contains("https"));
}
