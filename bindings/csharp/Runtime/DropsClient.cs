// The Drops client: listing entitlements (IEnumerable paging), updating them (per-id
// outcomes) and the fulfillment engine, each blocking, with Task versions that run on the
// thread pool so Unity's main thread never waits on the network. Every rule (paging,
// batches of 100, tokens, retries, rate limits) is the native core's; this only translates.
using System;
using System.Threading;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using TwitchDrops.Native;

namespace TwitchDrops
{
    /// <summary>A Twitch Drops client for one application. Thread-safe: any number of threads
    /// may call it at once (one token for all). Dispose it when done; a forgotten one is freed
    /// by its finalizer. Calls in flight on other threads keep the native client alive until
    /// they return.</summary>
    public sealed partial class DropsClient : IDisposable
    {
        private readonly ClientHandle handle;
        private readonly string clientId;

        /// <summary>Makes a client; the configuration is checked here (an empty client id or
        /// credential, or a URL that is neither HTTPS nor loopback HTTP, throws
        /// <see cref="DropsInvalidInputException"/>). Nothing is sent until a call needs it.</summary>
        public unsafe DropsClient(DropsClientConfig config)
        {
            if (config == null) throw new ArgumentNullException("config");
            clientId = config.ClientId;
            using (var error = ErrorHandle.New())
            using (var e = error.Use())
            using (var nativeConfig = new ConfigHandle())
            {
                var err = (td_error*)e.Pointer;
                td_client_config* c = null;
                fixed (byte* id = Utf8.Z(config.ClientId, "ClientId"))
                {
                    Failures.Check(NativeMethods.td_client_config_new(id, &c, err), error);
                }
                nativeConfig.Own((IntPtr)c);
                if (config.ClientSecret != null)
                {
                    fixed (byte* p = Utf8.Z(config.ClientSecret, "ClientSecret")) Failures.Check(NativeMethods.td_client_config_set_client_secret(c, p), "set ClientSecret");
                }
                if (config.AccessToken != null)
                {
                    fixed (byte* p = Utf8.Z(config.AccessToken, "AccessToken")) Failures.Check(NativeMethods.td_client_config_set_access_token(c, p), "set AccessToken");
                }
                if (config.UserAccessToken != null)
                {
                    var refresh = config.UserRefreshToken == null ? null : Utf8.Z(config.UserRefreshToken, "UserRefreshToken");
                    var secret = config.ClientSecret == null ? null : Utf8.Z(config.ClientSecret, "ClientSecret");
                    fixed (byte* a = Utf8.Z(config.UserAccessToken, "UserAccessToken"))
                    fixed (byte* r = refresh)
                    fixed (byte* s = secret)
                    {
                        Failures.Check(NativeMethods.td_client_config_set_user_token(c, a, r, s), "set UserAccessToken");
                    }
                }
                else if (config.UserRefreshToken != null)
                {
                    throw new ArgumentException("UserRefreshToken needs UserAccessToken", "UserRefreshToken");
                }
                if (config.HelixUrl != null)
                {
                    fixed (byte* p = Utf8.Z(config.HelixUrl, "HelixUrl")) Failures.Check(NativeMethods.td_client_config_set_helix_url(c, p), "set HelixUrl");
                }
                if (config.AuthUrl != null)
                {
                    fixed (byte* p = Utf8.Z(config.AuthUrl, "AuthUrl")) Failures.Check(NativeMethods.td_client_config_set_auth_url(c, p), "set AuthUrl");
                }
                if (config.UserAgent != null)
                {
                    fixed (byte* p = Utf8.Z(config.UserAgent, "UserAgent")) Failures.Check(NativeMethods.td_client_config_set_user_agent(c, p), "set UserAgent");
                }
                if (config.RetryPolicy != null)
                {
                    var r = config.RetryPolicy;
                    if (r.MaxRetries < 0) throw new ArgumentOutOfRangeException("RetryPolicy.MaxRetries", r.MaxRetries, "must be 0 or more");
                    if (r.MaxRateLimitWaits < 0) throw new ArgumentOutOfRangeException("RetryPolicy.MaxRateLimitWaits", r.MaxRateLimitWaits, "must be 0 or more");
                    if (r.UpdateFailedRetries < 0) throw new ArgumentOutOfRangeException("RetryPolicy.UpdateFailedRetries", r.UpdateFailedRetries, "must be 0 or more");
                    if (r.BaseDelay < TimeSpan.Zero) throw new ArgumentOutOfRangeException("RetryPolicy.BaseDelay", r.BaseDelay, "must not be negative");
                    if (r.MaxDelay < TimeSpan.Zero) throw new ArgumentOutOfRangeException("RetryPolicy.MaxDelay", r.MaxDelay, "must not be negative");
                    var policy = NativeMethods.td_retry_policy_default();
                    policy.max_retries = (uint)r.MaxRetries;
                    policy.base_delay_ms = (ulong)r.BaseDelay.Ticks / TimeSpan.TicksPerMillisecond;
                    policy.max_delay_ms = (ulong)r.MaxDelay.Ticks / TimeSpan.TicksPerMillisecond;
                    policy.max_rate_limit_waits = (uint)r.MaxRateLimitWaits;
                    policy.update_failed_retries = (uint)r.UpdateFailedRetries;
                    Failures.Check(NativeMethods.td_client_config_set_retry_policy(c, &policy), "set RetryPolicy");
                }
                if (config.ConnectTimeout.HasValue || config.ReadTimeout.HasValue)
                {
                    var connect = config.ConnectTimeout ?? TimeSpan.FromSeconds(10);
                    var read = config.ReadTimeout ?? TimeSpan.FromSeconds(30);
                    if (connect <= TimeSpan.Zero) throw new ArgumentOutOfRangeException("ConnectTimeout", connect, "must be positive");
                    if (read <= TimeSpan.Zero) throw new ArgumentOutOfRangeException("ReadTimeout", read, "must be positive");
                    Failures.Check(NativeMethods.td_client_config_set_timeouts(c, (ulong)Math.Max(1, connect.Ticks / TimeSpan.TicksPerMillisecond),
                        (ulong)Math.Max(1, read.Ticks / TimeSpan.TicksPerMillisecond)), "set timeouts");
                }
                if (config.MaxBodyBytes.HasValue)
                {
                    if (config.MaxBodyBytes.Value <= 0) throw new ArgumentOutOfRangeException("MaxBodyBytes", config.MaxBodyBytes.Value, "must be positive");
                    Failures.Check(NativeMethods.td_client_config_set_max_body_bytes(c, (ulong)config.MaxBodyBytes.Value), "set MaxBodyBytes");
                }
                TransportBinding transport = null;
                if (config.Transport != null)
                {
                    transport = new TransportBinding(config.Transport);
                    Failures.Check(NativeMethods.td_client_config_set_transport(c, TransportBinding.Thunk, transport.UserData), "set Transport");
                }
                LogBinding logger = null;
                if (config.Log != null)
                {
                    logger = new LogBinding(config.Log);
                    Failures.Check(NativeMethods.td_client_config_set_logger(c, (uint)config.LogLevel, LogBinding.Thunk, logger.UserData), "set Log");
                }
                td_client* client = null;
                Failures.Check(NativeMethods.td_client_new(c, &client, err), error);
                handle = new ClientHandle();
                handle.Own((IntPtr)client);
                handle.Keeps = new object[] { transport, logger };
            }
        }

