//! Process set-up shared by `kolokol` and `kolokol-loadgen`, so a server under load and the
//! floor it is compared with start the same way.

use std::io;

/// A runtime for the cores this process may use. On one core (a small VPS, or a process pinned
/// with `taskset`) the single-threaded scheduler does the same work without the cross-thread
/// queues and atomics of the multi-threaded one.
pub fn runtime() -> io::Result<tokio::runtime::Runtime> {
    let mut builder = if cores() == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()
}

/// The cores this process may run on (its affinity and quota, not the machine's).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Raises the open-file limit to the hard limit (one socket per connected device needs many);
/// children inherit it. Returns the new limit.
pub fn raise_open_file_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit to fill and then pass back.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_raised_to_the_hard_limit() {
        let raised = raise_open_file_limit().unwrap();
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as above.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        assert_eq!(limit.rlim_cur, raised);
        assert_eq!(limit.rlim_cur, limit.rlim_max);
    }

    #[test]
    fn a_runtime_runs_on_the_cores_given() {
        assert!(cores() >= 1);
        assert_eq!(runtime().unwrap().block_on(async { 1 + 1 }), 2);
    }
}
