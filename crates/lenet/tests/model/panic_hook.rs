//! Loading a malformed model file never involves the process's panic hook, which belongs to
//! the application: the file is refused before Burn decodes it.

use std::panic;
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use burn::backend::NdArray;
use lenet::LeNetError;

#[test]
fn malformed_files_from_two_threads_leave_the_panic_hook_alone() {
    // The application's hook: records which threads panicked and passes every panic on, so
    // that the other tests in this binary report theirs as usual.
    let panicked = Arc::new(Mutex::new(Vec::<ThreadId>::new()));
    let record = Arc::clone(&panicked);
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        record.lock().unwrap().push(thread::current().id());
        previous(info);
    }));

    let files: [&[u8]; 2] = [
        include_bytes!("../data/fuzz-record-1.mpk"),
        include_bytes!("../data/fuzz-record-2.mpk"),
    ];
    let loaders: Vec<_> = (0..2)
        .map(|_| {
            thread::spawn(move || {
                for _ in 0..20 {
                    for bytes in files {
                        let error = lenet::load_bytes::<NdArray>(bytes, None, &Default::default())
                            .unwrap_err();
                        assert!(matches!(error, LeNetError::Decode { .. }), "{error}");
                    }
                }
                thread::current().id()
            })
        })
        .collect();
    let loader_ids: Vec<ThreadId> = loaders.into_iter().map(|t| t.join().unwrap()).collect();
    let panicked_ids = panicked.lock().unwrap().clone();
    for id in &loader_ids {
        assert!(
            !panicked_ids.contains(id),
            "Burn panicked on a loader thread"
        );
    }

    // The hook in place is still the application's.
    let caught = panic::catch_unwind(|| panic!("a panic of the application's own"));
    assert!(caught.is_err());
    assert!(panicked.lock().unwrap().contains(&thread::current().id()));
}
