//! The server's clock. Real time in production; tests set it by hand to walk through quiet
//! hours and expiries without waiting for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use kolokol_proto::Millis;

#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that stands at `start` until [`Clock::set`] moves it; clones share the time.
    pub fn manual(start: Millis) -> Clock {
        Clock {
            manual: Some(Arc::new(AtomicI64::new(start))),
        }
    }

    /// Moves a manual clock; the system clock ignores it.
    pub fn set(&self, millis: Millis) {
        if let Some(manual) = &self.manual {
            manual.store(millis, Ordering::Relaxed);
        }
    }

    pub fn now(&self) -> Millis {
        match &self.manual {
            Some(manual) => manual.load(Ordering::Relaxed),
            None => crate::now_millis(),
        }
    }
}
