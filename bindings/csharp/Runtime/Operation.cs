// The step API (td_op): one operation — a page, an update, an analytics page, a download, a
// token validation, a device-code login — that the host drives without blocking. It says
// what it needs (send this, wait this long, done); the host answers when it can. Token
// requests are answered inside it from the client's token store.
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TwitchDrops.Native;

namespace TwitchDrops
{
    /// <summary>What a <see cref="DropsOperation{T}"/> needs next.</summary>
    public enum OperationStepKind : uint
    {
        /// <summary>Send <see cref="OperationStep.Request"/>, then feed the response or failure.</summary>
        Send = (uint)td_step_kind.TD_STEP_SEND,
        /// <summary>Wait <see cref="OperationStep.SleepMs"/>, then <see cref="DropsOperation{T}.FeedSlept"/>.</summary>
        Sleep = (uint)td_step_kind.TD_STEP_SLEEP,
        /// <summary>Over: <see cref="DropsOperation{T}.Result"/>.</summary>
        Done = (uint)td_step_kind.TD_STEP_DONE,
    }

    /// <summary>One step of an operation; only the members of its kind are set.</summary>
    public sealed class OperationStep
    {
        /// <summary>What is needed.</summary>
        public OperationStepKind Kind { get; internal set; }
        /// <summary>Send: the request (a copy).</summary>
        public DropsHttpRequest Request { get; internal set; }
        /// <summary>Sleep: how long.</summary>
        public long SleepMs { get; internal set; }

        /// <summary>The kind (no headers: they hold credentials).</summary>
        public override string ToString() { return "OperationStep(" + Kind + ")"; }
    }

    /// <summary>One operation driven by its host without blocking: <see cref="Update"/> once a
    /// frame with <see cref="Sender"/> set, <see cref="RunAsync"/>, or <see cref="Poll"/> and the
    /// <c>Feed…</c> methods by hand. Made by the client's <c>Begin…</c> methods; dispose it
    /// (an unfinished one is abandoned). One thread at a time.</summary>
    public sealed class DropsOperation<T> : IDisposable
    {
        private readonly OpHandle handle;
        private readonly Func<IntPtr, ErrorHandle, T> take;
        private readonly HostWork work = new HostWork();
        /// <summary>The error every call writes to: calls are one thread at a time.</summary>
        private readonly ErrorHandle error = ErrorHandle.New();
        private bool done;
        private bool waiting;
        private T result;
        private DropsException failure;

        internal DropsOperation(OpHandle handle, Func<IntPtr, ErrorHandle, T> take)
        {
            this.handle = handle;
            this.take = take;
        }

        /// <summary>Sends its requests (needed by <see cref="Update"/>).</summary>
        public DropsHttpSender Sender { get; set; }

        /// <summary>The operation is over: read <see cref="Result"/>.</summary>
        public bool IsDone { get { return done; } }

        /// <summary>Once done, its value; throws the <see cref="DropsException"/> it failed with
        /// (<see cref="InvalidOperationException"/> before it is done).</summary>
        public T Result
        {
            get
            {
                if (!done) throw new InvalidOperationException("the operation is not done: Update or Poll it until IsDone");
                if (failure != null) throw failure;
                return result;
            }
        }

        /// <summary>Advances it and says what it needs next; after Send or Sleep, answer before
        /// polling again. After Done, Done again.</summary>
        public unsafe OperationStep Poll(DateTimeOffset? now = null)
        {
            var nowMs = Clock.Ms(now);
            var error = this.error;
            using (var o = handle.Use())
            using (var e = error.Use())
            {
                td_step step;
                Failures.Check(NativeMethods.td_op_poll((td_op*)o.Pointer, nowMs, &step, (td_error*)e.Pointer), error);
                var copy = new OperationStep { Kind = (OperationStepKind)step.kind };
                switch (step.kind)
                {
                    case td_step_kind.TD_STEP_SEND:
                        copy.Request = TransportBinding.Copy(step.request);
                        break;
                    case td_step_kind.TD_STEP_SLEEP:
                        copy.SleepMs = (long)Math.Min(step.sleep_ms, long.MaxValue);
                        break;
                    default:
                        Finish(o.Pointer);
                        break;
                }
                return copy;
            }
        }

        private void Finish(IntPtr op)
        {
            if (done) return;
            done = true;
            using (var error = ErrorHandle.New())
            {
                try
                {
                    result = take(op, error);
                }
                catch (DropsException thrown)
                {
                    failure = thrown;
                }
            }
        }

        /// <summary>Answers a Send with the response (any status).</summary>
        public unsafe void FeedResponse(DropsHttpResponse response)
        {
            if (response == null) throw new ArgumentNullException("response");
            if (response.Status < 100 || response.Status > 999)
            {
                throw new ArgumentOutOfRangeException("response", response.Status, "Status must be 100-999");
            }
            var body = response.Body ?? new byte[0];
            var error = this.error;
            using (var headers = new NativeHeaders(response.Headers, "response.Headers"))
            using (var o = handle.Use())
            using (var e = error.Use())
            fixed (td_header* h = headers.Items)
            fixed (byte* b = body)
            {
                Failures.Check(NativeMethods.td_op_feed_response((td_op*)o.Pointer, (ushort)response.Status, h,
                    (UIntPtr)headers.Items.Length, b, (UIntPtr)body.Length, (td_error*)e.Pointer), error);
            }
        }

