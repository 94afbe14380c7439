// FulfillRun from a simulated game loop: Update() once a frame at 60 fps, each call timed,
// requests sent by an HttpWebRequest sender on the thread pool, grants given on the loop's
// thread into the game's own records (a set of ids).
//   drain N     (after a warm-up run on TD_TEST_WARM_*'s fake when set) runs until N grants,
//               disposes the run mid-way, resumes with a new run on the same journal to the
//               end; prints the Update() times and
//               run: updates=N frames=N median_us=N p99_us=N max_us=N first_update_max_us=N
//               cpu_median_us=N cpu_p99_us=N cpu_max_us=N (the loop thread's CPU time in
//               those calls) gc0=N gc0_in_update=N (collections that began inside a timed call)
//               update_alloc_kb=N update_alloc_max_b=N (what the loop's thread allocated in the
//               timed calls, in all and the most in one) grant_alloc_kb=N (of which the grant
//               function, the game's records) given=N twice=N (the times leave out each run's
//               first Update, where Mono compiles the code: first_update_max_us)
//               resumed=N fulfilled=N interrupted=0
//               and runs: first_pages=N second_pages=N second_listed=N (page requests per run)
//   interrupt   raises a stop signal after 150 grants, then Interrupt() on a second run after
//               100 more: both end gracefully; prints the same line
//   manual      drives a run by hand with Poll and the Feed methods; wrong answers are typed
//               exceptions; the journal refuses a second run; prints manual: ok
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TwitchDrops;

static class FulfillRunMain
{
    const double FrameMs = 1000.0 / 60;

    static HashSet<string> given = new HashSet<string>();
    static readonly List<double> updateUs = new List<double>();
    /// <summary>The same calls' CPU time on the loop's thread (Linux): what the call cost,
    /// without the time the thread waited for a core on a busy machine.</summary>
    static readonly List<double> updateCpuUs = new List<double>();

    struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    static extern int clock_gettime(int clock, out Timespec time);

    static double ThreadCpuUs()
    {
        Timespec t;
        clock_gettime(3 /* CLOCK_THREAD_CPUTIME_ID */, out t);
        return t.Seconds * 1e6 + t.Nanoseconds / 1e3;
    }
    /// <summary>Each run's first Update (Mono compiles the code it runs then; IL2CPP has no JIT).</summary>
    static readonly List<double> firstUs = new List<double>();
    static int twice, resumed, frames;
    /// <summary>The runs' page requests (GET: the only ones of a fulfillment run).</summary>
    static int pageRequests;
    /// <summary>Bytes the loop's thread allocated inside the timed Update calls, the most in
    /// one call, and the gen0 collections that began inside them (paid on the loop's thread
    /// when its own allocation set them off).</summary>
    static long updateAllocated, updateAllocatedMax;
    static int gcInUpdate;

    /// <summary>Of <see cref="updateAllocated"/>, what the game's grant function allocated
    /// (its records: the set of ids growing).</summary>
    static long grantAllocated;

    static GrantOutcome Grant(GrantRequest request)
    {
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        if (request.Resumed) resumed++;
        // The game's records: a resumed grant that was given is answered Granted, not given again.
        if (!given.Add(request.Id) && !request.Resumed) twice++;
        grantAllocated += GC.GetAllocatedBytesForCurrentThread() - allocated;
        return GrantOutcome.Granted;
    }

    /// <summary>Frames of a 60 fps loop until <paramref name="stop"/> or the run's end: one
    /// timed Update per frame, then the rest of the frame slept.</summary>
    static void Loop(FulfillRun run, Func<bool> stop)
    {
        var clock = Stopwatch.StartNew();
        var next = 0.0;
        var running = true;
        var first = true;
        while (running && !stop())
        {
            T.Check(frames < 200000, "the run ends");
            var collections = GC.CollectionCount(0);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var cpu = ThreadCpuUs();
            var before = Stopwatch.GetTimestamp();
            running = run.Update();
            var after = Stopwatch.GetTimestamp();
            cpu = ThreadCpuUs() - cpu;
            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            collections = GC.CollectionCount(0) - collections;
            var us = (after - before) * 1e6 / Stopwatch.Frequency;
            if (first) firstUs.Add(us);
            else
            {
                updateUs.Add(us);
                updateCpuUs.Add(cpu);
                updateAllocated += allocated;
                updateAllocatedMax = Math.Max(updateAllocatedMax, allocated);
                gcInUpdate += collections;
            }
            first = false;
            frames++;
            next += FrameMs;
            var wait = next - clock.Elapsed.TotalMilliseconds;
            if (wait > 0) Thread.Sleep(TimeSpan.FromMilliseconds(wait));
        }
    }

