//! The cache's promise: however many tests ask for a fixture at once, it is built once, and
//! every caller gets the finished folder.

mod distribution;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[test]
fn concurrent_callers_wait_for_one_build() {
    let name = format!("lock-test-{}", std::process::id());
    let builds = AtomicUsize::new(0);
    let folders: Vec<_> = std::thread::scope(|scope| {
        let callers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    fixture_cache::cached(&name, |dir| {
                        builds.fetch_add(1, Ordering::SeqCst);
                        // Long enough that every other caller arrives while this one builds.
                        std::thread::sleep(Duration::from_millis(300));
                        std::fs::write(dir.join("done"), b"built").unwrap();
                    })
                })
            })
            .collect();
        callers.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let dir = fixture_cache::cache_dir();
    let finished = std::fs::read(dir.join(&name).join("done"));
    std::fs::remove_dir_all(dir.join(&name)).unwrap();
    std::fs::remove_file(dir.join(format!("{name}.lock"))).unwrap();
    assert_eq!(builds.load(Ordering::SeqCst), 1);
    assert!(folders.iter().all(|f| f == &dir.join(&name)), "{folders:?}");
    assert_eq!(finished.unwrap(), b"built");
}
