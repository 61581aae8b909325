//! What the generator reads off the machine: a clock all its processes share, the server
//! process's CPU time and memory from /proc.

use std::io;

/// Nanoseconds on `CLOCK_MONOTONIC`, which every process on the machine shares, so a send time
/// stamped by one generator process can be compared with a receive time in another.
pub fn now_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write into; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// A process's CPU time (user + system) and resident memory at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessSample {
    pub cpu_us: u64,
    pub rss_kib: u64,
}

/// Reads `/proc/<pid>/stat` and `/proc/<pid>/status`.
pub fn sample(pid: u32) -> io::Result<ProcessSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse(&stat, &status).ok_or_else(|| io::Error::other(format!("unreadable /proc/{pid}")))
}

fn parse(stat: &str, status: &str) -> Option<ProcessSample> {
    // The command name may hold spaces and parentheses; the fields after the last ')' do not.
    // utime and stime are fields 14 and 15 of the whole line: 12th and 13th after the name.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(ProcessSample {
        cpu_us: ticks * 1_000_000 / per_second,
        rss_kib,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files_even_with_odd_command_names() {
        let stat = "4242 (kolokol (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 8 0 100 0";
        let status = "Name:\tkolokol\nVmRSS:\t  123456 kB\nThreads:\t8\n";
        let sample = parse(stat, status).unwrap();
        assert_eq!(sample.rss_kib, 123_456);
        // SAFETY: as above.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        assert_eq!(sample.cpu_us, 300 * 1_000_000 / per_second);
    }

    #[test]
    fn this_process_can_be_sampled() {
        let sample = sample(std::process::id()).unwrap();
        assert!(sample.rss_kib > 0);
        assert!(now_ns() > 0);
    }
}
