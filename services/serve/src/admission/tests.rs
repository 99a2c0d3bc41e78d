use super::*;

fn limits(heavy_slots: usize, account_queue: usize) -> Limits {
    Limits {
        heavy_slots,
        account_heavy_slots: heavy_slots,
        account_queue,
        queue_timeout: Duration::from_millis(300),
        cheap_slots: 2,
        heavy_niceness: 0,
    }
}

fn counter(admission: &Admission, name: &str, labels: &[(&str, &str)]) -> f64 {
    let registry = prometheus::Registry::new();
    for collector in admission.collectors() {
        registry.register(collector).unwrap();
    }
    registry
        .gather()
        .iter()
        .filter(|family| family.name() == name)
        .flat_map(|family| family.get_metric().to_vec())
        .filter(|metric| {
            labels.iter().all(|(name, value)| {
                metric
                    .get_label()
                    .iter()
                    .any(|label| label.name() == *name && label.value() == *value)
            })
        })
        .map(|metric| metric.get_counter().get_value() + metric.get_gauge().get_value())
        .sum()
}

#[tokio::test]
async fn cheap_reads_never_wait_and_are_refused_past_their_bound() {
    let admission = Admission::new(limits(1, 4), "t");
    let _heavy = admission.admit(Class::Heavy, "a").await.unwrap();
    let first = admission.admit(Class::Cheap, "a").await.unwrap();
    let _second = admission.admit(Class::Cheap, "b").await.unwrap();
    let refused = admission.admit(Class::Cheap, "c").await.err().unwrap();
    assert_eq!(refused.reason, "busy");
    assert!(refused.retry_after >= Duration::from_secs(1));
    drop(first);
    assert!(admission.admit(Class::Cheap, "c").await.is_ok());
}

#[tokio::test]
async fn freed_slots_go_round_the_accounts() {
    let admission = Admission::new(limits(1, 8), "t");
    let running = admission.admit(Class::Heavy, "busy").await.unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut waiting = Vec::new();
    // Five reads of one account queue first, then one of another.
    for (i, account) in ["busy", "busy", "busy", "busy", "busy", "quiet"]
        .into_iter()
        .enumerate()
    {
        let (admission, order) = (admission.clone(), order.clone());
        waiting.push(tokio::spawn(async move {
            let permit = admission.admit(Class::Heavy, account).await.unwrap();
            order.lock().unwrap().push(account);
            tokio::time::sleep(Duration::from_millis(5)).await;
            drop(permit);
        }));
        // Queue in this order.
        tokio::time::sleep(Duration::from_millis(2 + i as u64 / 10)).await;
    }
    drop(running);
    for task in waiting {
        task.await.unwrap();
    }
    let order = order.lock().unwrap().clone();
    let quiet_at = order.iter().position(|account| *account == "quiet").unwrap();
    assert!(
        quiet_at <= 1,
        "the quiet account waited behind {quiet_at} reads: {order:?}"
    );
}

