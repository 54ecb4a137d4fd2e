//! The JS API's promises. A call's future is polled at once, and then each time it is woken,
//! right in the callback that woke it (a promise settling, a timer, an abort event).
//!
//! `wasm_bindgen_futures::future_to_promise` schedules every wake-up as a microtask of its own
//! (`queueMicrotask`), and a request is woken four times: in workerd that scheduling cost more
//! CPU than the polls themselves (bench/README.md). A wake-up that comes while a task is being
//! polled (a request in flight finishing for the callers that share it) is queued, and runs as
//! soon as that poll has returned, before control goes back to JS.

#[cfg(target_feature = "atomics")]
compile_error!("the JS API's promises are run single-threaded: build without atomics");

use js_sys::{Function, Promise};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, RawWaker, RawWakerVTable, Waker};
use wasm_bindgen::JsValue;

/// A promise settled by `future`.
pub(super) fn to_promise<F>(future: F) -> Promise
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    let mut settle: Option<(Function, Function)> = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    // The executor runs synchronously, so the functions are always there.
    if let Some((resolve, reject)) = settle {
        spawn(async move {
            // Settling a promise cannot throw.
            let _ = match future.await {
                Ok(value) => resolve.call1(&JsValue::UNDEFINED, &value),
                Err(error) => reject.call1(&JsValue::UNDEFINED, &error),
            };
        });
    }
    promise
}

struct Task {
    /// `None` once finished.
    future: RefCell<Option<Pin<Box<dyn Future<Output = ()>>>>>,
    /// In the ready queue: a second wake-up before the poll adds nothing.
    queued: Cell<bool>,
}

thread_local! {
    static READY: RefCell<VecDeque<Rc<Task>>> = const { RefCell::new(VecDeque::new()) };
    static RUNNING: Cell<bool> = const { Cell::new(false) };
}

fn spawn(future: impl Future<Output = ()> + 'static) {
    schedule(Rc::new(Task {
        future: RefCell::new(Some(Box::pin(future))),
        queued: Cell::new(false),
    }));
}

fn schedule(task: Rc<Task>) {
    if task.queued.replace(true) {
        return;
    }
    READY.with_borrow_mut(|ready| ready.push_back(task));
    if !RUNNING.get() {
        run_ready();
    }
}

/// Polls the ready tasks until none is left, including those woken meanwhile.
fn run_ready() {
    RUNNING.set(true);
    while let Some(task) = READY.with_borrow_mut(VecDeque::pop_front) {
        task.queued.set(false);
        let waker = waker(Rc::clone(&task));
        let mut cx = Context::from_waker(&waker);
        // Only this loop borrows a task's future, and it polls one task at a time.
        if let Ok(mut slot) = task.future.try_borrow_mut() {
            let finished = slot
                .as_mut()
                .is_some_and(|future| future.as_mut().poll(&mut cx).is_ready());
            if finished {
                *slot = None;
            }
        }
    }
    RUNNING.set(false);
}

// A waker is an `Rc<Task>` behind a raw pointer. `Waker` is `Send` and `Sync` by its contract and
// `Rc` is neither: sound here because this module exists only in the single-threaded build (no
// `atomics`), where no waker can reach another thread.
static VTABLE: RawWakerVTable = RawWakerVTable::new(clone_raw, wake_raw, wake_by_ref_raw, drop_raw);

fn waker(task: Rc<Task>) -> Waker {
    let raw = RawWaker::new(Rc::into_raw(task).cast(), &VTABLE);
    // SAFETY: `raw` holds one strong count of an `Rc<Task>`, and VTABLE's functions treat it so.
    unsafe { Waker::from_raw(raw) }
}

unsafe fn clone_raw(data: *const ()) -> RawWaker {
    // SAFETY: `data` came from `Rc::into_raw` and its count is still held by the waker cloned.
    unsafe { Rc::increment_strong_count(data.cast::<Task>()) };
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake_raw(data: *const ()) {
    // SAFETY: takes over the count the consumed waker held.
    schedule(unsafe { Rc::from_raw(data.cast::<Task>()) });
}

unsafe fn wake_by_ref_raw(data: *const ()) {
    // SAFETY: a new count for the scheduled `Rc`; the waker keeps its own.
    unsafe { Rc::increment_strong_count(data.cast::<Task>()) };
    schedule(unsafe { Rc::from_raw(data.cast::<Task>()) });
}

unsafe fn drop_raw(data: *const ()) {
    // SAFETY: gives back the count the dropped waker held.
    drop(unsafe { Rc::from_raw(data.cast::<Task>()) });
}
