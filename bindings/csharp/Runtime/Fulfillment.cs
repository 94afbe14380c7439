// The fulfillment engine's options and results as C# values.
using System;
using System.Collections.Generic;
using TwitchDrops.Native;

namespace TwitchDrops
{
    /// <summary>How one entitlement of a run ended.</summary>
    public enum SettledState : uint
    {
        /// <summary>Granted and marked FULFILLED.</summary>
        Fulfilled = (uint)td_settled_state.TD_SETTLED_FULFILLED,
        /// <summary>Found FULFILLED already while recovering an interrupted run.</summary>
        AlreadyFulfilled = (uint)td_settled_state.TD_SETTLED_ALREADY_FULFILLED,
        /// <summary>The grant function answered RetryLater: left CLAIMED.</summary>
        RetryLater = (uint)td_settled_state.TD_SETTLED_RETRY_LATER,
        /// <summary>The grant function answered Failed (or threw): left CLAIMED.</summary>
        GrantFailed = (uint)td_settled_state.TD_SETTLED_GRANT_FAILED,
        /// <summary>Granted, but Twitch refused the update for good.</summary>
        Rejected = (uint)td_settled_state.TD_SETTLED_REJECTED,
        /// <summary>Granted, but not confirmed FULFILLED: the next run marks it.</summary>
        Unmarked = (uint)td_settled_state.TD_SETTLED_UNMARKED,
        /// <summary>Not granted: this viewer's updates kept failing.</summary>
        Quarantined = (uint)td_settled_state.TD_SETTLED_QUARANTINED,
        /// <summary>Not granted: the run stopped before reaching it.</summary>
        NotReached = (uint)td_settled_state.TD_SETTLED_NOT_REACHED,
        /// <summary>Not granted here: another instance sharing the journal holds its claim.</summary>
        HeldElsewhere = (uint)td_settled_state.TD_SETTLED_HELD_ELSEWHERE,
    }

    /// <summary>One entitlement's final state in a run.</summary>
    public sealed class Settlement
    {
        /// <summary>The entitlement's id.</summary>
        public string Id { get; internal set; }
        /// <summary>Its viewer.</summary>
        public string UserId { get; internal set; }
        /// <summary>How it ended.</summary>
        public SettledState State { get; internal set; }
        /// <summary>GrantFailed: the grant's reason; Rejected: Twitch's status for it; "" otherwise.</summary>
        public string Detail { get; internal set; }

        /// <summary>The id, state and detail.</summary>
        public override string ToString() { return Id + ": " + State + (Detail.Length > 0 ? " (" + Detail + ")" : ""); }
    }

    /// <summary>Which entitlements a run fulfills and how.</summary>
    public sealed class FulfillOptions
    {
        /// <summary>Fulfill only this game's entitlements.</summary>
        public string GameId { get; set; }
        /// <summary>Fulfill only this viewer's entitlements.</summary>
        public string UserId { get; set; }
        /// <summary>Unconfirmed updates of one viewer after which the run skips their other
        /// entitlements (0 or unset: 1).</summary>
        public int? QuarantineAfter { get; set; }
        /// <summary>Requests to Twitch out at once, 1 to 16 (unset: 4), with the built-in
        /// transport; the grant delegate and the journal still run on the calling thread.</summary>
        public int? RequestsInFlight { get; set; }
        /// <summary>Grants handed out at once, 1 to 100 (unset: 1): claimed in the journal
        /// together, and answered side by side by a <see cref="FulfillRun"/>; only these can be
        /// in doubt after a crash. More means fewer journal writes.</summary>
        public int? GrantsInFlight { get; set; }
        /// <summary>Entitlements listed per page, 1 to 1000 (unset: 1000). Smaller pages mean
        /// more requests; a <see cref="FulfillRun"/> driven by <see cref="FulfillRun.Update"/>
        /// reads pages off the calling thread, so its frames do not need them.</summary>
        public int? PageSize { get; set; }
        /// <summary>A graceful stop for the runs made with these options.</summary>
        public DropsStopSignal StopSignal { get; set; }
        /// <summary>Hears each entitlement's final state as the run settles it, on the thread
        /// running the fulfillment (for a <see cref="FulfillRun"/>, the one calling
        /// <see cref="FulfillRun.Update"/> or <see cref="FulfillRun.Poll"/>). An exception it
        /// throws is caught and ignored.</summary>
        public Action<Settlement> OnSettled { get; set; }

