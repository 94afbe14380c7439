// The grant function's side of the fulfillment engine: what it is asked (GrantRequest) and
// what it answers (GrantOutcome).
using TwitchDrops.Native;

namespace TwitchDrops
{
    /// <summary>One entitlement to grant: give <see cref="BenefitId"/> to <see cref="UserId"/>.</summary>
    public sealed class GrantRequest
    {
        /// <summary>The entitlement's id: the key to record the grant under in your records.</summary>
        public string Id { get; private set; }
        /// <summary>The reward to give.</summary>
        public string BenefitId { get; private set; }
        /// <summary>The viewer to give it to.</summary>
        public string UserId { get; private set; }
        /// <summary>The game it belongs to.</summary>
        public string GameId { get; private set; }
        /// <summary>When the viewer earned it (RFC 3339); "" for a grant resumed from the journal.</summary>
        public string Timestamp { get; private set; }
        /// <summary>True when an earlier run was interrupted (a crash) between asking for this
        /// grant and recording the answer: check your own records by <see cref="Id"/> first,
        /// and answer <see cref="GrantOutcome.Granted"/> if it had been given.</summary>
        public bool Resumed { get; private set; }

        internal static unsafe GrantRequest Copy(td_grant_request* r)
        {
            return new GrantRequest
            {
                Id = Utf8.Of(r->id),
                BenefitId = Utf8.Of(r->benefit_id),
                UserId = Utf8.Of(r->user_id),
                GameId = Utf8.Of(r->game_id),
                Timestamp = Utf8.Of(r->timestamp),
                Resumed = r->resumed,
            };
        }

        /// <summary>The id, reward and viewer.</summary>
        public override string ToString()
        {
            return "GrantRequest(" + Id + ", benefit " + BenefitId + ", user " + UserId + (Resumed ? ", resumed)" : ")");
        }
    }

    /// <summary>What a grant function answers.</summary>
    public enum GrantOutcomeKind : uint
    {
        /// <summary>The reward is in the game: the entitlement is marked FULFILLED.</summary>
        Granted = (uint)td_grant_outcome.TD_GRANT_GRANTED,
        /// <summary>Not now: it stays CLAIMED for a later run.</summary>
        RetryLater = (uint)td_grant_outcome.TD_GRANT_RETRY_LATER,
        /// <summary>Not in this run: it stays CLAIMED, and the reason is reported.</summary>
        Failed = (uint)td_grant_outcome.TD_GRANT_FAILED,
    }

    /// <summary>A grant function's answer: <see cref="Granted"/>, <see cref="RetryLater"/> or
    /// <see cref="Failed(string)"/> with a reason.</summary>
    public struct GrantOutcome
    {
        private GrantOutcome(GrantOutcomeKind kind, string reason)
        {
            Kind = kind;
            Reason = reason ?? "";
        }

        /// <summary>Which answer.</summary>
        public GrantOutcomeKind Kind { get; private set; }

        /// <summary>For <see cref="GrantOutcomeKind.Failed"/>: why.</summary>
        public string Reason { get; private set; }

        /// <summary>The reward is in the game.</summary>
        public static GrantOutcome Granted { get { return new GrantOutcome(GrantOutcomeKind.Granted, ""); } }

        /// <summary>Not now (the game's service is down...).</summary>
        public static GrantOutcome RetryLater { get { return new GrantOutcome(GrantOutcomeKind.RetryLater, ""); } }

        /// <summary>Not in this run (the viewer never linked an account...), with the reason reported.</summary>
        public static GrantOutcome Failed(string reason)
        {
            return new GrantOutcome(GrantOutcomeKind.Failed, reason);
        }
    }
}