        /// <summary>This client's counters so far, as JSON: requests by route and status,
        /// retries by reason, 429s, waits for the rate limit, tokens fetched, grants by outcome,
        /// resumed grants, journal recoveries (the same object on every surface of the SDK).</summary>
        public unsafe string MetricsJson
        {
            get
            {
                using (var c = handle.Use())
                {
                    var client = (td_client*)c.Pointer;
                    return Utf8.Copied((buf, len, lenOut) => NativeMethods.td_client_metrics_json(client, buf, len, lenOut));
                }
            }
        }

        /// <summary>HTTP requests this client has sent, every attempt counted.</summary>
        public unsafe long RequestsSent
        {
            get
            {
                using (var c = handle.Use()) return (long)NativeMethods.td_client_requests_sent((td_client*)c.Pointer);
            }
        }

        /// <summary>Every entitlement matching <paramref name="query"/>, one request per page, as
        /// the enumeration goes (blocking: enumerate off the main thread, or use
        /// <see cref="ListEntitlementsAsync"/>). Stopping early frees the native iterator.
        /// Read everything first, then update: updating while paging a CLAIMED filter skips items.</summary>
        public IEnumerable<Entitlement> Entitlements(EntitlementQuery query)
        {
            return EntitlementPages(query).SelectMany(page => page);
        }

        /// <summary>The pages of <paramref name="query"/>, lazily (see <see cref="Entitlements"/>).</summary>
        public IEnumerable<IReadOnlyList<Entitlement>> EntitlementPages(EntitlementQuery query)
        {
            if (query == null) throw new ArgumentNullException("query");
            // Checked now, not at the first MoveNext: bad input throws where the call is.
            var pages = OpenPages(query);
            return Iterate(pages);
        }

