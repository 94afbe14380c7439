// The callbacks native code makes into C# during a fulfillment run, written the way IL2CPP
// needs them: static methods marked [MonoPInvokeCallback], reached through delegates kept in
// static fields (never collected), with the run's state passed through user_data as a
// GCHandle. No exception crosses back into native code: a grant function that throws is
// answered FAILED (the entitlement stays CLAIMED), a settlement handler that throws is ignored.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace TwitchDrops.Native
{
    /// <summary>What one run's callbacks need; pinned by a GCHandle for the run's length.</summary>
    internal sealed class RunContext
    {
        /// <summary>Exceptions kept for the report; past this many only counted.</summary>
        internal const int MaxKeptExceptions = 100;

        internal RunContext(Func<GrantRequest, GrantOutcome> grant, Action<Settlement> onSettled)
        {
            Grant = grant;
            OnSettled = onSettled;
            GrantExceptions = new List<Exception>();
        }

        internal Func<GrantRequest, GrantOutcome> Grant { get; private set; }
        internal Action<Settlement> OnSettled { get; private set; }
        internal List<Exception> GrantExceptions { get; private set; }
        internal int GrantExceptionCount;

        /// <summary>Set by FulfillRun.Update, whose native work runs on the thread pool:
        /// settlements wait for <see cref="DeliverSettlements"/> on
        /// Update's thread.</summary>
        internal volatile bool Defer;
        private readonly Queue<Settlement> deferred = new Queue<Settlement>();

        /// <summary>Calls OnSettled with what was deferred (an exception from it is dropped, as
        /// when it is called from the native run).</summary>
        internal void DeliverSettlements()
        {
            if (OnSettled == null) return;
            while (true)
            {
                Settlement next;
                lock (deferred)
                {
                    if (deferred.Count == 0) return;
                    next = deferred.Dequeue();
                }
                try
                {
                    OnSettled(next);
                }
                catch
                {
                    // A logging handler that fails must not stop the run.
                }
            }
        }

        /// <summary>A settlement from the native run: to OnSettled now, or deferred.</summary>
        internal void Settle(Settlement settlement)
        {
            if (!Defer)
            {
                OnSettled(settlement);
                return;
            }
            lock (deferred) deferred.Enqueue(settlement);
        }

        internal void Thrown(Exception exception)
        {
            GrantExceptionCount++;
            if (GrantExceptions.Count < MaxKeptExceptions)
            {
                GrantExceptions.Add(exception);
            }
        }
    }

    /// <summary>What td_eventsub_handle's deliveries callback needs for one call.</summary>
    internal sealed class DeliveryContext
    {
        internal DeliveryContext(IEventSubDeliveryLog log)
        {
            Log = log;
        }

        internal IEventSubDeliveryLog Log { get; private set; }

        /// <summary>What the log threw, reported as the reason of the 503.</summary>
        internal Exception Thrown;
    }

    internal static unsafe class Callbacks
    {
        /// <summary>The deliveries thunk handed to td_eventsub_handle.</summary>
        internal static readonly NativeMethods.td_eventsub_handle_deliveries_delegate Delivery = OnDelivery;

        /// <summary>The grant thunk handed to td_client_fulfill; static, so never collected.</summary>
        internal static readonly NativeMethods.td_client_fulfill_grant_delegate Grant = OnGrant;

        /// <summary>The grant thunk handed to td_client_fulfill_entitlements (its own delegate type).</summary>
        internal static readonly NativeMethods.td_client_fulfill_entitlements_grant_delegate GrantGiven = OnGrantGiven;

        /// <summary>The settlement thunk handed to td_fulfill_options_set_on_settled.</summary>
        internal static readonly NativeMethods.td_fulfill_options_set_on_settled_callback_delegate Settled = OnSettled;

        [AOT.MonoPInvokeCallback(typeof(NativeMethods.td_client_fulfill_grant_delegate))]
        private static uint OnGrant(void* userData, td_grant_request* request, td_grant_reason* reason)
        {
            RunContext run = null;
            try
            {
                run = (RunContext)GCHandle.FromIntPtr((IntPtr)userData).Target;
                var outcome = run.Grant(GrantRequest.Copy(request));
                switch (outcome.Kind)
                {
                    case GrantOutcomeKind.Granted:
                    case GrantOutcomeKind.RetryLater:
                        return (uint)outcome.Kind;
                    case GrantOutcomeKind.Failed:
                        SetReason(reason, outcome.Reason);
                        return (uint)outcome.Kind;
                    default:
                        SetReason(reason, "the grant function returned no outcome (default(GrantOutcome))");
                        return (uint)td_grant_outcome.TD_GRANT_FAILED;
                }
            }
            catch (Exception exception)
            {
                try
                {
                    if (run != null)
                    {
                        run.Thrown(exception);
                    }
                    SetReason(reason, "the grant function threw " + exception.GetType().FullName + ": " + exception.Message);
                }
                catch
                {
                    // Nothing may escape into native code.
                }
                return (uint)td_grant_outcome.TD_GRANT_FAILED;
            }
        }

        [AOT.MonoPInvokeCallback(typeof(NativeMethods.td_client_fulfill_entitlements_grant_delegate))]
        private static uint OnGrantGiven(void* userData, td_grant_request* request, td_grant_reason* reason)
        {
            return OnGrant(userData, request, reason);
        }

        [AOT.MonoPInvokeCallback(typeof(NativeMethods.td_fulfill_options_set_on_settled_callback_delegate))]
        private static void OnSettled(void* userData, td_settlement* settlement)
        {
            try
            {
                var run = (RunContext)GCHandle.FromIntPtr((IntPtr)userData).Target;
                if (run.OnSettled != null)
                {
                    run.Settle(new Settlement
                    {
                        Id = Utf8.Of(settlement->id),
                        UserId = Utf8.Of(settlement->user_id),
                        State = (SettledState)settlement->state,
                        Detail = Utf8.Of(settlement->detail),
                    });
                }
            }
            catch
            {
                // A logging handler that fails must not stop the run, nor cross into native code.
            }
        }

        [AOT.MonoPInvokeCallback(typeof(NativeMethods.td_eventsub_handle_deliveries_delegate))]
        private static int OnDelivery(void* userData, td_str messageId, ulong nowMs, bool* firstOut)
        {
            DeliveryContext context = null;
            try
            {
                context = (DeliveryContext)GCHandle.FromIntPtr((IntPtr)userData).Target;
                *firstOut = context.Log.FirstDelivery(Utf8.Of(messageId), checked((long)nowMs));
                return 0;
            }
            catch (Exception exception)
            {
                if (context != null)
                {
                    context.Thrown = exception;
                }
                return 1;
            }
        }

        private static void SetReason(td_grant_reason* reason, string text)
        {
            var bytes = Utf8.Message(text, "(a reason that is not valid text)");
            fixed (byte* p = bytes)
            {
                NativeMethods.td_grant_reason_set(reason, p);
            }
        }
    }
}
