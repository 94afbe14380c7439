// The fulfillment engine driven from a game loop without ever blocking (td_fulfill_run): the
// same engine and journal guarantees as DropsClient.Fulfill, with the host performing the
// requests (a DropsHttpSender), the waits (deadlines) and the grants (on the thread that
// calls Update, e.g. Unity's main thread). Every rule stays in the native core.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using TwitchDrops.Native;

namespace TwitchDrops
{
    /// <summary>What a <see cref="FulfillRun"/> needs next.</summary>
    public enum RunStepKind : uint
    {
        /// <summary>Send <see cref="RunStep.Request"/>, then <see cref="FulfillRun.FeedResponse"/>
        /// or <see cref="FulfillRun.FeedTransportError"/>.</summary>
        Send = (uint)td_run_step_kind.TD_RUN_SEND,
        /// <summary>Wait <see cref="RunStep.SleepMs"/>, then <see cref="FulfillRun.FeedSlept"/>.</summary>
        Sleep = (uint)td_run_step_kind.TD_RUN_SLEEP,
        /// <summary>Give <see cref="RunStep.Grant"/> in the game, then <see cref="FulfillRun.FeedGrant"/>.</summary>
        Grant = (uint)td_run_step_kind.TD_RUN_GRANT,
        /// <summary>Everything handed out is still out: poll again next frame.</summary>
        Idle = (uint)td_run_step_kind.TD_RUN_IDLE,
        /// <summary>The run is over (<see cref="FulfillRun.Report"/>, <see cref="FulfillRun.Failure"/>).</summary>
        Done = (uint)td_run_step_kind.TD_RUN_DONE,
    }

    /// <summary>One step of a <see cref="FulfillRun"/>; only the members of its kind are set.</summary>
    public sealed class RunStep
    {
        /// <summary>What is needed.</summary>
        public RunStepKind Kind { get; internal set; }
        /// <summary>Send, Sleep, Grant: names the step when it is answered (never reused in a run).</summary>
        public ulong Ticket { get; internal set; }
        /// <summary>Send: the request (a copy).</summary>
        public DropsHttpRequest Request { get; internal set; }
        /// <summary>Sleep: how long.</summary>
        public long SleepMs { get; internal set; }
        /// <summary>Grant: the entitlement to give (a copy).</summary>
        public GrantRequest Grant { get; internal set; }
        /// <summary>Done: null when the run reached its end, or why it stopped early.</summary>
        public DropsErrorCode? StoppedBy { get; internal set; }

        /// <summary>The kind and ticket (no headers: they hold credentials).</summary>
        public override string ToString() { return "RunStep(" + Kind + ", " + Ticket + ")"; }
    }

    /// <summary>A graceful stop for fulfillment runs, raised from any thread: runs given it
    /// (<see cref="FulfillOptions.StopSignal"/>) start no new grant, finish and journal the
    /// ones out, mark what was granted, and end with the report's <c>Interrupted</c> set.</summary>
    public sealed class DropsStopSignal : IDisposable
    {
        internal readonly StopSignalHandle Handle;

        /// <summary>A signal not raised yet.</summary>
        public unsafe DropsStopSignal()
        {
            Handle = new StopSignalHandle();
            Handle.Own((IntPtr)NativeMethods.td_stop_signal_new());
        }

        /// <summary>Raises it (an atomic store: any thread).</summary>
        public unsafe void Raise()
        {
            using (var s = Handle.Use()) NativeMethods.td_stop_signal_raise((td_stop_signal*)s.Pointer);
        }

        /// <summary>Frees this reference (runs and options keep theirs). Safe to call twice.</summary>
        public void Dispose() { Handle.Dispose(); }
    }