        internal unsafe FulfillOptionsHandle ToNative(DropsStopSignal stop = null)
        {
            stop = stop ?? StopSignal;
            var options = new FulfillOptionsHandle();
            options.Own((IntPtr)NativeMethods.td_fulfill_options_new());
            using (var lease = options.Use())
            {
                var o = (td_fulfill_options*)lease.Pointer;
                if (GameId != null)
                {
                    fixed (byte* p = Utf8.Z(GameId, "GameId")) Failures.Check(NativeMethods.td_fulfill_options_set_game_id(o, p), "set_game_id");
                }
                if (UserId != null)
                {
                    fixed (byte* p = Utf8.Z(UserId, "UserId")) Failures.Check(NativeMethods.td_fulfill_options_set_user_id(o, p), "set_user_id");
                }
                if (QuarantineAfter.HasValue)
                {
                    if (QuarantineAfter.Value < 0) throw new ArgumentOutOfRangeException("QuarantineAfter");
                    Failures.Check(NativeMethods.td_fulfill_options_set_quarantine_after(o, (uint)QuarantineAfter.Value), "set_quarantine_after");
                }
                if (RequestsInFlight.HasValue)
                {
                    if (RequestsInFlight.Value < 0) throw new ArgumentOutOfRangeException("RequestsInFlight");
                    Failures.Check(NativeMethods.td_fulfill_options_set_requests_in_flight(o, (uint)RequestsInFlight.Value), "set_requests_in_flight");
                }
                if (PageSize.HasValue)
                {
                    // Negative values wrap to a huge one, which the run refuses naming `first`.
                    Failures.Check(NativeMethods.td_fulfill_options_set_page_size(o, unchecked((uint)PageSize.Value)), "set_page_size");
                }
                if (GrantsInFlight.HasValue)
                {
                    if (GrantsInFlight.Value < 0) throw new ArgumentOutOfRangeException("GrantsInFlight");
                    Failures.Check(NativeMethods.td_fulfill_options_set_grants_in_flight(o, (uint)GrantsInFlight.Value), "set_grants_in_flight");
                }
                if (stop != null)
                {
                    using (var s = stop.Handle.Use())
                    {
                        Failures.Check(NativeMethods.td_fulfill_options_set_stop_signal(o, (td_stop_signal*)s.Pointer), "set_stop_signal");
                    }
                }
            }
            return options;
        }
    }