    static FulfillRun Begin(DropsClient client, WebTransport web, Journal journal, FulfillOptions options)
    {
        var run = client.BeginFulfill(options, journal);
        run.Sender = (request, cancel) =>
        {
            if (request.Method == "GET") pageRequests++;
            return web.SendAsync(request, cancel);
        };
        run.Grant = Grant;
        return run;
    }

    static void Print(FulfillReport report)
    {
        var sorted = updateUs.OrderBy(x => x).ToList();
        var cpu = updateCpuUs.OrderBy(x => x).ToList();
        Func<List<double>, double, long> of = (list, q) => (long)Math.Round(list[Math.Min(list.Count - 1, (int)(q * list.Count))]);
        Func<double, long> at = q => of(sorted, q);
        Console.WriteLine("run: updates=" + sorted.Count + " frames=" + frames + " median_us=" + at(0.5) + " p99_us=" + at(0.99)
            + " max_us=" + (long)Math.Round(sorted[sorted.Count - 1]) + " first_update_max_us=" + (long)Math.Round(firstUs.Max())
            + " cpu_median_us=" + of(cpu, 0.5) + " cpu_p99_us=" + of(cpu, 0.99) + " cpu_max_us=" + of(cpu, 1.0)
            + " gc0=" + GC.CollectionCount(0) + " gc0_in_update=" + gcInUpdate
            + " update_alloc_kb=" + updateAllocated / 1024 + " update_alloc_max_b=" + updateAllocatedMax
            + " grant_alloc_kb=" + grantAllocated / 1024 + " given=" + given.Count + " twice=" + twice
            + " resumed=" + resumed + " fulfilled=" + report.Fulfilled + " interrupted=" + (report.Interrupted ? 1 : 0));
        // Where the slowest calls were (the index among the timed calls, of how many).
        Console.WriteLine("slowest cpu_us: " + string.Join(" ", updateCpuUs.Select((us, i) => new { us, i })
            .OrderByDescending(x => x.us).Take(5).Select(x => "#" + x.i + "/" + updateCpuUs.Count + ":" + (long)x.us)));
    }

    /// <summary>A whole run on the warm-up fake (TD_TEST_WARM_HELIX_URL, TD_TEST_WARM_AUTH_URL), so
    /// that Mono has compiled every path of a run before the timed one, the game's grant
    /// function too (IL2CPP compiles ahead of time); its times are not kept, and the game's
    /// records start again empty.</summary>
    static void WarmUp()
    {
        var config = T.Config();
        config.HelixUrl = T.Env("TD_TEST_WARM_HELIX_URL");
        config.AuthUrl = T.Env("TD_TEST_WARM_AUTH_URL");
        using (var client = new DropsClient(config))
        using (var journal = Journal.Memory())
        using (var run = client.BeginFulfill(new FulfillOptions { GameId = T.Env("TWITCH_GAME_ID"), GrantsInFlight = 100, PageSize = 100 }, journal))
        {
            run.Sender = new WebTransport().SendAsync;
            run.Grant = Grant;
            while (run.Update()) Thread.Sleep(1);
            T.Check(run.Report.IsComplete, "the warm-up run: " + run.Report);
        }
        given = new HashSet<string>();
        resumed = twice = 0;
        grantAllocated = 0;
    }

    static int Drain(int stopAfter)
    {
        if (Environment.GetEnvironmentVariable("TD_TEST_WARM_HELIX_URL") != null) WarmUp();
        var web = new WebTransport();
        // Pages of 1000 (the default, the fewest requests): Update reads none of them.
        var options = new FulfillOptions { GameId = T.Env("TWITCH_GAME_ID"), GrantsInFlight = 100 };
        using (var client = new DropsClient(T.Config()))
        using (var journal = Journal.Memory())
        {
            var first = Begin(client, web, journal, options);
            Loop(first, () => given.Count >= stopAfter);
            T.Check(!first.IsDone, "stopped mid-run");
            T.Throws<InvalidOperationException>(() => client.BeginFulfill(options, journal), "the journal is the first run's");
            first.Dispose();
            first.Dispose();
            T.Throws<ObjectDisposedException>(() => first.Poll(), "a disposed run");
            T.Throws<ObjectDisposedException>(() => first.Update(), "a disposed run's Update");
            var givenBefore = given.Count;
            var firstPages = pageRequests;

            using (var second = Begin(client, web, journal, options))
            {
                Loop(second, () => false);
                T.Check(second.IsDone && second.Failure == null, "the second run ends: " + second.Failure);
                T.Check(second.Report.IsComplete, "complete: " + second.Report);
                T.Check(resumed <= 100, "only a batch in doubt: " + resumed);
                T.Check(given.Count > givenBefore, "the second run gave the rest");
                Print(second.Report);
                // Each run's page requests, and the entitlements the second one found CLAIMED.
                Console.WriteLine("runs: first_pages=" + firstPages + " second_pages=" + (pageRequests - firstPages)
                    + " second_listed=" + second.Report.Listed);
            }
        }
        return 0;
    }

