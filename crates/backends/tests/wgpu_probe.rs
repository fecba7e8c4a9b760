//! Asking for the wgpu device, with or without an adapter on the machine, never involves the
//! process's panic hook, which belongs to the application. CI runs this once without a Vulkan
//! driver (`VK_ICD_FILENAMES` pointing nowhere: the error) and once with Mesa's lavapipe (the
//! device).

use std::panic;
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use backends::{BackendError, wgpu_device};

#[test]
fn two_threads_get_a_device_or_an_error_and_the_panic_hook_stays_the_applications() {
    let panicked = Arc::new(Mutex::new(Vec::<ThreadId>::new()));
    let record = Arc::clone(&panicked);
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        record.lock().unwrap().push(thread::current().id());
        previous(info);
    }));

    let probes: Vec<_> = (0..2)
        .map(|_| thread::spawn(|| (wgpu_device().map(|_| ()), thread::current().id())))
        .collect();
    let results: Vec<_> = probes.into_iter().map(|t| t.join().unwrap()).collect();
    let panicked_ids = panicked.lock().unwrap().clone();
    for (result, id) in &results {
        assert!(!panicked_ids.contains(id), "a panic on a probing thread");
        if let Err(error @ BackendError::NoAdapter { .. }) = result {
            let message = error.to_string();
            assert!(message.contains("--backend flex"), "{message}");
        }
    }
    // Both threads see the same machine.
    assert_eq!(results[0].0.is_ok(), results[1].0.is_ok());

    let caught = panic::catch_unwind(|| panic!("a panic of the application's own"));
    assert!(caught.is_err());
    assert!(panicked.lock().unwrap().contains(&thread::current().id()));
}