        private IEnumerable<IReadOnlyList<Entitlement>> Iterate(PagesHandle pages)
        {
            using (pages)
            {
                List<Entitlement> page;
                while ((page = NextPage(pages)) != null)
                {
                    yield return page;
                }
            }
        }

        private unsafe PagesHandle OpenPages(EntitlementQuery query)
        {
            using (var nativeQuery = query.ToNative())
            using (var q = nativeQuery.Use())
            using (var error = ErrorHandle.New())
            using (var e = error.Use())
            using (var c = handle.Use())
            {
                td_pages* pages = null;
                Failures.Check(NativeMethods.td_client_entitlement_pages(
                    (td_client*)c.Pointer, (td_entitlements_query*)q.Pointer, &pages, (td_error*)e.Pointer), error);
                var owned = new PagesHandle();
                owned.Own((IntPtr)pages);
                // The pages keep the native client alive, and so its transport.
                owned.Keeps = handle.Keeps;
                return owned;
            }
        }

        /// <summary>The next page, copied; null at the end.</summary>
        private static unsafe List<Entitlement> NextPage(PagesHandle pages)
        {
            using (var p = pages.Use())
            using (var error = ErrorHandle.New())
            using (var e = error.Use())
            {
                td_entitlements_page* page = null;
                var result = NativeMethods.td_pages_next((td_pages*)p.Pointer, &page, (td_error*)e.Pointer);
                if (result == td_result.TD_END)
                {
                    return null;
                }
                Failures.Check(result, error);
                using (var owned = new PageHandle())
                {
                    owned.Own((IntPtr)page);
                    var count = (ulong)NativeMethods.td_entitlements_page_count(page);
                    var list = new List<Entitlement>((int)count);
                    for (ulong i = 0; i < count; i++)
                    {
                        list.Add(Entitlement.Copy(NativeMethods.td_entitlements_page_get(page, (UIntPtr)i)));
                    }
                    return list;
                }
            }
        }

        /// <summary>One page of entitlements (blocking): <paramref name="query"/>'s page, with
        /// the cursor of the next (give it as <see cref="EntitlementQuery.After"/>).</summary>
        public unsafe EntitlementPage EntitlementsPage(EntitlementQuery query)
        {
            if (query == null) throw new ArgumentNullException("query");
            using (var nativeQuery = query.ToNative())
            using (var q = nativeQuery.Use())
            using (var error = ErrorHandle.New())
            using (var e = error.Use())
            using (var c = handle.Use())
            {
                td_entitlements_page* page = null;
                Failures.Check(NativeMethods.td_client_entitlements_page((td_client*)c.Pointer, (td_entitlements_query*)q.Pointer, &page,
                    (td_error*)e.Pointer), error);
                using (var owned = new PageHandle())
                {
                    owned.Own((IntPtr)page);
                    return CopyPage(page);
                }
            }
        }

        internal static unsafe EntitlementPage CopyPage(td_entitlements_page* page)
        {
            var count = (ulong)NativeMethods.td_entitlements_page_count(page);
            var list = new List<Entitlement>((int)count);
            for (ulong i = 0; i < count; i++)
            {
                list.Add(Entitlement.Copy(NativeMethods.td_entitlements_page_get(page, (UIntPtr)i)));
            }
            return new EntitlementPage { Entitlements = list, Cursor = Utf8.Of(NativeMethods.td_entitlements_page_cursor(page)) };
        }

        /// <summary>Every entitlement matching <paramref name="query"/>, read on the thread pool.
        /// Cancelling stops between pages (<see cref="OperationCanceledException"/>).</summary>
        public Task<IReadOnlyList<Entitlement>> ListEntitlementsAsync(EntitlementQuery query,
            CancellationToken cancellation = default(CancellationToken))
        {
            if (query == null) throw new ArgumentNullException("query");
            var pages = EntitlementPages(query);
            return Task.Run(() =>
            {
                var all = new List<Entitlement>();
                foreach (var page in pages)
                {
                    cancellation.ThrowIfCancellationRequested();
                    all.AddRange(page);
                }
                return (IReadOnlyList<Entitlement>)all;
            }, cancellation);
        }