    /// <summary>A fulfillment run a game loop drives without blocking: call
    /// <see cref="Update"/> once a frame (it sends through <see cref="Sender"/>, waits by
    /// deadline, and grants through <see cref="Grant"/> on the calling thread, for at most
    /// <see cref="UpdateBudget"/>, while the native work runs on the thread pool), or drive it
    /// yourself with <see cref="Poll"/> and the <c>Feed…</c> methods (one way or the other,
    /// not both). Same guarantees as <see cref="DropsClient.Fulfill"/>: the journal
    /// first, each entitlement granted once, marked FULFILLED in batches of 100, recovery after
    /// a crash or a <see cref="Dispose"/> mid-run (the next run with the same journal marks
    /// what was granted; grants in doubt come back <see cref="GrantRequest.Resumed"/>).
    /// One thread at a time. The journal is this run's alone until the run is disposed.</summary>
    public sealed class FulfillRun : IDisposable
    {
        private readonly RunHandle handle;
        private readonly RunContext context;
        private readonly HostWork work = new HostWork();
        /// <summary>The error every call writes to: calls are one thread at a time.</summary>
        private readonly ErrorHandle error = ErrorHandle.New();
        private readonly Journal journal;
        private FulfillReport report;
        private DropsException failure;
        private bool done;
        private bool lastIdle;
        private bool disposed;

        // Update's native work (polls, answers, the journal, reading pages, copying what a step
        // hands out) runs in passes on the thread pool, so that the calling thread only starts
        // sends and waits, grants, and allocates next to nothing (a collection its own
        // allocation set off would be paid inside Update).
        /// <summary>The native run: one thread at a time (a pass, or Poll and Feed by hand).</summary>
        private readonly object gate = new object();
        /// <summary>Guards the queues between Update and the passes; never held across native calls.</summary>
        private readonly object mailbox = new object();
        /// <summary>Steps a pass handed out, for Update to start (sends, waits, grants).</summary>
        private readonly Queue<Handout> handouts = new Queue<Handout>();
        /// <summary>Update's answers, for the next pass to feed.</summary>
        private readonly Queue<Answer> answers = new Queue<Answer>();
        /// <summary>A pass's answers being fed (the pass's own).</summary>
        private readonly List<Answer> feeding = new List<Answer>();
        /// <summary>Update's own: hand-outs taken from <see cref="handouts"/> in one go, and
        /// answers posted to <see cref="answers"/> in one go (one lock a frame, not one a grant).</summary>
        private readonly Queue<Handout> starting = new Queue<Handout>();
        private readonly List<Answer> replies = new List<Answer>();
        private readonly Action passAction;
        private readonly Action<ulong, DropsHttpResponse> answerResponse;
        private readonly Action<ulong, TransportErrorKind, string> answerTransportError;
        private readonly Action<ulong> answerSlept;
        private readonly Action<ulong, Task<GrantOutcome>> answerFinishedGrant;
        /// <summary>Under mailbox: a pass is queued or running; the first poll is still to
        /// come; <see cref="Interrupt"/> was asked and not passed on yet.</summary>
        private bool passRunning, passNeeded = true, interruptWanted;
        /// <summary>Under mailbox: the running pass (for RunAsync to wait on).</summary>
        private Task pass;
        /// <summary>Under mailbox: what a pass threw, rethrown by the next Update.</summary>
        private Exception passFailure;
        /// <summary>Under mailbox: a pass saw DONE; the report and failure it took.</summary>
        private bool passDone;
        private FulfillReport passReport;
        private DropsException passFailureOfRun;

        private struct Handout
        {
            internal RunStepKind Kind;
            internal ulong Ticket;
            internal DropsHttpRequest Request;
            internal long SleepMs;
            internal GrantRequest Grant;
        }

        private enum AnswerKind : byte { Response = 1, TransportError, Slept, Grant }

        private struct Answer
        {
            internal AnswerKind Kind;
            internal ulong Ticket;
            internal DropsHttpResponse Response;
            internal TransportErrorKind ErrorKind;
            internal string Message;
            internal GrantOutcome Outcome;
        }