        /// <summary>Answers a Send that got no whole response.</summary>
        public unsafe void FeedTransportError(TransportErrorKind kind, string message)
        {
            var text = Utf8.Message(message, "(a message that is not valid text)");
            var error = this.error;
            using (var o = handle.Use())
            using (var e = error.Use())
            fixed (byte* m = text)
            {
                Failures.Check(NativeMethods.td_op_feed_transport_error((td_op*)o.Pointer, (uint)kind, m, (td_error*)e.Pointer), error);
            }
        }

        /// <summary>Answers a Sleep: the time has passed.</summary>
        public unsafe void FeedSlept()
        {
            var error = this.error;
            using (var o = handle.Use())
            using (var e = error.Use())
            {
                Failures.Check(NativeMethods.td_op_feed_slept((td_op*)o.Pointer, (td_error*)e.Pointer), error);
            }
        }

        /// <summary>One frame's work, never blocking: feeds the answer that finished since the
        /// last call, then polls when nothing is out (starting a send or a wait). False once
        /// done.</summary>
        public bool Update()
        {
            if (done) return false;
            if (Sender == null) throw new InvalidOperationException("set Sender before Update");
            work.Finish((ticket, response) => FeedResponse(response), (ticket, kind, why) => FeedTransportError(kind, why),
                ticket => FeedSlept());
            waiting = work.Count > 0;
            if (waiting) return true;
            var step = Poll();
            switch (step.Kind)
            {
                case OperationStepKind.Send:
                    work.StartSend(0, Sender, step.Request);
                    waiting = true;
                    return true;
                case OperationStepKind.Sleep:
                    work.StartSleep(0, (ulong)step.SleepMs);
                    waiting = true;
                    return true;
                default:
                    return false;
            }
        }

        /// <summary>Drives it to its end through <paramref name="sender"/>, asynchronously;
        /// cancelling <paramref name="cancellation"/> abandons it (what was sent may have
        /// reached Twitch) with <see cref="OperationCanceledException"/>.</summary>
        public async Task<T> RunAsync(DropsHttpSender sender, CancellationToken cancellation = default(CancellationToken))
        {
            if (sender == null) throw new ArgumentNullException("sender");
            Sender = sender;
            while (Update())
            {
                cancellation.ThrowIfCancellationRequested();
                if (waiting)
                {
                    await work.Any(cancellation).ConfigureAwait(false);
                }
            }
            return Result;
        }

        /// <summary>Frees it, finished or not. Safe to call twice.</summary>
        public void Dispose()
        {
            work.Cancel();
            handle.Dispose();
            error.Dispose();
        }
    }

    /// <summary>One page of entitlements and the cursor of the next ("" at the end).</summary>
    public sealed class EntitlementPage
    {
        /// <summary>The page's entitlements.</summary>
        public IReadOnlyList<Entitlement> Entitlements { get; internal set; }
        /// <summary>Give it as <see cref="EntitlementQuery.After"/> for the next page; "" at the end.</summary>
        public string Cursor { get; internal set; }
    }

    /// <summary>Paging through the step API, with the iterator's rules (a cursor that does
    /// not move ends the paging with <see cref="DropsErrorCode.Decode"/>): <see cref="BeginNext"/>
    /// gives an operation per page, one at a time; null after the last page. One thread at a
    /// time; dispose it when done.</summary>
    public sealed class EntitlementPaging : IDisposable
    {
        private readonly PagesHandle pages;
        private DropsOperation<EntitlementPage> last;
        private PageHandle lastPage;

        internal EntitlementPaging(PagesHandle pages)
        {
            this.pages = pages;
        }

        /// <summary>Where the next page starts (to resume later): "" before the first page.</summary>
        public unsafe string Cursor
        {
            get
            {
                using (var p = pages.Use()) return Utf8.Of(NativeMethods.td_pages_cursor((td_pages*)p.Pointer));
            }
        }