    /// <summary>The totals of a run: every entitlement taken up ends in exactly one of
    /// Fulfilled, AlreadyFulfilled, RetryLater, GrantFailed, Rejected, Unmarked, Quarantined,
    /// NotReached and HeldElsewhere (their counts sum to <see cref="Listed"/>).</summary>
    public sealed class FulfillReport
    {
        /// <summary>Distinct CLAIMED entitlements taken up.</summary>
        public long Listed { get; private set; }
        /// <summary>Grants answered Granted (resumed ones included).</summary>
        public long Granted { get; private set; }
        /// <summary>Granted and marked FULFILLED.</summary>
        public long Fulfilled { get; private set; }
        /// <summary>Granted by an interrupted run, found FULFILLED already.</summary>
        public long AlreadyFulfilled { get; private set; }
        /// <summary>Grants answered RetryLater.</summary>
        public long RetryLater { get; private set; }
        /// <summary>Grants answered Failed, or that threw.</summary>
        public long GrantFailed { get; private set; }
        /// <summary>Granted, refused by Twitch for good.</summary>
        public long Rejected { get; private set; }
        /// <summary>Granted, not confirmed FULFILLED (the next run marks them).</summary>
        public long Unmarked { get; private set; }
        /// <summary>Skipped: their viewer was quarantined.</summary>
        public long Quarantined { get; private set; }
        /// <summary>Not granted: the run stopped early.</summary>
        public long NotReached { get; private set; }
        /// <summary>Left to another instance sharing the journal (it holds their claims).</summary>
        public long HeldElsewhere { get; private set; }
        /// <summary>Grants asked with <see cref="GrantRequest.Resumed"/> set.</summary>
        public long Resumed { get; private set; }
        /// <summary>Taken up but not FULFILLED by this run.</summary>
        public long Left { get; private set; }
        /// <summary>The run reached its end and everything taken up is FULFILLED.</summary>
        public bool IsComplete { get; private set; }
        /// <summary>The run was asked to stop (<see cref="FulfillRun.Interrupt"/>, a
        /// <see cref="DropsStopSignal"/>) and stopped gracefully.</summary>
        public bool Interrupted { get; private set; }
        /// <summary>Viewers the run quarantined.</summary>
        public IReadOnlyList<string> QuarantinedUsers { get; private set; }
        /// <summary>How many grant calls threw (each answered Failed; counted in <see cref="GrantFailed"/>).</summary>
        public int GrantExceptionCount { get; private set; }
        /// <summary>The exceptions grant calls threw, the first 100.</summary>
        public IReadOnlyList<Exception> GrantExceptions { get; private set; }

        internal void SetGrantExceptions(RunContext run)
        {
            GrantExceptionCount = run.GrantExceptionCount;
            GrantExceptions = run.GrantExceptions;
        }

        internal static unsafe FulfillReport Copy(td_fulfill_report* r)
        {
            var users = new List<string>();
            var count = (ulong)NativeMethods.td_fulfill_report_quarantined_user_count(r);
            for (ulong i = 0; i < count; i++)
            {
                td_str user;
                Failures.Check(NativeMethods.td_fulfill_report_quarantined_user(r, (UIntPtr)i, &user), "fulfill report");
                users.Add(Utf8.Of(user));
            }
            return new FulfillReport
            {
                Listed = (long)NativeMethods.td_fulfill_report_listed(r),
                Granted = (long)NativeMethods.td_fulfill_report_granted(r),
                Fulfilled = (long)NativeMethods.td_fulfill_report_fulfilled(r),
                AlreadyFulfilled = (long)NativeMethods.td_fulfill_report_already_fulfilled(r),
                RetryLater = (long)NativeMethods.td_fulfill_report_retry_later(r),
                GrantFailed = (long)NativeMethods.td_fulfill_report_grant_failed(r),
                Rejected = (long)NativeMethods.td_fulfill_report_rejected(r),
                Unmarked = (long)NativeMethods.td_fulfill_report_unmarked(r),
                Quarantined = (long)NativeMethods.td_fulfill_report_quarantined(r),
                NotReached = (long)NativeMethods.td_fulfill_report_not_reached(r),
                HeldElsewhere = (long)NativeMethods.td_fulfill_report_held_elsewhere(r),
                Resumed = (long)NativeMethods.td_fulfill_report_resumed(r),
                Left = (long)NativeMethods.td_fulfill_report_left(r),
                IsComplete = NativeMethods.td_fulfill_report_is_complete(r),
                Interrupted = NativeMethods.td_fulfill_report_interrupted(r),
                QuarantinedUsers = users,
                GrantExceptions = new Exception[0],
            };
        }

        /// <summary>The main counts.</summary>
        public override string ToString()
        {
            return "FulfillReport(listed " + Listed + ", fulfilled " + Fulfilled + ", left " + Left + ")";
        }
    }
}
