//! The service manager calls against Wine's (or Windows') own service
//! manager, on services of their own that point at no driver: no driver
//! is loaded, so these run in the `windows` test layer. Each test uses a
//! service name of its own, and takes [`serial`]: under Wine 8, service
//! calls from two threads of one process at once sometimes leave a handle
//! of one thread invalid (`QueryServiceStatus` failing with
//! `ERROR_INVALID_HANDLE` while another thread opened and closed its own
//! handles: 4 runs in 25 with these tests in parallel, none in 25 one at a
//! time).

use crate::{Error, Operation, ServiceManager, State};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// One test at a time in the service manager (see the module's docs).
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A kernel-driver service whose image does not exist, removed on drop.
struct Scratch(&'static str);

impl Scratch {
    fn new(name: &'static str) -> Scratch {
        remove(name);
        Scratch(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        remove(self.0);
    }
}

fn remove(name: &str) {
    let scm = ServiceManager::open().expect("open the service manager");
    if let Some(service) = scm.service(name).expect("look the service up") {
        service.delete().expect("delete the scratch service");
    }
}

const NO_IMAGE: &str = r"C:\windows\system32\drivers\kchan-service-test-absent.sys";

#[test]
fn a_missing_service_is_none_and_not_installed() {
    let _serial = serial();
    let scm = ServiceManager::open().expect("open the service manager");
    let name = "kchan-service-test-missing";
    assert!(scm.service(name).expect("look up").is_none());
    let Err(err) = scm.existing(name) else { panic!("{name} exists") };
    assert!(matches!(&err, Error::NotInstalled { service } if service == name), "{err:?}");
    assert_eq!(err.to_string(), format!("the {name} service is not installed"));
}

#[test]
fn a_kernel_driver_service_is_created_opened_stopped_and_deleted() {
    let _serial = serial();
    let scratch = Scratch::new("kchan-service-test-install");
    let scm = ServiceManager::open().expect("open the service manager");
    let image = Path::new(NO_IMAGE);
    let first = scm.install_kernel_driver(scratch.0, scratch.0, image).expect("create");
    assert!(first.created);
    assert_eq!(first.service.name(), scratch.0);
    let again = scm.install_kernel_driver(scratch.0, scratch.0, image).expect("open the existing one");
    assert!(!again.created, "installing twice opens the first");
    assert_eq!(again.service.state().expect("query"), State::Stopped);
    // Stopping what does not run succeeds at once, as `kchan driver stop` does.
    again.service.stop(Duration::from_secs(1)).expect("stop a stopped service");
    again.service.wait_for(State::Stopped, Duration::ZERO).expect("already stopped");
    let Err(err) = again.service.wait_for(State::Running, Duration::from_millis(50)) else {
        panic!("a service without an image runs")
    };
    assert_eq!(err.to_string(), format!("the {} service did not start within 0 s", scratch.0));
    drop(first);
    again.service.delete().expect("delete");
    assert!(scm.service(scratch.0).expect("look up").is_none(), "gone once its last handle closed");
}

#[test]
fn a_driver_whose_image_is_missing_fails_to_start_with_the_systems_reason() {
    let _serial = serial();
    let scratch = Scratch::new("kchan-service-test-start");
    let scm = ServiceManager::open().expect("open the service manager");
    let service = scm.install_kernel_driver(scratch.0, scratch.0, Path::new(NO_IMAGE)).expect("create");
    let Err(err) = service.service.start() else { panic!("a driver without an image started") };
    let Error::Service { operation: Operation::Start, source, .. } = &err else { panic!("{err:?}") };
    assert!(source.raw_os_error().is_some_and(|code| code != 0), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with(&format!("cannot start the {} service: ", scratch.0)), "{text}");
    assert!(!text.contains('\n'), "{text}");
    assert_eq!(service.service.state().expect("query"), State::Stopped);
}