        internal FulfillRun(RunHandle handle, RunContext context, Journal journal)
        {
            this.handle = handle;
            this.context = context;
            this.journal = journal;
            // Ticks: TimeSpan.FromMilliseconds rounds to whole milliseconds on Mono and .NET Framework.
            UpdateBudget = TimeSpan.FromTicks(TimeSpan.TicksPerMillisecond / 4);
            NativeWorkOnThreadPool = true;
            // Made once: a delegate made at each Update would be garbage at each frame.
            passAction = Pass;
            answerResponse = (ticket, response) => replies.Add(new Answer { Kind = AnswerKind.Response, Ticket = ticket, Response = response });
            answerTransportError = (ticket, kind, message) =>
                replies.Add(new Answer { Kind = AnswerKind.TransportError, Ticket = ticket, ErrorKind = kind, Message = message });
            answerSlept = ticket => replies.Add(new Answer { Kind = AnswerKind.Slept, Ticket = ticket });
            answerFinishedGrant = FinishedGrant;
        }

        /// <summary>Sends the run's requests (needed by <see cref="Update"/> and <see cref="RunAsync"/>).</summary>
        public DropsHttpSender Sender { get; set; }

        /// <summary>Gives an entitlement in the game and answers (needed by <see cref="Update"/>
        /// and <see cref="RunAsync"/>); runs on the thread calling them. Give the reward durably,
        /// then answer; an exception counts as Failed (the entitlement stays CLAIMED;
        /// <see cref="FulfillReport.GrantExceptions"/> keeps it). For a request with
        /// <see cref="GrantRequest.Resumed"/> set, check your records by <see cref="GrantRequest.Id"/>
        /// first, and answer Granted if it was given.</summary>
        public Func<GrantRequest, GrantOutcome> Grant { get; set; }

        /// <summary>Instead of <see cref="Grant"/>: gives an entitlement asynchronously (your
        /// backend), so that a batch's grants (<see cref="FulfillOptions.GrantsInFlight"/>) are
        /// out side by side; <see cref="Update"/> answers each when its Task completes. A Task
        /// that faults counts as Failed (the entitlement stays CLAIMED). Answer promptly: the
        /// batch is journaled once all its grants are answered.</summary>
        public Func<GrantRequest, Task<GrantOutcome>> GrantAsync { get; set; }

        /// <summary>Whether <see cref="Update"/> runs the native work (the journal, reading
        /// pages, copying requests and grants) in passes on the thread pool (default true), so
        /// that the calling thread neither waits nor allocates for it. False runs the passes
        /// inside Update, on the calling thread: for a platform without threads, or a
        /// <see cref="IJournalStore"/> that must run there; a pass may then take longer than
        /// <see cref="UpdateBudget"/> (reading a page of 1000 entitlements takes about 0.7 ms).</summary>
        public bool NativeWorkOnThreadPool { get; set; }

        /// <summary>How long one <see cref="Update"/> may keep starting what the run handed
        /// out (default 0.25 ms); a single grant may take longer.</summary>
        public TimeSpan UpdateBudget { get; set; }

        /// <summary>The run is over: read <see cref="Report"/> (or <see cref="Failure"/>).</summary>
        public bool IsDone { get { return done; } }

        /// <summary>Once done: the report (also when the run stopped early: then
        /// <see cref="Failure"/> says why).</summary>
        public FulfillReport Report { get { return report; } }

        /// <summary>Once done: why the run stopped early, or null.</summary>
        public DropsException Failure { get { return failure; } }

        /// <summary>Steps handed out and not answered yet (waits for a native step running
        /// on the thread pool to end).</summary>
        public unsafe int StepsOut
        {
            get
            {
                lock (gate)
                using (var r = handle.Use()) return (int)(ulong)NativeMethods.td_fulfill_run_steps_out((td_fulfill_run*)r.Pointer);
            }
        }

