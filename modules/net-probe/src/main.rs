//! A plain Rust `std` command that links the standard library's networking, so its component
//! imports `wasi:sockets` like every std program that touches `std::net`. It tries a TCP
//! connect, a UDP bind and a name lookup, reports how each failed, and exits 0: the sandbox
//! denies the network by policy, and a guest that tries must get an ordinary error and go on.
//!
//! Data: `{"addr": "127.0.0.1:8080"}` picks the TCP target (default `127.0.0.1:9`).

use std::net::{TcpStream, ToSocketAddrs, UdpSocket};

use serde_json::{Value, json};

fn main() {
    let path = std::env::var("WEBHOOK_DATA_FILE").unwrap_or_default();
    let data: Value = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null);
    let addr = data.get("addr").and_then(Value::as_str).unwrap_or("127.0.0.1:9");

    let tcp = outcome(TcpStream::connect(addr).map(|_| ()));
    let udp = outcome(UdpSocket::bind("0.0.0.0:0").map(|_| ()));
    let lookup = outcome(("example.com", 80).to_socket_addrs().map(|_| ()));
    eprintln!("tcp connect to {addr}: {tcp}");
    println!("{}", json!({ "tcp": tcp, "udp": udp, "lookup": lookup }));
}

/// `"ok"`, or the error's kind (e.g. `PermissionDenied`) and message.
fn outcome(result: std::io::Result<()>) -> Value {
    match result {
        Ok(()) => json!("ok"),
        Err(e) => json!({ "kind": format!("{:?}", e.kind()), "message": e.to_string() }),
    }
}