    static int Interrupt()
    {
        var web = new WebTransport();
        using (var signal = new DropsStopSignal())
        using (var client = new DropsClient(T.Config()))
        using (var journal = Journal.Memory())
        {
            // Settlements are heard on the thread calling Update (the native work runs on the
            // thread pool).
            var loopThread = Thread.CurrentThread.ManagedThreadId;
            var settledFulfilled = 0;
            var settledElsewhere = 0;
            var options = new FulfillOptions
            {
                GameId = T.Env("TWITCH_GAME_ID"), StopSignal = signal, GrantsInFlight = 10,
                OnSettled = s =>
                {
                    if (Thread.CurrentThread.ManagedThreadId != loopThread) settledElsewhere++;
                    if (s.State == SettledState.Fulfilled) settledFulfilled++;
                },
            };
            FulfillReport report;
            using (var run = Begin(client, web, journal, options))
            {
                Loop(run, () => given.Count >= 150);
                signal.Raise();
                Loop(run, () => false);
                report = run.Report;
                T.Check(run.IsDone && report.Interrupted && !report.IsComplete, "stopped gracefully: " + report);
                T.Check(report.Fulfilled == given.Count, "what was given is marked: " + report + " given " + given.Count);
                T.Check(settledFulfilled == report.Fulfilled && settledElsewhere == 0,
                    "settled on the loop's thread: " + settledFulfilled + " elsewhere " + settledElsewhere);
            }
            var firstGiven = given.Count;
            using (var run = Begin(client, web, journal, new FulfillOptions { GameId = T.Env("TWITCH_GAME_ID") }))
            {
                // The native work inside Update, on this thread (no thread pool).
                run.NativeWorkOnThreadPool = false;
                Loop(run, () => given.Count >= firstGiven + 100);
                run.Interrupt();
                Loop(run, () => false);
                T.Check(run.Report.Interrupted, "interrupted: " + run.Report);
                T.Check(run.Report.Fulfilled == given.Count - firstGiven, "marked: " + run.Report);
                Print(run.Report);
            }
        }
        return 0;
    }

    static int Manual()
    {
        var web = new WebTransport();
        var settled = 0;
        using (var client = new DropsClient(T.Config()))
        using (var journal = Journal.Memory())
        using (var run = client.BeginFulfill(new FulfillOptions { GameId = T.Env("TWITCH_GAME_ID"), OnSettled = s => settled++ }, journal))
        {
            T.Throws<InvalidOperationException>(() => run.Update(), "Update without a Sender");
            using (var other = Journal.Memory())
            {
                var big = T.Throws<DropsInvalidInputException>(() => client.BeginFulfill(new FulfillOptions { PageSize = 1001 }, other), "a page of 1001");
                T.Check(big.Field == "first", "names it: " + big.Field);
                // A run refused at its start leaves the journal free.
                client.BeginFulfill(new FulfillOptions { PageSize = 10 }, other).Dispose();
            }
            T.Throws<InvalidOperationException>(() => client.Fulfill(new FulfillOptions(), journal, r => GrantOutcome.Granted),
                "a blocking run on the run's journal");
            var ex = T.Throws<DropsException>(() => run.FeedSlept(12345), "an unknown ticket");
            T.Check(ex.Code == DropsErrorCode.WrongState, "wrong state: " + ex.Code);
            // example: by-hand
            var sends = 0;
            while (true)
            {
                var step = run.Poll();
                if (step.Kind == RunStepKind.Done) break;
                switch (step.Kind)
                {
                    case RunStepKind.Send:
                        sends++;
                        T.Check(!step.ToString().Contains("Bearer") && !step.Request.ToString().Contains("Bearer"), "no token shown");
                        run.FeedResponse(step.Ticket, web.Send(step.Request));
                        break;
                    case RunStepKind.Sleep:
                        Thread.Sleep((int)step.SleepMs);
                        run.FeedSlept(step.Ticket);
                        break;
                    case RunStepKind.Grant:
                        T.Throws<ArgumentException>(() => run.FeedGrant(step.Ticket, default(GrantOutcome)), "no outcome");
                        run.FeedGrant(step.Ticket, GrantOutcome.Granted);
                        break;
                    case RunStepKind.Idle:
                        T.Check(false, "nothing out in a loop that answers at once");
                        break;
                }
            }
            // end example
            T.Check(run.IsDone && run.Report.IsComplete && run.Report.Fulfilled > 0, "done: " + run.Report);
            T.Check(settled == run.Report.Listed, "settled each: " + settled);
            T.Check(run.Poll().Kind == RunStepKind.Done && !run.Update(), "done stays done");
            T.Check(sends == client.RequestsSent && sends > 0, "sends " + sends);
            Console.WriteLine("manual: ok fulfilled=" + run.Report.Fulfilled);
        }
        return 0;
    }

