//! Admission of index reads under overload, so that cheap requests stay cheap and no
//! account starves the others.
//!
//! Reads come in two classes. **Cheap** ones (a call's records, a listing page) never
//! wait: they run at once, up to a generous bound, and are refused past it. **Heavy**
//! ones (searches, stats, unpaginated listings) run at most [`Limits::heavy_slots`] at a
//! time, sized to the cores, so they cannot crowd the cheap ones off the CPU; one account
//! holds at most all but one of them, so another account's first read never waits. A heavy
//! read that finds no slot waits in its account's queue; a freed slot goes to the next
//! account in rotation, so one account's thirty clients take turns with another's one
//! (as Loki's per-tenant query queues do). Past an account's queue bound, or after
//! [`Limits::queue_timeout`] of waiting, a read is refused at once — the caller answers
//! 429 with `Retry-After`, as Elasticsearch's bounded search pool does — instead of
//! stalling everyone. A waiting read whose caller goes away leaves the queue; a running
//! one is interrupted through [`Permit::interrupt`] (see `pivotlog_index::interrupt`).
//!
//! Heavy reads also run on threads of their own at a lower CPU priority ([`Admission::read`]:
//! nice +10, Linux's per-thread niceness), so the kernel gives a cheap read that shares
//! the cores with them most of a core: its latency stays near what it is alone, while
//! heavy reads still take every cycle nobody else wants. A queued read waits with its
//! work: the heavy thread whose read ends starts the next one itself, so a slot does not
//! sit idle while a waiting request's task is woken to hand its work over.
//!
//! The metrics carry the class, never the account.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prometheus::core::Collector;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts};
use tokio::sync::oneshot;

/// What a read costs, and so how it is admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Bounded by the page it returns: a call's records, a listing page.
    Cheap,
    /// Proportional to the matches: searches, stats, unpaginated listings.
    Heavy,
}

impl Class {
    pub fn label(self) -> &'static str {
        match self {
            Class::Cheap => "cheap",
            Class::Heavy => "heavy",
        }
    }
}

/// The bounds admission keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Heavy reads running at once in the process.
    pub heavy_slots: usize,
    /// Heavy reads one account may run at once (at most `heavy_slots`).
    pub account_heavy_slots: usize,
    /// Heavy reads one account may have waiting for a slot; more are refused.
    pub account_queue: usize,
    /// Longest wait for a heavy slot; a read still waiting then is refused.
    pub queue_timeout: Duration,
    /// Cheap reads running at once; more are refused at once (cheap reads never wait).
    pub cheap_slots: usize,
    /// Niceness of the threads heavy reads run on (0 is the process's own priority, 19
    /// the lowest): above 0, the kernel runs a cheap read before them.
    pub heavy_niceness: i32,
}

impl Limits {
    /// The defaults for a machine with `cores` cores: [`Limits::with_heavy_slots`] one
    /// more than the cores (the CPU is the resource; the extra one is the next
    /// account's), and 64 cheap reads per core.
    pub fn for_cores(cores: usize) -> Limits {
        let cores = cores.max(1);
        Limits {
            cheap_slots: 64 * cores,
            ..Limits::with_heavy_slots(cores + 1)
        }
    }