        /// <summary>Sets entitlements to <paramref name="status"/> (any number of ids: sent in
        /// batches of 100, repeats once), with an outcome for each id (blocking). An update that
        /// stops part way throws <see cref="DropsException"/> with
        /// <see cref="DropsException.PartialUpdate"/>.</summary>
        public unsafe UpdateReport UpdateEntitlements(IEnumerable<string> ids, FulfillmentStatus status)
        {
            if (ids == null) throw new ArgumentNullException("ids");
            var texts = ids.Select((id, i) => Utf8.Z(id, "ids[" + i + "]")).ToArray();
            var pins = new GCHandle[texts.Length];
            var pointers = new IntPtr[texts.Length];
            try
            {
                for (var i = 0; i < texts.Length; i++)
                {
                    pins[i] = GCHandle.Alloc(texts[i], GCHandleType.Pinned);
                    pointers[i] = pins[i].AddrOfPinnedObject();
                }
                using (var error = ErrorHandle.New())
                using (var e = error.Use())
                using (var c = handle.Use())
                fixed (IntPtr* array = pointers)
                {
                    td_update_report* report = null;
                    Failures.Check(NativeMethods.td_client_update_entitlements(
                        (td_client*)c.Pointer, (byte**)array, (UIntPtr)texts.Length, (uint)status, &report,
                        (td_error*)e.Pointer), error);
                    using (var owned = new UpdateReportHandle())
                    {
                        owned.Own((IntPtr)report);
                        return UpdateReport.Copy(report);
                    }
                }
            }
            finally
            {
                foreach (var pin in pins)
                {
                    if (pin.IsAllocated) pin.Free();
                }
            }
        }

        /// <summary><see cref="UpdateEntitlements"/> on the thread pool. Cancelling stops the
        /// wait; an update under way runs to its end (its outcome is then unknown to you: re-read
        /// those ids, or use <see cref="BeginUpdateEntitlements"/>).</summary>
        public Task<UpdateReport> UpdateEntitlementsAsync(IEnumerable<string> ids, FulfillmentStatus status,
            CancellationToken cancellation = default(CancellationToken))
        {
            if (ids == null) throw new ArgumentNullException("ids");
            var copy = ids.ToList();
            return Blocking(() => UpdateEntitlements(copy, status), cancellation);
        }

        /// <summary>The fulfillment engine (blocking): grants every CLAIMED entitlement matching
        /// <paramref name="options"/> once, through <paramref name="grant"/>, and marks it
        /// FULFILLED, recording each step in <paramref name="journal"/> first so a crash never
        /// leads to a reward given twice. <paramref name="grant"/> runs on the calling thread,
        /// one entitlement at a time; an exception it throws is caught and answered Failed (the
        /// entitlement stays CLAIMED; <see cref="FulfillReport.GrantExceptions"/> keeps it). A run
        /// that stops early throws <see cref="DropsException"/> with
        /// <see cref="DropsException.FulfillReport"/>.</summary>
        public FulfillReport Fulfill(FulfillOptions options, Journal journal, Func<GrantRequest, GrantOutcome> grant)
        {
            if (options == null) throw new ArgumentNullException("options");
            return RunFulfill(options, journal, grant, null, null);
        }

        /// <summary>The fulfillment engine over given entitlements (those of an EventSub
        /// notification, <see cref="EventSubHandled.Entitlements"/>), blocking: as
        /// <see cref="Fulfill"/>, with the same journal guarantees, for exactly these (repeats
        /// granted once; <see cref="FulfillOptions.GameId"/>/<see cref="FulfillOptions.UserId"/>
        /// filter them). <paramref name="options"/> may be null. Entitlements copied from a
        /// listing cannot be given (<see cref="ArgumentException"/> naming the one): fulfill
        /// those with <see cref="Fulfill"/> and a filter.</summary>
        public FulfillReport FulfillEntitlements(IEnumerable<Entitlement> entitlements, FulfillOptions options, Journal journal,
            Func<GrantRequest, GrantOutcome> grant)
        {
            var list = NativeEntitlements(entitlements);
            return RunFulfill(options ?? new FulfillOptions(), journal, grant, list, null);
        }

        /// <summary>The entitlements as native ones, checked.</summary>
        internal static List<Entitlement> NativeEntitlements(IEnumerable<Entitlement> entitlements)
        {
            if (entitlements == null) throw new ArgumentNullException("entitlements");
            var list = entitlements.ToList();
            for (var i = 0; i < list.Count; i++)
            {
                if (list[i] == null) throw new ArgumentNullException("entitlements[" + i + "]");
                if (list[i].Owner == null)
                {
                    throw new ArgumentException("only entitlements of an EventSub notification can be given to the engine; "
                        + "fulfill listed ones with Fulfill and a filter", "entitlements[" + i + "]");
                }
            }
            return list;
        }