        /// <summary>Advances the run and says what it needs next; several steps may be out at
        /// once, answered by ticket in any order. After Done, Done again.</summary>
        public RunStep Poll(DateTimeOffset? now = null)
        {
            var nowMs = Clock.Ms(now);
            lock (gate) return PollNative(nowMs, true);
        }

        /// <summary>One native poll (under <see cref="gate"/>); at DONE, <paramref name="byHand"/>
        /// publishes the end at once (Update publishes it on its own thread).</summary>
        private unsafe RunStep PollNative(ulong nowMs, bool byHand)
        {
            ApplyInterrupt();
            td_run_step step;
            var error = this.error;
            using (var r = handle.Use())
            using (var e = error.Use())
            {
                Failures.Check(NativeMethods.td_fulfill_run_poll((td_fulfill_run*)r.Pointer, nowMs, &step, (td_error*)e.Pointer), error);
                var copy = new RunStep { Kind = (RunStepKind)step.kind, Ticket = step.ticket };
                switch (step.kind)
                {
                    case td_run_step_kind.TD_RUN_SEND:
                        copy.Request = TransportBinding.Copy(step.request);
                        break;
                    case td_run_step_kind.TD_RUN_SLEEP:
                        copy.SleepMs = (long)Math.Min(step.sleep_ms, long.MaxValue);
                        break;
                    case td_run_step_kind.TD_RUN_GRANT:
                        copy.Grant = GrantRequest.Copy(step.grant);
                        break;
                    case td_run_step_kind.TD_RUN_DONE:
                        copy.StoppedBy = step.result == td_result.TD_OK ? (DropsErrorCode?)null : (DropsErrorCode)step.result;
                        Finish((td_fulfill_run*)r.Pointer, byHand);
                        break;
                }
                return copy;
            }
        }

        private unsafe void Finish(td_fulfill_run* run, bool byHand)
        {
            if (done || passDone) return;
            FulfillReport report = null;
            DropsException failure = null;
            var error = this.error;
            using (var e = error.Use())
            {
                td_fulfill_report* native = null;
                var result = NativeMethods.td_fulfill_run_take_report(run, &native, (td_error*)e.Pointer);
                if (result == td_result.TD_OK)
                {
                    using (var owned = new FulfillReportHandle())
                    {
                        owned.Own((IntPtr)native);
                        report = FulfillReport.Copy(native);
                    }
                }
                else
                {
                    failure = Failures.From(result, error);
                    report = failure.FulfillReport;
                }
                if (report != null) report.SetGrantExceptions(context);
            }
            if (byHand)
            {
                this.report = report;
                this.failure = failure;
                done = true;
                work.Cancel();
                return;
            }
            lock (mailbox)
            {
                passReport = report;
                passFailureOfRun = failure;
                passDone = true;
            }
        }

        /// <summary>Answers the Send <paramref name="ticket"/> with a response (any status).</summary>
        public unsafe void FeedResponse(ulong ticket, DropsHttpResponse response)
        {
            if (response == null) throw new ArgumentNullException("response");
            if (response.Status < 100 || response.Status > 999)
            {
                throw new ArgumentOutOfRangeException("response", response.Status, "Status must be 100-999");
            }
            var body = response.Body ?? new byte[0];
            var error = this.error;
            lock (gate)
            using (var headers = new NativeHeaders(response.Headers, "response.Headers"))
            using (var r = handle.Use())
            using (var e = error.Use())
            fixed (td_header* h = headers.Items)
            fixed (byte* b = body)
            {
                Failures.Check(NativeMethods.td_fulfill_run_feed_response((td_fulfill_run*)r.Pointer, ticket, (ushort)response.Status,
                    h, (UIntPtr)headers.Items.Length, b, (UIntPtr)body.Length, (td_error*)e.Pointer), error);
            }
        }

