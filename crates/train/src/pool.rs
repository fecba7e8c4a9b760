//! The rayon pool's other threads kept looking for work while a training loop runs on one of
//! its threads.
//!
//! A training step alternates the kernels' parallel loops with serial stretches (the autodiff
//! graph's bookkeeping, the loss, the optimizer's small parameters, the next batch). Rayon sends
//! a thread that finds no work to sleep after a few rounds of yielding, so each stretch longer
//! than that left the next loop to wake it (a system call on this side, a scheduler's wake-up
//! on that one) before it could take its half. OpenMP runtimes keep their threads spinning for a
//! while after a parallel region for the same reason.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    thread,
    time::{Duration, Instant},
};

use rayon::Yield;

/// How long a thread keeps spinning after the last work it found, before it naps between looks.
const SPIN: Duration = Duration::from_millis(5);

/// A nap between looks once a thread has found nothing for [`SPIN`].
const NAP: Duration = Duration::from_millis(1);

/// Runs `work` on this thread while the other threads of its rayon pool keep looking for work:
/// spinning for 5 ms after each piece they find, then looking every millisecond (a parallel loop
/// they miss meanwhile runs on the threads awake). Off a pool's thread, or in a pool of one,
/// it just runs `work`. The results are the same either way: no kernel's arithmetic depends on
/// which thread runs which part.
pub fn with_workers_looking<R>(work: impl FnOnce() -> R) -> R {
    looking(SPIN, work)
}

fn looking<R>(spin: Duration, work: impl FnOnce() -> R) -> R {
    let Some(caller) = rayon::current_thread_index() else {
        return work();
    };
    if rayon::current_num_threads() < 2 {
        return work();
    }
    let done = AtomicBool::new(false);
    rayon::in_place_scope(|scope| {
        scope.spawn_broadcast(|_, context| {
            if context.index() != caller {
                look_until(&done, spin);
            }
        });
        // Set on the way out, a panic in `work` included: the scope waits for the lookers.
        let _done = SetOnDrop(&done);
        work()
    })
}

fn look_until(done: &AtomicBool, spin: Duration) {
    let mut last_work = Instant::now();
    while !done.load(Ordering::Acquire) {
        match rayon::yield_now() {
            Some(Yield::Executed) => last_work = Instant::now(),
            _ if last_work.elapsed() < spin => std::hint::spin_loop(),
            _ => thread::sleep(NAP),
        }
    }
}

struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a pool")
    }

    /// The scheduler's state of thread `tid` of this process: `R` running or runnable, `S`
    /// sleeping.
    #[cfg(target_os = "linux")]
    fn state(tid: i64) -> char {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
            .expect("the thread's stat");
        // The state follows the command name, which is in parentheses.
        let after = &stat[stat.rfind(')').expect("a command name") + 1..];
        after.trim_start().chars().next().expect("a state")
    }

    #[cfg(target_os = "linux")]
    fn tid() -> i64 {
        // `/proc/thread-self` links to `<pid>/task/<tid>`.
        let link = std::fs::read_link("/proc/thread-self").expect("Linux's /proc");
        let tid = link.file_name().and_then(|name| name.to_str());
        tid.and_then(|tid| tid.parse().ok()).expect("a thread id")
    }

    /// Runs a parallel loop in `pool` and returns the id of the other thread that took part,
    /// then the states that thread was seen in between 50 and 150 ms after the loop, and after
    /// the call returned.
    #[cfg(target_os = "linux")]
    fn states_after_a_loop(spin: Option<Duration>) -> (Vec<char>, Vec<char>) {
        pool(2).install(|| {
            let caller = tid();
            let watch = || {
                let other = std::sync::atomic::AtomicI64::new(0);
                (0..64).into_par_iter().with_max_len(1).for_each(|_| {
                    let me = tid();
                    if me != caller {
                        other.store(me, Ordering::Relaxed);
                    }
                    thread::sleep(Duration::from_millis(1));
                });
                let other = other.load(Ordering::Relaxed);
                assert_ne!(other, 0, "the other thread took part");
                thread::sleep(Duration::from_millis(50));
                let start = Instant::now();
                let mut seen = Vec::new();
                while start.elapsed() < Duration::from_millis(100) {
                    seen.push(state(other));
                    thread::sleep(Duration::from_millis(5));
                }
                (other, seen)
            };
            let (other, during) = match spin {
                Some(spin) => looking(spin, watch),
                None => watch(),
            };
            thread::sleep(Duration::from_millis(200));
            (during, vec![state(other)])
        })
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_other_threads_keep_running_between_loops_and_sleep_afterwards() {
        let (during, after) = states_after_a_loop(Some(Duration::from_secs(5)));
        assert!(during.iter().all(|&s| s == 'R'), "looking: {during:?}");
        assert_eq!(after, ['S'], "after the call");
        // The control: rayon on its own sends the thread to sleep within the pause.
        let (during, _) = states_after_a_loop(None);
        assert!(during.contains(&'S'), "rayon alone: {during:?}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn after_the_spin_the_other_threads_nap() {
        let (during, _) = states_after_a_loop(Some(Duration::from_millis(10)));
        assert!(during.contains(&'S'), "napping: {during:?}");
    }

    #[test]
    fn parallel_loops_inside_give_their_results() {
        let sum: u64 =
            pool(2).install(|| with_workers_looking(|| (0..1_000_000u64).into_par_iter().sum()));
        assert_eq!(sum, 999_999 * 1_000_000 / 2);
    }

    #[test]
    fn a_panic_in_the_work_ends_the_lookers_and_propagates() {
        let result = pool(2).install(|| {
            std::panic::catch_unwind(|| with_workers_looking(|| panic!("the work's panic")))
        });
        assert!(result.is_err());
    }

    #[test]
    fn off_a_pool_the_work_runs_alone() {
        assert_eq!(with_workers_looking(|| 7), 7);
    }
}