    /// `heavy_slots` heavy reads at once, of which one account may hold all but one: a
    /// lone account keeps every core busy, and an account with nothing running always
    /// finds a slot at once instead of waiting for a busy account's read to end
    /// (fairness between busy accounts comes from the rotation, not from idling cores);
    /// four waiting heavy reads per slot and account.
    pub fn with_heavy_slots(heavy_slots: usize) -> Limits {
        let heavy_slots = heavy_slots.max(1);
        Limits {
            heavy_slots,
            account_heavy_slots: (heavy_slots - 1).max(1),
            account_queue: 4 * heavy_slots,
            queue_timeout: Duration::from_secs(2),
            cheap_slots: 64 * heavy_slots,
            heavy_niceness: DEFAULT_HEAVY_NICENESS,
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::for_cores(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

/// Why a read was not admitted; the caller answers 429 with `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too many {} reads: {reason}", class.label())]
pub struct Refused {
    pub class: Class,
    pub reason: &'static str,
    /// When trying again is worth it.
    pub retry_after: Duration,
}

/// The admission of one process (the query API, or a shard).
pub struct Admission {
    limits: Limits,
    state: Mutex<State>,
    next_waiter: AtomicU64,
    metrics: AdmissionMetrics,
    /// Started by the first heavy read: an admission replaced before serving (the
    /// defaults, then the configured limits) starts no threads.
    heavy_threads: std::sync::OnceLock<HeavyThreads>,
}

/// Most threads of the heavy pool: more slots than this share them.
const MAX_HEAVY_THREADS: usize = 64;
/// [`Limits::heavy_niceness`] unless configured.
pub const DEFAULT_HEAVY_NICENESS: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;
/// A heavy read waiting for its slot, started with the permit it is granted.
type QueuedRead = Box<dyn FnOnce(Permit) + Send>;

/// The threads heavy reads run on, at [`Limits::heavy_niceness`].
struct HeavyThreads {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl HeavyThreads {
    fn start(threads: usize, niceness: i32) -> HeavyThreads {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.clamp(1, MAX_HEAVY_THREADS) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("pivotlog-heavy-{n}"))
                .spawn(move || {
                    // Best effort: where niceness cannot be raised, reads still run.
                    let lowered = match niceness {
                        0 => Ok(()),
                        n => rustix::process::nice(n).map(drop),
                    };
                    if let Err(err) = lowered {
                        tracing::debug!(error = %err, "heavy reads run at normal priority");
                    }
                    ON_HEAVY_THREAD.set(true);
                    loop {
                        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(mut job) = job else { return };
                        loop {
                            // A read that panics fails its request (its answer channel is
                            // dropped), not the thread.
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            match NEXT_JOB.take() {
                                Some(next) => job = next,
                                None => break,
                            }
                        }
                    }
                });
            if let Err(err) = spawned {
                tracing::warn!(error = %err, "cannot start a heavy read thread");
            }
        }
        HeavyThreads { jobs }
    }

    /// Runs `job` on the next free heavy thread: on this one, once its read is done, when
    /// it is a heavy thread handing its slot on. A hand-over through the channel wakes
    /// another thread, which the kernel may queue behind other work on a busy core while
    /// this one goes idle: the scheduler trace of the overload bench showed a core idle a
    /// tenth of the time that way. Should every thread have failed to start, the job is
    /// dropped, and with it its permit and its answer channel.
    fn submit(&self, job: Job) {
        if ON_HEAVY_THREAD.get() {
            let pending = NEXT_JOB.take();
            if pending.is_none() {
                NEXT_JOB.set(Some(job));
                return;
            }
            NEXT_JOB.set(pending);
        }
        let _ = self.jobs.send(job);
    }
}

thread_local! {
    /// Set on the heavy threads.
    static ON_HEAVY_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// On a heavy thread: the read it starts when its current one is done (the read the
    /// slot it frees was granted to).
    static NEXT_JOB: std::cell::Cell<Option<Job>> = const { std::cell::Cell::new(None) };
}

#[derive(Default)]
struct State {
    cheap_running: usize,
    heavy_running: usize,
    accounts: HashMap<String, Account>,
    /// Accounts with waiting reads, in the order freed slots go to them.
    rotation: VecDeque<String>,
}

#[derive(Default)]
struct Account {
    running: usize,
    waiting: VecDeque<Waiter>,
}

struct Waiter {
    id: u64,
    since: Instant,
    interrupt: Arc<AtomicBool>,
    grant: Grant,
}

/// What a waiting read receives when a slot frees.
enum Grant {
    /// The permit itself, for a caller that holds it across async work (a fan-out to
    /// shards).
    Permit(oneshot::Sender<Permit>),
    /// A blocking read, started on a heavy thread by whoever frees the slot.
    Read(QueuedRead),
}

/// A slot held by one read until dropped.
pub struct Permit {
    admission: Arc<Admission>,
    class: Class,
    /// The account holding a heavy slot.
    account: Option<String>,
    interrupt: Arc<AtomicBool>,
}

impl Permit {
    pub fn class(&self) -> Class {
        self.class
    }

    /// The flag that interrupts this read: raised when its caller gives up.
    pub fn interrupt(&self) -> &Arc<AtomicBool> {
        &self.interrupt
    }

    /// Counts this read as stopped because its caller gave up while it ran.
    pub fn interrupted(&self) {
        self.admission.metrics.cancelled(self.class, "running");
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.admission.release(self.class, self.account.take());
    }
}

impl Admission {
    /// `prefix` names the metrics (`pivotlog_query`, `pivotlog_shard`).
    pub fn new(limits: Limits, prefix: &str) -> Arc<Admission> {
        let limits = Limits {
            account_heavy_slots: limits.account_heavy_slots.clamp(1, limits.heavy_slots.max(1)),
            heavy_slots: limits.heavy_slots.max(1),
            cheap_slots: limits.cheap_slots.max(1),
            heavy_niceness: limits.heavy_niceness.clamp(0, 19),
            ..limits
        };
        Arc::new(Admission {
            heavy_threads: std::sync::OnceLock::new(),
            limits,
            state: Mutex::new(State::default()),
            next_waiter: AtomicU64::new(0),
            metrics: AdmissionMetrics::new(prefix),
        })
    }

    /// Admits a read of `class` by `account` and runs it off the async workers, holding
    /// its slot until it ends: a heavy one on the low-priority heavy threads (queued with
    /// its work when no slot is free), a cheap one on tokio's blocking pool. If the caller
    /// goes away (client gone, deadline passed), a queued read leaves the queue and a
    /// running one is interrupted through [`Permit::interrupt`]. `Ok(None)`: the read
    /// panicked.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        class: Class,
        account: &str,
        read: impl FnOnce(&Permit) -> T + Send + 'static,
    ) -> Result<Option<T>, Refused> {
        let interrupt = Arc::new(AtomicBool::new(false));
        let interrupt_on_drop = InterruptOnDrop(Some(interrupt.clone()));
        let answer = match class {
            Class::Cheap => {
                let permit = self.admit_cheap()?;
                tokio::task::spawn_blocking(move || read(&permit)).await.ok()
            }
            Class::Heavy => {
                let (started, on_start) = oneshot::channel();
                let (done, answer) = oneshot::channel();
                let queued_read: QueuedRead = Box::new(move |permit| {
                    let _ = started.send(());
                    let _ = done.send(read(&permit));
                });
                let grant = Grant::Read(queued_read);
                if let Some(id) = self.try_admit_heavy(account, interrupt, grant)? {
                    self.wait_for_slot(account, id, on_start).await?;
                }
                answer.await.ok()
            }
        };
        interrupt_on_drop.disarm();
        Ok(answer)
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The admission's metrics, to register in the process's registry.
    pub fn collectors(&self) -> Vec<Box<dyn Collector>> {
        self.metrics.collectors()
    }

    /// A slot for a read of `class` by `account`, or why not, held until the permit is
    /// dropped (for async work, such as a fan-out to shards; a blocking read goes
    /// through [`Admission::read`]). A heavy read may wait for its turn (at most
    /// [`Limits::queue_timeout`]); dropping the returned future while it waits leaves
    /// the queue.
    pub async fn admit(self: &Arc<Self>, class: Class, account: &str) -> Result<Permit, Refused> {
        if class == Class::Cheap {
            return self.admit_cheap();
        }
        let (grant, mut granted) = oneshot::channel();
        let interrupt = Arc::new(AtomicBool::new(false));
        if let Some(id) = self.try_admit_heavy(account, interrupt, Grant::Permit(grant))? {
            if let Some(permit) = self.wait_for_slot(account, id, &mut granted).await? {
                return permit.map_err(|_| self.refuse(class, "queue_closed"));
            }
        }
        // Granted already, at once or by the release that raced the timeout.
        granted.await.map_err(|_| self.refuse(class, "queue_closed"))
    }

    /// Waits until the queued read `id` is granted a slot (`granted` resolves: `Some` of
    /// its output), or refuses it after [`Limits::queue_timeout`]; `None`: it was granted
    /// as the wait timed out, and `granted` is about to resolve.
    async fn wait_for_slot<F: std::future::Future>(
        self: &Arc<Self>,
        account: &str,
        id: u64,
        granted: F,
    ) -> Result<Option<F::Output>, Refused> {
        let mut queued = Queued {
            admission: self,
            account,
            id,
            settled: false,
        };
        let outcome = tokio::time::timeout(self.limits.queue_timeout, granted).await;
        queued.settled = true;
        match outcome {
            Ok(output) => Ok(Some(output)),
            // It saw the queue not drain: retry no sooner than it waited.
            Err(_) if self.withdraw(account, id) => Err(Refused {
                retry_after: self.limits.queue_timeout.max(Duration::from_secs(1)),
                ..self.refuse(Class::Heavy, "queue_timeout")
            }),
            // Granted at the very moment it timed out: no longer in the queue, it runs.
            Err(_) => Ok(None),
        }
    }

    fn admit_cheap(self: &Arc<Self>) -> Result<Permit, Refused> {
        let mut state = self.lock();
        if state.cheap_running >= self.limits.cheap_slots {
            drop(state);
            return Err(self.refuse(Class::Cheap, "busy"));
        }
        state.cheap_running += 1;
        drop(state);
        Ok(self.permit(Class::Cheap, None, Arc::new(AtomicBool::new(false))))
    }

    /// Grants a heavy slot at once (`None`: `grant` has its permit), queues `grant`
    /// (`Some` of its id in the queue) or refuses.
    fn try_admit_heavy(
        self: &Arc<Self>,
        account: &str,
        interrupt: Arc<AtomicBool>,
        grant: Grant,
    ) -> Result<Option<u64>, Refused> {
        let mut state = self.lock();
        let free = state.heavy_running < self.limits.heavy_slots;
        state.accounts.entry(account.to_owned()).or_default();
        let share = self.account_share(&state);
        let entry = state.accounts.get_mut(account).expect("just inserted");
        if free && entry.waiting.is_empty() && entry.running < share {
            entry.running += 1;
            state.heavy_running += 1;
            drop(state);
            self.metrics.observe_wait(Class::Heavy, Duration::ZERO);
            self.fulfil(
                grant,
                self.permit(Class::Heavy, Some(account.to_owned()), interrupt),
            );
            return Ok(None);
        }
        if entry.waiting.len() >= self.limits.account_queue {
            let idle = entry.running == 0 && entry.waiting.is_empty();
            if idle {
                state.accounts.remove(account);
            }
            drop(state);
            return Err(self.refuse(Class::Heavy, "queue_full"));
        }
        let id = self.next_waiter.fetch_add(1, Ordering::Relaxed);
        let first = entry.waiting.is_empty();
        entry.waiting.push_back(Waiter {
            id,
            since: Instant::now(),
            interrupt,
            grant,
        });
        if first {
            state.rotation.push_back(account.to_owned());
        }
        drop(state);
        self.metrics
            .queued
            .with_label_values(&[Class::Heavy.label()])
            .inc();
        Ok(Some(id))
    }

    /// Hands a granted slot to its read: the permit to a waiting caller, or the queued
    /// read to a heavy thread.
    fn fulfil(&self, grant: Grant, permit: Permit) {
        match grant {
            // A caller that is gone drops the permit, which releases the slot again.
            Grant::Permit(waiter) => drop(waiter.send(permit)),
            Grant::Read(read) => self.heavy_threads().submit(Box::new(move || read(permit))),
        }
    }

    fn heavy_threads(&self) -> &HeavyThreads {
        self.heavy_threads
            .get_or_init(|| HeavyThreads::start(self.limits.heavy_slots, self.limits.heavy_niceness))
    }

    /// A slot already counted in the state; the running gauge follows the permit (its
    /// drop, through `release`, takes it down again).
    fn permit(self: &Arc<Self>, class: Class, account: Option<String>, interrupt: Arc<AtomicBool>) -> Permit {
        self.metrics.in_flight.with_label_values(&[class.label()]).inc();
        Permit {
            admission: self.clone(),
            class,
            account,
            interrupt,
        }
    }

    fn refuse(&self, class: Class, reason: &'static str) -> Refused {
        self.metrics
            .rejected
            .with_label_values(&[class.label(), reason])
            .inc();
        Refused {
            class,
            reason,
            // A full queue drains in milliseconds, so its retry is worth it as soon as
            // `Retry-After` can say (whole seconds): a longer wait idles the client's
            // share of the cores.
            retry_after: Duration::from_secs(1),
        }
    }

    /// Takes a waiting read out of its account's queue; false if it was not there any
    /// more (it was granted).
    fn withdraw(&self, account: &str, id: u64) -> bool {
        let mut state = self.lock();
        let Some(entry) = state.accounts.get_mut(account) else {
            return false;
        };
        let Some(position) = entry.waiting.iter().position(|waiter| waiter.id == id) else {
            return false;
        };
        entry.waiting.remove(position);
        let (now_empty, idle) = (entry.waiting.is_empty(), entry.running == 0);
        if now_empty {
            state.rotation.retain(|queued| queued != account);
            if idle {
                state.accounts.remove(account);
            }
        }
        drop(state);
        self.metrics
            .queued
            .with_label_values(&[Class::Heavy.label()])
            .dec();
        true
    }

    fn release(self: &Arc<Self>, class: Class, account: Option<String>) {
        let grants = {
            let mut state = self.lock();
            match class {
                Class::Cheap => state.cheap_running -= 1,
                Class::Heavy => {
                    state.heavy_running -= 1;
                    if let Some(account) = account {
                        let entry = state
                            .accounts
                            .get_mut(&account)
                            .expect("a running account is known");
                        entry.running -= 1;
                        if entry.running == 0 && entry.waiting.is_empty() {
                            state.accounts.remove(&account);
                        }
                    }
                }
            }
            self.dispatch(&mut state)
        };
        self.metrics.in_flight.with_label_values(&[class.label()]).dec();
        // Outside the lock: a grant whose receiver is gone is dropped, which releases
        // its slot again (and dispatches it to the next).
        for (waiter, permit) in grants {
            self.metrics.observe_wait(Class::Heavy, waiter.since.elapsed());
            self.fulfil(waiter.grant, permit);
        }
    }

    /// Gives free heavy slots to waiting reads, one account after another.
    fn dispatch(self: &Arc<Self>, state: &mut State) -> Vec<(Waiter, Permit)> {
        let mut grants = Vec::new();
        let mut passed = 0;
        let share = self.account_share(state);
        while state.heavy_running < self.limits.heavy_slots && passed < state.rotation.len() {
            let account = state.rotation.pop_front().expect("rotation is not empty");
            let entry = state
                .accounts
                .get_mut(&account)
                .expect("a queued account is known");
            if entry.running >= share {
                state.rotation.push_back(account);
                passed += 1;
                continue;
            }
            let mut waiter = entry.waiting.pop_front().expect("a queued account has a waiter");
            entry.running += 1;
            let more = !entry.waiting.is_empty();
            state.heavy_running += 1;
            if more {
                state.rotation.push_back(account.clone());
            }
            passed = 0;
            self.metrics
                .queued
                .with_label_values(&[Class::Heavy.label()])
                .dec();
            let interrupt = std::mem::take(&mut waiter.interrupt);
            grants.push((waiter, self.permit(Class::Heavy, Some(account), interrupt)));
        }
        grants
    }

    /// Heavy reads one account may run now: [`Limits::account_heavy_slots`], divided
    /// between the accounts with heavy reads running or waiting (at least one each). A
    /// lone account gets every core; while a second one has work, a busy account's next
    /// read waits for its share instead of taking the core the other's read runs on.
    fn account_share(&self, state: &State) -> usize {
        let active = state.accounts.len().max(1);
        (self.limits.account_heavy_slots / active).max(1)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A waiting read; dropped unsettled (its caller went away), it leaves the queue.
struct Queued<'a> {
    admission: &'a Arc<Admission>,
    account: &'a str,
    id: u64,
    settled: bool,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if !self.settled && self.admission.withdraw(self.account, self.id) {
            self.admission.metrics.cancelled(Class::Heavy, "queued");
        }
    }
}

/// Raises a read's interrupt when dropped armed: the caller's future went away (client
/// disconnected, deadline passed) before the read ended.
struct InterruptOnDrop(Option<Arc<AtomicBool>>);

impl InterruptOnDrop {
    /// The read ended: nothing to interrupt.
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        if let Some(flag) = self.0.take() {
            flag.store(true, Ordering::Relaxed);
        }
    }
}

/// Queue depth, waits, rejections and cancellations per class.
struct AdmissionMetrics {
    in_flight: IntGaugeVec,
    queued: IntGaugeVec,
    wait: HistogramVec,
    rejected: IntCounterVec,
    cancelled_total: IntCounterVec,
}

impl AdmissionMetrics {
    fn new(prefix: &str) -> AdmissionMetrics {
        let gauge = |name: &str, help: &str| {
            IntGaugeVec::new(Opts::new(format!("{prefix}_{name}"), help), &["class"]).expect("valid metric")
        };
        AdmissionMetrics {
            in_flight: gauge("reads_running", "Index reads running, by class (cheap, heavy)."),
            queued: gauge("reads_queued", "Heavy index reads waiting for a slot."),
            wait: HistogramVec::new(
                HistogramOpts::new(
                    format!("{prefix}_read_queue_wait_seconds"),
                    "Time a read waited for its slot, by class (cheap reads never wait).",
                )
                .buckets(vec![0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0]),
                &["class"],
            )
            .expect("valid metric"),
            rejected: IntCounterVec::new(
                Opts::new(
                    format!("{prefix}_reads_rejected_total"),
                    "Reads refused with 429, by class and reason (busy: cheap slots full; queue_full: the account's queue is full; queue_timeout: no slot in time).",
                ),
                &["class", "reason"],
            )
            .expect("valid metric"),
            cancelled_total: IntCounterVec::new(
                Opts::new(
                    format!("{prefix}_reads_cancelled_total"),
                    "Reads given up by their caller (client gone, deadline passed), by class and stage (queued: left the queue; running: interrupted).",
                ),
                &["class", "stage"],
            )
            .expect("valid metric"),
        }
    }

    fn observe_wait(&self, class: Class, waited: Duration) {
        self.wait
            .with_label_values(&[class.label()])
            .observe(waited.as_secs_f64());
    }

    fn cancelled(&self, class: Class, stage: &str) {
        self.cancelled_total
            .with_label_values(&[class.label(), stage])
            .inc();
    }

    fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.in_flight.clone()),
            Box::new(self.queued.clone()),
            Box::new(self.wait.clone()),
            Box::new(self.rejected.clone()),
            Box::new(self.cancelled_total.clone()),
        ]
    }
}

#[cfg(test)]
mod tests;
