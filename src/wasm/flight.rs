//! A request in flight shared by every caller that needs its result: it runs once, and every
//! awaiter gets a clone of its output. (What `futures::future::Shared` does, in the few lines this
//! crate needs: the .wasm is smaller without the dependency.) [`FlightSlot`] is the lifecycle the
//! client's token and SIGN-ticket requests share: join the one in flight, or start it; the slot
//! empties itself when the request ends.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

enum State<T> {
    /// `None` while some awaiter is polling the future.
    Running(Option<Boxed<T>>),
    Done(T),
}

/// The tasks waiting on a flight. Whichever of them polls the future does so with this as the
/// waker, so progress wakes them all and none depends on the one that happened to poll first.
#[derive(Default)]
struct Waiters(Mutex<Vec<Waker>>);

impl Wake for Waiters {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waiting = self.0.lock().map(|mut list| std::mem::take(&mut *list));
        for waker in waiting.unwrap_or_default() {
            waker.wake();
        }
    }
}

/// A shared, clonable future; see the module docs.
struct Flight<T> {
    state: Rc<RefCell<State<T>>>,
    waiters: Arc<Waiters>,
}

impl<T> Clone for Flight<T> {
    fn clone(&self) -> Self {
        Flight {
            state: Rc::clone(&self.state),
            waiters: Arc::clone(&self.waiters),
        }
    }
}

impl<T: Clone + 'static> Flight<T> {
    fn new(future: impl Future<Output = T> + 'static) -> Self {
        Flight {
            state: Rc::new(RefCell::new(State::Running(Some(Box::pin(future))))),
            waiters: Arc::default(),
        }
    }
}

impl<T: Clone> Future for Flight<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if let Ok(mut waiting) = self.waiters.0.lock() {
            if !waiting.iter().any(|waker| waker.will_wake(cx.waker())) {
                waiting.push(cx.waker().clone());
            }
        }
        let taken = match &mut *self.state.borrow_mut() {
            State::Done(output) => return Poll::Ready(output.clone()),
            State::Running(future) => future.take(),
        };
        let Some(mut future) = taken else {
            return Poll::Pending;
        };
        let waker = Waker::from(Arc::clone(&self.waiters));
        let polled = future.as_mut().poll(&mut Context::from_waker(&waker));
        let mut state = self.state.borrow_mut();
        match polled {
            Poll::Ready(output) => {
                *state = State::Done(output.clone());
                drop(state);
                // The others were registered on this flight, not on the future: tell them.
                waker.wake();
                Poll::Ready(output)
            }
            Poll::Pending => {
                *state = State::Running(Some(future));
                Poll::Pending
            }
        }
    }
}

/// The one request of a kind in flight, and the key it was made with (say, the token a SIGN
/// ticket is requested with). Callers with the same key join it; a caller with another key starts
/// a new one, which takes the slot.
pub(crate) struct FlightSlot<K, T> {
    current: RefCell<Option<(K, Flight<T>)>>,
}

impl<K: PartialEq + Clone + 'static, T: Clone + 'static> FlightSlot<K, T> {
    pub(crate) fn new() -> Rc<Self> {
        Rc::new(FlightSlot {
            current: RefCell::new(None),
        })
    }

    /// Whether a request is in flight.
    pub(crate) fn is_busy(&self) -> bool {
        self.current.borrow().is_some()
    }

    /// The request in flight for `key`, or `start()` as a new one: every awaiter drives and
    /// shares that one request.
    pub(crate) fn join_or_start<F>(
        self: &Rc<Self>,
        key: K,
        start: impl FnOnce() -> F,
    ) -> impl Future<Output = T>
    where
        F: Future<Output = T> + 'static,
    {
        let mut current = self.current.borrow_mut();
        if let Some((running, flight)) = &*current {
            if *running == key {
                return flight.clone();
            }
        }
        // Held weakly: a request in flight must not keep its client alive.
        let slot = Rc::downgrade(self);
        let ended = key.clone();
        let request = start();
        let flight = Flight::new(async move {
            let output = request.await;
            if let Some(slot) = slot.upgrade() {
                slot.end(&ended);
            }
            output
        });
        *current = Some((key, flight.clone()));
        flight
    }

    /// Empties the slot, unless a request with another key took it meanwhile.
    fn end(&self, key: &K) {
        let mut current = self.current.borrow_mut();
        if current.as_ref().is_some_and(|(running, _)| running == key) {
            *current = None;
        }
    }
}