#[tokio::test]
async fn a_full_account_queue_is_refused_and_others_still_queue() {
    let admission = Admission::new(limits(1, 2), "t");
    let _running = admission.admit(Class::Heavy, "a").await.unwrap();
    let queued: Vec<_> = (0..2)
        .map(|_| {
            let admission = admission.clone();
            tokio::spawn(async move { admission.admit(Class::Heavy, "a").await.map(drop) })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let refused = admission.admit(Class::Heavy, "a").await.err().unwrap();
    assert_eq!(refused.reason, "queue_full");
    // A full queue drains in milliseconds: retry as soon as `Retry-After` can say.
    assert_eq!(refused.retry_after, Duration::from_secs(1));
    assert_eq!(
        counter(&admission, "t_reads_rejected_total", &[("reason", "queue_full")]),
        1.0
    );
    let other = admission.clone();
    let other = tokio::spawn(async move { other.admit(Class::Heavy, "b").await.map(drop) });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(counter(&admission, "t_reads_queued", &[]), 3.0);
    // Nothing frees the slot: all three time out.
    for task in queued.into_iter().chain([other]) {
        assert_eq!(task.await.unwrap().unwrap_err().reason, "queue_timeout");
    }
    assert_eq!(counter(&admission, "t_reads_queued", &[]), 0.0);
}

#[tokio::test]
async fn a_caller_that_goes_away_leaves_the_queue_and_its_turn_passes_on() {
    let admission = Admission::new(limits(1, 4), "t");
    let running = admission.admit(Class::Heavy, "a").await.unwrap();
    let gone = {
        let admission = admission.clone();
        tokio::spawn(async move { admission.admit(Class::Heavy, "b").await.map(drop) })
    };
    let next = {
        let admission = admission.clone();
        tokio::spawn(async move { admission.admit(Class::Heavy, "c").await.map(drop) })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    gone.abort();
    let _ = gone.await;
    assert_eq!(
        counter(&admission, "t_reads_cancelled_total", &[("stage", "queued")]),
        1.0
    );
    drop(running);
    assert!(next.await.unwrap().is_ok(), "the next account got the slot");
    assert_eq!(counter(&admission, "t_reads_running", &[("class", "heavy")]), 0.0);
}

#[tokio::test]
async fn an_account_holds_at_most_its_share_of_slots() {
    let admission = Admission::new(
        Limits {
            account_heavy_slots: 1,
            ..limits(2, 4)
        },
        "t",
    );
    let _first = admission.admit(Class::Heavy, "a").await.unwrap();
    let second = {
        let admission = admission.clone();
        tokio::spawn(async move { admission.admit(Class::Heavy, "a").await.map(drop) })
    };
    // A slot is free, but not for "a": "b" takes it at once.
    let b = tokio::time::timeout(Duration::from_millis(50), admission.admit(Class::Heavy, "b")).await;
    assert!(b.unwrap().is_ok());
    assert_eq!(second.await.unwrap().unwrap_err().reason, "queue_timeout");
}

#[tokio::test]
async fn an_interrupt_is_raised_only_when_the_caller_goes_first() {
    let admission = Admission::new(limits(1, 1), "t");
    let finished = admission
        .read(Class::Heavy, "a", |permit| permit.interrupt().clone())
        .await;
    let flag = finished.unwrap().expect("the read ran");
    assert!(
        !flag.load(Ordering::Relaxed),
        "a read that ends is not interrupted"
    );

    let (started, on_start) = std::sync::mpsc::channel();
    let reading = {
        let admission = admission.clone();
        tokio::spawn(async move {
            admission
                .read(Class::Heavy, "a", move |permit| {
                    started.send(permit.interrupt().clone()).unwrap();
                    while !permit.interrupt().load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                })
                .await
        })
    };
    let flag = tokio::task::spawn_blocking(move || on_start.recv().unwrap())
        .await
        .unwrap();
    reading.abort();
    let _ = reading.await;
    assert!(flag.load(Ordering::Relaxed), "the caller went away first");
}

/// The slot a heavy read frees goes straight to the next queued read, on the heavy
/// thread: no async task has to run for it to start (under load, waking the waiting
/// request's task to hand its work over left slots idle).
#[test]
fn a_queued_read_starts_when_a_slot_frees_without_its_caller_running() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let admission = Admission::new(limits(1, 4), "t");
    let (finish_first, first_may_end) = std::sync::mpsc::channel::<()>();
    let (second_started, on_second_start) = std::sync::mpsc::channel::<()>();
    let first = {
        let admission = admission.clone();
        runtime.spawn(async move {
            admission
                .read(Class::Heavy, "a", move |_| first_may_end.recv().unwrap())
                .await
        })
    };
    let second = {
        let admission = admission.clone();
        runtime.spawn(async move {
            admission
                .read(Class::Heavy, "b", move |_| second_started.send(()).unwrap())
                .await
        })
    };
    // Both tasks run until the first read holds the slot and the second is queued ...
    runtime.block_on(async {
        while counter(&admission, "t_reads_queued", &[("class", "heavy")]) < 1.0 {
            tokio::task::yield_now().await;
        }
    });
    // ... then, with the runtime not running any task, the first read ends.
    finish_first.send(()).unwrap();
    on_second_start
        .recv_timeout(Duration::from_secs(5))
        .expect("the second read started on the freed slot");
    runtime.block_on(async {
        assert!(first.await.unwrap().unwrap().is_some());
        assert!(second.await.unwrap().unwrap().is_some());
    });
}

#[tokio::test]
async fn a_queued_read_whose_caller_goes_away_never_runs() {
    let admission = Admission::new(limits(1, 4), "t");
    let running = admission.admit(Class::Heavy, "a").await.unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let queued = {
        let (admission, ran) = (admission.clone(), ran.clone());
        tokio::spawn(async move {
            admission
                .read(Class::Heavy, "b", move |_| ran.store(true, Ordering::Relaxed))
                .await
        })
    };
    while counter(&admission, "t_reads_queued", &[("class", "heavy")]) < 1.0 {
        tokio::task::yield_now().await;
    }
    queued.abort();
    let _ = queued.await;
    assert_eq!(counter(&admission, "t_reads_queued", &[("class", "heavy")]), 0.0);
    assert_eq!(
        counter(&admission, "t_reads_cancelled_total", &[("stage", "queued")]),
        1.0
    );
    drop(running);
    // The slot is free for the next read, and the withdrawn one never ran.
    assert!(admission.read(Class::Heavy, "c", |_| ()).await.unwrap().is_some());
    assert!(!ran.load(Ordering::Relaxed));
}

#[tokio::test]
async fn by_default_a_busy_account_keeps_every_core_and_another_account_still_finds_a_slot() {
    let cores = 2;
    let admission = Admission::new(Limits::for_cores(cores), "t");
    // A lone account runs as many heavy reads as there are cores ...
    let mut busy = Vec::new();
    for _ in 0..cores {
        busy.push(admission.admit(Class::Heavy, "busy").await.unwrap());
    }
    // ... and its next one waits, while another account's read starts at once.
    let queued = {
        let admission = admission.clone();
        tokio::spawn(async move { admission.admit(Class::Heavy, "busy").await.map(drop) })
    };
    tokio::task::yield_now().await;
    assert_eq!(counter(&admission, "t_reads_queued", &[("class", "heavy")]), 1.0);
    let other = tokio::time::timeout(Duration::from_millis(50), admission.admit(Class::Heavy, "other")).await;
    let other = other.expect("not queued").expect("admitted");
    // A third account waits for a slot like everyone else.
    let third = tokio::time::timeout(Duration::from_millis(50), admission.admit(Class::Heavy, "third")).await;
    assert!(third.is_err(), "every slot is taken");
    drop(other);
    drop(busy);
    assert!(queued.await.unwrap().is_ok());
}

#[tokio::test]
async fn while_two_accounts_have_work_a_busy_one_runs_only_its_share_of_the_cores() {
    let admission = Admission::new(Limits::for_cores(2), "t");
    let first = admission.admit(Class::Heavy, "busy").await.unwrap();
    let _second = admission.admit(Class::Heavy, "busy").await.unwrap();
    let other = tokio::time::timeout(Duration::from_millis(50), admission.admit(Class::Heavy, "other"))
        .await
        .expect("the spare slot")
        .unwrap();
    let next = {
        let admission = admission.clone();
        tokio::spawn(async move { admission.admit(Class::Heavy, "busy").await.map(drop) })
    };
    tokio::task::yield_now().await;
    // A busy read ends while the other account's runs: the busy account is at its share
    // (one of two cores), so its next read keeps waiting.
    drop(first);
    tokio::task::yield_now().await;
    assert_eq!(counter(&admission, "t_reads_queued", &[("class", "heavy")]), 1.0);
    assert!(!next.is_finished());
    // The other account is done: the busy one has every core again.
    drop(other);
    assert!(next.await.unwrap().is_ok());
}

#[tokio::test]
async fn a_read_that_waited_out_the_timeout_is_told_to_wait_as_long_again() {
    let admission = Admission::new(
        Limits {
            queue_timeout: Duration::from_millis(1200),
            ..limits(1, 2)
        },
        "t",
    );
    let _running = admission.admit(Class::Heavy, "a").await.unwrap();
    let refused = admission.admit(Class::Heavy, "a").await.err().unwrap();
    assert_eq!(refused.reason, "queue_timeout");
    assert_eq!(refused.retry_after, Duration::from_millis(1200));
}

#[tokio::test]
async fn the_thread_whose_read_frees_a_slot_runs_the_read_granted_it() {
    // Two slots, one per account: "a"'s second read waits for its first, and then runs
    // on the same thread rather than waking the other one (which may not get a core).
    let admission = Admission::new(
        Limits {
            account_heavy_slots: 1,
            ..limits(2, 4)
        },
        "t",
    );
    let thread = || std::thread::current().id();
    let (finish_first, first_may_end) = std::sync::mpsc::channel::<()>();
    let first = {
        let admission = admission.clone();
        tokio::spawn(async move {
            admission
                .read(Class::Heavy, "a", move |_| {
                    first_may_end.recv().unwrap();
                    thread()
                })
                .await
        })
    };
    while counter(&admission, "t_reads_running", &[("class", "heavy")]) < 1.0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let second = {
        let admission = admission.clone();
        tokio::spawn(async move { admission.read(Class::Heavy, "a", move |_| thread()).await })
    };
    while counter(&admission, "t_reads_queued", &[("class", "heavy")]) < 1.0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    finish_first.send(()).unwrap();
    let first = first.await.unwrap().unwrap().unwrap();
    let second = second.await.unwrap().unwrap().unwrap();
    assert_eq!(first, second);
}
