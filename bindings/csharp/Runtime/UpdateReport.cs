// The per-id outcomes of an update, copied from the native report.
using System;
using System.Collections.Generic;
using TwitchDrops.Native;

namespace TwitchDrops
{
    /// <summary>What Twitch did with one id of an update.</summary>
    public enum UpdateStatus : uint
    {
        /// <summary>Now in the requested status.</summary>
        Success = (uint)td_update_status.TD_UPDATE_SUCCESS,
        /// <summary>Not a well-formed entitlement id.</summary>
        InvalidId = (uint)td_update_status.TD_UPDATE_INVALID_ID,
        /// <summary>No such entitlement.</summary>
        NotFound = (uint)td_update_status.TD_UPDATE_NOT_FOUND,
        /// <summary>It belongs to a game (or user) this client may not update.</summary>
        Unauthorized = (uint)td_update_status.TD_UPDATE_UNAUTHORIZED,
        /// <summary>Twitch could not update it, even after the retries.</summary>
        Failed = (uint)td_update_status.TD_UPDATE_FAILED,
    }

    /// <summary>One id's outcome.</summary>
    public struct UpdateOutcome
    {
        internal UpdateOutcome(string id, UpdateStatus status)
        {
            Id = id;
            Status = status;
        }

        /// <summary>The entitlement id.</summary>
        public string Id { get; private set; }
        /// <summary>What Twitch did with it.</summary>
        public UpdateStatus Status { get; private set; }

        /// <summary>"id: Status".</summary>
        public override string ToString() { return Id + ": " + Status; }
    }

    /// <summary>The outcome of every id of an update, in the order given (repeats once), and
    /// the ids whose state could not be confirmed (re-read them before trying again).</summary>
    public sealed class UpdateReport
    {
        private readonly List<UpdateOutcome> outcomes = new List<UpdateOutcome>();
        private readonly List<string> unconfirmed = new List<string>();
        private readonly Dictionary<string, UpdateStatus> byId = new Dictionary<string, UpdateStatus>();

        /// <summary>Every id with an outcome, in the order given.</summary>
        public IReadOnlyList<UpdateOutcome> Outcomes { get { return outcomes; } }

        /// <summary>Ids whose state could not be confirmed.</summary>
        public IReadOnlyList<string> Unconfirmed { get { return unconfirmed; } }

        /// <summary>True when every id succeeded and none is unconfirmed.</summary>
        public bool AllSucceeded { get; private set; }

        /// <summary>The outcome of <paramref name="id"/>, or null when it has none
        /// (unconfirmed, or not in the update).</summary>
        public UpdateStatus? StatusOf(string id)
        {
            UpdateStatus status;
            return id != null && byId.TryGetValue(id, out status) ? status : (UpdateStatus?)null;
        }

        internal static unsafe UpdateReport Copy(td_update_report* native)
        {
            var report = new UpdateReport();
            var count = (ulong)NativeMethods.td_update_report_count(native);
            for (ulong i = 0; i < count; i++)
            {
                td_str id;
                td_update_status status;
                Failures.Check(NativeMethods.td_update_report_get(native, (UIntPtr)i, &id, &status), "update report");
                var outcome = new UpdateOutcome(Utf8.Of(id), (UpdateStatus)status);
                report.outcomes.Add(outcome);
                report.byId[outcome.Id] = outcome.Status;
            }
            var left = (ulong)NativeMethods.td_update_report_unconfirmed_count(native);
            for (ulong i = 0; i < left; i++)
            {
                td_str id;
                Failures.Check(NativeMethods.td_update_report_unconfirmed_get(native, (UIntPtr)i, &id), "update report");
                report.unconfirmed.Add(Utf8.Of(id));
            }
            report.AllSucceeded = NativeMethods.td_update_report_all_succeeded(native);
            return report;
        }

        /// <summary>Counts by status.</summary>
        public override string ToString()
        {
            return "UpdateReport(" + outcomes.Count + " outcomes, " + unconfirmed.Count + " unconfirmed)";
        }
    }
}
