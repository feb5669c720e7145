//! `wasi:http/types` without `wasi:http/outgoing-handler`: the types a component may import
//! (StarlingMonkey, the engine of JavaScript blocks, always imports them for `fetch`'s
//! `Request`/`Response`/`Headers` classes), with no way to send anything. Only in-memory values
//! (fields, requests, responses) can be made with them. A component that imports the outgoing
//! handler is still refused at upload.

use wasmtime::component::Linker;
use wasmtime_wasi_http::p2::bindings::LinkOptions;
use wasmtime_wasi_http::{WasiBody, WasiHttp, WasiHttpHooks, WasiHttpView};

/// The hooks of a sandbox run: nothing leaves it. `send_request` is unreachable while the
/// outgoing handler is not linked; should it ever be reached, the guest is told
/// `HTTP-request-denied`.
#[derive(Debug, Default)]
pub(crate) struct NoOutbound;

impl WasiHttpHooks for NoOutbound {
    fn send_request(
        &mut self,
        _request: http::Request<WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
                )>,
            > + Send,
    > {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}

/// Adds `wasi:http/types` (every 0.2.x version) to the linker.
pub(crate) fn add_types_to_linker<T: WasiHttpView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    let options = LinkOptions::default();
    wasmtime_wasi_http::p2::bindings::http::types::add_to_linker::<_, WasiHttp>(linker, &options.into(), T::http)
}