        /// <summary>Answers the Send <paramref name="ticket"/> that got no whole response.</summary>
        public unsafe void FeedTransportError(ulong ticket, TransportErrorKind kind, string message)
        {
            var text = Utf8.Message(message, "(a message that is not valid text)");
            var error = this.error;
            lock (gate)
            using (var r = handle.Use())
            using (var e = error.Use())
            fixed (byte* m = text)
            {
                Failures.Check(NativeMethods.td_fulfill_run_feed_transport_error((td_fulfill_run*)r.Pointer, ticket, (uint)kind, m,
                    (td_error*)e.Pointer), error);
            }
        }

        /// <summary>Answers the Sleep <paramref name="ticket"/>: the time has passed.</summary>
        public unsafe void FeedSlept(ulong ticket)
        {
            var error = this.error;
            lock (gate)
            using (var r = handle.Use())
            using (var e = error.Use())
            {
                Failures.Check(NativeMethods.td_fulfill_run_feed_slept((td_fulfill_run*)r.Pointer, ticket, (td_error*)e.Pointer), error);
            }
        }

        /// <summary>Answers the Grant <paramref name="ticket"/>.</summary>
        public unsafe void FeedGrant(ulong ticket, GrantOutcome outcome)
        {
            if (outcome.Kind == 0) throw new ArgumentException("no outcome (default(GrantOutcome))", "outcome");
            var reason = outcome.Kind == GrantOutcomeKind.Failed ? Utf8.Message(outcome.Reason, "(a reason that is not valid text)") : null;
            var error = this.error;
            lock (gate)
            using (var r = handle.Use())
            using (var e = error.Use())
            fixed (byte* p = reason)
            {
                Failures.Check(NativeMethods.td_fulfill_run_feed_grant((td_fulfill_run*)r.Pointer, ticket, (uint)outcome.Kind, p,
                    (td_error*)e.Pointer), error);
            }
        }

        /// <summary>Asks the run to stop gracefully: nothing new is handed out; keep updating
        /// until <see cref="IsDone"/>. What was granted is journaled and marked; the rest stays
        /// CLAIMED for the next run (the report's <c>Interrupted</c> is set). Taken at the
        /// run's next poll; any thread.</summary>
        public void Interrupt()
        {
            lock (mailbox) interruptWanted = true;
        }

        /// <summary>Passes an <see cref="Interrupt"/> to the native run (under <see cref="gate"/>).</summary>
        private unsafe void ApplyInterrupt()
        {
            lock (mailbox)
            {
                if (!interruptWanted) return;
                interruptWanted = false;
            }
            using (var r = handle.Use()) NativeMethods.td_fulfill_run_interrupt((td_fulfill_run*)r.Pointer);
        }

        /// <summary>One frame's work, never blocking: hands what finished since the last call
        /// (responses, failed sends, passed waits, grants) to the run, and starts what the run
        /// handed out — sends, waits, grants through <see cref="Grant"/> on the calling thread —
        /// until none is left or <see cref="UpdateBudget"/> is spent. The native work (the
        /// journal, reading a page of up to 1000 entitlements, about 0.7 ms, copying requests
        /// and grants) runs in passes on the thread pool, one at a time, so the calling thread
        /// neither waits for it nor allocates for it. False once the run is done.</summary>
        public bool Update()
        {
            if (done) return false;
            if (disposed) throw new ObjectDisposedException("FulfillRun");
            if (Sender == null) throw new InvalidOperationException("set FulfillRun.Sender before Update");
            if ((Grant == null) == (GrantAsync == null))
            {
                throw new InvalidOperationException("set FulfillRun.Grant or FulfillRun.GrantAsync (one of them) before Update");
            }
            var started = Stopwatch.GetTimestamp();
            var budget = (long)(UpdateBudget.TotalSeconds * Stopwatch.Frequency);
            context.Defer = true;
            context.DeliverSettlements();
            work.Finish(answerResponse, answerTransportError, answerSlept);
            work.FinishGrants(answerFinishedGrant);
            lastIdle = false;
            while (true)
            {
                lock (mailbox)
                {
                    while (handouts.Count > 0) starting.Enqueue(handouts.Dequeue());
                }
                if (StartHandouts(started, budget)) return true;
                lock (mailbox)
                {
                    if (passFailure != null)
                    {
                        var thrown = passFailure;
                        passFailure = null;
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(thrown).Throw();
                    }
                    if (passDone && !passRunning && handouts.Count == 0 && replies.Count == 0)
                    {
                        report = passReport;
                        failure = passFailureOfRun;
                        done = true;
                    }
                }
                if (done)
                {
                    work.Cancel();
                    context.DeliverSettlements();
                    return false;
                }
                Kick();
                if (NativeWorkOnThreadPool) break;
                // The pass ran here: start what it handed out, or see the run's end.
                lock (mailbox)
                {
                    if (handouts.Count == 0 && !passDone) break;
                }
            }
            lock (mailbox) lastIdle = handouts.Count == 0;
            return true;
        }

