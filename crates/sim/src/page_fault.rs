//! Bookkeeping for `Faults::page_fault`: when it fires and how often.

use super::config::{PageFault, PageFaultKind};

/// Counts pages since the fault was set and firings so far.
#[derive(Debug, Default)]
pub struct PageFaultState {
    served: u32,
    fired: u32,
}

impl PageFaultState {
    /// Whether `fault` fires on the AcsEvent request being answered now. Failed answers do not
    /// advance the page count, so a fault with `times: 2` hits the retry as well.
    pub fn take(&mut self, fault: Option<&PageFault>) -> Option<PageFaultKind> {
        let fault = fault?;
        let due = self.served.saturating_add(1) >= fault.on_page.max(1);
        let left = fault.times == 0 || self.fired < fault.times;
        if due && left {
            self.fired = self.fired.saturating_add(1);
            Some(fault.kind)
        } else {
            None
        }
    }

    /// Records an AcsEvent page answered with 200.
    pub fn page_served(&mut self) {
        self.served = self.served.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_on_page_then_stops() {
        let fault = PageFault {
            kind: PageFaultKind::Status500,
            on_page: 3,
            times: 2,
        };
        let mut state = PageFaultState::default();
        let mut log = Vec::new();
        for _ in 0..6 {
            let fired = state.take(Some(&fault));
            if fired.is_none() {
                state.page_served();
            }
            log.push(fired.is_some());
        }
        assert_eq!(log, vec![false, false, true, true, false, false]);
    }

    #[test]
    fn zero_times_is_forever() {
        let fault = PageFault {
            kind: PageFaultKind::RepeatPage,
            on_page: 1,
            times: 0,
        };
        let mut state = PageFaultState::default();
        for _ in 0..10 {
            assert!(state.take(Some(&fault)).is_some());
            state.page_served();
        }
    }
}