    /// <summary>RunAsync with GrantAsync: a batch's grants out side by side on the thread pool,
    /// every 50th faulting (left CLAIMED, its exception kept).</summary>
    static int AsyncGrants()
    {
        var web = new WebTransport();
        var inFlight = 0;
        var most = 0;
        var seen = 0;
        using (var client = new DropsClient(T.Config()))
        using (var journal = Journal.Memory())
        using (var run = client.BeginFulfill(new FulfillOptions { GameId = T.Env("TWITCH_GAME_ID"), GrantsInFlight = 20 }, journal))
        {
            run.Sender = web.SendAsync;
            run.GrantAsync = request => Task.Run(() =>
            {
                var now = Interlocked.Increment(ref inFlight);
                lock (given)
                {
                    most = Math.Max(most, now);
                }
                Thread.Sleep(2);
                Interlocked.Decrement(ref inFlight);
                if (Interlocked.Increment(ref seen) % 50 == 0) throw new InvalidOperationException("the backend said no");
                lock (given) given.Add(request.Id);
                return GrantOutcome.Granted;
            });
            T.Throws<InvalidOperationException>(() => { run.Grant = r => GrantOutcome.Granted; run.Update(); }, "Grant and GrantAsync both");
            run.Grant = null;
            var report = run.RunAsync().Result;
            T.Check(report.IsComplete == false && report.GrantFailed == seen / 50, "the faulted ones failed: " + report.GrantFailed);
            T.Check(report.GrantExceptionCount == seen / 50 && report.GrantExceptions[0].Message == "the backend said no", "kept");
            T.Check(report.Fulfilled == given.Count, "the others fulfilled: " + report);
            T.Check(most > 1, "grants side by side: " + most);
            Console.WriteLine("async: ok given=" + given.Count + " failed=" + report.GrantFailed + " most_in_flight=" + most);
        }
        return 0;
    }

    /// <summary>FulfillAsync and ListEntitlementsAsync with a CancellationToken.</summary>
    static int Cancel()
    {
        using (var client = new DropsClient(T.Config()))
        using (var journal = Journal.Memory())
        using (var cancel = new CancellationTokenSource())
        {
            var options = new FulfillOptions { GameId = T.Env("TWITCH_GAME_ID"), GrantsInFlight = 10 };
            var report = client.FulfillAsync(options, journal, request =>
            {
                if (given.Count == 99) cancel.Cancel();
                return Grant(request);
            }, cancel.Token).Result;
            T.Check(report.Interrupted && !report.IsComplete, "stopped gracefully: " + report);
            T.Check(report.Fulfilled == given.Count && given.Count >= 100 && given.Count < 200, "what was given is marked: " + given.Count);
            using (var signal = new DropsStopSignal())
            {
                T.Throws<ArgumentException>(() => client.FulfillAsync(new FulfillOptions { StopSignal = signal }, journal,
                    r => GrantOutcome.Granted, cancel.Token), "a stop signal and a token");
            }
            var listing = client.ListEntitlementsAsync(new EntitlementQuery { First = 10 }, cancel.Token);
            var thrown = T.Throws<AggregateException>(() => listing.Wait(), "a cancelled listing");
            T.Check(thrown.InnerException is OperationCanceledException, "cancelled: " + thrown.InnerException.GetType().Name);
            Console.WriteLine("cancel: ok given=" + given.Count + " twice=" + twice);
        }
        return 0;
    }

    static int Main(string[] args)
    {
        switch (args[0])
        {
            case "cancel": return Cancel();
            case "async": return AsyncGrants();
            case "drain": return Drain(int.Parse(args[1]));
            case "interrupt": return Interrupt();
            case "manual": return Manual();
        }
        return 2;
    }
}