        /// <summary>Starts Update's hand-outs in order; true when the budget ran out first
        /// (the rest wait for the next Update).</summary>
        private bool StartHandouts(long started, long budget)
        {
            while (starting.Count > 0)
            {
                var step = starting.Dequeue();
                switch (step.Kind)
                {
                    case RunStepKind.Send:
                        work.StartSend(step.Ticket, Sender, step.Request);
                        break;
                    case RunStepKind.Sleep:
                        work.StartSleep(step.Ticket, (ulong)step.SleepMs);
                        break;
                    case RunStepKind.Grant:
                        if (GrantAsync != null) work.StartGrant(step.Ticket, GrantAsync, step.Grant);
                        else replies.Add(new Answer { Kind = AnswerKind.Grant, Ticket = step.Ticket, Outcome = SafeGrant(step.Grant) });
                        break;
                }
                if (Stopwatch.GetTimestamp() - started >= budget)
                {
                    Kick();
                    return true;
                }
            }
            return false;
        }

        /// <summary>Posts Update's answers for the next pass, and starts one when there is work
        /// for it and none is running.</summary>
        private void Kick()
        {
            lock (mailbox)
            {
                foreach (var reply in replies) answers.Enqueue(reply);
                replies.Clear();
                if (passRunning || passDone || (!passNeeded && answers.Count == 0 && !interruptWanted)) return;
                passRunning = true;
                if (NativeWorkOnThreadPool)
                {
                    pass = Task.Run(passAction);
                    return;
                }
            }
            Pass();
        }

        /// <summary>A pass on the thread pool: feeds Update's answers, then polls until the run
        /// is idle or done, queueing what it hands out for Update; again while answers came
        /// in meanwhile.</summary>
        private void Pass()
        {
            try
            {
                while (true)
                {
                    lock (mailbox)
                    {
                        if (answers.Count == 0 && !interruptWanted && !passNeeded)
                        {
                            passRunning = false;
                            return;
                        }
                        passNeeded = false;
                        while (answers.Count > 0) feeding.Add(answers.Dequeue());
                    }
                    lock (gate)
                    {
                        foreach (var answer in feeding) Feed(answer);
                        feeding.Clear();
                        while (true)
                        {
                            var step = PollNative(Clock.NowMs(), false);
                            if (step.Kind == RunStepKind.Idle) break;
                            if (step.Kind == RunStepKind.Done)
                            {
                                lock (mailbox) passRunning = false;
                                return;
                            }
                            lock (mailbox)
                            {
                                handouts.Enqueue(new Handout
                                {
                                    Kind = step.Kind, Ticket = step.Ticket, Request = step.Request, SleepMs = step.SleepMs, Grant = step.Grant,
                                });
                            }
                        }
                    }
                }
            }
            catch (Exception exception)
            {
                feeding.Clear();
                lock (mailbox)
                {
                    passFailure = exception;
                    passRunning = false;
                }
            }
        }