        private unsafe FulfillReport RunFulfill(FulfillOptions options, Journal journal, Func<GrantRequest, GrantOutcome> grant,
            List<Entitlement> given, DropsStopSignal stop)
        {
            if (journal == null) throw new ArgumentNullException("journal");
            if (grant == null) throw new ArgumentNullException("grant");
            var run = new RunContext(grant, options.OnSettled);
            var pin = GCHandle.Alloc(run);
            var leases = new List<Lease>();
            try
            {
                var pointers = new IntPtr[given == null ? 0 : given.Count];
                for (var i = 0; i < pointers.Length; i++)
                {
                    leases.Add(given[i].Owner.Use());
                    pointers[i] = given[i].Native;
                }
                var userData = (void*)GCHandle.ToIntPtr(pin);
                using (var nativeOptions = options.ToNative(stop))
                using (var o = nativeOptions.Use())
                using (var error = ErrorHandle.New())
                using (var e = error.Use())
                using (var c = handle.Use())
                lock (journal.RunLock)
                {
                    if (journal.RunningThread == Thread.CurrentThread.ManagedThreadId)
                    {
                        throw new InvalidOperationException(
                            "this journal is already in a run on this thread (a grant or OnSettled handler that runs Fulfill with the same journal); use another journal");
                    }
                    if (journal.InHostedRun)
                    {
                        throw new InvalidOperationException("this journal is in a FulfillRun; dispose it first (one run at a time uses a journal)");
                    }
                    journal.RunningThread = Thread.CurrentThread.ManagedThreadId;
                    try
                    {
                    using (var j = journal.Handle.Use())
                    fixed (IntPtr* array = pointers)
                    {
                        if (options.OnSettled != null)
                        {
                            Failures.Check(NativeMethods.td_fulfill_options_set_on_settled(
                                (td_fulfill_options*)o.Pointer, Callbacks.Settled, userData), "set OnSettled");
                        }
                        td_fulfill_report* report = null;
                        var result = given == null
                            ? NativeMethods.td_client_fulfill(
                                (td_client*)c.Pointer, (td_fulfill_options*)o.Pointer, (td_journal*)j.Pointer,
                                Callbacks.Grant, userData, &report, (td_error*)e.Pointer)
                            : NativeMethods.td_client_fulfill_entitlements(
                                (td_client*)c.Pointer, (td_entitlement**)array, (UIntPtr)pointers.Length,
                                (td_fulfill_options*)o.Pointer, (td_journal*)j.Pointer,
                                Callbacks.GrantGiven, userData, &report, (td_error*)e.Pointer);
                        if (result != td_result.TD_OK)
                        {
                            var failure = Failures.From(result, error);
                            if (failure.FulfillReport != null)
                            {
                                failure.FulfillReport.SetGrantExceptions(run);
                            }
                            throw failure;
                        }
                        using (var owned = new FulfillReportHandle())
                        {
                            owned.Own((IntPtr)report);
                            var copy = FulfillReport.Copy(report);
                            copy.SetGrantExceptions(run);
                            return copy;
                        }
                    }
                    }
                    finally
                    {
                        journal.RunningThread = 0;
                    }
                }
            }
            finally
            {
                foreach (var lease in leases) lease.Dispose();
                pin.Free();
            }
        }

        /// <summary><see cref="Fulfill"/> on the thread pool: <paramref name="grant"/> runs
        /// there too, so it must not touch Unity objects directly (queue work for the main
        /// thread, or grant through your backend). Cancelling <paramref name="cancellation"/>
        /// stops the run gracefully, as a <see cref="DropsStopSignal"/> does (the report's
        /// <c>Interrupted</c> is set); give one or the other, not both.</summary>
        public Task<FulfillReport> FulfillAsync(FulfillOptions options, Journal journal, Func<GrantRequest, GrantOutcome> grant,
            CancellationToken cancellation = default(CancellationToken))
        {
            if (options == null) throw new ArgumentNullException("options");
            if (journal == null) throw new ArgumentNullException("journal");
            if (grant == null) throw new ArgumentNullException("grant");
            if (!cancellation.CanBeCanceled) return Task.Run(() => Fulfill(options, journal, grant));
            if (options.StopSignal != null)
            {
                throw new ArgumentException("give options.StopSignal or a CancellationToken, not both", "cancellation");
            }
            cancellation.ThrowIfCancellationRequested();
            return Task.Run(() =>
            {
                using (var signal = new DropsStopSignal())
                using (cancellation.Register(signal.Raise))
                {
                    return RunFulfill(options, journal, grant, null, signal);
                }
            });
        }

        /// <summary>Frees the native client (after calls in flight return). Safe to call twice.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }

        /// <summary>The client id (no credentials).</summary>
        public override string ToString()
        {
            return "DropsClient(" + clientId + ")";
        }
    }
}
