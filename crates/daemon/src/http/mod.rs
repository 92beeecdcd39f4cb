//! The HTTP API: a raw hyper 1 HTTP/1.1 server over the Unix socket (and an optional plain TCP
//! listener), a small router with Pebble's access levels, the JSON envelope, and the handlers.
//!
//! # Adding a route
//!
//! Routes are listed in [`handlers::router`]; add one line per method:
//!
//! ```ignore
//! r.post("/v1/exec", Access::Admin, crate::exec::api::post_exec);
//! r.get("/v1/tasks/{task-id}/websocket/{websocket-id}", Access::Admin, crate::exec::api::websocket);
//! ```
//!
//! A handler is any `async fn(Req) -> Resp` (`Send`). [`Req`] gives the daemon handle, the raw
//! hyper request (for streaming bodies and upgrades: [`Req::into_request`]), path variables
//! ([`Req::var`]), query values, the caller and JSON body decoding; [`envelope`] builds responses
//! (`sync`, `async_change`, `error`, ...). Streaming responses use [`Body::stream`] or any
//! `http_body::Body<Data = Bytes, Error = std::io::Error> + Send + 'static` via [`Body::new`].

pub mod body;
pub mod conn;
pub mod envelope;
pub mod handlers;
pub mod reqbody;
pub mod router;
pub mod server;
pub mod sockio;

pub use body::Body;
pub use envelope::Resp;
pub use reqbody::ReqBody;
pub use router::{Access, Req, Router, Transport, UserState};