        /// <summary>Feeds one of Update's answers (in a pass, under <see cref="gate"/>).</summary>
        private void Feed(Answer answer)
        {
            switch (answer.Kind)
            {
                case AnswerKind.Response:
                    try
                    {
                        FeedResponse(answer.Ticket, answer.Response);
                    }
                    catch (ArgumentException refused)
                    {
                        // A status outside 100-999, a header with a NUL: a failed send, as
                        // for a transport (never an exception out of Update).
                        FeedTransportError(answer.Ticket, TransportErrorKind.Interrupted, "the sender's response was refused: " + refused.Message);
                    }
                    catch (DropsInvalidInputException refused)
                    {
                        FeedTransportError(answer.Ticket, TransportErrorKind.Interrupted, "the sender's response was refused: " + refused.Message);
                    }
                    break;
                case AnswerKind.TransportError:
                    FeedTransportError(answer.Ticket, answer.ErrorKind, answer.Message);
                    break;
                case AnswerKind.Slept:
                    FeedSlept(answer.Ticket);
                    break;
                case AnswerKind.Grant:
                    FeedGrant(answer.Ticket, answer.Outcome);
                    break;
            }
        }

        private void FinishedGrant(ulong ticket, Task<GrantOutcome> task)
        {
            GrantOutcome outcome;
            if (task.Status == TaskStatus.RanToCompletion)
            {
                outcome = task.Result.Kind == 0
                    ? GrantOutcome.Failed("the grant function returned no outcome (default(GrantOutcome))")
                    : task.Result;
            }
            else
            {
                var exception = task.Exception == null ? (Exception)new TaskCanceledException(task) : task.Exception.GetBaseException();
                context.Thrown(exception);
                outcome = GrantOutcome.Failed("the grant function threw " + exception.GetType().FullName + ": " + exception.Message);
            }
            replies.Add(new Answer { Kind = AnswerKind.Grant, Ticket = ticket, Outcome = outcome });
        }

        private GrantOutcome SafeGrant(GrantRequest request)
        {
            try
            {
                var outcome = Grant(request);
                return outcome.Kind == 0 ? GrantOutcome.Failed("the grant function returned no outcome (default(GrantOutcome))") : outcome;
            }
            catch (Exception exception)
            {
                context.Thrown(exception);
                return GrantOutcome.Failed("the grant function threw " + exception.GetType().FullName + ": " + exception.Message);
            }
        }

        /// <summary>Drives the run to its end off any game loop (a server): <see cref="Update"/>
        /// whenever something finished. Cancelling <paramref name="cancellation"/> interrupts
        /// the run gracefully (see <see cref="Interrupt"/>) and still waits for its end. The
        /// report, or <see cref="DropsException"/> with it when the run stopped early.</summary>
        public async Task<FulfillReport> RunAsync(CancellationToken cancellation = default(CancellationToken))
        {
            var interrupted = false;
            while (Update())
            {
                if (cancellation.IsCancellationRequested && !interrupted)
                {
                    Interrupt();
                    interrupted = true;
                }
                if (lastIdle)
                {
                    try
                    {
                        Task running;
                        lock (mailbox) running = passRunning ? pass : null;
                        await work.Any(interrupted ? CancellationToken.None : cancellation, running).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        // Cancelled while waiting: interrupt on the next turn.
                    }
                }
                else
                {
                    await Task.Yield();
                }
            }
            if (failure != null) throw failure;
            return report;
        }

        /// <summary>Frees the run, finished or not (what is out is cancelled and its answers
        /// dropped; an unfinished run is resumed by the next run with the same journal). Waits
        /// for a native step running on the thread pool to end. Safe to call twice.</summary>
        public void Dispose()
        {
            disposed = true;
            work.Cancel();
            // After a running pass's native call (a pass finding the handle closed stops).
            lock (gate)
            {
                handle.Dispose();
                error.Dispose();
            }
        }

