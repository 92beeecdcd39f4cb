//! The two environments a scenario runs in.

use pebble_client::container::Container;
use pebble_testing::{DaemonFixture, ExecRecord, FakeContainer, MockResult, Workload};

/// What a scenario needs from its environment.
pub trait Env {
    /// The container type.
    type W: Workload;
    /// The container.
    fn w(&self) -> &Self::W;
    /// A directory (absolute container path) scenarios may use for files.
    fn base(&self) -> String;
    /// Makes `prefix` behave like the real command does (a no-op on a real daemon).
    fn mock(&self, prefix: &[&str], result: MockResult);
    /// Makes `prefix` behave like the real command, computed from the call.
    fn mock_fn(&self, prefix: &[&str], f: fn(&ExecRecord) -> MockResult);
    /// Makes service `name` exit at once with `code` (a no-op on a real daemon, whose command
    /// does it).
    fn exits_quickly(&self, name: &str, code: i32);
    /// Makes Pebble unreachable.
    fn disconnect(&mut self);
}

/// The fake container.
pub struct FakeEnv(pub FakeContainer);

impl FakeEnv {
    pub fn new() -> Self {
        FakeEnv(FakeContainer::new())
    }
}

impl Env for FakeEnv {
    type W = FakeContainer;
    fn w(&self) -> &FakeContainer {
        &self.0
    }
    fn base(&self) -> String {
        "/srv/scenario".to_string()
    }
    fn mock(&self, prefix: &[&str], result: MockResult) {
        self.0.exec_mock(prefix, result);
    }
    fn mock_fn(&self, prefix: &[&str], f: fn(&ExecRecord) -> MockResult) {
        self.0.exec_handler(prefix, f);
    }
    fn exits_quickly(&self, name: &str, code: i32) {
        self.0.set_exits_quickly(name, Some(code));
    }
    fn disconnect(&mut self) {
        self.0.set_can_connect(false);
    }
}

/// A real daemon through the fixture.
pub struct RealEnv {
    fixture: Option<DaemonFixture>,
    container: Container,
    base: String,
}

impl RealEnv {
    pub fn new() -> Self {
        let fixture = DaemonFixture::start().expect("daemon fixture");
        let container = fixture.container();
        let base = fixture.dir().join("scenario").display().to_string();
        RealEnv {
            fixture: Some(fixture),
            container,
            base,
        }
    }
}

impl Env for RealEnv {
    type W = Container;
    fn w(&self) -> &Container {
        &self.container
    }
    fn base(&self) -> String {
        self.base.clone()
    }
    fn mock(&self, _prefix: &[&str], _result: MockResult) {}
    fn mock_fn(&self, _prefix: &[&str], _f: fn(&ExecRecord) -> MockResult) {}
    fn exits_quickly(&self, _name: &str, _code: i32) {}
    fn disconnect(&mut self) {
        // Shuts the daemon down and waits for it; the socket goes away with the directory.
        self.fixture.take();
    }
}

/// Runs each scenario against both environments: `fake::<name>` and `real::<name>`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod fake {
            $(
                #[tokio::test]
                async fn $name() {
                    let mut env = $crate::env::FakeEnv::new();
                    super::$name(&mut env).await;
                }
            )*
        }
        mod real {
            $(
                #[tokio::test]
                async fn $name() {
                    let mut env = $crate::env::RealEnv::new();
                    super::$name(&mut env).await;
                }
            )*
        }
    };
}
