//! Waiting on JS promises and timers without making closures per wait.
//!
//! wasm-bindgen's `JsFuture` makes two closures for every promise it awaits (a JS function and a
//! finalizer registration each), and a timer would need a promise of its own. A request awaits a
//! timer, the fetch and two body reads, so that was nine closures per call. Here every wait shares
//! two callbacks made once per instance, told apart by the number of the wait's slot: a promise
//! and an abort signal get the callbacks bound to it, a timer gets it as `setTimeout`'s extra
//! argument. Slot numbers are reused, and so are their bound callbacks, made once per number.
//!
//! A slot is freed when its outcome has been taken, or, for a wait dropped early, when the
//! promise settles (its callback may still come) or the timer is cleared (it never will).

use crate::wasm::sys;
use js_sys::{Function, Promise};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

/// What a slot holds: who waits, and what arrived.
#[derive(Default)]
struct Slot {
    waker: Option<Waker>,
    outcome: Option<Result<JsValue, JsValue>>,
    /// The future is gone: free the slot as soon as its callback arrives.
    abandoned: bool,
}

/// The shared callbacks bound to one slot number.
struct Bound {
    resolved: JsValue,
    rejected: JsValue,
}

#[derive(Default)]
struct Slots {
    slots: Vec<Option<Slot>>,
    /// By slot number: made with the slot, kept when it is freed.
    bound: Vec<Bound>,
    free: Vec<u32>,
}

impl Slots {
    fn open(&mut self, waker: Option<Waker>) -> u32 {
        let slot = Slot {
            waker,
            ..Slot::default()
        };
        match self.free.pop() {
            Some(index) => {
                if let Some(free) = self.slots.get_mut(index as usize) {
                    *free = Some(slot);
                }
                index
            }
            None => {
                let index = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                self.slots.push(Some(slot));
                self.bound.push(CALLBACKS.with(|callbacks| Bound {
                    resolved: bind(&callbacks.resolved, index),
                    rejected: bind(&callbacks.rejected, index),
                }));
                index
            }
        }
    }

    fn bound(&self, index: u32) -> Option<&Bound> {
        self.bound.get(index as usize)
    }

    fn get(&mut self, index: u32) -> Option<&mut Slot> {
        self.slots.get_mut(index as usize)?.as_mut()
    }

    fn close(&mut self, index: u32) {
        if let Some(slot) = self.slots.get_mut(index as usize) {
            if slot.take().is_some() {
                self.free.push(index);
            }
        }
    }

    /// A callback arrived for `index`: keep its outcome and wake the waiter, or free the slot of
    /// a waiter that is gone.
    fn settle(&mut self, index: u32, outcome: Result<JsValue, JsValue>) -> Option<Waker> {
        let slot = self.get(index)?;
        if slot.abandoned {
            self.close(index);
            return None;
        }
        slot.outcome = Some(outcome);
        slot.waker.take()
    }
}

struct Callbacks {
    resolved: Closure<dyn FnMut(u32, JsValue)>,
    rejected: Closure<dyn FnMut(u32, JsValue)>,
}

thread_local! {
    static SLOTS: RefCell<Slots> = RefCell::default();
    /// Made once and kept for the life of the instance.
    static CALLBACKS: Callbacks = Callbacks {
        resolved: Closure::new(|index, value| settle(index, Ok(value))),
        rejected: Closure::new(|index, error| settle(index, Err(error))),
    };
}