        /// <summary>Whether it is done (no credentials).</summary>
        public override string ToString() { return "FulfillRun(" + (done ? "done" : "running") + ", " + journal + ")"; }
    }

    public sealed partial class DropsClient
    {
        /// <summary>Starts a <see cref="FulfillRun"/> of every CLAIMED entitlement matching
        /// <paramref name="options"/> (<see cref="FulfillOptions.OnSettled"/> is called from
        /// <see cref="FulfillRun.Update"/> or <see cref="FulfillRun.Poll"/>). Nothing is sent until it is polled. Throws
        /// <see cref="InvalidOperationException"/> when <paramref name="journal"/> is in another
        /// run.</summary>
        public FulfillRun BeginFulfill(FulfillOptions options, Journal journal)
        {
            if (options == null) throw new ArgumentNullException("options");
            return Begin(options, journal, null);
        }

        /// <summary><see cref="BeginFulfill"/> over given entitlements (an EventSub
        /// notification's, <see cref="EventSubHandled.Entitlements"/>); options may be null.</summary>
        public FulfillRun BeginFulfillEntitlements(IEnumerable<Entitlement> entitlements, FulfillOptions options, Journal journal)
        {
            var list = NativeEntitlements(entitlements);
            return Begin(options ?? new FulfillOptions(), journal, list);
        }

        private unsafe FulfillRun Begin(FulfillOptions options, Journal journal, List<Entitlement> given)
        {
            if (journal == null) throw new ArgumentNullException("journal");
            var context = new RunContext(null, options.OnSettled);
            var run = new RunHandle();
            run.Context = GCHandle.Alloc(context);
            var leases = new List<Lease>();
            try
            {
                var pointers = new IntPtr[given == null ? 0 : given.Count];
                for (var i = 0; i < pointers.Length; i++)
                {
                    leases.Add(given[i].Owner.Use());
                    pointers[i] = given[i].Native;
                }
                using (var nativeOptions = options.ToNative())
                using (var o = nativeOptions.Use())
                using (var error = ErrorHandle.New())
                using (var e = error.Use())
                using (var c = handle.Use())
                fixed (IntPtr* array = pointers)
                {
                    if (options.OnSettled != null)
                    {
                        Failures.Check(NativeMethods.td_fulfill_options_set_on_settled(
                            (td_fulfill_options*)o.Pointer, Callbacks.Settled, (void*)GCHandle.ToIntPtr(run.Context)), "set OnSettled");
                    }
                    var added = false;
                    journal.Handle.DangerousAddRef(ref added);
                    try
                    {
                        journal.EnterHostedRun();
                    }
                    catch
                    {
                        journal.Handle.DangerousRelease();
                        throw;
                    }
                    run.Journal = journal;
                    td_fulfill_run* native = null;
                    var result = given == null
                        ? NativeMethods.td_client_begin_fulfill((td_client*)c.Pointer, (td_fulfill_options*)o.Pointer,
                            (td_journal*)journal.Handle.DangerousGetHandle(), &native, (td_error*)e.Pointer)
                        : NativeMethods.td_client_begin_fulfill_entitlements((td_client*)c.Pointer, (td_entitlement**)array,
                            (UIntPtr)pointers.Length, (td_fulfill_options*)o.Pointer,
                            (td_journal*)journal.Handle.DangerousGetHandle(), &native, (td_error*)e.Pointer);
                    Failures.Check(result, error);
                    run.Own((IntPtr)native);
                    run.Keeps = handle.Keeps;
                    return new FulfillRun(run, context, journal);
                }
            }
            catch
            {
                // Not made: give back the journal and the context (a made run frees them).
                if (run.IsInvalid) run.Abandon();
                throw;
            }
            finally
            {
                foreach (var lease in leases) lease.Dispose();
            }
        }
    }
}