        /// <summary>The next page's operation (drive it to done, then read its Result), or null
        /// after the last page. Throws <see cref="InvalidOperationException"/> while the previous
        /// one is not done, and its failure once it failed (the paging is over).</summary>
        public unsafe DropsOperation<EntitlementPage> BeginNext()
        {
            using (var p = pages.Use())
            using (var error = ErrorHandle.New())
            using (var e = error.Use())
            {
                if (last != null)
                {
                    if (!last.IsDone) throw new InvalidOperationException("the previous page's operation is not done");
                    var unused = last.Result;
                    last = null;
                    using (var page = lastPage)
                    using (var l = page.Use())
                    {
                        lastPage = null;
                        Failures.Check(NativeMethods.td_pages_advance((td_pages*)p.Pointer, (td_entitlements_page*)l.Pointer,
                            (td_error*)e.Pointer), error);
                    }
                }
                td_op* op = null;
                var result = NativeMethods.td_pages_begin_next((td_pages*)p.Pointer, &op, (td_error*)e.Pointer);
                if (result == td_result.TD_END) return null;
                Failures.Check(result, error);
                var owned = new OpHandle();
                owned.Own((IntPtr)op);
                owned.Keeps = pages.Keeps;
                last = new DropsOperation<EntitlementPage>(owned, Take);
                return last;
            }
        }

        /// <summary>Takes the page, keeping the native one for the next td_pages_advance.</summary>
        private unsafe EntitlementPage Take(IntPtr op, ErrorHandle error)
        {
            using (var e = error.Use())
            {
                td_entitlements_page* page = null;
                Failures.Check(NativeMethods.td_op_take_entitlements_page((td_op*)op, &page, (td_error*)e.Pointer), error);
                lastPage = new PageHandle();
                lastPage.Own((IntPtr)page);
                return DropsClient.CopyPage(page);
            }
        }

        /// <summary>Frees the iterator. Safe to call twice.</summary>
        public void Dispose()
        {
            if (lastPage != null) lastPage.Dispose();
            pages.Dispose();
        }
    }

    public sealed partial class DropsClient
    {
        /// <summary>Step API: paging with the iterator's rules (see <see cref="EntitlementPaging"/>).</summary>
        public EntitlementPaging BeginEntitlementPaging(EntitlementQuery query)
        {
            if (query == null) throw new ArgumentNullException("query");
            return new EntitlementPaging(OpenPages(query));
        }

        /// <summary>An operation from a td_client_begin_* call (<paramref name="begin"/> gets the
        /// client, the td_op** to write and the td_error*); <paramref name="keeps"/> is kept alive
        /// with it.</summary>
        internal unsafe DropsOperation<T> Begin<T>(Func<IntPtr, IntPtr, IntPtr, td_result> begin, Func<IntPtr, ErrorHandle, T> take, object keeps)
        {
            using (var error = ErrorHandle.New())
            using (var e = error.Use())
            using (var c = handle.Use())
            {
                var holder = new IntPtr[1];
                td_result result;
                fixed (IntPtr* slot = holder)
                {
                    result = begin(c.Pointer, (IntPtr)slot, e.Pointer);
                }
                Failures.Check(result, error);
                var op = new OpHandle();
                op.Own(holder[0]);
                op.Keeps = new object[] { handle.Keeps, keeps };
                return new DropsOperation<T>(op, take);
            }
        }

        /// <summary>Step API: one page of entitlements (see <see cref="DropsOperation{T}"/>).</summary>
        public unsafe DropsOperation<EntitlementPage> BeginEntitlementsPage(EntitlementQuery query)
        {
            if (query == null) throw new ArgumentNullException("query");
            using (var nativeQuery = query.ToNative())
            using (var q = nativeQuery.Use())
            {
                var pointer = q.Pointer;
                return Begin((c, slot, e) => NativeMethods.td_client_begin_entitlements_page(
                    (td_client*)c, (td_entitlements_query*)pointer, (td_op**)slot, (td_error*)e), TakePage, null);
            }
        }

        private static unsafe EntitlementPage TakePage(IntPtr op, ErrorHandle error)
        {
            using (var e = error.Use())
            {
                td_entitlements_page* page = null;
                Failures.Check(NativeMethods.td_op_take_entitlements_page((td_op*)op, &page, (td_error*)e.Pointer), error);
                using (var owned = new PageHandle())
                {
                    owned.Own((IntPtr)page);
                    return CopyPage(page);
                }
            }
        }

        /// <summary>Step API: an update with per-id outcomes (see <see cref="UpdateEntitlements"/>).</summary>
        public unsafe DropsOperation<UpdateReport> BeginUpdateEntitlements(IEnumerable<string> ids, FulfillmentStatus status)
        {
            if (ids == null) throw new ArgumentNullException("ids");
            using (var strings = new NativeStrings(ids, "ids"))
            {
                var array = strings.Array;
                var count = strings.Count;
                return Begin((c, slot, e) => NativeMethods.td_client_begin_update_entitlements((td_client*)c, (byte**)array, (UIntPtr)count,
                    (uint)status, (td_op**)slot, (td_error*)e), TakeUpdate, null);
            }
        }

        private static unsafe UpdateReport TakeUpdate(IntPtr op, ErrorHandle error)
        {
            using (var e = error.Use())
            {
                td_update_report* report = null;
                Failures.Check(NativeMethods.td_op_take_update_report((td_op*)op, &report, (td_error*)e.Pointer), error);
                using (var owned = new UpdateReportHandle())
                {
                    owned.Own((IntPtr)report);
                    return UpdateReport.Copy(report);
                }
            }
        }
    }
}