fn settle(index: u32, outcome: Result<JsValue, JsValue>) {
    // Woken after the borrow ends: the JS API's executor polls the task at once.
    let waker = SLOTS.with_borrow_mut(|slots| slots.settle(index, outcome));
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// `callback` with its first argument bound to `index`.
fn bind(callback: &Closure<dyn FnMut(u32, JsValue)>, index: u32) -> JsValue {
    let function: &Function = callback.as_ref().unchecked_ref();
    function
        .bind1(&JsValue::UNDEFINED, &JsValue::from(index))
        .into()
}

/// Keeps the latest waker, and takes the outcome once it is there.
fn poll_slot(index: u32, cx: &Context<'_>) -> Poll<Result<JsValue, JsValue>> {
    SLOTS.with_borrow_mut(|slots| {
        let Some(slot) = slots.get(index) else {
            // Never happens: a slot lives as long as its future. Read as a rejection.
            return Poll::Ready(Err(JsValue::UNDEFINED));
        };
        match slot.outcome.take() {
            Some(outcome) => {
                slots.close(index);
                Poll::Ready(outcome)
            }
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
}

/// A promise as a future: its value, or what it rejected with.
pub(crate) struct Settled {
    index: Option<u32>,
}

impl Settled {
    pub(crate) fn new(promise: &Promise) -> Self {
        // `then` never calls back before it returns, so the slots may stay borrowed.
        let index = SLOTS.with_borrow_mut(|slots| {
            let index = slots.open(None);
            if let Some(bound) = slots.bound(index) {
                let thenable: &sys::Thenable = promise.unchecked_ref();
                thenable.then(&bound.resolved, &bound.rejected);
            }
            index
        });
        Settled { index: Some(index) }
    }
}

impl Future for Settled {
    type Output = Result<JsValue, JsValue>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(index) = self.index else {
            return Poll::Ready(Err(JsValue::UNDEFINED));
        };
        let outcome = poll_slot(index, cx);
        if outcome.is_ready() {
            self.index = None;
        }
        outcome
    }
}

impl Drop for Settled {
    fn drop(&mut self) {
        if let Some(index) = self.index {
            // The promise's callback will still come: the slot is freed then.
            SLOTS.with_borrow_mut(|slots| {
                if let Some(slot) = slots.get(index) {
                    if slot.outcome.is_some() {
                        slots.close(index);
                    } else {
                        slot.abandoned = true;
                        slot.waker = None;
                    }
                }
            });
        }
    }
}

/// Resolves when `signal` fires; its listener is removed when the wait is dropped.
pub(crate) struct Fired {
    signal: AbortSignal,
    listener: JsValue,
    /// `None` once the signal has fired and been seen.
    index: Option<u32>,
}

impl Fired {
    pub(crate) fn new(signal: &AbortSignal) -> Self {
        let (index, listener) = SLOTS.with_borrow_mut(|slots| {
            let index = slots.open(None);
            let listener = slots.bound(index).map(|bound| bound.resolved.clone());
            (index, listener.unwrap_or_default())
        });
        let _ = signal.add_event_listener_with_callback("abort", listener.unchecked_ref());
        Fired {
            signal: signal.clone(),
            listener,
            index: Some(index),
        }
    }
}

impl Future for Fired {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(index) = self.index else {
            return Poll::Ready(());
        };
        let fired = poll_slot(index, cx).map(drop);
        if fired.is_ready() {
            self.index = None;
        }
        fired
    }
}

impl Drop for Fired {
    fn drop(&mut self) {
        let _ = self
            .signal
            .remove_event_listener_with_callback("abort", self.listener.unchecked_ref());
        // The listener is gone, so no callback will come.
        if let Some(index) = self.index {
            SLOTS.with_borrow_mut(|slots| slots.close(index));
        }
    }
}

/// Resolves once the clock has reached `deadline` (ms since the epoch). Timers may fire early by
/// the wall clock (Node arms them from a cached loop time), so the clock decides, not the timer:
/// an early timer is armed again for the time left. The timer is cleared if the wait is dropped.
pub(crate) struct Deadline {
    deadline: f64,
    armed: Option<Armed>,
}

struct Armed {
    index: u32,
    handle: JsValue,
}

impl Deadline {
    pub(crate) fn new(deadline: f64) -> Self {
        Deadline {
            deadline,
            armed: None,
        }
    }

    fn disarm(&mut self) {
        if let Some(armed) = self.armed.take() {
            sys::clear_timeout(&armed.handle);
            SLOTS.with_borrow_mut(|slots| slots.close(armed.index));
        }
    }
}

impl Future for Deadline {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(armed) = &self.armed {
            // Until its timer fires, a wait polled because other work woke the task is not over:
            // no need to ask the clock.
            if poll_slot(armed.index, cx).is_pending() {
                return Poll::Pending;
            }
            // Fired: its slot is closed. The clock says whether it fired early.
            self.armed = None;
        }
        let left_ms = self.deadline - js_sys::Date::now();
        if left_ms <= 0.0 {
            return Poll::Ready(());
        }
        let index = SLOTS.with_borrow_mut(|slots| slots.open(Some(cx.waker().clone())));
        let handle = CALLBACKS.with(|callbacks| {
            let callback: &Function = callbacks.resolved.as_ref().unchecked_ref();
            sys::set_timeout(callback, left_ms.ceil() as u32, index)
        });
        self.armed = Some(Armed { index, handle });
        Poll::Pending
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.disarm();
    }
}
