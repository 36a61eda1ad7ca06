//! Running the core's futures from Python: the GIL released, Ctrl-C checked, progress callbacks' exceptions
//! kept.

use std::future::Future;
use std::ops::ControlFlow;
use std::sync::Mutex;
use std::time::Duration;

use pyo3::exceptions::PyException;
use pyo3::prelude::*;

/// Runs a future with the GIL released, checking for signals (Ctrl-C) every 50 ms.
pub(crate) fn run_detached<F>(py: Python<'_>, multi_thread: bool, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let runtime = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(
                std::thread::available_parallelism()
                    .map_or(2, |n| n.get())
                    .min(4),
            )
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .map_err(|e| PyException::new_err(format!("cannot start the I/O runtime: {e}")))?;
    py.detach(|| {
        runtime.block_on(async {
            tokio::pin!(fut);
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            loop {
                tokio::select! {
                    out = &mut fut => return Ok(out),
                    _ = tick.tick() => Python::attach(|py| py.check_signals())?,
                }
            }
        })
    })
}

/// The first exception raised by a progress callback: it cancels the fetch and is raised in its place.
#[derive(Default)]
pub(crate) struct CallbackError(Mutex<Option<PyErr>>);

impl CallbackError {
    /// Runs one callback invocation with the GIL; an exception is kept and asks the fetch to stop.
    pub(crate) fn guard(
        &self,
        call: impl FnOnce(Python<'_>) -> PyResult<Py<PyAny>>,
    ) -> ControlFlow<()> {
        Python::attach(|py| match call(py) {
            Ok(_) => ControlFlow::Continue(()),
            Err(e) => {
                if let Ok(mut slot) = self.0.lock() {
                    *slot = Some(e);
                }
                ControlFlow::Break(())
            }
        })
    }

    pub(crate) fn take(&self) -> PyErr {
        self.0
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
            .unwrap_or_else(|| PyException::new_err("fetch cancelled"))
    }
}
